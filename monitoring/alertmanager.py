"""A small client of Alertmanager's HTTP API v2 (/api/v2/alerts, /api/v2/silences, /api/v2/status):
what `monitor status` asks, what the silences are created and expired through, and how the tests
hand it an alert the way Prometheus does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from .promapi import ready_at


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or refused the request (the message says which and why)."""


def api_time(moment: datetime) -> str:
    """An instant as the API takes it (RFC 3339, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AlertmanagerAPI:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.url}/api/v2{path}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace").strip()
            raise AlertmanagerError(f"{method} {url}: HTTP {err.code}: {detail or err.reason}") from None
        except (urllib.error.URLError, OSError) as err:
            raise AlertmanagerError(f"cannot reach Alertmanager at {self.url}: {getattr(err, 'reason', err)}") from None
        return json.loads(raw) if raw.strip() else None

    def ready(self) -> bool:
        return ready_at(self.url)

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def alerts(self, active_only: bool = False) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (with their receivers and whether silenced or inhibited)."""
        query = "?active=true&silenced=false&inhibited=false" if active_only else ""
        return self._call("GET", f"/alerts{query}")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Hand alerts over as Prometheus does (labels, annotations, startsAt, endsAt, generatorURL)."""
        self._call("POST", "/alerts", alerts)

    def silences(self) -> list[dict[str, Any]]:
        """Every silence Alertmanager keeps: active, pending and expired (until its retention drops them)."""
        return self._call("GET", "/silences")

    def create_silence(
        self, matchers: list[dict[str, Any]], starts: datetime, ends: datetime, created_by: str, comment: str
    ) -> str:
        """Create a silence; returns its id. `matchers`: [{"name", "value", "isRegex", "isEqual"}]."""
        body = {
            "matchers": matchers,
            "startsAt": api_time(starts),
            "endsAt": api_time(ends),
            "createdBy": created_by,
            "comment": comment,
        }
        return self._call("POST", "/silences", body)["silenceID"]

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", f"/silence/{silence_id}")
