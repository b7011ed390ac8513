"""What the Yamaha RTX and NEC IX drivers share: a line exchange that reads the line's echo before
its answer, so a prompt still in Netmiko's buffer from an earlier read is never taken for the answer
(it would leave every later read one answer behind); and a driver over such a session, whose state
comes from the platform's own parsers of its `show` commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from netmiko.base_connection import BaseConnection
from netmiko.exceptions import NetmikoBaseException

from .device import DeviceError, DeviceState, Driver


class EchoedExchange(BaseConnection):
    def _exchange(self, text: str, pattern: str, echo: bool = True, read_timeout: float = 10.0) -> str:
        """Write a line, read its echo (unless the device does not echo it: a secret), then read up
        to `pattern` (multi-line: `^` and `$` are a line's start and end)."""
        self.write_channel(self.normalize_cmd(text))
        output = self.read_until_pattern(pattern=re.escape(text), read_timeout=read_timeout) if echo and text else ""
        return output + self.read_until_pattern(pattern=pattern, read_timeout=read_timeout, re_flags=re.M)


class CliDriver(Driver):
    """A driver over a session with `run(command, read_timeout)`, `send_config_lines(lines)` and
    `save_config()` (the RTX and IX sessions); state from `show` commands and the platform's parsers
    (`bgp_command`/`parse_bgp`, `route_command`/`parse_routes`; no BFD on these platforms)."""

    bgp_command: str
    route_command: str
    parse_bgp: Callable[[str], dict[str, str]]
    parse_routes: Callable[[str], Any]

    def _run(self, command: str, read_timeout: float) -> str:
        return str(self.conn.run(command, read_timeout=read_timeout))

    def _send(self, command: str, read_timeout: float = 60.0) -> str:
        try:
            return self._run(command, read_timeout)
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: `{command}` failed: {error}") from error

    def _send_config(self, commands: list[str]) -> str:
        return str(self.conn.send_config_lines(commands))

    def save(self) -> None:
        try:
            self.conn.save_config()
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: save failed: {error}") from error

    def get_state(self) -> DeviceState:
        return DeviceState(
            bgp=self._parsed(self.bgp_command, type(self).parse_bgp),
            routes=self._parsed(self.route_command, type(self).parse_routes),
        )

    def _parsed(self, command: str, parse: Callable[[str], Any]) -> Any:
        output = self._send(command)
        try:
            return parse(output)
        except DeviceError as error:
            raise DeviceError(f"{self.host}: {error}") from error
