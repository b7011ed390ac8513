"""Netmiko driver for FRRouting's vtysh reached over SSH (the lab's routers: user `netops` lands in
`vtysh -N <pathspace>` through the router's sshd).

`cisco_ios` works against vtysh but waits ~9 s per `send_config_set` (its config-mode check reads
until a timeout). This driver fixes that and makes a failed save an error:
- `check_config_mode` reads until a prompt character (`[>#]`) instead of a timeout;
- `session_preparation` sends only `terminal length 0` (vtysh has no `terminal width`);
- `send_config_set` turns a rejected line (`% ...` at line start) into an exception by default;
- `save_config` sends `write memory` and raises unless vtysh answered `[OK]` without `% Error`;
- `send_config_batch` sends a whole change in one write and reads its output once (below).

`send_config_set` waits for each line's echo and prompt before sending the next: a carrier edge's
~400 lines took 5 s of a 5.5 s push, vtysh itself being quick. `send_config_batch` writes every line
at once, then `end` and a comment line with a random marker (vtysh ignores `!` lines), and reads
until vtysh has echoed that marker at its enable prompt: every line before it has run. Lines vtysh
rejects are found in that output (`% ...` after the prompt line that echoed the command). Unlike
`send_config_set`, the lines after a rejected one run too; the caller rolls the device back
either way. (While vtysh runs a command, the terminal echoes type-ahead itself, without a prompt:
only a line echoed after a prompt counts as run.)

Use it directly, `FrrVtyshSSH(host=..., username="netops", key_file=..., use_keys=True)`, or call
`register()` once and use `ConnectHandler(device_type="frr_vtysh", ...)`.
"""

from __future__ import annotations

import importlib
import re
import secrets
from typing import Any

from netmiko.cisco_base_connection import CiscoSSHConnection
from netmiko.exceptions import ConfigInvalidException, NetmikoBaseException

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

    def send_config_batch(
        self, config_commands: list[str], *, error_pattern: str = CONFIG_ERROR_PATTERN, read_timeout: float = 120.0
    ) -> str:
        """Every line in one write, then one read until all have run; ConfigInvalidException naming
        the first rejected line (and how many more) if vtysh rejected any."""
        marker = f"! municloud-push-{secrets.token_hex(6)}"
        output = self.config_mode()
        lines = [*config_commands, "end", marker]
        self.write_channel("".join(self.normalize_cmd(line) for line in lines))
        prompt = re.escape(self.base_prompt)
        output += self.read_until_pattern(
            pattern=rf"{prompt}# {re.escape(marker)}[^\n]*\n[^\n]*{prompt}#", read_timeout=read_timeout
        )
        rejected = rejected_lines(output, self.base_prompt, error_pattern)
        if rejected:
            (command, error), more = rejected[0], len(rejected) - 1
            raise ConfigInvalidException(
                f"Invalid input detected at command: {command}, matched error: {error}"
                + (f" (and {more} more rejected lines)" if more else "")
            )
        return output

    def save_config(self, cmd: str = "write memory", confirm: bool = False, confirm_response: str = "") -> str:
        output = self._send_command_str(command_string=cmd, strip_prompt=False, strip_command=False, read_timeout=60.0)
        if "[OK]" not in output or "% Error" in output:
            raise FrrSaveError(f"{self.host}: `{cmd}` did not confirm the save:\n{output.strip()}")
        return output


def rejected_lines(output: str, base_prompt: str, error_pattern: str = CONFIG_ERROR_PATTERN) -> list[tuple[str, str]]:
    """(command, error) for each error line in a vtysh session's output: the command is the last
    one vtysh echoed after its prompt (`host(config-router)# neighbor ...`) before the error."""
    echoed = re.compile(rf"^{re.escape(base_prompt)}(?:\([^)]*\))?# ?(.*)$")
    error = re.compile(error_pattern)
    found, command = [], ""
    for line in output.splitlines():
        if match := echoed.match(line):
            command = match.group(1).strip()
        elif error.search(line):
            found.append((command, line.strip()))
    return found


def register() -> None:
    """Make `ConnectHandler(device_type="frr_vtysh", ...)` use this driver."""
    # `from netmiko import ssh_dispatcher` gives the function of that name, not the module.
    ssh_dispatcher = importlib.import_module("netmiko.ssh_dispatcher")
    ssh_dispatcher.CLASS_MAPPER[DEVICE_TYPE] = FrrVtyshSSH
    if DEVICE_TYPE not in ssh_dispatcher.platforms:
        ssh_dispatcher.platforms.append(DEVICE_TYPE)
        ssh_dispatcher.platforms.sort()


def split_filter_commands(commands: list[str]) -> tuple[list[str], list[str]]:
    """(vtysh's commands, the packet filter's) of a push: a `filter NAME in IF` section to its `exit`
    and every `no filter ...` line are the filter's (the lab's routers carry packet filters beside
    FRR, lab/router_filter.py); everything else is vtysh's, in its order."""
    vtysh: list[str] = []
    filters: list[str] = []
    inside = False
    for line in commands:
        if inside:
            filters.append(line)
            inside = line.strip() != "exit"
        elif line.startswith("filter "):
            filters.append(line)
            inside = True
        elif line.startswith("no filter "):
            filters.append(line)
        else:
            vtysh.append(line)
    return vtysh, filters
