"""Provisioning on the small lab, for real: the playbooks through ansible-runner from bare
containers, idempotence, testinfra verification that fails on a broken host and passes once
provisioning repaired it, and the data center failover and fail-back ending with replication
streaming again."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bcp_drills.fastprobe import client_context
from inventory.model.environment import EXECUTION_NODE_ROLE
from lab.names import container_name
from network.apply import apply_plan
from network.plan import make_plan
from pki.authority import Authority

from .conftest import SmallLab, municloud_cli

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1200)]


def _json(result) -> dict:
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout)


def _app(lab: SmallLab, server: str, path: str, method: str = "GET", town: str = "ogose") -> dict:
    """A request to an app server over the management network, as `town` (its certificate)."""
    address = lab.topo.container(server).mgmt_address.ip
    request = urllib.request.Request(f"https://{address}:8080{path}", method=method)
    with urllib.request.urlopen(request, timeout=5, context=_as_town(lab, town)) as answer:
        return json.loads(answer.read())


def _as_town(lab: SmallLab, town: str) -> ssl.SSLContext:
    authority = Authority(lab.environment().name)
    return client_context(authority.ca_cert_path, authority.town_identity(town))


def test_first_provision_from_bare_containers_succeeds_everywhere(provisioned_lab: SmallLab) -> None:
    first = provisioned_lab.first_provision
    assert first["ok"] and first["status"] == "successful"
    servers = {c.name for c in provisioned_lab.topo.containers if c.role != EXECUTION_NODE_ROLE}
    assert set(first["recap"]) == servers  # the execution nodes are provisioned by `nodes setup`, not here
    for host, recap in first["recap"].items():
        assert recap["failed"] == 0 and recap["unreachable"] == 0, host
        assert recap["changed"] > 0, f"{host}: a bare container needs changes"
    print(f"\nfirst provisioning of {len(servers)} servers: {first['seconds']} s")


def test_second_run_changes_nothing(provisioned_lab: SmallLab) -> None:
    again = _json(municloud_cli("provision", "--json"))
    assert again["ok"]
    changed = {host: r["changed"] for host, r in again["recap"].items() if r["changed"]}
    assert changed == {}, f"not idempotent: {changed}"
    print(f"\nidempotent re-run: {again['seconds']} s")


def test_artifacts_hold_no_secret_of_the_caller(provisioned_lab: SmallLab, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "canary-" + os.urandom(8).hex()
    monkeypatch.setenv("VAULT_TOKEN", canary)  # a secret in the caller's environment
    artifacts = Path(_json(municloud_cli("provision", "--json", "--limit", "ina-sv01"))["artifacts"])
    secrets = (provisioned_lab.ops_state_dir / "secrets" / "lab.yml").read_text()
    password = next(line.split(": ", 1)[1] for line in secrets.splitlines() if "app_password" in line)
    files = [p for p in artifacts.rglob("*") if p.is_file()]
    assert files, "no artifacts written"
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert canary not in text and password not in text, path


def test_verify_passes_and_writes_junit(provisioned_lab: SmallLab, tmp_path) -> None:
    junit = tmp_path / "verify.xml"
    result = municloud_cli("verify", "--json", "--junit", str(junit))
    report = _json(result)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert result.returncode == 0 and not failed, failed
    assert junit.exists() and "testcase" in junit.read_text()
    sites = {c["site"] for c in report["checks"]}
    assert sites == {"dc1", "dc2", "ina", "ogose", "namegawa"}
    checks = {c["check"] for c in report["checks"]}
    assert {"every subscribed system answers from the town", "other towns are unreachable"} <= checks


def test_a_broken_host_fails_verify_by_name_and_provision_repairs_it(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    assert lab.ssh("ina-sv01", "systemctl stop municloud-probe-exporter").returncode == 0
    assert lab.ssh("ogose-sv01", "sed -i '$d' /etc/municloud/probe.yaml").returncode == 0  # one system less
    assert (
        lab.ssh("dc2-app1", "echo 'PasswordAuthentication yes' > /etc/ssh/sshd_config.d/00-evil.conf").returncode == 0
    )

    broken = municloud_cli("verify", "--json")
    assert broken.returncode == 1
    failed = {(c["host"], c["check"]) for c in _json(broken)["checks"] if not c["passed"]}
    assert ("ina-sv01", "probe exporter runs with the towns systems") in failed
    assert ("ogose-sv01", "probe exporter runs with the towns systems") in failed
    assert ("dc2-app1", "sshd refuses passwords") in failed
    assert not [host for host, _check in failed if host not in {"ina-sv01", "ogose-sv01", "dc2-app1"}], failed

    repaired = _json(municloud_cli("provision", "--json"))
    assert repaired["ok"]
    for host in ("ina-sv01", "ogose-sv01", "dc2-app1"):
        assert repaired["recap"][host]["changed"] > 0, host
    final = municloud_cli("verify", "--json")
    assert final.returncode == 0, [c for c in _json(final)["checks"] if not c["passed"]]


def test_dc_failover_then_failback_ends_with_replication_healthy(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    written = _app(lab, "dc1-app1", "/write/ogose", "POST")
    lab.lab.fault_isolate_site("dc1")
    try:
        over = municloud_cli("db", "failover", "--json")
        assert over.returncode == 0, over.stdout[-2000:] + over.stderr[-2000:]
        assert _app(lab, "dc2-app1", "/healthz")["database"] == "primary"
        assert _app(lab, "dc2-app1", "/writes/ogose/last")["last"]["id"] >= written["id"]  # asynchronous, but idle
        during = _app(lab, "dc2-app1", "/write/ogose", "POST")
        status = _json(municloud_cli("db", "status", "--json"))
        assert status["site"] == "dc2" and status["recorded"]
    finally:
        lab.lab.heal()
    back = municloud_cli("db", "failback", "--json")
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
    assert _app(lab, "dc1-app1", "/healthz")["database"] == "primary"
    assert _app(lab, "dc1-app1", "/writes/ogose/last")["last"]["id"] == during["id"]  # no write lost
    assert _json(municloud_cli("db", "status", "--json"))["site"] == "dc1"
    final = municloud_cli("verify", "--json")
    assert final.returncode == 0, [c for c in _json(final)["checks"] if not c["passed"]]


def test_a_restart_of_the_primary_leaves_no_app_server_on_its_standby(provisioned_lab: SmallLab) -> None:
    """Every pooled connection of the apps dies with the restart; DC2's app must not take a dead one
    for a lost primary and answer from its standby (CI: verify failed so after the SLA test's DC cuts)."""
    lab = provisioned_lab
    assert _app(lab, "dc2-app1", "/healthz")["database"] == "primary"
    restart = [
        "lxc-attach",
        "-n",
        container_name(lab.topo.prefix, "dc1-db1"),
        "--",
        "systemctl",
        "restart",
        "postgresql",
    ]
    subprocess.run(restart, check=True, timeout=60)
    answers = [_app(lab, server, "/healthz")["database"] for server in ("dc1-app1", "dc2-app1") for _ in range(40)]
    assert answers == ["primary"] * 80


def test_deploy_of_one_town_runs_the_four_stages_and_is_recorded(provisioned_lab: SmallLab) -> None:
    result = municloud_cli("deploy", "--yes", "--town", "namegawa", "--json")
    report = _json(result)
    assert result.returncode == 0 and report["ok"], report
    assert [s["stage"] for s in report["stages"]] == ["network", "provisioning", "verification", "isolation"]
    status = {t["town"]: t for t in _json(municloud_cli("status", "--json"))["towns"]}
    assert status["namegawa"]["last_deploy"]["ok"] and status["ina"]["last_deploy"] is None


def test_each_segment_reaches_what_the_policy_allows_and_nothing_else(
    provisioned_lab: SmallLab, tmp_path: Path
) -> None:
    """三層分離 and the towns apart, measured from every segment of every town (verify --isolation)
    on the routed, provisioned lab: no breach, no loss, and the report written."""
    result = municloud_cli("verify", "--isolation", "--json", "--out", str(tmp_path))
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    off = [c for c in data.get("cells", []) if c["verdict"] != "as-policy"]
    assert result.returncode == 0 and data["ok"], (result.stderr[-2000:], off[:12])
    cells = data["cells"]

    def outcome(town: str, segment: str, target: str) -> str:
        return next(c["outcome"] for c in cells if (c["town"], c["segment"], c["target"]) == (town, segment, target))

    services = {c["target"] for c in cells if c["group"] == "service" and c["protocol"] == "tcp"}
    lgwan = next(c["target"] for c in cells if c["group"] == "external" and c["port"] == 443)
    proxy = next(c["target"] for c in cells if c["group"] == "external" and c["port"] == 8080)
    (service,) = services
    # positive controls: each layer reaches its own service (the app, the stand-ins answer)
    assert outcome("ina", "mynumber", service) == "open"
    assert outcome("ina", "lan", service) == "open"
    assert outcome("ina", "lgwan", lgwan) == "open"
    assert outcome("ina", "internet", proxy) == "open"
    # the crossings are refused by the town hall router's filter (ICMP prohibited), not merely unrouted:
    # the LGWAN gateway and the security cloud are routed to every town
    assert outcome("ina", "mynumber", lgwan) == "prohibited"
    assert outcome("ina", "mynumber", proxy) == "prohibited"
    assert outcome("ina", "lgwan", service) == "prohibited"
    assert outcome("ina", "mynumber", "ina lgwan tcp/445") == "prohibited"
    # no segment reaches a DC server's database, SSH or exporter port, nor another town
    towards_dc = [c for c in cells if c["group"] == "dc"]
    assert towards_dc and not [c for c in towards_dc if c["outcome"] in ("open", "refused", "replied")]
    # every town's certificate against every tenant: its own served, every other refused by the service
    tenants = {(t["certificate"], t["tenant"], t["method"]): t["status"] for t in data["tenants"]}
    assert len(tenants) == 3 * 3 * 2
    assert tenants["ina", "ina", "GET"] == 200 and tenants["ina", "ina", "POST"] == 200
    assert tenants["ina", "ogose", "GET"] == 403 and tenants["ina", "ogose", "POST"] == 403
    assert {s for (mine, tenant, _), s in tenants.items() if mine != tenant} == {403}
    assert {p.name for p in tmp_path.iterdir()} >= {"isolation.html", "isolation.pdf", "isolation.json"}


def test_a_request_for_another_towns_tenant_is_refused_audited_and_writes_nothing(provisioned_lab: SmallLab) -> None:
    """From 伊奈町's マイナンバー利用事務系 with 伊奈町's certificate: 越生町's tenant is answered 403 for a
    read and for a write, no row is written, and the refusals are in the service's audit log with the
    source address and the certificate; a client with no certificate is refused at the handshake."""
    lab = provisioned_lab
    binding = lab.environment()
    service = str(binding.plan.service_address)
    source = str(binding.clients["ina-pcs"].address)
    last_before = _app(lab, "dc1-app1", "/writes/ogose/last")["last"]
    authority = Authority(binding.name)
    script = (
        "import http.client, json, ssl, sys\n"
        "ca, identity, host = sys.argv[1:4]\n"
        "def ask(method, path, cert=True):\n"
        "    c = ssl.create_default_context(cafile=ca)\n"
        "    if cert: c.load_cert_chain(identity)\n"
        "    h = http.client.HTTPSConnection(host, 8080, timeout=5, context=c)\n"
        "    try:\n"
        "        h.request(method, path, headers={'Content-Length': '0'}); return h.getresponse().status\n"
        "    except OSError as e: return 'no answer' if cert else 'handshake refused'\n"
        "print(json.dumps([ask('GET', '/health/ogose/resident-registry'), ask('POST', '/write/ogose'),\n"
        "                  ask('GET', '/parameters/ogose'), ask('GET', '/healthz', cert=False)]))\n"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", lab.client_ns("ina-pcs"), "python3", "-c", script,
         str(authority.ca_cert_path), str(authority.town_identity("ina")), service],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [403, 403, 403, "handshake refused"]
    assert _app(lab, "dc1-app1", "/writes/ogose/last")["last"] == last_before  # nothing written
    log = lab.ssh("dc1-app1", "cat /var/log/municloud/business_app_audit.log")
    assert log.returncode == 0, log.stderr
    records = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    mine = [r for r in records if r["source"].split(":")[0] == source]
    refused = {(r.get("method"), r.get("path")) for r in mine if r.get("status") == 403}
    assert {("GET", "/health/ogose/resident-registry"), ("POST", "/write/ogose")} <= refused, mine[-6:]
    by_cert = [r for r in mine if r.get("status") == 403]
    assert {r["certificate"]["subject"] for r in by_cert} == {"ina"} and all(r["time"] for r in by_cert)
    assert any("handshake" in r["reason"] for r in mine if r.get("status") is None), mine[-6:]


def test_a_rotated_certificate_keeps_every_probe_up(provisioned_lab: SmallLab, tmp_path: Path) -> None:
    """`pki rotate --revoke` for 伊奈町 then `provision`: the town server gets the new certificate and the
    service the new revocation list; the probe exporter moves to the new certificate without a failed
    probe, and the old certificate, revoked, is refused."""
    lab = provisioned_lab
    authority = Authority(lab.environment().name)
    old = tmp_path / "ina-old.pem"
    old.write_bytes(authority.town_path("ina").read_bytes())
    old.chmod(0o600)
    failures_before, probes_before = _probe_counts(lab, "ina-sv01")
    rotated = municloud_cli("pki", "rotate", "--town", "ina", "--revoke")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    provisioned = _json(municloud_cli("provision", "--json"))
    assert provisioned["ok"] and provisioned["recap"]["ina-sv01"]["changed"] > 0, provisioned
    on_server = lab.ssh("ina-sv01", "cat /etc/municloud/tls/town.pem").stdout
    assert on_server.strip() == authority.town_path("ina").read_text().strip()
    # two probe rounds with the new certificate (rounds every 15 s), not one probe failed since before
    deadline = time.monotonic() + 60
    systems = len(lab.inventory.town("ina").subscriptions)
    while _probe_counts(lab, "ina-sv01")[1] < probes_before + 3 * systems and time.monotonic() < deadline:
        time.sleep(2)
    failures_after, probes_after = _probe_counts(lab, "ina-sv01")
    assert probes_after >= probes_before + 3 * systems
    assert failures_after == failures_before
    # the revoked certificate: refused by the service (its CRL was reloaded)
    address = lab.topo.container("dc1-app1").mgmt_address.ip
    with pytest.raises(OSError):  # ssl.SSLError, a reset or URLError: no HTTP answer
        urllib.request.urlopen(
            f"https://{address}:8080/writes/ina/last", timeout=10, context=client_context(authority.ca_cert_path, old)
        ).read()


def _probe_counts(lab: SmallLab, server: str) -> tuple[float, float]:
    """The probe exporter's failed and made probes, all systems summed."""
    address = lab.topo.container(server).mgmt_address.ip
    with urllib.request.urlopen(f"http://{address}:9469/metrics", timeout=5) as answer:
        text = answer.read().decode()
    total = {"municloud_probe_failures_total": 0.0, "municloud_probes_total": 0.0}
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in total:
            total[name] += float(line.rsplit(" ", 1)[1])
    return total["municloud_probe_failures_total"], total["municloud_probes_total"]


def test_a_filter_that_would_cut_the_probes_is_caught_and_rolled_back(provisioned_lab: SmallLab) -> None:
    """A wrong filter on 伊奈町's town hall LAN (the service's port mistyped): the echo still passes, the
    SLA probes' port does not; the post-check sees it from the town server and the change is rolled back."""
    lab = provisioned_lab
    inv, binding = lab.inventory, lab.environment()
    service = binding.plan.service_address
    entry = f" 10 permit tcp {binding.plan.towns['ina'].lan} {service}/32 eq 8080"
    intended = make_plan(inv, binding, ["ina-ce1"]).device("ina-ce1").intended
    assert entry in intended
    wrong = make_plan(
        inv, binding, ["ina-ce1"], intended_override={"ina-ce1": intended.replace(entry, entry[:-4] + "8081")}
    )
    result = apply_plan(wrong, inv, binding, check_timeout=8)
    assert result.results["ina-ce1"].status == "rolled-back", result.results
    assert "service tcp/8080 unreachable from the town" in result.results["ina-ce1"].detail
    assert make_plan(inv, binding, ["ina-ce1"]).changed == []  # the filter is back as intended
    assert lab.ssh("ina-sv01", f"timeout 3 bash -c '</dev/tcp/{service}/8080'").returncode == 0
