"""Driving the stacks through Pulumi's Automation API: one process and one work directory per stack."""
