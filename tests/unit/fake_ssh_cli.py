"""A scripted SSH command line on 127.0.0.1 for driver tests: paramiko's server side accepts one
test key, opens a shell channel and hands each line typed to a `Device` (a per-platform script of
prompts and answers), so Netmiko's real code talks to something that behaves like the router.

Bound to port 0 (the port is read back); `stop()` closes the listener and every session, and every
wait in here is bounded, so a failing test cannot hang on it."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Protocol

import paramiko


class Device(Protocol):
    echo: bool  # False while the device reads a password

    def greeting(self) -> str: ...  # banner and first prompt

    def answer(self, line: str) -> str | None: ...  # output and next prompt; None: hang up


class _Server(paramiko.ServerInterface):
    def __init__(self, key: paramiko.PKey, username: str) -> None:
        self.key, self.username = key, username
        self.shell = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == self.username and key.get_fingerprint() == self.key.get_fingerprint()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell.set()
        return True


class FakeSshCli:
    """`FakeSshCli(key, "netops", make_device)`; `.port`; `.devices` (one per session); `.stop()`."""

    def __init__(self, key: paramiko.PKey, username: str, make_device: type[Device] | object) -> None:
        self.key, self.username, self.make_device = key, username, make_device
        self.devices: list[Device] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._session, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _session(self, sock: socket.socket) -> None:
        transport = paramiko.Transport(sock)
        self._transports.append(transport)
        transport.add_server_key(self.key)
        server = _Server(self.key, self.username)
        try:
            transport.start_server(server=server)
            channel = transport.accept(timeout=5)
            if channel is None or not server.shell.wait(5):
                return
            device = self.make_device()  # type: ignore[operator]
            self.devices.append(device)
            self._converse(channel, device)
        except (paramiko.SSHException, OSError, EOFError):
            pass
        finally:
            with contextlib.suppress(Exception):
                transport.close()

    def _converse(self, channel: paramiko.Channel, device: Device) -> None:
        channel.settimeout(0.2)
        channel.sendall(device.greeting().encode())
        pending = b""
        while not self._stopping.is_set() and not channel.closed:
            try:
                data = channel.recv(4096)
            except TimeoutError:
                continue
            if not data:
                return
            pending += data
            while (cut := _line_end(pending)) is not None:
                raw = pending[:cut]
                pending = pending[cut + 2 :] if pending[cut : cut + 2] == b"\r\n" else pending[cut + 1 :]
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                channel.sendall((line if device.echo else "").encode() + b"\r\n")
                answer = device.answer(line)
                if answer is None:
                    channel.close()
                    return
                channel.sendall(answer.replace("\n", "\r\n").encode())

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for transport in self._transports:
            with contextlib.suppress(Exception):
                transport.close()
        for thread in self._threads:
            thread.join(timeout=2)


def _line_end(data: bytes) -> int | None:
    positions = [p for p in (data.find(b"\r"), data.find(b"\n")) if p >= 0]
    return min(positions) if positions else None
