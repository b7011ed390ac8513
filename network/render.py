"""Intended configuration: the inventory's design (`network/intent.py`) through a Jinja2 template per
platform (`network/templates/<platform>.j2`)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .intent import BFD_PROFILE, BGP_CONNECT_RETRY_S, DeviceIntent, Interface
from .interfaces import interface_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLATFORMS = tuple(sorted(p.stem for p in TEMPLATES.glob("*.j2")))


class UnsupportedPlatform(ValueError):
    """No template for this platform."""


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=False,
    lstrip_blocks=False,
    autoescape=False,
)


def render(intent: DeviceIntent) -> str:
    """The intended configuration of one router, as its platform shows it."""
    if intent.platform not in PLATFORMS:
        raise UnsupportedPlatform(
            f"{intent.name}: no template for platform '{intent.platform}' (templates: {', '.join(PLATFORMS)})"
        )
    template = _env.get_template(f"{intent.platform}.j2")
    interfaces = [
        *intent.interfaces,
        Interface(interface_name(intent.platform, "loopback"), "", intent.loopback),
        intent.mgmt,
    ]
    text = template.render(d=intent, interfaces=interfaces, bfd_profile=BFD_PROFILE, connect_retry=BGP_CONNECT_RETRY_S)
    return text.strip() + "\n"
