"""The shared service knows its tenants: over mutual TLS a town's certificate reaches only that
town's tenant (another town's: 403, audited, nothing written), a client without a certificate or
with one from another CA is refused at the handshake (audited), and the operations center's
certificate reads heartbeat ids only. Real TLS on 127.0.0.1, certificates from `pki`; the database
is the fake of test_business_app (the stand-in runs on Debian's psycopg2 in the data centers)."""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import threading
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pki.authority import Authority

from .test_business_app import FakeServer, load_app


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    servers = {"dc1-db": FakeServer(in_recovery=False)}
    module, _ = load_app(monkeypatch, servers)
    pki = Authority("lab", tmp_path / "pki")
    pki.ensure_ca()
    pki.issue_service([IPv4Address("127.0.0.1")])
    for town, name in (("ina", "伊奈町"), ("ogose", "越生町")):
        pki.issue_town(town, name)
    pki.issue_operations()
    (tmp_path / "pass").write_text("secret\n")
    audit = tmp_path / "audit.jsonl"
    config = {
        "site": "dc1",
        "listen": ["127.0.0.1"],
        "port": 0,
        "systems": {"resident-registry": {"tier": "critical"}},
        "tenants": {
            t: {"name": n, "systems": ["resident-registry"], "parameters": {}}
            for t, n in (("ina", "伊奈町"), ("ogose", "越生町"))
        },
        "database": {"host": "dc1-db", "name": "business", "user": "app", "password_file": str(tmp_path / "pass")},
        "tls": {
            "certificate": str(pki.service_path),
            "client_ca": str(pki.ca_cert_path),
            "crl": str(pki.crl_path),
            "audit_log": str(audit),
        },
    }
    app = module.App(config)
    server = module.Server(("127.0.0.1", 0), module.Handler)
    server.app = app
    server.use_tls(module.tls_context(config["tls"]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.reload = lambda: server.use_tls(module.tls_context(config["tls"]))  # what SIGHUP does
    yield server.server_address[1], pki, audit, servers["dc1-db"], tmp_path, server
    server.shutdown()
    server.server_close()
    app.current.route.stop()


def _client(pki: Authority, identity: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert_path))  # the CA pinned
    if identity is not None:
        context.load_cert_chain(str(identity))
    return context


def _request(port: int, context: ssl.SSLContext, method: str, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _audit(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


def _audited(audit: Path, text: str) -> bool:
    """The server writes a handshake's refusal after the client has seen it fail: wait a little."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(text in r["reason"] for r in _audit(audit)):
            return True
        time.sleep(0.02)
    return False


def test_a_town_reaches_its_own_tenant(service) -> None:
    port, pki, audit, db, *_ = service
    status, body = _request(port, _client(pki, pki.town_path("ina")), "GET", "/health/ina/resident-registry")
    assert status == 200 and body["town"] == "ina"
    status, body = _request(port, _client(pki, pki.town_path("ina")), "POST", "/write/ina")
    assert status == 200 and db.rows == [body["id"]]
    assert _audit(audit) == []


def test_another_towns_tenant_is_refused_with_403_audited_and_nothing_written(service) -> None:
    port, pki, audit, db, *_ = service
    ina = _client(pki, pki.town_path("ina"))
    status, body = _request(port, ina, "GET", "/health/ogose/resident-registry")
    assert status == 403 and "town ina's: it may not use ogose's tenant" in body["error"]
    status, _ = _request(port, ina, "POST", "/write/ogose")
    assert status == 403 and db.rows == []
    records = _audit(audit)
    assert [(r["path"], r["status"]) for r in records] == [
        ("/health/ogose/resident-registry", 403),
        ("/write/ogose", 403),
    ]
    first = records[0]
    assert first["source"].startswith("127.0.0.1:") and first["certificate"]["subject"] == "ina"
    assert first["certificate"]["serial"] and first["time"].endswith("Z")


def test_no_certificate_is_refused_at_the_handshake_and_audited(service) -> None:
    port, pki, audit, db, *_ = service
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _request(port, _client(pki, None), "GET", "/health/ina/resident-registry")
    assert db.queries == 0
    assert _audited(audit, "TLS handshake refused")


def test_a_certificate_from_another_ca_is_refused_at_the_handshake(service) -> None:
    port, pki, audit, _, tmp_path, _ = service
    other = Authority("prod", tmp_path / "other")
    other.ensure_ca()
    forged = other.issue_town("ina", "伊奈町")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _request(port, _client(pki, forged), "GET", "/health/ina/resident-registry")
    assert _audited(audit, "TLS handshake refused")


def test_the_operations_center_reads_heartbeat_ids_and_no_tenants_data(service) -> None:
    port, pki, audit, *_ = service
    ops = _client(pki, pki.operations_path)
    status, body = _request(port, ops, "GET", "/writes/ina/ids?since=0")
    assert status == 200 and body == {"town": "ina", "ids": [1]}
    for method, path in (("GET", "/health/ina/resident-registry"), ("POST", "/write/ina"), ("GET", "/parameters/ina")):
        assert _request(port, ops, method, path)[0] == 403, path
    assert len(_audit(audit)) == 3


def test_plain_http_is_not_answered(service) -> None:
    port, *_ = service
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    conn.close()


def test_another_towns_name_gets_403_whether_or_not_it_is_a_tenant(service) -> None:
    port, pki, *_ = service
    ina = _client(pki, pki.town_path("ina"))
    assert _request(port, ina, "GET", "/health/atlantis/resident-registry")[0] == 403  # not 404: no listing


def test_a_reload_serves_a_rotated_certificate_and_refuses_a_revoked_one(service) -> None:
    port, pki, audit, _, _, server = service
    before = ssl.get_server_certificate(("127.0.0.1", port))
    old_ina = pki.town_path("ina").read_bytes()
    leaked = pki.serial_of(pki.town_path("ina"))
    pki.issue_service([IPv4Address("127.0.0.1")])
    pki.issue_town("ina", "伊奈町")
    pki.revoke([leaked])
    server.reload()
    assert ssl.get_server_certificate(("127.0.0.1", port)) != before  # the rotated one, no restart
    assert _request(port, _client(pki, pki.town_path("ina")), "GET", "/health/ina/resident-registry")[0] == 200
    (Path(audit).parent / "old-ina.pem").write_bytes(old_ina)
    os.chmod(Path(audit).parent / "old-ina.pem", 0o600)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _request(port, _client(pki, Path(audit).parent / "old-ina.pem"), "GET", "/health/ina/resident-registry")
    assert _audited(audit, "revoked")


def test_the_drills_fast_probe_speaks_mutual_tls_with_the_towns_certificate(service) -> None:
    import asyncio

    from bcp_drills.fastprobe import client_context, http_probe

    port, pki, *_ = service
    ina = client_context(pki.ca_cert_path, pki.town_path("ina"))
    ok, detail = asyncio.run(http_probe("127.0.0.1", port, "/health/ina/resident-registry", 2.0, tls=ina))
    assert ok and re.fullmatch(r"dc1 \d+ms", detail), detail  # the site that answered, and how fast
    assert asyncio.run(http_probe("127.0.0.1", port, "/health/ogose/resident-registry", 2.0, tls=ina)) == (
        False,
        "http 403",
    )
    ok, _ = asyncio.run(http_probe("127.0.0.1", port, "/health/ina/resident-registry", 2.0))  # plain HTTP
    assert not ok
