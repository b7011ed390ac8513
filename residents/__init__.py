"""The residents' records in the tenants' schemas: their tables (schema.sql) and, for the lab, a
synthetic population generated deterministically from a seed (synthetic.py). No real person's data."""
