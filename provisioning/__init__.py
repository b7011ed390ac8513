"""Provisioning: the playbooks (playbooks/) run through ansible-runner against an environment's
servers, the database primary's bookkeeping across failovers, and the testinfra verification."""
