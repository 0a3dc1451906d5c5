"""``toky-ghl worker --processes N``: N Celery worker processes under one command.

Why: a worker with the threads pool is one process, and the GIL keeps its Python code
on one core at a time; the pipeline's per-event work (Redis round trips, JSON, HTTP
parsing) is CPU, so one process stops at what one core gives it. N processes, each a
threads pool, use N cores. One supervising command keeps a Procfile line, a container
or a systemd unit one process to start and to stop.

What the supervisor does:

- Each child is ``toky-ghl worker --processes 1 [options] -n NAME-i@HOST``: the same
  command with the user's Celery options, under a node name of its own (Celery keys
  its mailbox, its control replies and Flower's rows by node name; two nodes of one
  name answer for each other). The durable pop's consumer identity is per process
  (``worker/broker.py``), so each child holds its own messages.
- The first child starts alone; the others start once it is ready (Celery's
  ``worker_ready``, told through a pipe). A bad configuration is thus reported once,
  by that child, and the supervisor exits with its status.
- SIGTERM, SIGINT and SIGQUIT are forwarded to every child once (each child is in a
  process group of its own, so a terminal's Ctrl-C reaches it only through the
  supervisor: a second Ctrl-C is Celery's cold shutdown, not the first); the supervisor
  exits when all have, with 0 if all did. A child is sent SIGTERM if the supervisor
  itself dies (Linux ``PR_SET_PDEATHSIG``).
- A child that dies (killed, crashed: any exit but 0) is started again, after 1 s, the
  delay doubling up to ``RESTART_MAX_DELAY_S`` while restarts keep failing within
  ``STABLE_S``. On start a worker puts back the messages of dead consumers
  (``worker.broker_processing.restore_dead``), so the dead child's are not left waiting
  for the sweep. A child exiting 0 on its own was told to stop (``celery control
  shutdown``, a SIGTERM of its own) and is not restarted; the supervisor ends when
  none is left.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from toky_ghl.logs import get_logger

log = get_logger("toky_ghl.worker.processes")

#: The environment variable naming the pipe a child writes one byte to when ready.
READY_FD_ENV = "TOKY_GHL_WORKER_READY_FD"
#: A child that ran this long was fine: its next restart waits the first delay again.
STABLE_S = 60.0
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
#: How long the loop sleeps between looks at the children (a signal wakes it at once).
TICK_S = 0.5
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_processes() -> int:
    """The CPUs this process may run on (its affinity: a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# -- node names ------------------------------------------------------------------------

_HOSTNAME_OPTIONS = ("-n", "--hostname")


def split_hostname(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """``argv`` without Celery's ``-n``/``--hostname`` option, and that option's value."""
    rest: list[str] = []
    value: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in _HOSTNAME_OPTIONS:
            value = next(args, None)
        elif arg.startswith("--hostname="):
            value = arg.partition("=")[2]
        elif arg.startswith("-n") and not arg.startswith("--"):
            value = arg[2:]
        else:
            rest.append(arg)
    return rest, value


def child_nodename(hostname: str | None, index: int) -> str:
    """Child ``index``'s node name from the ``-n`` value given (None: Celery's default,
    ``celery@%h``): ``NAME-index@HOST``. A value without ``@`` is a host, as Celery reads
    it (``celery.utils.nodenames.default_nodename``)."""
    name, at, host = (hostname or "").rpartition("@")
    if not at:
        name, host = "", hostname or ""
    return f"{name or 'celery'}-{index}@{host or '%h'}"


# -- the children ----------------------------------------------------------------------

@dataclass
class Child:
    """One worker process, started again under the same node name when it dies."""

    index: int
    nodename: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    ready_fd: int | None = None  # the pipe's read end, until the child said it is ready
    ready: bool = False
    started_s: float = 0.0
    restart_at_s: float | None = None
    restart_delay_s: float = RESTART_FIRST_DELAY_S
    restarts: int = 0
    exit_seen: bool = False  # its exit was handled (reaped, logged, restart planned)

    @property
    def running(self) -> bool:
        """Started and its exit not handled yet (it may have just exited)."""
        return self.proc is not None and not self.exit_seen


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class WorkerProcesses:
    """Starts, restarts and stops the children; ``run`` returns the exit status."""

    def __init__(self, children: list[Child], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.children = children
        self.clock = clock
        self.stopping = False
        self.forwarded: set[int] = set()  # the signals passed on to the children
        self.exit_status = 0

    # -- starting ---------------------------------------------------------------------

    def start(self, child: Child) -> None:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, READY_FD_ENV: str(write_fd)}
        try:
            child.proc = subprocess.Popen(child.argv, env=env, pass_fds=(write_fd,),
                                          process_group=0, preexec_fn=_die_with_parent)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        child.ready_fd, child.ready, child.exit_seen = read_fd, False, False
        child.started_s, child.restart_at_s = self.clock(), None
        log.info("worker process started", node=self._shown(child), pid=child.proc.pid,
                 restarts=child.restarts)

    def _read_ready(self, child: Child) -> None:
        """The child wrote its byte (ready) or closed the pipe (exited, or exec'd on)."""
        assert child.ready_fd is not None
        got = os.read(child.ready_fd, 1)
        os.close(child.ready_fd)
        child.ready_fd = None
        if got:
            child.ready = True
            log.info("worker process ready", node=self._shown(child),
                     pid=child.proc.pid if child.proc else None)

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._forward) for sig in FORWARDED}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close_pipes()

    def _run(self) -> int:
        first, *others = self.children
        self.start(first)
        while not first.ready and not self.stopping:  # alone: a bad configuration is told once
            self._tick(starting=True)
            if first.exit_seen and not first.ready:
                log.error("the first worker process exited before it was ready",
                          node=self._shown(first), status=self._status(first))
                return self._status(first)
        if not self.stopping:
            for child in others:
                self.start(child)
        while any(c.running for c in self.children) or (
                not self.stopping and any(c.restart_at_s is not None for c in self.children)):
            self._tick()
        return self.exit_status

    def _tick(self, *, starting: bool = False) -> None:
        """Wait up to ``TICK_S`` for a ready byte, then reap and restart children
        (``starting``: the first child alone, reaped but not restarted)."""
        fds = [c.ready_fd for c in self.children if c.ready_fd is not None]
        try:
            readable, _, _ = select.select(fds, [], [], TICK_S) if fds else ([], [], [])
            if not fds:
                time.sleep(TICK_S)
        except InterruptedError:  # pragma: no cover (PEP 475 retries select)
            readable = []
        for child in self.children:
            if child.ready_fd is not None and child.ready_fd in readable:
                self._read_ready(child)
        now = self.clock()
        for child in self.children:
            if child.running and child.proc is not None and child.proc.poll() is not None:
                child.exit_seen = True
                if starting and child.ready_fd is not None:
                    self._read_ready(child)
                if starting and not child.ready:
                    continue  # never ready: _run reports its status
                self._exited(child, now)
            if (child.restart_at_s is not None and now >= child.restart_at_s
                    and not self.stopping):
                child.restarts += 1
                self.start(child)

    def _exited(self, child: Child, now: float) -> None:
        assert child.proc is not None
        status = self._status(child)
        if child.ready_fd is not None:
            self._read_ready(child)
        if self.stopping:
            # ended by the very signal passed on (before Celery handled it): a clean stop
            if child.proc.returncode is not None and -child.proc.returncode in self.forwarded:
                status = 0
            log.info("worker process stopped", node=self._shown(child), status=status)
            self.exit_status = self.exit_status or status
            return
        if status == 0:  # told to stop (remote shutdown, its own SIGTERM): not restarted
            log.info("worker process stopped on its own", node=self._shown(child))
            return
        ran_s = now - child.started_s
        if ran_s >= STABLE_S:
            child.restart_delay_s = RESTART_FIRST_DELAY_S
        delay_s = child.restart_delay_s
        child.restart_delay_s = min(RESTART_MAX_DELAY_S, delay_s * 2)
        child.restart_at_s = now + delay_s
        log.warning("worker process died; starting it again", node=self._shown(child),
                    pid=child.proc.pid, status=status, ran_s=round(ran_s, 1),
                    restart_in_s=delay_s)

    @staticmethod
    def _shown(child: Child) -> str:
        """The node name as logs show it (``%h``, the host name, filled in)."""
        return child.nodename.replace("%h", socket.gethostname())

    @staticmethod
    def _status(child: Child) -> int:
        """The child's exit status as a shell gives it (128 + N when killed by signal N)."""
        code = child.proc.returncode if child.proc is not None else None
        if code is None:
            return 0
        return 128 - code if code < 0 else code

    # -- stopping ---------------------------------------------------------------------

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        """Every child gets the signal once per signal received; no restart after it."""
        self.stopping = True
        self.forwarded.add(signum)
        for child in self.children:
            child.restart_at_s = None
            if child.running and child.proc is not None:
                child.proc.send_signal(signum)  # (nothing if it has exited)

    def _close_pipes(self) -> None:
        for child in self.children:
            if child.ready_fd is not None:
                os.close(child.ready_fd)
                child.ready_fd = None


def run_worker_processes(count: int, extra: Sequence[str]) -> int:
    """Run ``count`` worker processes with Celery options ``extra``; their exit status."""
    rest, hostname = split_hostname(extra)
    children = []
    for index in range(1, count + 1):
        nodename = child_nodename(hostname, index)
        argv = [sys.executable, "-m", "cli.main", "worker", "--processes", "1", *rest,
                "--hostname", nodename]
        children.append(Child(index, nodename, argv))
    log.info("starting worker processes", processes=count,
             nodes=[c.nodename.replace("%h", socket.gethostname()) for c in children])
    return WorkerProcesses(children).run()


def signal_ready_when_celery_is() -> None:
    """In a child: write one byte to the supervisor's pipe when Celery's consumer is
    ready (``celery.signals.worker_ready``), then close it."""
    raw = os.environ.pop(READY_FD_ENV, None)
    if not raw:
        return
    fd = int(raw)
    from celery import signals

    def _ready(**_kwargs: object) -> None:
        try:
            os.write(fd, b"r")
            os.close(fd)
        except OSError:  # the supervisor is gone
            pass

    signals.worker_ready.connect(_ready, weak=False)
