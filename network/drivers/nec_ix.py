"""NEC UNIVERGE IX: a Netmiko session that stays in configuration mode (IX shows its running config
and most state only there), and the municloud driver on top of it.

The session (`NecIxConfigSSH`, a Netmiko `NecIxSSH`):
- The prompt is anchored on the router's own name as found at login: `NAME#` in operation mode,
  `NAME(config)#` / `NAME(config-GigaEthernet0.0)#` in configuration mode, at a line's start and end.
- `svintr-config` enters configuration mode (with `Access.enable_secret` if the router asks for a
  password; a refused one is "enable password refused"), then `terminal length 0`. The session
  stays there; `configure` returns to the top level before each show and after each push.
- A rejected line: IX answers with a line starting `% ` (`% Invalid input detected.`,
  `% Unknown command.`): the push stops there and names the line and the error. Decided for the
  notices that are not plain errors:
  - `% You must restart the router ...` (or any `% ` line asking for a restart): rejected. The line
    is in the running config but not in effect, so the post-checks would test something the router
    is not doing; the apply rolls back, and a change that needs a restart is done in a window.
  - `% Warning ...` lines: not rejections (the line was applied); they are kept in `warnings` and
    in the push's output.
- `save` is `write memory` with a 300 s read timeout; an error line (`% ` that is not a warning)
  raises. What IX prints on success was not found; nothing more is required of it.

No commit-confirm on IX: no evidence was found of a timed revert, a delayed or scheduled reload, or
a watch-group action that reloads (searched: NEC's IX command reference pages in the corpora, issue
trackers, Netmiko's nec_ix driver). So `supports_timed_revert = False`, and the apply does what it
does for FRR: nothing is saved before the post-checks pass, so a router that restarts comes back
with its saved (pre-change) config, and a router lost after the push is reverted by pushing the
remediation back to the backup once it answers again.

State: `show ip bgp summary` and `show ip route` (nec_ix_parsers). BFD: treated as unsupported for
BGP on IX (the BGP commands in NEC's IX command reference, support.necplatforms.co.jp
ix-nrv/manual/crm/cli/routing/cli_bgp.html, have no BFD option); `DeviceState.bfd` stays empty.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from netmiko.exceptions import ConfigInvalidException, NetmikoBaseException
from netmiko.nec.nec_ix import NecIxSSH

from . import nec_ix_parsers as parsers
from .cli import CliDriver, EchoedExchange
from .device import DRIVERS, DeviceError

ERROR_LINE = re.compile(r"^%\s.*$", re.M)
RESTART_NOTICE = re.compile(r"\brestart\b|\breload\b", re.I)
WARNING_NOTICE = re.compile(r"^%\s*Warning\b", re.I)


class IxError(NetmikoBaseException):
    """The router refused something the session asked for (not a pushed configuration line)."""


def rejection(answer: str) -> str | None:
    """The `% ` line of an answer that rejects the command (see the module docstring), if any."""
    for line in ERROR_LINE.findall(answer):
        if RESTART_NOTICE.search(line) or not WARNING_NOTICE.match(line):
            return line.strip()
    return None


class NecIxConfigSSH(EchoedExchange, NecIxSSH):
    def session_preparation(self) -> None:
        self.warnings: list[str] = []
        first = self._test_channel_read(pattern=r"[>#][ \t]*$")
        name = re.search(r"([A-Za-z0-9_.-]+)(?:\([^)\n]*\))?[>#][ \t]*$", first.rstrip("\r\n"))
        if name is None:
            raise IxError(f"no prompt at login: {first.strip()[-80:]!r}")
        self.base_prompt = name.group(1)
        self._prompt = rf"^{re.escape(self.base_prompt)}(?:\([^)\n]*\))?#[ \t]*$"
        self.prompt_pattern = f"(?m){self._prompt}"
        self.enable()
        self._checked("terminal length 0")

    def set_base_prompt(self, *args: Any, **kwargs: Any) -> str:
        return str(self.base_prompt)

    def check_enable_mode(self, check_string: str = ")#") -> bool:
        return getattr(self, "configuring", False)

    def enable(self, *args: Any, **kwargs: Any) -> str:
        """`svintr-config` (answering a password question with the secret), IxError otherwise."""
        if self.check_enable_mode():
            return ""
        output = self._exchange("svintr-config", rf"Password:|{self._prompt}")
        if "Password:" in output:
            output = self._exchange(self.secret or "", rf"Password:|{self._prompt}", echo=False)
        if "Password:" in output:
            self.write_channel(self.RETURN)
            raise IxError("enable password refused")
        if error := rejection(output):
            raise IxError(f"`svintr-config` was refused: {error}")
        last = output.strip().splitlines()[-1:] or [""]
        if "(config" not in last[0]:
            raise IxError(f"`svintr-config` did not enter configuration mode: {output.strip()[-80:]!r}")
        self.configuring = True
        return output

    def config_mode(self, *args: Any, **kwargs: Any) -> str:
        return self.enable()

    def check_config_mode(self, *args: Any, **kwargs: Any) -> bool:
        return self.check_enable_mode()

    def exit_config_mode(self, *args: Any, **kwargs: Any) -> str:
        return ""  # the session stays in configuration mode

    def run(self, command: str, read_timeout: float = 30.0) -> str:
        return self._send_command_str(
            command, expect_string=self.prompt_pattern, read_timeout=read_timeout, strip_prompt=True
        )

    def _checked(self, command: str, read_timeout: float = 30.0) -> str:
        answer = self.run(command, read_timeout=read_timeout)
        if error := rejection(answer):
            raise IxError(f"`{command}` failed: {error}")
        return answer

    def top(self) -> None:
        """Back to the top of configuration mode (`configure` does that from any sub-mode)."""
        self._checked("configure")

    def show(self, command: str, read_timeout: float = 60.0) -> str:
        self.top()
        return self._checked(command, read_timeout=read_timeout)

    def send_config_lines(self, lines: list[str], read_timeout: float = 30.0) -> str:
        """Each line in turn from the top of configuration mode; ConfigInvalidException naming the
        first rejected line and its `% ` error (the lines after it are not sent)."""
        self.enable()
        self.top()
        output = ""
        try:
            for command in (line.rstrip() for line in lines):
                if not command.strip() or command.lstrip().startswith("!"):
                    continue
                answer = self.run(command.strip(), read_timeout=read_timeout)
                output += f"{command}\n{answer}\n"
                if error := rejection(answer):
                    raise ConfigInvalidException(f"`{command.strip()}`: {error}")
                self.warnings += [w.strip() for w in ERROR_LINE.findall(answer)]
        except ConfigInvalidException:
            # back to the top for the rollback that follows; the rejected line is the error to report
            with contextlib.suppress(IxError, NetmikoBaseException, OSError, EOFError):
                self.top()
            raise
        self.top()
        return output

    def save_config(self, cmd: str = "write memory", confirm: bool = False, confirm_response: str = "") -> str:
        self.enable()
        return self.show(cmd, read_timeout=300.0)

    def cleanup(self, command: str = "exit") -> None:
        """Leave configuration mode (IX does not ask to save), then log out."""
        if self.check_enable_mode():
            self.top()
            self._exchange(command, self._prompt, read_timeout=5)
            self.configuring = False
        self.write_channel(self.normalize_cmd(command))


class NecIxDriver(CliDriver):
    platform = "nec_ix"
    bgp_command = parsers.BGP_COMMAND
    route_command = parsers.ROUTE_COMMAND
    parse_bgp = staticmethod(parsers.parse_bgp_summary)
    parse_routes = staticmethod(parsers.parse_routes)
    supports_timed_revert = False

    def open(self) -> None:
        params: dict[str, Any] = self._params()
        if self.access.enable_secret:
            params["secret"] = self.access.enable_secret
        try:
            self.conn = NecIxConfigSSH(**params)
        except (NetmikoBaseException, OSError, EOFError) as error:
            self.conn = None
            raise DeviceError(f"{self.host}: cannot log in: {error}") from error

    def _run(self, command: str, read_timeout: float) -> str:
        return str(self.conn.show(command, read_timeout=read_timeout))  # shows work in config mode only

    def get_running_config(self) -> str:
        return self._send("show running-config", read_timeout=120.0)


DRIVERS[NecIxDriver.platform] = NecIxDriver
