"""The CrossGuard policy pack of the stacks: the rules live in `rules.py` (importable and testable);
`__main__.py` only serves them to the Pulumi engine (building a PolicyPack starts a server)."""
