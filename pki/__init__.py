"""The environment's PKI: its CA and the towns' client certificates (the tenant identity of mutual TLS)."""
