"""A PostgreSQL 15 cluster (PostGIS, pgRouting, pg_trgm available) run as a child process.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the `postgres`
system user and every server command runs through `runuser`. The socket directory is the data
directory's parent, so nothing outside `directory` is touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.local.servers import free_port, wait_for_port

__all__ = ["PostgresServer"]

_PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_owner(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


@dataclass
class PostgresServer:
    """initdb on first start (reused afterwards), then `postgres` on 127.0.0.1:`port`.

    `superuser`/`password` is a login role with password auth over TCP, so clients connect with
    an ordinary DSN (`dsn`); the cluster is trust-free apart from the local socket of its owner.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    superuser: str = "flotilla"
    password: str = "flotilla-local-only"  # noqa: S105 - loopback-only local cluster
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "pgdata"

    @property
    def owner(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _chown(self, path: Path) -> None:
        if self.owner:
            entry = pwd.getpwnam(self.owner)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _make_reachable(self) -> None:
        """The owner must reach the directory through its parents (checked at every start: other
        tools, e.g. a new pytest session, may tighten a parent's mode in between)."""
        if not self.owner:
            return
        for parent in self.directory.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    def _init_cluster(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._chown(self.directory)
        pwfile = self.directory / ".pwfile"
        pwfile.write_text(self.password + "\n")
        self._chown(pwfile)
        subprocess.run(
            _as_owner(
                [
                    str(_PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.superuser,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local",
                    "trust",
                    "--auth-host",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ],
                self.owner,
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()

    def start(self) -> PostgresServer:
        if not (_PG_BIN / "postgres").exists():
            raise RuntimeError("PostgreSQL 15 is not installed; `make test` installs it with apt-get")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._make_reachable()
        if not (self.data_dir / "PG_VERSION").exists():
            self._init_cluster()
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "max_connections": "300",
            **self.settings,
        }
        args = [str(_PG_BIN / "postgres"), "-D", str(self.data_dir)]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(_as_owner(args, self.owner), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, timeout=30)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        for _ in range(300):
            probe = subprocess.run(
                [str(_PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return
            if self.process is not None and self.process.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=False)
        raise RuntimeError(f"PostgreSQL did not start; see {self.directory / 'postgres.log'}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over TCP; returns stdout, raises on error."""
        result = subprocess.run(
            ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-qAt", self.dsn(database), "-c", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str, extensions: tuple[str, ...] = ()) -> str:
        """Create `name` if missing, add extensions; return its DSN."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        for extension in extensions:
            self.psql(f'CREATE EXTENSION IF NOT EXISTS "{extension}" CASCADE', database=name)
        return self.dsn(name)

    def stop(self) -> None:
        """Fast shutdown through pg_ctl (disconnects clients, checkpoints). Signalling `runuser`
        instead would not do: it SIGKILLs its child two seconds after forwarding a SIGTERM."""
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(
            _as_owner([str(_PG_BIN / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30"],
                      self.owner),
            capture_output=True,
            check=False,
        )  # fmt: skip
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
