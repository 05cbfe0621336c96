"""Start real backing servers (redis-server, nginx) on loopback in temporary directories.

Tests and the fleet runner use the real binaries; these helpers only pick free ports, write minimal
configuration, wait until the server answers and stop it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NginxServer", "RedisServer", "free_port", "nginx_main_block", "wait_for_port"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until something accepts connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def _require_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        raise RuntimeError(f"{name} is not installed; `make test` installs it with apt-get")
    return path


@dataclass
class RedisServer:
    """A redis-server child process with its data in `directory`.

    `appendonly` turns AOF persistence on (fsync every second, as production would).
    """

    directory: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = False
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = _require_binary("redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "yes",
            *self.extra_args,
        ]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port)
        return self

    def pause(self) -> None:
        """SIGSTOP: the server keeps its socket but answers nothing (a hung dependency)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the dependency disappears without a goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class NginxServer:
    """An nginx master process running a project-generated configuration in `directory`.

    `config` is the full nginx.conf text; it may use `{prefix}` for the temp directory.
    """

    directory: Path
    config: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config)
        return self.conf_path

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """Run `nginx -t` on the configuration; the caller asserts on returncode/stderr."""
        self.write_config()
        return subprocess.run(
            [_require_binary("nginx"), "-t", "-p", str(self.directory), "-c", str(self.conf_path)],
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> NginxServer:
        self.write_config()
        self.process = subprocess.Popen(
            [
                _require_binary("nginx"),
                "-p",
                str(self.directory),
                "-c",
                str(self.conf_path),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "logs" / "stderr.log", "ab"),  # noqa: SIM115
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> NginxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def nginx_main_block() -> str:
    """The top of an nginx.conf that runs from a prefix directory (root runs workers as root)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\nerror_log logs/error.log warn;\npid logs/nginx.pid;\n"
        "events { worker_connections 1024; }\n"
    )
