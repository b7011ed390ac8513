"""hier_config driver for Yamaha RTX (`show config`), registered in network/config.py.

RTX's configuration is flat: one command per line, most of them naming their object by a number or
an interface (`bgp neighbor 1 ...`, `ip filter 100 ...`, `ip lan2 address ...`). The only sections
are the `pp select N` and `tunnel select N` contexts, whose lines `show config` indents under them
and which are left with `pp select none` / `tunnel select none`.

- A command keyed by its object replaces the one before it (`bgp neighbor 1 64600 A hold-time=3`
  after `bgp neighbor 1 64600 B hold-time=90` leaves only the new one): the idempotency key is the
  command and its object (`KEYED`), never the values, so one neighbour, filter or interface never
  stands in for another.
- RTX's `no` form takes only that key (`no bgp neighbor 1`, `no ip lan2 address`, `no ip route
  10.0.0.0/8`): the command reference allows the values after it, but they must then be the current
  ones; the key alone always removes the object.
- Left out of the comparison: `show config`'s `#` header (model, firmware, MAC, memory, reporting
  date), the lines that close a context (`pp select none`), and the accounts and secrets (login and
  administrator passwords, login users and their attributes, pre-shared keys, the SSH host key).
  `show config` prints a secret as `*`: no plan could compare it, no rollback restore it, and a
  pushed `administrator password *` would set the password to "*". They are set at staging, outside
  the repository; the template never renders them (network/templates/yamaha_rtx.j2).
- `bgp neighbor` parameters (`hold-time=3 local-address=A`) compare in any order.
- A BGP change takes effect only after `bgp configure refresh` (`finish_push`).

Nothing here was verified on a device (network/README.md).
"""

from __future__ import annotations

import re

from hier_config.models import (
    IdempotentCommandsRule,
    MatchRule,
    NegationSubRule,
    PerLineSubRule,
)
from hier_config.platforms.driver_base import HConfigDriverRules

from .hconfig_base import IndexedIdempotency, definitions_around_their_users

CONTEXTS = ("pp select ", "tunnel select ")

# Each a regular expression for the start of a command up to and including its key: a line
# beginning with it is replaced by any other line beginning with the same text, and is removed by
# `no <that text>`. More specific first (the first that matches a line decides).
KEYED = (
    r"bgp neighbor pre-shared-key \d+",
    r"bgp neighbor \d+",
    r"bgp import filter \d+",
    r"bgp import \d+ \S+(?: \d+)?(?= filter )",  # <remote AS> <protocol> [<from AS>]
    r"bgp export filter \d+",
    r"bgp export aspath \d+",
    r"bgp export \d+(?= filter )",
    r"bgp aggregate filter \d+",
    r"bgp aggregate \S+(?= filter )",
    r"bgp force-to-advertise \d+ \S+",
    r"bgp (?:use|autonomous-system|router id|preference|log|default med|reric interval)",
    r"ip filter dynamic \d+",
    r"ip filter \d+",
    r"ip \S+ secure filter (?:in|out)",
    r"ip \S+ (?:address|mtu)",
    r"ip route \S+",  # the network: `ip route 10.0.0.0/8 gateway ...`
    r"description \S+",
    r"vlan \S+ 802\.1q",
    r"schedule at \d+",
    r"syslog (?:host|facility|notice|info|debug|local address|srcport)",
    r"(?:telnetd|sshd|httpd|sftpd) (?:service|host)",
    r"console (?:prompt|character|lines|columns)",
    r"timezone",
)

# Lines that are no configuration to compare (see the module's notes).
NOISE = (
    r"^#.*",
    r"^\s*(?:pp|tunnel) select none$",
    r"^\s*(?:administrator password|login password|login user|user attribute)\b.*",
    r"^\s*(?:bgp neighbor|ipsec ike) pre-shared-key \d+ .*",
    r"^\s*sshd host key\b.*",
)

# What other commands refer to by number: defined before everything else, removed after it (an
# interface's `secure filter` or a `bgp import` naming a filter that is not there yet, or no more).
DEFINITIONS = ("ip filter ", "bgp aggregate filter ", "bgp import filter ", "bgp export filter ")

_NEIGHBOR = re.compile(r"^(\s*bgp neighbor \d+ \d+ \S+)((?: \S+=\S+)+)\s*$", re.M)


def _lineages(rule: MatchRule) -> list[tuple[MatchRule, ...]]:
    """The rule at the top level and inside a pp/tunnel context."""
    return [(rule,), *((MatchRule(startswith=context), rule) for context in CONTEXTS)]


def _sorted_parameters(match: re.Match[str]) -> str:
    return match[1] + "".join(f" {p}" for p in sorted(match[2].split()))


class HConfigDriverYamahaRtx(IndexedIdempotency):
    """Yamaha RTX as `show config` prints it (see the module's notes)."""

    volatile_lines = (r"^# Reporting Date:",)

    def exit_for(self, header: str) -> str:
        for context in CONTEXTS:
            if header.startswith(context):
                return f"{context}none"
        return super().exit_for(header)

    def finish_push(self, commands: list[str]) -> list[str]:
        """`bgp configure refresh` once, at the end, when any command touched BGP."""
        commands = [c for c in commands if c != "bgp configure refresh"]
        if any(c.startswith(("bgp ", "no bgp ")) for c in commands):
            commands.append("bgp configure refresh")
        return commands

    @staticmethod
    def config_preprocessor(config_text: str) -> str:
        return _NEIGHBOR.sub(_sorted_parameters, config_text)

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        idempotent = [
            IdempotentCommandsRule(match_rules=lineage)
            for key in KEYED
            for lineage in _lineages(MatchRule(re_search=rf"^({key})(?: |$)"))
        ]
        negation = [
            NegationSubRule(match_rules=lineage, search=rf"^(no {key}) .*$", replace=r"\1")
            for key in KEYED
            for lineage in _lineages(MatchRule(re_search=rf"^{key} "))
        ]
        ordering = definitions_around_their_users(*DEFINITIONS)
        return HConfigDriverRules(
            per_line_sub=[PerLineSubRule(search=pattern, replace="") for pattern in NOISE],
            idempotent_commands=idempotent,
            negation_sub=negation,
            ordering=ordering,
        )
