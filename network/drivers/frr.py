"""Netmiko driver for FRRouting's vtysh reached over SSH (the lab's routers: user `netops` lands in
`vtysh -N <pathspace>` through the router's sshd).

`cisco_ios` works against vtysh but waits ~9 s per `send_config_set` (its config-mode check reads
until a timeout). This driver fixes that and makes a failed save an error:
- `check_config_mode` reads until a prompt character (`[>#]`) instead of a timeout;
- `session_preparation` sends only `terminal length 0` (vtysh has no `terminal width`);
- `send_config_set` turns a rejected line (`% ...` at line start) into an exception by default;
- `save_config` sends `write memory` and raises unless vtysh answered `[OK]` without `% Error`.

Use it directly, `FrrVtyshSSH(host=..., username="netops", key_file=..., use_keys=True)`, or call
`register()` once and use `ConnectHandler(device_type="frr_vtysh", ...)`.
"""

from __future__ import annotations

import importlib
from typing import Any

from netmiko.cisco_base_connection import CiscoSSHConnection
from netmiko.exceptions import NetmikoBaseException

PROMPT_PATTERN = r"[>#]"
CONFIG_ERROR_PATTERN = r"(?m)^% "
DEVICE_TYPE = "frr_vtysh"


class FrrSaveError(NetmikoBaseException):
    """`write memory` did not confirm the save."""


class FrrVtyshSSH(CiscoSSHConnection):
    def session_preparation(self) -> None:
        self._test_channel_read(pattern=PROMPT_PATTERN)
        self.set_base_prompt()
        self.disable_paging(command="terminal length 0")

    def check_config_mode(
        self, check_string: str = ")#", pattern: str = PROMPT_PATTERN, force_regex: bool = False
    ) -> bool:
        return super().check_config_mode(check_string=check_string, pattern=pattern, force_regex=force_regex)

    def config_mode(self, config_command: str = "configure terminal", pattern: str = r"\)#", re_flags: int = 0) -> str:
        return super().config_mode(config_command=config_command, pattern=pattern, re_flags=re_flags)

    def send_config_set(
        self, config_commands: Any = None, *, error_pattern: str = CONFIG_ERROR_PATTERN, **kwargs: Any
    ) -> str:
        return super().send_config_set(config_commands, error_pattern=error_pattern, **kwargs)

    def save_config(self, cmd: str = "write memory", confirm: bool = False, confirm_response: str = "") -> str:
        output = self._send_command_str(command_string=cmd, strip_prompt=False, strip_command=False, read_timeout=60.0)
        if "[OK]" not in output or "% Error" in output:
            raise FrrSaveError(f"{self.host}: `{cmd}` did not confirm the save:\n{output.strip()}")
        return output


def register() -> None:
    """Make `ConnectHandler(device_type="frr_vtysh", ...)` use this driver."""
    # `from netmiko import ssh_dispatcher` gives the function of that name, not the module.
    ssh_dispatcher = importlib.import_module("netmiko.ssh_dispatcher")
    ssh_dispatcher.CLASS_MAPPER[DEVICE_TYPE] = FrrVtyshSSH
    if DEVICE_TYPE not in ssh_dispatcher.platforms:
        ssh_dispatcher.platforms.append(DEVICE_TYPE)
        ssh_dispatcher.platforms.sort()
