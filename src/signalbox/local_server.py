"""A real ``signalbox serve`` process on a free loopback port, started and stopped from Python.

`signalbox demo` runs its story against one, and so do the end-to-end tests (through
``signalbox.testing``). Loopback only: the server never listens on another interface here.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["ServerProcess", "free_port"]


def _limit_open_files(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A real ``signalbox serve`` process on a free loopback port.

    with ServerProcess(config=path, env={"SIGNALBOX_DATABASE_URL": url,
                                         "SIGNALBOX_ADMIN_TOKEN": token}) as server:
        httpx.get(server.url + "/healthz")
    """

    config: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    log: Path | None = None
    open_files: int | None = None
    """A limit on the server's open files (soft and hard), as a host's ``ulimit -n`` sets."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> ServerProcess:
        self.port = self.port or free_port()
        command = [
            sys.executable,
            "-m",
            "signalbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        environ = {**os.environ, **self.env}
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        limit = self.open_files
        self.process = subprocess.Popen(
            command,
            env=environ,
            stdout=output,
            stderr=output,
            preexec_fn=None if limit is None else lambda: _limit_open_files(limit),
        )
        self._wait_until_healthy(timeout)
        return self

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"signalbox serve exited with {self.process.returncode}{self._log_tail()}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling for process start-up, with a deadline
        self.stop()
        raise RuntimeError(f"signalbox serve did not answer on {self.url} within {timeout}s")

    def _log_tail(self) -> str:
        """The end of the server's log, to tell why it did not start."""
        if self.log is None or not self.log.is_file():
            return ""
        lines = self.log.read_text(errors="replace").splitlines()[-8:]
        return ":\n" + "\n".join(lines) if lines else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
