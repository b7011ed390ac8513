"""A small client of Prometheus' HTTP API (/api/v1/query, /api/v1/query_range): the SLA report
reads everything through it, so a report can be recomputed from any Prometheus holding the data."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

# query_range refuses more than 11,000 points per series; stay below it.
MAX_POINTS = 10_000


def ready_at(url: str) -> bool:
    """Whether the server at `url` answers its readiness endpoint (`/-/ready`: Prometheus' and
    Alertmanager's alike)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/-/ready", timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


class PrometheusError(Exception):
    """Prometheus could not be reached or refused the query (the message says which and why)."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    values: list[tuple[float, float]]  # (unix seconds, value)


class PrometheusAPI:
    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.url}{path}"
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                data = json.loads(answer.read())
        except urllib.error.HTTPError as err:
            try:
                detail = json.loads(err.read()).get("error", "")
            except (ValueError, OSError):
                detail = ""
            raise PrometheusError(
                f"{url}: HTTP {err.code}: {detail or err.reason} (query: {params.get('query')})"
            ) from None
        except (urllib.error.URLError, OSError) as err:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {getattr(err, 'reason', err)}") from None
        if data.get("status") != "success":
            raise PrometheusError(f"{url}: {data.get('errorType')}: {data.get('error')}")
        return data["data"]

    def ready(self) -> bool:
        return ready_at(self.url)

    def query(self, expr: str, at: float) -> list[Series]:
        """An instant query at `at`; a range-vector expression returns the raw samples."""
        data = self._get("/api/v1/query", {"query": expr, "time": _ts(at)})
        return _series(data)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """query_range, split into chunks below Prometheus' points limit, series merged by labels."""
        merged: dict[tuple[tuple[str, str], ...], Series] = {}
        chunk = step * MAX_POINTS
        at = start
        while at <= end:
            stop = min(end, at + chunk - step)
            data = self._get(
                "/api/v1/query_range", {"query": expr, "start": _ts(at), "end": _ts(stop), "step": _ts(step)}
            )
            for s in _series(data):
                key = tuple(sorted(s.labels.items()))
                if key in merged:
                    merged[key].values.extend(s.values)
                else:
                    merged[key] = s
            at = stop + step
        return list(merged.values())

    def scalar(self, expr: str, at: float) -> float | None:
        result = self.query(expr, at)
        if not result or not result[0].values:
            return None
        return result[0].values[-1][1]

    def targets(self) -> list[dict[str, Any]]:
        return self._get_plain("/api/v1/targets").get("activeTargets", [])

    def _get_plain(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=self.timeout) as answer:
                return json.loads(answer.read())["data"]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
            raise PrometheusError(f"cannot read {self.url}{path}: {err}") from None


def _ts(value: float) -> str:
    return f"{value:.3f}"


def _series(data: dict[str, Any]) -> list[Series]:
    kind = data.get("resultType")
    out: list[Series] = []
    for item in data.get("result", []):
        if kind == "matrix":
            values = [(float(t), float(v)) for t, v in item["values"]]
        elif kind == "vector":
            t, v = item["value"]
            values = [(float(t), float(v))]
        else:
            continue
        out.append(Series(dict(item["metric"]), values))
    return out
