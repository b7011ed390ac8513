"""Cross-cutting helpers every domain may use, and nothing domain-specific: the report toolkit
(`documents`: Jinja2, weasyprint, matplotlib with the Japanese font), the process helpers
(`processes`: processes identified by pid and start time, stopped by pid), and where municloud keeps
its state (`settings`). It imports only the inventory below it, never a domain or the CLI."""
