"""Yamaha RTX and NEC IX drivers: their parsers on sample outputs in the vendors' formats, and their
conversation (Netmiko's real yamaha/nec_ix code underneath) against a scripted SSH command line on
127.0.0.1 that answers like the router: login, enable with the secret, config with `#` comment
lines, a rejected line, save, and RTX's commit-confirm by `schedule at ... * restart`.

The transcripts are reconstructed from public samples and the vendors' formats (see the parser
modules); they show that the drivers hold the conversation they were written for, not that a real
router answers this way."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from ipaddress import IPv4Network
from pathlib import Path

import paramiko
import pytest

from network.drivers import nec_ix
from network.drivers import nec_ix_parsers as ix
from network.drivers import yamaha_rtx_parsers as rtx
from network.drivers.device import DRIVERS, Access, ConfigRejected, DeviceError, driver_for
from network.drivers.nec_ix import NecIxDriver
from network.drivers.yamaha_rtx import REVERT_SCHEDULE_ID, YamahaRtxDriver

from .fake_ssh_cli import FakeSshCli

pytestmark = pytest.mark.timeout(30)

SAMPLES = Path(__file__).parent / "golden" / "devices"
SECRET = "s3cret-admin"
USER = "netops"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


# --- RTX parsers ---------------------------------------------------------------------------------


def test_rtx_bgp_neighbors_in_each_state() -> None:
    assert rtx.parse_bgp_neighbors(sample("rtx-show-status-bgp-neighbor.txt")) == {
        "10.64.128.129": "Established",
        "10.64.129.129": "Active",
        "10.64.130.129": "Idle",
    }


def test_rtx_without_neighbours_has_no_sessions_but_another_format_is_refused() -> None:
    assert rtx.parse_bgp_neighbors("\n") == {}
    with pytest.raises(DeviceError, match="show status bgp neighbor"):
        rtx.parse_bgp_neighbors("Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State\n")


def test_rtx_routes_of_each_kind() -> None:
    assert rtx.parse_routes(sample("rtx-show-ip-route.txt")) == {
        IPv4Network("0.0.0.0/0"): "static",
        IPv4Network("10.1.3.0/24"): "connected",
        IPv4Network("10.64.0.0/24"): "bgp",
        IPv4Network("10.64.128.128/30"): "connected",
        IPv4Network("10.9.0.0/16"): "ospf",
        IPv4Network("10.10.0.0/16"): "rip",
    }  # the row of an unknown kind is skipped, not guessed


def test_rtx_routes_without_their_header_are_refused() -> None:
    with pytest.raises(DeviceError, match="show ip route"):
        rtx.parse_routes("Error: Invalid command name\n")


def test_rtx_clock_and_when_the_revert_fires() -> None:
    text = sample("rtx-show-environment.txt").format(clock="2026/12/04 14:05:13")
    now = rtx.parse_router_clock(text)
    assert now == datetime(2026, 12, 4, 14, 5, 13, tzinfo=timezone(timedelta(hours=9)))
    assert rtx.revert_time(now, 5).strftime("%Y/%m/%d %H:%M") == "2026/12/04 14:11"  # rounded up
    assert rtx.revert_time(datetime(2026, 12, 4, 14, 5), 5) == datetime(2026, 12, 4, 14, 10)  # on the minute
    assert rtx.revert_time(datetime(2026, 12, 31, 23, 58, 30), 5) == datetime(2027, 1, 1, 0, 4)
    assert rtx.revert_time(datetime(2028, 2, 28, 23, 59, 1), 1) == datetime(2028, 2, 29, 0, 1)  # leap day
    with pytest.raises(DeviceError, match="show environment"):
        rtx.parse_router_clock("CPU:   1%(5sec)\n")


# --- a scripted RTX ------------------------------------------------------------------------------


class FakeRtx:
    """An RTX1220 as far as the driver talks to it: bare `>`/`#` prompts until `console prompt`,
    `administrator` asking for the secret, `Error:` for what it does not accept."""

    BANNER = (
        "\r\nRTX1220 Rev.14.00.32 (Thu Feb 29 10:11:32 2024)\r\n  Copyright (c) 1994-2024 Yamaha Corporation.\r\n\r\n"
    )

    def __init__(self, clock: str = "2026/12/04 14:05:13", save_fails: bool = False) -> None:
        self.clock, self.save_fails = clock, save_fails
        self.echo = True
        self.name, self.admin, self.dirty, self.saved = "", False, False, False
        self.asking: str | None = None  # "secret" or "save?"
        self.received: list[str] = []
        self.config = sample("rtx-show-config.txt").splitlines()
        self.config = [line for line in self.config if not line.startswith("console ")]  # a fresh session's

    def prompt(self) -> str:
        return f"{self.name}{'#' if self.admin else '>'} "

    def greeting(self) -> str:
        return self.BANNER + self.prompt()

    def answer(self, line: str) -> str | None:
        self.received.append(line)
        if self.asking == "secret":
            self.asking, self.echo = None, True
            if line == SECRET:
                self.admin = True
                return self.prompt()
            return "Error: Incorrect password\n" + self.prompt()
        if self.asking == "save?":
            self.asking = None
            if line.strip().upper() == "Y":
                self.saved = True
            self.admin, self.dirty = False, False
            return self.prompt()
        output = self._command(line.strip())
        return None if output is None else output + self.prompt()

    def _command(self, line: str) -> str | None:
        if not line:
            return ""
        if line == "administrator":
            if self.admin:
                return ""
            self.asking, self.echo = "secret", False
            return "Password: "
        if line == "exit":
            if self.admin and self.dirty:
                self.asking = "save?"
                return "Save new configuration ? (Y/N)"  # no prompt: waits for the answer
            if self.admin:
                self.admin = False
                return ""
            return None
        if match := re.fullmatch(r"console prompt (\S+)", line):
            self.name = match.group(1)
            return ""
        if line.startswith("console "):
            return ""
        if line == "show environment":
            return sample("rtx-show-environment.txt").format(clock=self.clock)
        if line == "show status bgp neighbor":
            return sample("rtx-show-status-bgp-neighbor.txt")
        if line == "show ip route":
            return sample("rtx-show-ip-route.txt")
        if not self.admin:
            return "Error: This command can be used only in administrator mode\n"
        if line == "show config":
            return "\n".join(self.config) + "\n"
        if line == "save":
            if self.save_fails:
                return "Error: Failed to save the configuration\n"
            self.saved, self.dirty = True, False
            return "Saving ... CONFIG0 Done .\n"
        return self._configure(line)

    def _configure(self, line: str) -> str:
        if match := re.fullmatch(r"no schedule at (\d+)", line):
            self.config = [c for c in self.config if not c.startswith(f"schedule at {match.group(1)} ")]
            self.dirty = True
            return ""
        if line.startswith("schedule at "):
            if not re.fullmatch(r"schedule at \d+ \d{4}/\d\d/\d\d \d\d:\d\d \* restart", line):
                return "Error: Invalid parameter\n"
        elif re.search(r"/(3[3-9]|[4-9]\d)\b", line):
            return "Error: Invalid parameter\n"
        elif line.split()[0] not in {"ip", "bgp", "description", "pp", "tunnel", "no", "dns"}:
            return "Error: Invalid command name\n"
        self.config.append(line)
        self.dirty = True
        return ""


@pytest.fixture(scope="module")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[paramiko.RSAKey, Path]:
    key = paramiko.RSAKey.generate(2048)
    path = tmp_path_factory.mktemp("keys") / "id_rsa"
    key.write_private_key_file(str(path))
    return key, path


@pytest.fixture
def serve(host_key: tuple[paramiko.RSAKey, Path]) -> Iterator[Callable[[Callable[[], object]], FakeSshCli]]:
    """serve(make_device) -> a running fake CLI; every one started is stopped, pass or fail."""
    servers: list[FakeSshCli] = []

    def start(make_device: Callable[[], object]) -> FakeSshCli:
        servers.append(FakeSshCli(host_key[0], USER, make_device))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def access(server: FakeSshCli, key_file: Path, secret: str | None = SECRET) -> Access:
    return Access(USER, key_file, None, conn_timeout=5.0, enable_secret=secret, port=server.port)


@pytest.fixture
def rtx_session(serve, host_key) -> Callable[..., tuple[YamahaRtxDriver, FakeRtx]]:
    def open_(**device: object) -> tuple[YamahaRtxDriver, FakeRtx]:
        server = serve(lambda: FakeRtx(**device))  # type: ignore[arg-type]
        driver = driver_for("yamaha_rtx", "127.0.0.1", access(server, host_key[1]))
        assert isinstance(driver, YamahaRtxDriver)
        driver.open()
        return driver, server.devices[0]  # type: ignore[return-value]

    return open_


def test_rtx_is_registered_and_has_a_timed_revert() -> None:
    assert DRIVERS["yamaha_rtx"] is YamahaRtxDriver
    assert YamahaRtxDriver.supports_timed_revert


def test_rtx_login_anchors_the_prompt_and_enters_administrator_mode(rtx_session) -> None:
    driver, device = rtx_session()
    try:
        typed = [line for line in device.received if line]  # Netmiko sends bare RETURNs to find prompts
        assert typed[:6] == [
            "console character en.ascii",
            "console lines infinity",
            "console columns 200",
            "console prompt municloud",
            "administrator",
            SECRET,
        ]
        assert device.admin and device.name == "municloud"
    finally:
        driver.close()


def test_rtx_wrong_secret_is_refused_without_naming_it(serve, host_key) -> None:
    server = serve(FakeRtx)
    driver = YamahaRtxDriver("127.0.0.1", access(server, host_key[1], secret="wrong-guess"))
    with pytest.raises(DeviceError, match="administrator password refused") as refused:
        driver.open()
    assert "wrong-guess" not in str(refused.value)
    assert driver.conn is None
    assert "wrong-guess" not in repr(driver.access)


def test_rtx_running_config_keeps_its_comment_lines(rtx_session) -> None:
    driver, _ = rtx_session()
    try:
        config = driver.get_running_config()
    finally:
        driver.close()
    lines = config.splitlines()
    assert lines[0] == "# RTX1220 Rev.14.00.32 (Thu Feb 29 10:11:32 2024)"
    assert "# Reporting Date: Dec 4 14:05:13 2026" in lines
    assert lines[-1] == "sshd service on"  # read to the end, not to the first `#`
    assert not any(line.startswith("municloud") for line in lines)


def test_rtx_push_stops_at_the_rejected_line_and_names_it(rtx_session) -> None:
    driver, device = rtx_session()
    try:
        with pytest.raises(ConfigRejected) as rejected:
            driver.push(
                [
                    "ip route 10.1.4.0/24 gateway 10.1.3.254",
                    "ip route 10.1.5.0/33 gateway 10.1.3.254",
                    "ip route 10.1.6.0/24 gateway 10.1.3.254",
                ]
            )
    finally:
        driver.close()
    assert "ip route 10.1.5.0/33 gateway 10.1.3.254" in str(rejected.value)
    assert "Error: Invalid parameter" in str(rejected.value)
    assert "ip route 10.1.4.0/24 gateway 10.1.3.254" in device.config
    assert "ip route 10.1.6.0/24 gateway 10.1.3.254" not in device.received
    assert "N" in device.received and not device.saved  # closing answered "Save new configuration?" with N


def test_rtx_unknown_command_is_rejected_too(rtx_session) -> None:
    driver, _ = rtx_session()
    try:
        with pytest.raises(ConfigRejected, match=r"frobnicate on.*Error: Invalid command name"):
            driver.push(["frobnicate on"])
    finally:
        driver.close()


def test_rtx_push_refuses_lines_that_would_change_the_session_console(rtx_session) -> None:
    driver, device = rtx_session()
    before = list(device.received)
    try:
        with pytest.raises(ConfigRejected, match="no console prompt"):
            driver.push(["ip route 10.1.4.0/24 gateway 10.1.3.254", "no console prompt"])
    finally:
        driver.close()
    assert "ip route 10.1.4.0/24 gateway 10.1.3.254" not in device.received[len(before) :]


def test_rtx_save_is_checked(rtx_session) -> None:
    driver, device = rtx_session()
    try:
        driver.save()
    finally:
        driver.close()
    assert device.saved
    failing, _ = rtx_session(save_fails=True)
    try:
        with pytest.raises(DeviceError, match="Failed to save"):
            failing.save()
    finally:
        failing.close()


def test_rtx_state_from_the_router(rtx_session) -> None:
    driver, _ = rtx_session()
    try:
        state = driver.get_state()
    finally:
        driver.close()
    assert state.bgp["10.64.128.129"] == "Established"
    assert state.routes[IPv4Network("10.64.0.0/24")] == "bgp"
    assert state.bfd == {}


@pytest.mark.parametrize(
    ("clock", "minutes", "armed"),
    [
        ("2026/12/04 14:05:13", 5, "2026/12/04 14:11"),
        ("2026/12/31 23:58:30", 5, "2027/01/01 00:04"),  # midnight, month and year
    ],
)
def test_rtx_commit_confirm_by_a_scheduled_restart(rtx_session, clock: str, minutes: int, armed: str) -> None:
    driver, device = rtx_session(clock=clock)
    line = f"schedule at {REVERT_SCHEDULE_ID} {armed} * restart"
    try:
        driver.arm_revert(minutes)
        assert line in device.received and line in device.config
        driver.push(["ip route 10.1.4.0/24 gateway 10.1.3.254"])
        driver.confirm()
        assert f"no schedule at {REVERT_SCHEDULE_ID}" in device.received
        assert not rtx.schedule_lines("\n".join(device.config), REVERT_SCHEDULE_ID)
        driver.save()  # after confirm(): the restart is never saved
    finally:
        driver.close()
    assert device.saved


def test_rtx_confirm_is_refused_once_the_revert_has_fired(rtx_session) -> None:
    driver, device = rtx_session(clock="2026/12/04 14:05:13")
    try:
        driver.arm_revert(5)
        # the restart fired: the router came back from its saved configuration, without the schedule
        device.config = [c for c in device.config if not c.startswith(f"schedule at {REVERT_SCHEDULE_ID} ")]
        with pytest.raises(DeviceError, match="revert fired"):
            driver.confirm()
    finally:
        driver.close()
    assert f"no schedule at {REVERT_SCHEDULE_ID}" not in device.received
    assert not device.saved


def test_rtx_revert_is_not_armed_without_the_router_clock(rtx_session) -> None:
    driver, device = rtx_session(clock="not a clock")
    try:
        with pytest.raises(DeviceError, match="show environment"):
            driver.arm_revert(5)
    finally:
        driver.close()
    assert not any(line.startswith("schedule at") for line in device.received)


def test_rtx_needs_the_administrator_secret(serve, host_key) -> None:
    server = serve(FakeRtx)
    with pytest.raises(DeviceError, match="enable_secret"):
        YamahaRtxDriver("127.0.0.1", access(server, host_key[1], secret=None)).open()


# --- IX parsers ----------------------------------------------------------------------------------


def test_ix_bgp_summary_in_each_state() -> None:
    assert ix.parse_bgp_summary(sample("ix-show-ip-bgp-summary.txt")) == {
        "10.64.128.129": "Established",
        "10.64.129.129": "Active",
        "10.64.130.129": "Idle",
    }


def test_ix_bgp_without_neighbours_and_another_format() -> None:
    assert ix.parse_bgp_summary("BGP router identifier 10.1.1.1, local AS number 65108\n") == {}
    with pytest.raises(DeviceError, match="show ip bgp summary"):
        ix.parse_bgp_summary("BGP neighbor is 10.64.128.129, remote AS 64600\n  BGP state = Active\n")


def test_ix_routes_of_each_kind() -> None:
    assert ix.parse_routes(sample("ix-show-ip-route.txt")) == {
        IPv4Network("0.0.0.0/0"): "static",
        IPv4Network("10.64.0.0/24"): "bgp",
        IPv4Network("10.64.128.128/30"): "connected",
        IPv4Network("10.1.8.0/24"): "connected",
        IPv4Network("10.1.4.0/24"): "static",
        IPv4Network("10.9.0.0/16"): "ospf",
    }
    with pytest.raises(DeviceError, match="show ip route"):
        ix.parse_routes("% Invalid input detected.\n")


def test_ix_notices_that_reject_a_line() -> None:
    assert nec_ix.rejection("% Invalid input detected.\n") == "% Invalid input detected."
    assert nec_ix.rejection("% You must restart the router to enable this setting.\n")
    assert nec_ix.rejection("% Warning: the interface is shut down.\n") is None
    assert nec_ix.rejection("") is None


# --- a scripted IX -------------------------------------------------------------------------------


class FakeIx:
    """An IX2215 as far as the driver talks to it: `NAME#`, `svintr-config` into `NAME(config)#`,
    sub-modes `NAME(config-IF)#`, shows only in configuration mode, `% ` errors."""

    def __init__(self, password: str | None = None, save_fails: bool = False) -> None:
        self.password, self.save_fails = password, save_fails
        self.echo, self.asking = True, False
        self.mode: str | None = None  # None: operation; "": top of config; else the sub-mode
        self.received: list[str] = []
        self.config = sample("ix-show-running-config.txt").splitlines()
        self.saved = False

    def prompt(self) -> str:
        mode = "" if self.mode is None else f"({'config' if not self.mode else 'config-' + self.mode})"
        return f"ix-hokuto-ce1{mode}# "

    def greeting(self) -> str:
        return "\r\nNEC Portable Internetwork Core Operating System Software\r\n\r\n" + self.prompt()

    def answer(self, line: str) -> str | None:
        self.received.append(line)
        if self.asking:
            self.asking, self.echo = False, True
            if line == self.password:
                self.mode = ""
                return self.prompt()
            return "% Authentication failed.\nPassword: "
        output = self._command(line.strip())
        return None if output is None else output + self.prompt()

    def _command(self, line: str) -> str | None:
        if not line:
            return ""
        if line in ("svintr-config", "enable-config"):
            if self.password:
                self.asking, self.echo = True, False
                return "Password: "
            self.mode = ""
            return ""
        if line == "exit":
            if self.mode is None:
                return None
            self.mode = None if self.mode == "" else ""
            return ""
        if self.mode is None:
            return "% Unknown command.\n"
        if line == "configure":
            self.mode = ""
            return ""
        if line == "terminal length 0":
            return ""
        if line == "show running-config":
            return "\n".join(self.config) + "\n"
        if line == "show ip bgp summary":
            return sample("ix-show-ip-bgp-summary.txt")
        if line == "show ip route":
            return sample("ix-show-ip-route.txt")
        if line == "write memory":
            if self.save_fails:
                return "% Failed to write configuration to flash.\n"
            self.saved = True
            return (
                "Building configuration...\n% Warning: do NOT enter CNTL/Z while saving to avoid config corruption.\n"
            )
        if match := re.fullmatch(r"interface (\S+)", line):
            self.mode = match.group(1)
        elif line.startswith("ip ufs-cache max-entries"):
            self.config.append(line)
            return "% You must restart the router to enable this setting.\n"
        elif line.split()[0] not in {"ip", "router", "neighbor", "no", "description", "hostname"}:
            return "% Invalid input detected.\n"
        self.config.append(line)
        return ""


@pytest.fixture
def ix_session(serve, host_key) -> Callable[..., tuple[NecIxDriver, FakeIx]]:
    def open_(secret: str | None = None, **device: object) -> tuple[NecIxDriver, FakeIx]:
        server = serve(lambda: FakeIx(**device))  # type: ignore[arg-type]
        driver = driver_for("nec_ix", "127.0.0.1", access(server, host_key[1], secret=secret))
        assert isinstance(driver, NecIxDriver)
        driver.open()
        return driver, server.devices[0]  # type: ignore[return-value]

    return open_


def test_ix_is_registered_without_a_timed_revert() -> None:
    assert DRIVERS["nec_ix"] is NecIxDriver
    assert not NecIxDriver.supports_timed_revert
    with pytest.raises(DeviceError, match="no timed revert"):
        NecIxDriver("127.0.0.1", Access(USER, None, None)).arm_revert(5)


def test_ix_login_enters_configuration_mode(ix_session) -> None:
    driver, device = ix_session()
    try:
        typed = [line for line in device.received if line]
        assert typed[:2] == ["svintr-config", "terminal length 0"]
        assert device.mode == ""
        config = driver.get_running_config()
    finally:
        driver.close()
    assert config.splitlines()[0] == "! NEC Portable Internetwork Core Operating System Software"
    assert config.splitlines()[-1] == "  no shutdown"
    assert device.mode is None  # closing left configuration mode


def test_ix_enable_password_from_the_secret_and_a_wrong_one(ix_session) -> None:
    driver, device = ix_session(secret="ix-secret", password="ix-secret")
    driver.close()
    assert "ix-secret" in device.received
    with pytest.raises(DeviceError, match="enable password refused") as refused:
        ix_session(secret="wrong-guess", password="ix-secret")
    assert "wrong-guess" not in str(refused.value)


def test_ix_push_stops_at_the_rejected_line_and_names_it(ix_session) -> None:
    driver, device = ix_session()
    try:
        driver.push(["interface GigaEthernet2.1", "  description office LAN", "ip route 10.1.5.0/24 10.1.8.254"])
        assert device.mode == ""  # back at the top after the push
        with pytest.raises(ConfigRejected) as rejected:
            driver.push(["ip route 10.1.6.0/24 10.1.8.254", "frobnicate on", "ip route 10.1.7.0/24 10.1.8.254"])
    finally:
        driver.close()
    assert "frobnicate on" in str(rejected.value) and "% Invalid input detected." in str(rejected.value)
    assert "ip route 10.1.7.0/24 10.1.8.254" not in device.received
    assert "description office LAN" in device.config


def test_ix_a_line_that_needs_a_restart_is_rejected(ix_session) -> None:
    driver, _ = ix_session()
    try:
        with pytest.raises(ConfigRejected, match="You must restart the router"):
            driver.push(["ip ufs-cache max-entries 4096"])
    finally:
        driver.close()


def test_ix_save_is_checked_and_a_warning_is_not_a_failure(ix_session) -> None:
    driver, device = ix_session()
    try:
        driver.save()
    finally:
        driver.close()
    assert device.saved
    failing, _ = ix_session(save_fails=True)
    try:
        with pytest.raises(DeviceError, match="Failed to write"):
            failing.save()
    finally:
        failing.close()


def test_ix_state_from_the_router(ix_session) -> None:
    driver, _ = ix_session()
    try:
        state = driver.get_state()
    finally:
        driver.close()
    assert state.bgp == {"10.64.128.129": "Established", "10.64.129.129": "Active", "10.64.130.129": "Idle"}
    assert state.routes[IPv4Network("10.64.0.0/24")] == "bgp"
    assert state.bfd == {}
