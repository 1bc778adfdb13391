"""A test guest's serial console as a shell: a thread gathers what it prints; ``run``
types a command and returns its output up to a token the command itself prints last.
``cli_console`` does the same through ``cloudenv instance console``."""

from __future__ import annotations

import secrets
import subprocess
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


def cli_console(
    argv: list[str], env: dict[str, str], line: bytes, answer: bytes, timeout: float = 120.0
) -> str:
    """Run ``cloudenv instance console`` (``argv``) as a person would: once it says it is
    connected, type ``line`` until ``answer`` shows (a line typed while the shell is not yet
    reading is lost), then leave with Ctrl-]. Returns all it printed; fails unless it
    printed the answer and left with status 0."""
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    output = bytearray()

    def read() -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def seen(text: bytes, within: float) -> bool:
        deadline = time.monotonic() + within
        while text not in output and time.monotonic() < deadline and reader.is_alive():
            time.sleep(0.1)
        return text in output

    try:
        assert seen(b"Ctrl-] leaves", timeout), bytes(output)
        for _ in range(6):
            process.stdin.write(line)
            process.stdin.flush()
            if seen(answer, 5):
                break
        process.stdin.write(b"\x1d")
        process.stdin.flush()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    assert answer in output and process.returncode == 0, bytes(output)
    return output.decode(errors="replace")
