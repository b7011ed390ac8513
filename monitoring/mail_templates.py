"""The alert e-mails in Japanese: Alertmanager's template (templates/alert-mail.tmpl.j2), rendered
with the inventory's names as it writes them (伊奈町, 住民基本台帳, 重要度A ...) and the words of
templates/alert-texts.yaml (per alert: what happened, what to do, where to read more).

Alertmanager fills it in per notification: subject and body name the towns and systems in
Japanese, the tier, since when (in Japan time: `monitor up` runs Alertmanager with TZ=Asia/Tokyo,
so Go's `.Local` is JST), the value that fired it, what to do and the report to read.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2
import yaml

from inventory.loader import Inventory

TEMPLATES = Path(__file__).parent / "templates"
TIMEZONE = "Asia/Tokyo"  # the contract's time zone (inventory/model/sla.py CONTRACT_TZ), for Go's .Local

# the e-mail fields of every receiver (monitoring/alerting.py), naming the templates defined here
EMAIL_FIELDS = {
    "headers": {"Subject": '{{ template "municloud.subject" . }}'},
    "html": '{{ template "municloud.html" . }}',
    "text": '{{ template "municloud.text" . }}',
}


@cache
def alert_texts() -> dict[str, dict[str, str]]:
    """alert-texts.yaml: per alert name its title, action and report."""
    return yaml.safe_load((TEMPLATES / "alert-texts.yaml").read_text(encoding="utf-8"))


def render_mail_template(inventory: Inventory, env: str) -> str:
    texts = alert_texts()
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Go's text/template and html/template escape what they output
    )
    lookups: dict[str, list[tuple[str, str]]] = {
        "towns": [(t.id, t.name) for t in inventory.towns],
        "systems": [(s.id, s.name) for s in inventory.systems],
        "tiers": [(t.id, t.name) for t in inventory.sla.tiers],
        "sites": [(d.id, d.name) for d in inventory.datacenters],
        "titles": [(name, t["title"]) for name, t in texts.items()],
        "actions": [(name, t["action"]) for name, t in texts.items()],
        "reports": [(name, t["report"].format(env=env)) for name, t in texts.items()],
    }
    for pairs in lookups.values():
        for _, text in pairs:
            if "{{" in text or "}}" in text:  # would be read as Go template actions
                raise ValueError(f"{text!r}: a name or alert text must not contain {{{{ or }}}}")
    return jinja.get_template("alert-mail.tmpl.j2").render(env=env, **lookups)


def write_mail_template(inventory: Inventory, env: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_mail_template(inventory, env), encoding="utf-8")
    return path
