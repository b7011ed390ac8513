"""Cost sharing (費用按分) among the member towns and their monthly charge.

`allocation` is the four-step engine (basic allocation, adjustment, re-allocation, data migration)
over plain numbers; `inputs` feeds it from the inventory's costs.yaml and towns.yaml; `invoice`
turns a fiscal year's allocation into one month's charge with the SLA credits of `sla_report`.
Every yen amount is an integer, rounded by the largest remainder (`rounding`).
"""
