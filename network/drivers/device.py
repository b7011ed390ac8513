"""One driver interface per platform, NAPALM-style: get the running config, push lines, save, parse
state, and (where the platform has it) a timed revert for commit-confirm.

- `FrrDriver` (the lab's routers): Netmiko's Cisco driver adapted to vtysh (`FrrVtyshSSH`); state from
  FRR's `show ... json`. The packet filters (`filter NAME in IF` sections: FRR has none of its own)
  go over a second SSH session, as `root`, whose only command is the router's filter program
  (lab/router_filter.py: show, apply, save); the running config is vtysh's followed by the filters,
  a push sends each its lines (vtysh first), a save saves both. FRR has no timed revert:
  commit-confirm is done by the apply engine, which saves only after the post-checks pass (a router
  that restarts comes back with the old config, filters included) and reverts from the backup when
  the router is reachable again.
- `CiscoIosDriver` (IOS-XE CE routers in production): `configure terminal revert timer N` (the
  configuration archive's rollback timer) arms a revert on the router itself before the push;
  `configure confirm` disarms it once the post-checks pass. State from TextFSM (ntc-templates).
- `YamahaRtxDriver` (yamaha_rtx.py, "yamaha_rtx"): commit-confirm by a scheduled `restart` (boots
  the saved config), removed by confirm() before save(). `NecIxDriver` (nec_ix.py, "nec_ix"): no
  timed revert, as FRR. Both register themselves in DRIVERS (the package imports them).
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException, NetmikoBaseException

from .frr import FrrVtyshSSH, split_filter_commands


class DeviceError(Exception):
    """A device could not be reached or did not do what was asked."""


class ConfigRejected(DeviceError):
    """The device rejected a configuration line."""


@dataclass(frozen=True)
class Access:
    """How to log in: user, key, pinned host keys (None: accept what the host presents, lab only),
    and the secret of the enable/administrator level on platforms that ask for one (Yamaha RTX's
    `administrator`). The secret is handed to Netmiko as `secret`, whose log filter masks it; it is
    never put in a message here (repr=False keeps it out of this object's repr too)."""

    username: str
    key_file: Path | None
    known_hosts: Path | None
    conn_timeout: float = 10.0
    enable_secret: str | None = field(default=None, repr=False)
    port: int = 22


@dataclass
class DeviceState:
    bgp: dict[str, str] = field(default_factory=dict)  # neighbor address -> state (Established, ...)
    bfd: dict[str, str] = field(default_factory=dict)  # peer address -> status (up, down, ...)
    routes: dict[IPv4Network, str] = field(default_factory=dict)  # prefix -> protocol of the best route

    def to_json(self) -> dict[str, Any]:
        return {"bgp": self.bgp, "bfd": self.bfd, "routes": {str(k): v for k, v in self.routes.items()}}


class Driver(ABC):
    platform: str
    supports_timed_revert = False

    def __init__(self, host: str, access: Access) -> None:
        self.host = host
        self.access = access
        self.conn: Any = None

    def __enter__(self) -> Driver:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.access.port,
            "username": self.access.username,
            "use_keys": True,
            "key_file": str(self.access.key_file) if self.access.key_file else None,
            "allow_agent": False,
            "system_host_keys": False,
            "conn_timeout": self.access.conn_timeout,
            "auth_timeout": self.access.conn_timeout,
            "banner_timeout": self.access.conn_timeout,
        }
        if self.access.known_hosts is not None:
            params.update(alt_host_keys=True, alt_key_file=str(self.access.known_hosts), ssh_strict=True)
        return params

    @abstractmethod
    def open(self) -> None: ...

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # a dead session cannot be closed politely
                self.conn.disconnect()
            self.conn = None

    def _send(self, command: str, read_timeout: float = 30.0) -> str:
        try:
            return str(self.conn.send_command(command, read_timeout=read_timeout))
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: `{command}` failed: {error}") from error

    @abstractmethod
    def get_running_config(self) -> str: ...

    def push(self, commands: list[str]) -> str:
        """Send configuration commands; a line the device rejects raises ConfigRejected (the lines
        before it are applied, and on FRR those after it too: the caller rolls back)."""
        try:
            return self._send_config(commands)
        except ConfigInvalidException as error:
            raise ConfigRejected(f"{self.host}: the device rejected a line: {error}") from error
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: push failed: {error}") from error

    def _send_config(self, commands: list[str]) -> str:
        """Netmiko's line-by-line push (each line waits for its echo and prompt)."""
        return str(self.conn.send_config_set(commands, error_pattern=self.error_pattern, read_timeout=60))

    error_pattern = r"(?m)^% "

    @abstractmethod
    def save(self) -> None: ...

    @abstractmethod
    def get_state(self) -> DeviceState: ...

    def arm_revert(self, minutes: int) -> None:
        raise DeviceError(f"{self.host}: platform {self.platform} has no timed revert")

    def confirm(self) -> None:  # noqa: B027  (nothing to disarm on a platform without timed revert)
        """Disarm a timed revert (after the post-checks passed)."""


class FrrDriver(Driver):
    platform = "frr"
    filter_user = "root"  # the router's sshd gives this user the packet filter program and nothing else

    def __init__(self, host: str, access: Access) -> None:
        super().__init__(host, access)
        self._filter_ssh: paramiko.SSHClient | None = None

    def open(self) -> None:
        try:
            self.conn = FrrVtyshSSH(**self._params())
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: cannot log in: {error}") from error

    def close(self) -> None:
        if self._filter_ssh is not None:
            with contextlib.suppress(Exception):
                self._filter_ssh.close()
            self._filter_ssh = None
        super().close()

    def get_running_config(self) -> str:
        vtysh = self._send("show running-config")
        return vtysh.rstrip("\n") + "\n" + self._filter("show")  # netmiko strips the last newline

    def push(self, commands: list[str]) -> str:
        vtysh, filters = split_filter_commands(commands)
        output = super().push(vtysh) if vtysh else ""
        if filters:
            self._filter("apply", "\n".join(filters) + "\n")
        return output

    def _send_config(self, commands: list[str]) -> str:
        """In one write (`FrrVtyshSSH.send_config_batch`: a carrier edge's 400 lines in 0.6 s rather
        than 5 s); a rejected line is reported once all lines have run."""
        return self.conn.send_config_batch(commands, error_pattern=self.error_pattern)

    def save(self) -> None:
        try:
            self.conn.save_config()
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: save failed: {error}") from error
        self._filter("save")

    def _filter_session(self) -> paramiko.SSHClient:
        """The filter program's SSH session, opened once per driver with vtysh's key and host keys."""
        if self._filter_ssh is None:
            client = paramiko.SSHClient()
            if self.access.known_hosts is not None:
                client.load_host_keys(str(self.access.known_hosts))
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
            else:
                client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # lab only (see Access)
            try:
                client.connect(
                    self.host,
                    port=self.access.port,
                    username=self.filter_user,
                    key_filename=str(self.access.key_file) if self.access.key_file else None,
                    allow_agent=False,
                    look_for_keys=False,
                    timeout=self.access.conn_timeout,
                    auth_timeout=self.access.conn_timeout,
                    banner_timeout=self.access.conn_timeout,
                )
            except (paramiko.SSHException, OSError, EOFError) as error:
                client.close()
                raise DeviceError(f"{self.host}: cannot reach the packet filter: {error}") from error
            self._filter_ssh = client
        return self._filter_ssh

    def _filter(self, command: str, lines: str = "") -> str:
        """Run one filter command (show, apply, save); its output. A refused line: ConfigRejected."""
        try:
            stdin, stdout, stderr = self._filter_session().exec_command(command, timeout=30)
            stdin.write(lines)
            stdin.channel.shutdown_write()
            out, err = stdout.read().decode(), stderr.read().decode()
            status = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: packet filter `{command}` failed: {error}") from error
        if status == 1:
            raise ConfigRejected(f"{self.host}: the device rejected a filter line: {err.strip()}")
        if status != 0:
            raise DeviceError(f"{self.host}: packet filter `{command}` failed ({status}): {err.strip()}")
        return out

    def _json(self, command: str) -> Any:
        text = self._send(command)
        try:
            return json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise DeviceError(f"{self.host}: `{command}` did not return JSON: {text[:200]}") from error

    def get_state(self) -> DeviceState:
        state = DeviceState()
        summary = self._json("show ip bgp summary json")
        for address, peer in (summary.get("ipv4Unicast", {}) or {}).get("peers", {}).items():
            state.bgp[address] = str(peer.get("state", "unknown"))
        for peer in self._json("show bfd peers json") or []:
            state.bfd[str(peer.get("peer"))] = str(peer.get("status", "unknown"))
        for prefix, entries in self._json("show ip route json").items():
            best = next((e for e in entries if e.get("selected")), None)
            if best is not None:
                state.routes[IPv4Network(prefix)] = str(best.get("protocol"))
        return state


class CiscoIosDriver(Driver):
    platform = "cisco_ios"
    supports_timed_revert = True

    def open(self) -> None:
        try:
            self.conn = ConnectHandler(device_type="cisco_ios", **self._params())
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: cannot log in: {error}") from error

    def get_running_config(self) -> str:
        return self._send("show running-config")

    def save(self) -> None:
        output = self._send("write memory", read_timeout=120)
        if "[OK]" not in output:
            raise DeviceError(f"{self.host}: `write memory` did not confirm: {output.strip()}")

    def arm_revert(self, minutes: int) -> None:
        # The configuration archive (`archive / path flash:`) must be set up on the router, as the
        # cisco_ios template renders it; the router then restores the pre-change config by itself.
        output = self._send(f"configure terminal revert timer {minutes}")
        if "%" in output:
            raise DeviceError(f"{self.host}: could not arm the revert timer: {output.strip()}")
        self._send("end")

    def confirm(self) -> None:
        output = self._send("configure confirm")
        if "%" in output:
            raise DeviceError(f"{self.host}: `configure confirm` failed: {output.strip()}")

    def get_state(self) -> DeviceState:
        state = DeviceState()
        for row in self.conn.send_command("show ip bgp summary", use_textfsm=True) or []:
            if isinstance(row, dict):
                received = str(row.get("state_pfxrcd", row.get("state_or_prefixes_received", "")))
                state.bgp[str(row.get("bgp_neigh", row.get("neighbor", "")))] = (
                    "Established" if received.isdigit() else received
                )
        for row in self.conn.send_command("show bfd neighbors", use_textfsm=True) or []:
            if isinstance(row, dict):
                state.bfd[str(row.get("neighbor_address", row.get("neighbor", "")))] = str(row.get("state", "")).lower()
        for row in self.conn.send_command("show ip route", use_textfsm=True) or []:
            if isinstance(row, dict) and row.get("network"):
                prefix = IPv4Network(f"{row['network']}/{row.get('prefix_length') or row.get('mask', 32)}")
                state.routes[prefix] = {"B": "bgp", "C": "connected", "S": "static", "L": "local"}.get(
                    str(row.get("protocol")), str(row.get("protocol"))
                )
        return state


DRIVERS: dict[str, type[Driver]] = {"frr": FrrDriver, "cisco_ios": CiscoIosDriver}


def driver_for(platform: str, host: str, access: Access) -> Driver:
    try:
        cls = DRIVERS[platform]
    except KeyError:
        raise DeviceError(f"no driver for platform '{platform}' (drivers: {', '.join(sorted(DRIVERS))})") from None
    return cls(host, access)
