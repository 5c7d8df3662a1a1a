"""`hookyard api --processes N`: one parent process that binds the port, and N API processes that
serve it, each started again when it dies.

**Spawned, not forked.** The parent binds the listening socket, then starts each API process as
`python -m hookyard api --fd F --watch-fd W`, a fresh interpreter that inherits the socket (F) and
the read end of a pipe (W), and serves exactly as a single `hookyard api` does, minus the
migration and the key check, which the parent ran once before starting any. Forking was the other
way, and it is worse here: by the time the socket is bound the parent has already run an event
loop and opened database connections (the migration, the key check), and a fork copies that state
(a closed loop, a connection pool, the thread pool that resolved the database's address) into
every child, where half of it is unsafe to touch and the other half is waste. A spawned process
starts from nothing, and so does one started after a crash, whatever the parent went through
meanwhile. The price is that each process imports Hookyard itself (about a second of CPU per start)
and shares no memory pages with the parent; in CPython a fork shares few pages for long anyway,
since reference counting writes to every object it touches.

**Supervision.** A process that exits while nobody asked it to is logged in one line and started
again, at once. `CrashBudget` decides when to give up: the `CRASHES`-th unexpected exit within
`CRASH_WINDOW_SECONDS` stops the others and the parent exits 1 (one line saying so), for the
service manager to restart the whole or for a person to read the lines above it. SIGTERM or
SIGINT to the parent sends one SIGTERM to each process (uvicorn's graceful shutdown: the listener
closes, requests in flight finish) and the parent exits 0 once every process has stopped; one
still running `STOP_SECONDS` later is killed and the parent exits 1.

**No orphans.** The parent holds the only write end of the pipe. Each process watches its read end
and stops gracefully at end of file, which is how the pipe reads once the parent is gone, however
it went (SIGKILL included); a process started just before the parent died sees it as soon as its
loop runs. This works without `prctl(PR_SET_PDEATHSIG)` (Linux only, and tied to the thread that
started the child). The processes run in a process group of their own, so a Ctrl-C at a terminal
reaches only the parent, which passes one SIGTERM on: a second signal (the terminal's SIGINT after
the parent's SIGTERM) would make uvicorn skip its graceful shutdown.

**Metrics.** Each process keeps its own counters, and a scrape of `/metrics` reaches one of them.
Unless `PROMETHEUS_MULTIPROC_DIR` is set, the parent makes a private directory for the run, passes
it to every process (prometheus-client's multiprocess mode: `/metrics` of any of them adds up all
of them, a process that died included) and removes it on the way out. An operator who wants the
`hookyard worker` processes of the machine counted too sets the variable for all of them (emptied
before they start), as docs/operations.md says; the parent then uses that directory as it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

from hookyard import clock

log = logging.getLogger("hookyard.processes")
STOP_SECONDS = 20.0
CRASHES = 5
CRASH_WINDOW_SECONDS = 60.0
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


class CrashBudget:
    """How many unexpected exits are borne: the `allowed`-th within `window` seconds is one too
    many (a process that cannot stay up is not going to, and restarting it forever hides that)."""

    def __init__(self, allowed: int = CRASHES, window: float = CRASH_WINDOW_SECONDS) -> None:
        self.allowed = allowed
        self.window = window
        self._times: deque[float] = deque()

    def crashed(self, now: float) -> int:
        """Note an exit at `now` (monotonic seconds); how many fell within the window up to now,
        this one included."""
        self._times.append(now)
        while self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times)

    def spent(self, count: int) -> bool:
        return count >= self.allowed


def exit_reason(returncode: int) -> str:
    """How a process ended, for a log line: `killed by SIGKILL`, `exited with code 3`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


class Supervisor:
    """Keeps `count` processes running `argv` on the listening socket `listener` (see the module
    doc); `run()` returns the parent's exit code."""

    def __init__(
        self,
        argv: Sequence[str],
        listener: socket.socket,
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        budget: CrashBudget | None = None,
        stop_seconds: float = STOP_SECONDS,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self._argv = list(argv)
        self._listener = listener
        self._count = count
        self._env = dict(os.environ if env is None else env)
        self._budget = budget or CrashBudget()
        self._stop_seconds = stop_seconds
        self._monotonic = monotonic
        self._stop = asyncio.Event()
        self._failed = False
        self._watched = -1

    async def run(self) -> int:
        """Start the processes, keep them running until SIGTERM or SIGINT (or until they crash
        too often), stop them; 0 when every one stopped when asked, else 1."""
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, self._asked_to_stop, number)
        self._watched, held = os.pipe()
        try:
            slots = [self._keep(slot) for slot in range(1, self._count + 1)]
            await asyncio.gather(*slots)
        finally:
            os.close(self._watched)
            os.close(held)
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(number)
        if not self._failed:
            log.info("every API process stopped; exiting 0")
        return 1 if self._failed else 0

    def stop(self, why: str = "asked") -> None:
        """Stop every process (what SIGTERM and SIGINT do); `run()` returns once they stopped."""
        if not self._stop.is_set():
            log.info("%s: stopping the API processes", why)
        self._stop.set()

    def _asked_to_stop(self, number: int) -> None:
        self.stop(signal.Signals(number).name)

    def _give_up(self, message: str) -> None:
        log.error(message)
        self._failed = True
        self._stop.set()

    async def _keep(self, slot: int) -> None:
        """Keep process number `slot` running until the stop."""
        while not self._stop.is_set():
            try:
                child = await self._spawn()
            except OSError as exc:
                self._give_up(f"cannot start API process {slot}: {exc}; exiting 1")
                return
            log.info("API process %d of %d started (pid %d)", slot, self._count, child.pid)
            if await self._exits_before_stop(child):
                self._crashed(slot, child)
            else:
                await self._stop_child(slot, child)

    async def _spawn(self) -> asyncio.subprocess.Process:
        listener = self._listener.fileno()
        argv = [*self._argv, "--fd", str(listener), "--watch-fd", str(self._watched)]
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            pass_fds=(listener, self._watched),
            env=self._env,
            process_group=0,
        )

    async def _exits_before_stop(self, child: asyncio.subprocess.Process) -> bool:
        exited = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        stopping.cancel()
        return not self._stop.is_set()

    def _crashed(self, slot: int, child: asyncio.subprocess.Process) -> None:
        count = self._budget.crashed(self._monotonic())
        reason = exit_reason(child.returncode if child.returncode is not None else 0)
        window = f"{self._budget.window:.0f} s"
        if self._budget.spent(count):
            self._give_up(
                f"API process {slot} (pid {child.pid}) died unexpectedly ({reason}): {count} "
                f"unexpected exits within {window}, so hookyard gives up, stops the other API "
                "processes and exits 1 (the lines above say why they died)"
            )
            return
        log.error(
            "API process %d (pid %d) died unexpectedly (%s); starting another (unexpected exits "
            "within %s: %d; at %d hookyard gives up)",
            slot,
            child.pid,
            reason,
            window,
            count,
            self._budget.allowed,
        )

    async def _stop_child(self, slot: int, child: asyncio.subprocess.Process) -> None:
        with suppress(ProcessLookupError):
            child.terminate()
        try:
            await asyncio.wait_for(child.wait(), self._stop_seconds)
        except TimeoutError:
            self._failed = True
            log.error(
                "API process %d (pid %d) did not stop within %g s of SIGTERM; killed it",
                slot,
                child.pid,
                self._stop_seconds,
            )
            with suppress(ProcessLookupError):
                child.kill()
            await child.wait()


@contextmanager
def counted_together(env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """`env` for the API processes, with a `PROMETHEUS_MULTIPROC_DIR` made for this run (and
    removed after it) unless one is set."""
    if env.get(MULTIPROC):
        yield dict(env)
        return
    directory = tempfile.mkdtemp(prefix="hookyard-metrics-")
    log.info(
        "the API processes add up their counters in %s=%s (made for this run; set it to include "
        "this machine's hookyard workers)",
        MULTIPROC,
        directory,
    )
    try:
        yield {**env, MULTIPROC: directory}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def parent_gone(fd: int) -> bool:
    """Whether the pipe `fd` reads end of file now: the supervising parent is gone (said in the
    log). Nothing is ever written to it, so a read does not wait once it is readable."""
    readable, _, _ = select.select([fd], [], [], 0)
    if readable and os.read(fd, 1) == b"":
        log.warning("the supervising hookyard process is gone; stopping")
        return True
    return False


def watch_parent(fd: int, stop: Callable[[], None]) -> None:
    """Call `stop` once the supervising parent is gone (`parent_gone`). Call it from the running
    event loop of an API process."""
    loop = asyncio.get_running_loop()

    def readable() -> None:
        if parent_gone(fd):
            loop.remove_reader(fd)
            stop()

    loop.add_reader(fd, readable)
