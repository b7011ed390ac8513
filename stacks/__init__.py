"""The Pulumi stacks of the production platform, derived from the inventory.

One Pulumi project (Pulumi.yaml at the repo root), one stack per scope: `prod-dc` (both data centers
on vSphere), `prod-wan` (the carrier circuits and the address plan), `prod-<town>` (a town's
in-office servers and its clients' records). The program picks its component from the stack name.
"""
