"""What the Yamaha RTX and NEC IX sessions share: a line exchange that reads the line's echo before
its answer, so a prompt still in Netmiko's buffer from an earlier read is never taken for the answer
(it would leave every later read one answer behind)."""

from __future__ import annotations

import re

from netmiko.base_connection import BaseConnection


class EchoedExchange(BaseConnection):
    def _exchange(self, text: str, pattern: str, echo: bool = True, read_timeout: float = 10.0) -> str:
        """Write a line, read its echo (unless the device does not echo it: a secret), then read up
        to `pattern` (multi-line: `^` and `$` are a line's start and end)."""
        self.write_channel(self.normalize_cmd(text))
        output = self.read_until_pattern(pattern=re.escape(text), read_timeout=read_timeout) if echo and text else ""
        return output + self.read_until_pattern(pattern=pattern, read_timeout=read_timeout, re_flags=re.M)
