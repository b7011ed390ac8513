"""Configuration text: normalising, hashing, masking secrets, and remediation with hier_config.

hier_config computes, per device, the commands that take the running configuration to the intended
one (remediation) and back (rollback). It knows IOS; FRR's vtysh is IOS-like with a few differences
that `HConfigDriverFrr` encodes: sections end with `exit`, an interface may carry several addresses
(so `ip address` is not replaced by a new one: the old is removed with `no`), and lines FRR prints
but nobody configures (`frr version`, `log file` of the lab) are left out of the comparison.

BGP neighbours: a neighbour's `remote-as`, `description`, `timers`, `timers connect` and `bfd
profile` are each replaced in place by a new value (`neighbor X timers 3 9` after `neighbor X timers
10 30` leaves only the new timers), so the idempotency key holds the neighbour's address and the
attribute. Deleting a neighbour is one line, `no neighbor X remote-as N`: it takes every line of the
neighbour with it (address families included), after which FRR and IOS reject any other `no neighbor
X ...` ("% Specify remote-as or peer-group commands first"); likewise on FRR `no neighbor X bfd` takes
the BFD profile with it, and a `no neighbor X bfd profile P` after it turns BFD back on. `Workflow`
leaves such implied negations out of the remediation and the rollback.

Large configs: hier_config looks for an idempotent counterpart of a line (`neighbor X timers 10 30`
replaced by `neighbor X timers 3 9`) by scanning every line of the section, which is quadratic in
the section's size; a carrier edge serving 2,000 towns has a `router bgp` of ~24,000 lines. Our
drivers answer that look-up from an index built once per section (`IndexedIdempotency`), with the
same answer as the scan, while a remediation is computed.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from collections.abc import Iterable, Iterator

from hier_config import HConfig, HConfigChild, WorkflowRemediation, get_hconfig
from hier_config.models import IdempotentCommandsRule, MatchRule, PerLineSubRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules

from .config_nec_ix import HConfigDriverNecIx
from .config_yamaha_rtx import HConfigDriverYamahaRtx
from .hconfig_base import IndexedIdempotency, definitions_around_their_users

# Lines FRR prints that are not configuration (or are the host's, not the network's).
_FRR_NOISE = (
    r"^Building configuration.*",
    r"^Current configuration.*",
    r"^frr version .*",
    r"^frr defaults .*",
    r"^log file .*",
    r"^end$",
    r"^\s*!.*",
    r"^\s*exit$",
    r"^\s*exit-address-family$",
)
# Each may follow `no `: a remediation that removes a secret line names the old secret.
_SECRET_PATTERNS = (
    re.compile(r"^(\s*(?:no )?(?:enable )?secret \d+ )\S+", re.M),
    re.compile(r"^(\s*(?:no )?enable (?:secret|password)(?: \d+)? )\S+", re.M),
    # IOS `username U [privilege N] secret 9 X`
    re.compile(r"^(\s*(?:no )?username \S+ (?:privilege \d+ )?(?:secret|password)(?: \d+)? )(?!plain |hash )\S+", re.M),
    # IX `username U password plain [N] X LEVEL` / `password hash X LEVEL`: all between the form and
    # the level (`plain 1 X`: the 1 is not the secret)
    re.compile(
        r"^(\s*(?:no )?username \S+ password (?:plain|hash) )\S+(?: \S+)*?"
        r"(?P<tail>(?: (?:administrator|operator|user))?[ \t]*)$",
        re.M,
    ),
    re.compile(r"^(\s*(?:no )?http-server username \S+ (?:secret-)?password )\S+", re.M),  # IX web GUI
    re.compile(r"^(\s*(?:no )?(?:neighbor \S+ )?password(?: (?:\d+|plain|hash))? )\S+", re.M),
    re.compile(r"^(\s*(?:no )?snmp-server community )\S+", re.M),
    re.compile(r"^(\s*(?:no )?key-string(?: \d+)? )\S+", re.M),
    re.compile(r"^(\s*(?:no )?(?:tacacs|radius)-server key(?: \d+)? )\S+", re.M),
    # Yamaha RTX: `administrator password [encrypted] X`, `login password [encrypted] X`,
    # `login user U [encrypted] X`, `bgp neighbor pre-shared-key N text X` (`show config` prints `*`)
    re.compile(r"^(\s*(?:no )?(?:administrator|login) password (?:encrypted )?)\S+", re.M),
    re.compile(r"^(\s*(?:no )?login user \S+ (?:encrypted )?)\S+", re.M),
    re.compile(r"^(\s*(?:no )?(?:bgp neighbor|ipsec ike) pre-shared-key \d+ text )\S+", re.M),
)
MASK = "<masked>"


def _bgp_neighbor_attributes(attributes: str) -> IdempotentCommandsRule:
    """`neighbor X <attribute> ...` under `router bgp` replaced by a new value of the same attribute of
    the same neighbour (the key is the address and the attribute: one neighbour never stands in for
    another)."""
    return IdempotentCommandsRule(
        match_rules=(
            MatchRule(startswith="router bgp "),
            MatchRule(re_search=rf"^neighbor (\S+) ({attributes}) "),
        )
    )


# The policy objects BGP neighbours refer to come first and go last (definitions_around_their_users):
# a session must not come up, nor a route map match, before the policy it names exists, nor run on
# after it is gone. IOS takes a missing prefix list as permit-all, FRR a missing route map as
# deny-all, and FRR applies a route map defined after its neighbour only when its route-map delay
# timer runs out, 5 s later.


class HConfigDriverIos(IndexedIdempotency, HConfigDriverCiscoIOS):
    """IOS-XE: hier_config's own rules, BGP neighbour attributes replaced in place, and the policy
    objects pushed before the neighbours."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        idempotent = [*rules.idempotent_commands, _bgp_neighbor_attributes("description|remote-as|timers")]
        ordering = [*rules.ordering, *definitions_around_their_users("ip prefix-list ", "route-map ", "bfd-template ")]
        return rules.model_copy(update={"idempotent_commands": idempotent, "ordering": ordering})


class HConfigDriverFrr(IndexedIdempotency, HConfigDriverCiscoIOS):
    """FRRouting's vtysh, as shown by `show running-config`."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        idempotent = [
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="hostname "),)),
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith="description "))
            ),
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="router bgp "), MatchRule(startswith="bgp router-id "))
            ),
            _bgp_neighbor_attributes("description|remote-as|timers connect|timers|bfd profile"),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="route-map "),
                    MatchRule(re_search=r"^set (local-preference|as-path prepend) "),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="bfd"),
                    MatchRule(startswith="profile "),
                    MatchRule(re_search=r"^(transmit-interval|receive-interval|detect-multiplier) "),
                )
            ),
        ]
        return rules.model_copy(
            update={
                "per_line_sub": [PerLineSubRule(search=pattern, replace="") for pattern in _FRR_NOISE],
                "idempotent_commands": idempotent,
                "ordering": [*rules.ordering, *definitions_around_their_users("ip prefix-list ", "route-map ", "bfd")],
                "post_load_callbacks": [],
            }
        )


# The hier_config driver of each platform (one module per platform beside this one, `config_<platform>.py`).
HCONFIG_DRIVERS: dict[str, type[IndexedIdempotency]] = {
    "frr": HConfigDriverFrr,
    "cisco_ios": HConfigDriverIos,
    "nec_ix": HConfigDriverNecIx,
    "yamaha_rtx": HConfigDriverYamahaRtx,
}


def _driver(platform: str) -> IndexedIdempotency:
    try:
        return HCONFIG_DRIVERS[platform]()
    except KeyError:
        raise ValueError(f"no configuration driver for platform '{platform}'") from None


def parse(platform: str, text: str) -> HConfig:
    return get_hconfig(_driver(platform), text)


def normalized(platform: str, text: str) -> str:
    """The configuration as hier_config sees it (noise removed, one line per statement)."""
    return "\n".join(c.cisco_style_text() for c in parse(platform, text).all_children()) + "\n"


def without_volatile(platform: str, text: str) -> str:
    """The running config as a backup keeps it: whole, but for the lines that change by themselves."""
    patterns = [re.compile(p) for p in _driver(platform).volatile_lines]
    if not patterns:
        return text
    kept = [line for line in text.splitlines(keepends=True) if not any(p.match(line) for p in patterns)]
    return "".join(kept)


def config_hash(platform: str, text: str) -> str:
    return hashlib.sha256(normalized(platform, text).encode()).hexdigest()


def same_config(platform: str, a: str, b: str) -> bool:
    """Equal as configurations (order of sections and noise aside)."""
    return not remediation(platform, a, b)


def _sorted_lines(children: Iterable[HConfigChild]) -> list[str]:
    # cisco_style_text indents one space per level: push_commands relies on it
    return [c.cisco_style_text() for c in children]


_NO_NEIGHBOR = re.compile(r"^no neighbor (\S+) (.+)$")


def _removed_attribute(rest: str) -> str | None:
    """What `no neighbor X <rest>` removes that takes other lines of X with it."""
    if rest.startswith("remote-as "):
        return "remote-as"  # the neighbour itself
    return "bfd" if rest == "bfd" else None


def _implied(rest: str, removed: set[str]) -> bool:
    """Is `no neighbor X <rest>` already done by the negations `removed` of the same neighbour?"""
    if rest.startswith("remote-as "):
        return False
    return "remote-as" in removed or (rest.startswith("bfd ") and "bfd" in removed)


def _drop_implied_negations(config: HConfig) -> HConfig:
    """Leave out, under each `router bgp`, the `no neighbor X ...` lines that another negation of the
    same neighbour already does (see the module's notes), and the sections that leaves empty."""
    for bgp in config.children:
        if not bgp.text.startswith("router bgp "):
            continue
        removed: dict[str, set[str]] = {}
        for child in bgp.children:
            if (match := _NO_NEIGHBOR.match(child.text)) and (what := _removed_attribute(match[2])):
                removed.setdefault(match[1], set()).add(what)
        if not removed:
            continue
        emptied: list[HConfig | HConfigChild] = []
        for child in list(bgp.all_children()):
            match = _NO_NEIGHBOR.match(child.text)
            if match and match[1] in removed and _implied(match[2], removed[match[1]]):
                emptied.append(child.parent)
                child.delete()
        for section in emptied:  # an address family with nothing left to change
            while isinstance(section, HConfigChild) and section is not bgp and not section.children:
                parent = section.parent
                section.delete()
                section = parent
    return config


class Workflow(WorkflowRemediation):
    """hier_config's remediation and rollback, without the negations a neighbour's removal implies."""

    @property
    def remediation_config(self) -> HConfig:
        if self._remediation_config is None:
            self._remediation_config = _drop_implied_negations(super().remediation_config)
        return self._remediation_config

    @property
    def rollback_config(self) -> HConfig:
        if self._rollback_config is None:
            self._rollback_config = _drop_implied_negations(super().rollback_config)
        return self._rollback_config


@contextlib.contextmanager
def _workflow(platform: str, running: str, intended: str) -> Iterator[Workflow]:
    # the remediation uses the running config's driver, the rollback the intended config's
    drivers = _driver(platform), _driver(platform)
    with drivers[0].indexed(), drivers[1].indexed():
        yield Workflow(get_hconfig(drivers[0], running), get_hconfig(drivers[1], intended))


def remediation(platform: str, running: str, intended: str) -> list[str]:
    """Commands (indented as a config file) that take `running` to `intended`; empty if equal."""
    with _workflow(platform, running, intended) as workflow:
        return _sorted_lines(workflow.remediation_config.all_children_sorted())


def remediation_and_rollback(platform: str, running: str, intended: str) -> tuple[list[str], list[str]]:
    with _workflow(platform, running, intended) as workflow:
        return (
            _sorted_lines(workflow.remediation_config.all_children_sorted()),
            _sorted_lines(workflow.rollback_config.all_children_sorted()),
        )


def push_commands(lines: list[str], platform: str = "frr") -> list[str]:
    """Indented remediation lines -> the commands to send in config mode, with an explicit exit from
    every section entered (the platform's driver says how: `exit_for`), BGP neighbours configured one
    at a time (`_neighbours_one_at_a_time`), and what the platform needs after a change
    (`finish_push`)."""
    driver = _driver(platform)
    lines = _neighbours_one_at_a_time(lines)
    commands: list[str] = []
    stack: list[tuple[int, str]] = []  # (indent, header) of the sections we are inside
    depths = [len(line) - len(line.lstrip(" ")) for line in lines]
    for i, line in enumerate(lines):
        while stack and stack[-1][0] >= depths[i]:
            commands.append(driver.exit_for(stack.pop()[1]))
        commands.append(line.strip())
        if i + 1 < len(lines) and depths[i + 1] > depths[i]:
            stack.append((depths[i], line.strip()))
    while stack:
        commands.append(driver.exit_for(stack.pop()[1]))
    return driver.finish_push(commands)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blocks(lines: list[str]) -> list[list[str]]:
    """Lines -> blocks of one line at the outermost indent and the deeper lines under it."""
    blocks: list[list[str]] = []
    for line in lines:
        if blocks and _indent(line) > _indent(blocks[-1][0]):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


_NEIGHBOUR_LINE = re.compile(r"^\s*(?:no )?neighbor (\S+) ")


def _neighbours_one_at_a_time(lines: list[str]) -> list[str]:
    """Within each `router bgp`: first its lines and its address families' lines that name no
    neighbour, then neighbour by neighbour its own lines and right after them its lines in each
    address family (which is entered again for it). In hier_config's order a carrier edge's
    neighbour is created (`remote-as`) some hundred lines before its address family activates it; a
    town router that connects in between meets a neighbour with no address family, both ends reset
    the session and wait out a doubled start timer: seconds more for a day-0 change to converge.
    The lines are the same, only their order (and the re-entered address families) differ."""
    out: list[str] = []
    for block in _blocks(lines):
        if not block[0].startswith("router bgp ") or len(block) == 1:
            out += block
            continue
        general: list[str] = []
        families: dict[str, list[str]] = {}  # address family -> its lines naming no neighbour
        own: dict[str, list[str]] = {}  # neighbour -> its lines at the router level
        in_family: dict[str, dict[str, list[str]]] = {}  # neighbour -> address family -> its lines
        for child in _blocks(block[1:]):
            header = child[0]
            if header.strip().startswith("address-family ") and len(child) > 1:
                families.setdefault(header, [])
                for line in child[1:]:
                    named = _NEIGHBOUR_LINE.match(line)
                    if named and _indent(line) == _indent(child[1]):
                        in_family.setdefault(named.group(1), {}).setdefault(header, []).append(line)
                    else:
                        families[header].append(line)
            elif (named := _NEIGHBOUR_LINE.match(header)) and len(child) == 1:
                own.setdefault(named.group(1), []).append(header)
            else:
                general += child
        out += [block[0], *general]
        for header, family_lines in families.items():
            if family_lines:
                out += [header, *family_lines]
        for neighbour in dict.fromkeys([*own, *in_family]):
            out += own.get(neighbour, [])
            for header, family_lines in in_family.get(neighbour, {}).items():
                out += [header, *family_lines]
    return out


def mask_secrets(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.groupdict().get("tail") or ""), text)
    return text


def unified_diff(before: str, after: str, label_a: str = "running", label_b: str = "intended") -> str:
    """A readable diff of two configurations (normalised, secrets masked)."""
    diff = difflib.unified_diff(
        mask_secrets(before).splitlines(), mask_secrets(after).splitlines(), label_a, label_b, lineterm="", n=2
    )
    return "\n".join(diff)
