"""Benchmarks (`make bench`): each module's run() returns one row of the printed table."""
