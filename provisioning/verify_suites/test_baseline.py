"""The common role on every server: admin access by key only, hardened sshd, time from the DCs,
bounded journald, the node exporter on the management address."""

from __future__ import annotations


def test_sshd_refuses_passwords(server) -> None:
    effective = server.host.check_output("sshd -T")
    assert "passwordauthentication no" in effective
    assert "kbdinteractiveauthentication no" in effective
    assert "permitrootlogin without-password" in effective or "permitrootlogin prohibit-password" in effective


def test_root_has_no_password(server) -> None:
    assert server.host.check_output("passwd -S root").split()[1] == "L"


def test_admin_user_logs_in_with_a_key(server) -> None:
    user = server.host.user("opsadmin")
    assert user.exists and "sudo" in user.groups
    keys = server.host.file("/home/opsadmin/.ssh/authorized_keys")
    assert keys.exists and keys.content_string.strip(), "no authorized key"
    assert server.host.check_output("passwd -S opsadmin").split()[1] == "L"


def test_time_comes_from_the_data_centers(server, verify_plan) -> None:
    conf = server.host.file("/etc/systemd/timesyncd.conf.d/10-municloud.conf")
    assert f"NTP={' '.join(verify_plan['time_servers'])}" in conf.content_string


def test_journald_is_bounded(server) -> None:
    assert "SystemMaxUse=" in server.host.file("/etc/systemd/journald.conf.d/10-municloud.conf").content_string


def test_node_exporter_runs_on_the_management_address(server, verify_plan) -> None:
    service = server.host.service("prometheus-node-exporter")
    assert service.is_running and service.is_enabled
    assert server.host.socket(f"tcp://{server.spec['mgmt']}:{verify_plan['node_exporter_port']}").is_listening
