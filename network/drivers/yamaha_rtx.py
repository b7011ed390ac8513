"""Yamaha RTX: a Netmiko session that cannot mistake a config comment for a prompt, and the
municloud driver on top of it (config, push, save, state, and commit-confirm by a scheduled restart).

The session (`YamahaRtxSSH`, a Netmiko `YamahaSSH`):
- RTX's administrator prompt is a bare `#`, which also begins every comment line of `show config`
  (`# RTX1220 Rev.14.00.32 ...`, `# Reporting Date: ...`): a prompt match on `#` ends a read in the
  middle of the config. So the session starts with `console character en.ascii` (Shift-JIS output
  would not decode, and errors come in English), `console lines infinity` (no pager),
  `console columns 200` (RTX wraps output at the console width, 80 by default, cutting long config
  lines in two) and `console prompt municloud`; from then on only `municloud>` / `municloud#` at a
  line's start and end (with an optional context such as `tunnel1` before the `#`) is a prompt.
- The prompt name is a fixed `municloud`, not the router's hostname: the driver is made from a
  management address (`driver_for(platform, host, access)`) and has no hostname, a fixed ASCII word
  cannot break the pattern or the prompt's length limit, and every RTX config then carries the same
  `console prompt municloud` line. Those `console` lines are configuration on RTX (they appear in
  `show config` and are saved by `save`): the rendered RTX configs must contain exactly
  `SESSION_COMMANDS`, or the remediation would undo them; a push that touches them is refused
  before anything is sent (`no console prompt` mid-push would leave the session without its anchor).
- `administrator` with `Access.enable_secret` (asked as `Password:`); a refused secret is the error
  "administrator password refused" (the secret is in no message).
- A rejected line: RTX answers `Error: ...` (e.g. `Error: Invalid parameter`; the pattern
  `Error:` / Japanese `エラー:` is what terraform-provider-rtx's `containsError` looks for, and
  netmiko issue #2276 shows `Error: Invalid parameter ^`). The push stops at that line and names it
  with the error.
- `save` is checked: an `Error:` answer or no `Done` (RTX prints `Saving ... CONFIG0 Done .`, as far
  as known; reconstructed) raises.
- Leaving administrator mode with unsaved changes asks "Save new configuration ? (Y/N)": the session
  answers N, so closing a session never saves.

Commit-confirm (`YamahaRtxDriver.arm_revert` / `confirm`): RTX has no revert timer, but has
`schedule at ID DATE TIME * COMMAND`, and `restart` boots from the saved configuration, which the
apply does not touch before the post-checks pass (it calls confirm() and then save()). So
`arm_revert(minutes)` reads the router's clock (`show environment`, `Current time: ...`; an
unreadable clock is an error, nothing is armed) and arms `schedule at 65535 <date> <time> * restart`
for the router's time + minutes, rounded up to the whole minute; `confirm()` sends
`no schedule at 65535` and checks in `show config` that it is gone (before `save`, so it is never
saved). A schedule left behind on a failed apply is removed by the rollback's remediation to the
backup taken before arming.

What this costs: a change that is not confirmed in time is undone by a full reboot of the router,
minutes of outage for the town behind it, where IOS-XE's `configure terminal revert timer` only
reloads the config. It fires only when the apply lost the router or the post-checks failed.
Check on first use of a firmware: that `schedule at 65535 YYYY/MM/DD HH:MM * restart` is accepted
and shown back by `show config` (the id range found in third-party code is 1..65535, Yamaha's own
documented range was not found; `restart` is not among the commands the reference forbids in
`schedule at`), that `show environment` prints `Current time:` as parsed here, that the router's
clock is NTP-synced (the schedule is in router time; the driver never uses the local clock), and the
texts of `save` and of a refused administrator password.

State: `show status bgp neighbor` and `show ip route` (yamaha_rtx_parsers). RTX's BGP has no BFD:
`DeviceState.bfd` stays empty.
"""

from __future__ import annotations

import re
from typing import Any

from netmiko.exceptions import ConfigInvalidException, NetmikoBaseException
from netmiko.yamaha.yamaha import YamahaSSH

from . import yamaha_rtx_parsers as parsers
from .cli import CliDriver, EchoedExchange
from .device import DRIVERS, Access, ConfigRejected, DeviceError

PROMPT_NAME = "municloud"
# Sent at the start of every session, in this order; the rendered RTX configs must contain these.
SESSION_COMMANDS = ("console character en.ascii", "console lines infinity", "console columns 200")
ERROR_PATTERN = r"(?m)^\s*(?:Error|エラー)\s*:.*$"
# Lines that would change the session's own console (and so its prompt or its decoding).
_CONSOLE_LINE = re.compile(r"^\s*(?:no\s+)?console\s+(?:prompt|character|lines|columns)\b")
# The schedule id of the revert: the highest id a third-party RTX tool admits (1..65535), far
# above any id a person writes; the RTX templates must never render it.
REVERT_SCHEDULE_ID = 65535


class RtxError(NetmikoBaseException):
    """The router refused something the session asked for (not a pushed configuration line)."""


class YamahaRtxSSH(EchoedExchange, YamahaSSH):
    def __init__(self, *args: Any, prompt_name: str = PROMPT_NAME, **kwargs: Any) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", prompt_name):
            raise ValueError(f"prompt name must be a short ASCII word, not {prompt_name!r}")
        self.prompt_name = prompt_name
        # `^NAME[ context]>` or `#` at a line's end: never a `# ...` comment line of the config.
        self._prompt = rf"^{re.escape(prompt_name)}(?:[ \t]?[A-Za-z0-9\[\]]+)?[>#][ \t]*$"
        self.prompt_pattern = f"(?m){self._prompt}"  # for send_command (read_until_pattern: re_flags)
        super().__init__(*args, **kwargs)

    def session_preparation(self) -> None:
        self.administrator = False
        self._test_channel_read(pattern=r"[>#][ \t]*$")
        for command in SESSION_COMMANDS:
            self._session_command(command, r"[>#][ \t]*$")
        self._session_command(f"console prompt {self.prompt_name}", self._prompt)
        self.base_prompt = self.prompt_name
        self.clear_buffer()

    def _session_command(self, command: str, prompt: str) -> str:
        output = self._exchange(command, prompt)
        if error := re.search(ERROR_PATTERN, output):
            raise RtxError(f"`{command}` was refused: {error.group(0).strip()}")
        return output

    def set_base_prompt(self, *args: Any, **kwargs: Any) -> str:
        self.base_prompt = self.prompt_name
        return self.base_prompt

    def check_enable_mode(self, check_string: str = "#") -> bool:
        return self.administrator  # known from the session's own exchanges: no round trip

    def enable(self, *args: Any, **kwargs: Any) -> str:
        """`administrator` with the secret; RtxError "administrator password refused" otherwise."""
        if self.administrator:
            return ""
        output = self._exchange("administrator", rf"Password:|{self._prompt}")
        if "Password:" in output:
            # The secret is not echoed; Netmiko masks it in its log (it is this session's `secret`).
            output = self._exchange(self.secret or "", rf"Password:|{self._prompt}", echo=False)
        if "Password:" in output or not output.rstrip().endswith("#"):
            # Asked again, or back at `municloud>`: answer a second question with an empty line,
            # so the session is at a prompt for whoever closes it.
            self.write_channel(self.RETURN)
            raise RtxError("administrator password refused")
        self.administrator = True
        return output

    def config_mode(self, *args: Any, **kwargs: Any) -> str:
        return self.enable()  # RTX's administrator mode is its configuration mode

    def check_config_mode(self, *args: Any, **kwargs: Any) -> bool:
        return self.check_enable_mode()

    def run(self, command: str, read_timeout: float = 30.0) -> str:
        """A command's output up to the anchored prompt (echo and prompt removed)."""
        return self._send_command_str(
            command, expect_string=self.prompt_pattern, read_timeout=read_timeout, strip_prompt=True
        )

    def send_config_lines(self, lines: list[str], read_timeout: float = 30.0) -> str:
        """Each line in turn; ConfigInvalidException naming the first rejected line and the router's
        error (the lines after it are not sent). Lines touching the session's console are refused
        before anything is sent."""
        commands = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if touching := [c for c in commands if _CONSOLE_LINE.match(c)]:
            raise ConfigInvalidException(
                f"refused by the driver before sending: `{touching[0]}` would change the session's console "
                f"(render {', '.join(SESSION_COMMANDS)} and `console prompt {self.prompt_name}` in the config)"
            )
        self.enable()
        output = ""
        for command in commands:
            answer = self.run(command, read_timeout=read_timeout)
            output += f"{command}\n{answer}\n"
            if error := re.search(ERROR_PATTERN, answer):
                raise ConfigInvalidException(f"`{command}`: {error.group(0).strip()}")
        return output

    def save_config(self, cmd: str = "save", confirm: bool = False, confirm_response: str = "") -> str:
        self.enable()
        output = self.run(cmd, read_timeout=120.0)
        if error := re.search(ERROR_PATTERN, output):
            raise RtxError(f"`{cmd}` failed: {error.group(0).strip()}")
        if "Done" not in output and "終了" not in output:
            raise RtxError(f"`{cmd}` did not confirm the save: {output.strip()[:200]}")
        return output

    def cleanup(self, command: str = "exit") -> None:
        """Leave administrator mode without saving (answer N), then log out."""
        if self.administrator:
            output = self._exchange(command, rf"\(Y/N\)|{self._prompt}", read_timeout=5)
            if "(Y/N)" in output:
                self._exchange("N", self._prompt, read_timeout=5)
            self.administrator = False
        self.write_channel(self.normalize_cmd(command))


class YamahaRtxDriver(CliDriver):
    platform = "yamaha_rtx"
    bgp_command = parsers.BGP_COMMAND
    route_command = parsers.ROUTE_COMMAND
    parse_bgp = staticmethod(parsers.parse_bgp_neighbors)
    parse_routes = staticmethod(parsers.parse_routes)
    supports_timed_revert = True
    revert_schedule_id = REVERT_SCHEDULE_ID

    def __init__(self, host: str, access: Access, prompt_name: str = PROMPT_NAME) -> None:
        super().__init__(host, access)
        self.prompt_name = prompt_name

    def open(self) -> None:
        if not self.access.enable_secret:
            raise DeviceError(
                f"{self.host}: a Yamaha RTX needs its administrator secret: set the variable the environment "
                "names in ssh.enable_secret_env (inventory/environments/<env>.yaml)"
            )
        try:
            self.conn = YamahaRtxSSH(**self._params(), secret=self.access.enable_secret, prompt_name=self.prompt_name)
        except (NetmikoBaseException, OSError, EOFError) as error:
            raise DeviceError(f"{self.host}: cannot log in: {error}") from error
        try:
            self.conn.enable()
        except (NetmikoBaseException, OSError, EOFError) as error:
            self.close()
            raise DeviceError(f"{self.host}: {error}") from error

    def get_running_config(self) -> str:
        """`show config` as the router prints it, `#` comment lines included (passwords are `*`)."""
        return self._send("show config", read_timeout=120.0)

    def arm_revert(self, minutes: int) -> None:
        """Arm `schedule at ID <router time + minutes> * restart` (see the module docstring)."""
        now = self._parsed(parsers.CLOCK_COMMAND, parsers.parse_router_clock)
        line = parsers.schedule_command(self.revert_schedule_id, parsers.revert_time(now, minutes), "restart")
        try:
            self.push([line])
        except ConfigRejected as error:
            raise DeviceError(f"{self.host}: could not arm the revert: {error}") from error
        if not self._schedule_lines():  # by id: the router may print the line in its own form
            raise DeviceError(f"{self.host}: `{line}` is not in `show config` after arming it")

    def confirm(self) -> None:
        """Remove the scheduled restart and check it is gone (before save(), so it is never saved).
        Refused when the restart is no longer configured: it fired (the router rebooted into its
        saved, pre-change configuration, and this session is on a router that no longer carries the
        change) or someone removed it; either way the change is not confirmed here."""
        if not self._schedule_lines():
            raise DeviceError(
                f"{self.host}: the scheduled restart (schedule at {self.revert_schedule_id}) is gone before "
                "the confirm: the revert fired (the router restarted into its saved, pre-change configuration) "
                "or was removed by hand; the change is not confirmed on this router"
            )
        try:
            self.push([f"no schedule at {self.revert_schedule_id}"])
        except ConfigRejected as error:
            raise DeviceError(f"{self.host}: could not disarm the revert: {error}") from error
        if left := self._schedule_lines():
            raise DeviceError(f"{self.host}: the scheduled restart is still configured: {left[0]}")

    def _schedule_lines(self) -> list[str]:
        return parsers.schedule_lines(self.get_running_config(), self.revert_schedule_id)


DRIVERS[YamahaRtxDriver.platform] = YamahaRtxDriver
