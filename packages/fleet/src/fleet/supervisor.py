"""Child processes of the fleet: output prefixed with the child's name, restarts with backoff,
and an orderly stop (SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field

__all__ = ["Supervisor"]

_COLOURS = ("36", "33", "35", "32", "34", "31", "96", "93")


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    colour: str
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    failed: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, *, max_restarts: int = 3, grace_seconds: float = 15.0) -> None:
        self.max_restarts = max_restarts
        self.grace_seconds = grace_seconds
        self.children: dict[str, _Child] = {}
        self.stopping = False
        self._colour = 0

    def say(self, name: str, line: str, colour: str = "1") -> None:
        tty = sys.stdout.isatty()
        label = f"\033[{colour}m{name:>14} |\033[0m" if tty else f"{name:>14} |"
        sys.stdout.write(f"{label} {line}\n")
        sys.stdout.flush()

    def _next_colour(self) -> str:
        self._colour += 1
        return _COLOURS[self._colour % len(_COLOURS)]

    def has_failed(self, name: str) -> bool:
        """Whether the child gave up restarting (so nobody should wait for it to become healthy)."""
        child = self.children.get(name)
        return child is not None and child.failed

    async def _spawn(self, argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *argv,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )

    async def _pump(self, name: str, colour: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            self.say(name, raw.decode(errors="replace").rstrip(), colour)

    async def run_once(self, name: str, argv: list[str], env: dict[str, str]) -> int:
        """Run a preparation step to completion (e.g. migrations); returns its exit code."""
        colour = self._next_colour()
        self.say(name, "$ " + " ".join(argv), colour)
        process = await self._spawn(argv, env)
        await self._pump(name, colour, process)
        return await process.wait()

    async def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        child = _Child(name, argv, env, self._next_colour())
        self.children[name] = child
        child.watcher = asyncio.create_task(self._watch(child))

    async def _watch(self, child: _Child) -> None:
        while not self.stopping:
            child.process = await self._spawn(child.argv, child.env)
            await self._pump(child.name, child.colour, child.process)
            code = await child.process.wait()
            if self.stopping:
                return
            if child.restarts >= self.max_restarts:
                child.failed = True
                self.say(child.name, f"exited with {code}; gave up after {child.restarts} restarts", "31")
                return
            child.restarts += 1
            delay = 2 ** (child.restarts - 1)
            self.say(child.name, f"exited with {code}; restart {child.restarts}/{self.max_restarts} in {delay}s", "31")
            await asyncio.sleep(delay)

    async def stop_all(self) -> None:
        self.stopping = True
        for child in reversed(list(self.children.values())):
            if child.process is not None and child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        for child in self.children.values():
            if child.process is None:
                continue
            try:
                await asyncio.wait_for(child.process.wait(), self.grace_seconds)
            except TimeoutError:
                self.say(child.name, f"still running after {self.grace_seconds}s; killing", "31")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                await child.process.wait()
            if child.watcher is not None:
                await child.watcher
