"""A drill's verdict as people read it: the bilingual label and which of several verdicts is the
worst. Used by the drill reports, the annual report, the SLA report's drill section and the CLI,
so it lives with the journal's model, not in one of those reports."""

from __future__ import annotations

from collections.abc import Sequence

from .journal import Verdict

VERDICT_JA: dict[str, str] = {"passed": "合格", "passed with findings": "指摘事項あり合格", "failed": "不合格"}
_VERDICT_RANK = {"passed": 0, "passed with findings": 1, "failed": 2}


def verdict_label(verdict: str) -> str:
    return f"{VERDICT_JA[verdict]} / {verdict}"


def worst_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=_VERDICT_RANK.__getitem__)
