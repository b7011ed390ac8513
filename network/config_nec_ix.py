"""NEC UNIVERGE IX for hier_config: `show running-config` as IX prints it (network/templates/nec_ix.j2).

IX's CLI is IOS-like: sections by indentation (two spaces a level), `no <line>` negates a line, and
`exit` leaves every section (interface, `router bgp`, its `address-family`, `route-map`). What differs
from IOS, and how this driver treats it:
- The running config begins with `!` lines that are not configuration: `! NEC Portable Internetwork
  Core Operating System Software`, `! IX Series IX2215 (magellan-sec) Software, Version ...`,
  `! Compiled ...`, `! Current time ...` / `! Last updated ...` (volatile): every `!` line is left out.
- IX prints every port it has, configured or not: `device GigaEthernet0` (the physical port's
  settings) and placeholders such as `interface BRI0.0` / `  encapsulation ppp` / `  no auto-connect`
  / `  no ip address` / `  shutdown`. Neither is in the intended configuration, and negating them
  (`no device ...`, `no interface BRI0.0`) would be wrong: `device` sections, and the interfaces
  that have nothing configured (only `shutdown`, `encapsulation ppp`, `[no] auto-connect`) and are not
  ours (network/interfaces.py), are left out of the comparison on both sides; `no ip address` lines
  are dropped (an interface without an address). Our own ports stay in, configured or not: a
  circuit's port that is still unconfigured gets its lines (`no shutdown` included), and the rollback
  takes them away again (`no description ...`, `shutdown`), never the port (`no interface
  GigaEthernet0.0` would be refused, or worse).
- One address per interface: `ip address A/len` replaced in place (no `no ip address old` first);
  `shutdown` and `no shutdown` are one key; `description`, `encapsulation dot1q` likewise.
- `ip prefix-list NAME SEQ permit A/len` (the sequence number without IOS's `seq`): one entry per
  list and number, replaced in place. `ip access-list NAME permit ...` lines have no number: a changed
  line is a new line and the old one's negation (the new one first, see the ordering below).
- BGP: `router-id A` (NEC's BGP command list; `bgp router-id A` is keyed the same, should a router
  print it), the neighbour's `remote-as`, `description`, `timers` replaced in place per neighbour
  address; a neighbour is removed with `no neighbor A remote-as N` alone (network.config.Workflow
  drops the implied negations of its other lines, address family included, as on IOS).
- Route maps: `match ip address prefix-list`, `set local-preference`, `set as-path prepend` replaced
  in place within an entry.
- Accounts: `username U password hash X LEVEL` (IX prints the hash of what was configured with
  `password plain`). The intent has no accounts: they are bootstrapped with the router and managed
  outside this comparison, so `username` lines are left out on both sides (never rendered, never
  removed: a remediation that deletes the account it logs in with locks the operator out, and a hash
  cannot be compared with anything we could render). `mask_secrets` (network/config.py) masks them
  wherever the text is stored or shown.
Nothing here was verified on a device (see the template's notes on what was seen in public IX
configurations and what is IOS-like guesswork).

The rules are hier_config's own kinds and nothing here depends on municloud: the driver could be
offered to hier_config as an NEC IX platform (without `IndexedIdempotency`, our look-up index).
"""

from __future__ import annotations

from hier_config import HConfig
from hier_config.models import IdempotentCommandsRule, MatchRule, PerLineSubRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules

from .hconfig_base import IndexedIdempotency, definitions_around_their_users
from .interfaces import INTERFACE_MAPS

# Lines of `show running-config` that are not configuration, or not this comparison's.
_IX_NOISE = (
    r"^\s*!.*",  # the header (version, compile date, `Current time`/`Last updated`) and separators
    r"^Using \d+ out of \d+ bytes.*",
    r"^\s*exit$",
    r"^end$",
    r"^\s+no ip address$",
    r"^username .*",  # accounts: see the module's notes
)

# What an interface IX lists but nobody configured may carry.
_UNCONFIGURED = frozenset({"shutdown", "no shutdown", "encapsulation ppp", "auto-connect", "no auto-connect"})
_OURS = frozenset(f"interface {name}" for name in INTERFACE_MAPS["nec_ix"].values())


def _leave_out_unmanaged(config: HConfig) -> None:
    """Drop the sections IX prints for its hardware that this configuration does not manage: the
    `device` sections and the interfaces not ours with nothing configured."""
    for child in tuple(config.children):
        if child.text.startswith("device ") or (
            child.text.startswith("interface ")
            and child.text not in _OURS
            and all(c.text in _UNCONFIGURED for c in child.children)
        ):
            child.delete()


def _in(section: str, line_regex: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(match_rules=(MatchRule(startswith=section), MatchRule(re_search=line_regex)))


class HConfigDriverNecIx(IndexedIdempotency, HConfigDriverCiscoIOS):
    """NEC UNIVERGE IX, as shown by `show running-config` (in config mode)."""

    volatile_lines = (r"^! Current time", r"^! Last updated")

    def exit_for(self, header: str) -> str:
        """IX leaves every section, an address family included, with `exit`."""
        return "exit"

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        idempotent = [
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="hostname "),)),
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="timezone "),)),
            _in("interface ", r"^(description|ip address|encapsulation dot1q) "),
            _in("interface ", r"^shutdown$"),  # `no shutdown` has the same key (negation aside)
            _in("router bgp ", r"^(?:bgp )?(router-id) "),
            _in("router bgp ", r"^neighbor (\S+) (description|remote-as|timers) "),
            _in("route-map ", r"^(match ip address prefix-list|set local-preference|set as-path prepend) "),
            IdempotentCommandsRule(match_rules=(MatchRule(re_search=r"^ip prefix-list (\S+) (\d+) "),)),
            IdempotentCommandsRule(match_rules=(MatchRule(re_search=r"^(ssh-server ip access-list) "),)),
        ]
        return rules.model_copy(
            update={
                "per_line_sub": [PerLineSubRule(search=pattern, replace="") for pattern in _IX_NOISE],
                "idempotent_commands": idempotent,
                "ordering": [
                    *rules.ordering,
                    *definitions_around_their_users("ip prefix-list ", "ip access-list ", "route-map "),
                ],
                "sectional_exiting": [],
                "post_load_callbacks": [_leave_out_unmanaged],
            }
        )
