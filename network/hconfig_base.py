"""What every municloud hier_config driver shares (network/config.py and the platforms' modules
`config_<platform>.py` subclass it): a fast look-up of idempotent lines, and how a platform leaves a
section and ends a push."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from hier_config import HConfigChild
from hier_config.children import HConfigChildren
from hier_config.models import MatchRule, OrderingRule
from hier_config.platforms.driver_base import HConfigDriverBase


class IndexedIdempotency(HConfigDriverBase):
    """`idempotent_for` from an index: per section (a children container) and per idempotent rule,
    the first child of each idempotency key, built on first use. The base driver answers the same
    question by scanning the section on every call: the first child, in order, that matches the
    rule's lineage and has the same key; the index keeps the first child per key, so the answer is
    the same. Only while `indexed()` is active (the configs are not changed then: hier_config writes
    the remediation into a new tree); elsewhere the base driver's scan."""

    _indexes: dict[int, tuple[HConfigChildren, list[dict[tuple[str, ...], HConfigChild] | None]]] | None = None

    # Lines of the running config that change by themselves (a device's clock in its header:
    # RTX's `# Reporting Date:`, IX's `! Current time`): left out of the backups, which would
    # otherwise record a change at every run.
    volatile_lines: tuple[str, ...] = ()

    def exit_for(self, header: str) -> str:
        """The command that leaves the section `header` opened (vtysh and IOS: `exit`; an address
        family ends with its own)."""
        return "exit-address-family" if header.startswith("address-family") else "exit"

    def finish_push(self, commands: list[str]) -> list[str]:
        """The commands to send, with whatever the platform needs after them (nothing here)."""
        return commands

    @contextlib.contextmanager
    def indexed(self) -> Iterator[None]:
        self._indexes = {}
        try:
            yield
        finally:
            self._indexes = None

    def idempotent_for(self, config: HConfigChild, other_children: Iterable[HConfigChild]) -> HConfigChild | None:
        if self._indexes is None or not isinstance(other_children, HConfigChildren):
            return super().idempotent_for(config, other_children)
        rules = self.rules.idempotent_commands
        entry = self._indexes.get(id(other_children))
        if entry is None or entry[0] is not other_children:
            entry = (other_children, [None] * len(rules))
            self._indexes[id(other_children)] = entry
        for i, rule in enumerate(rules):
            if not config.is_lineage_match(rule.match_rules):
                continue
            index = entry[1][i]
            if index is None:
                index = {}
                for other in other_children:
                    if other.is_lineage_match(rule.match_rules):
                        index.setdefault(self._idempotency_key(other, rule.match_rules), other)
                entry[1][i] = index
            if (found := index.get(self._idempotency_key(config, rule.match_rules))) is not None:
                return found
        return None


def definitions_around_their_users(*sections: str) -> list[OrderingRule]:
    """Ordering rules: what other lines refer to (`sections`, each referring only to those before
    it: prefix lists, route maps, filters) is defined before everything else and removed after
    everything else, so nothing ever names a policy that is not there (yet, or any more)."""
    count = len(sections)
    return [
        *(
            OrderingRule(match_rules=(MatchRule(startswith=s),), weight=-10 * (count - i))
            for i, s in enumerate(sections)
        ),
        *(
            OrderingRule(match_rules=(MatchRule(startswith=f"no {s}"),), weight=10 * (count - i))
            for i, s in enumerate(sections)
        ),
    ]
