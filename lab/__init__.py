"""The lab: the shared cloud emulated on one Linux machine (FRR in namespaces, LXC, nftables).

Entry points: `lab.engine.Lab` (up/down/status/heal/faults) and `lab.topology` (what to build).
"""
