"""The lab: the shared cloud emulated on one Linux machine (FRR in namespaces, LXC, nftables).

Entry points: `lab.engine.Lab` (up/down/status/heal/faults; each job a module of its own, see
lab/engine.py) and `lab.topology` (what to build).
"""
