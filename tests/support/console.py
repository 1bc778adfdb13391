"""A test guest's serial console as a shell: a thread gathers what it prints; ``run``
types a command and returns its output up to a token the command itself prints last."""

from __future__ import annotations

import secrets
import threading
import time

from cloudenv.drivers.compute.base import ConsoleStream

GUEST_TIMEOUT = 20.0


class Console:
    """The guest's serial console: a thread gathers what it prints; ``run`` types a shell
    command and returns its output up to a token the command itself prints last."""

    def __init__(self, stream: ConsoleStream) -> None:
        self._stream = stream
        self._output = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while data := self._stream.recv(4096):
            with self._lock:
                self._output += data

    @property
    def output(self) -> bytes:
        with self._lock:
            return self._output

    def wait_for(self, text: str, timeout: float, after: int = 0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.output[after:]
            if text.encode() in seen:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} within {timeout} s; console: {self.output[-600:]!r}")

    def run(self, command: str) -> str:
        token = secrets.token_hex(4)
        start = len(self.output)
        # The shell prints END-<token>; its echo of the command shows END-"$x"<token>.
        self._stream.send(f'x=; {command}; echo END-"$x"{token}\n'.encode())
        seen = self.wait_for(f"END-{token}", GUEST_TIMEOUT, after=start)
        return seen.split(f"END-{token}".encode())[0].decode(errors="replace")

    def close(self) -> None:
        self._stream.close()
