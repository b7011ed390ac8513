"""The SLA engine: calendar months in Japan time, service hours and maintenance windows, per-minute
probe data from Prometheus, outages, availability, credits, and the reports."""
