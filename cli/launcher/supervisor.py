"""Child processes with prefixed, coloured output; Ctrl-C stops them all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

_COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[31m"]
_RESET = "\033[0m"


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)


class Supervisor:
    """Starts children, copies their output line by line with a ``name |`` prefix."""

    def __init__(self, *, colour: bool | None = None, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.colour = self.out.isatty() if colour is None else colour
        self.children: list[Child] = []
        self._lock = threading.Lock()

    def say(self, name: str, text: str) -> None:
        index = sum(ord(c) for c in name) % len(_COLOURS)
        prefix = f"{name:>8} | "
        if self.colour:
            prefix = f"{_COLOURS[index]}{prefix}{_RESET}"
        with self._lock:
            self.out.write(prefix + text.rstrip("\n") + "\n")
            self.out.flush()

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        child = Child(name, cmd, env)
        child.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1,
                                      start_new_session=True)
        threading.Thread(target=self._pump, args=(child,), daemon=True).start()
        self.children.append(child)
        return child

    def _pump(self, child: Child) -> None:
        assert child.proc and child.proc.stdout
        for line in child.proc.stdout:
            child.lines.append(line)
            del child.lines[:-200]
            self.say(child.name, line)
        self.say(child.name, f"(exited with status {child.proc.wait()})")

    def wait_for_line(self, child: Child, needle: str, timeout_s: float) -> str:
        """The first output line of ``child`` containing ``needle``; RuntimeError on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(child.lines):
                if needle in line:
                    return line
            if child.proc and child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited before it was ready")
            time.sleep(0.05)
        raise RuntimeError(f"{child.name} was not ready after {timeout_s} s")

    def any_exited(self) -> Child | None:
        return next((c for c in self.children if c.proc and c.proc.poll() is not None), None)

    def stop_all(self, timeout_s: float = 15) -> None:
        """SIGTERM every child (newest first), then SIGKILL what is still running."""
        for child in reversed(self.children):
            if child.proc and child.proc.poll() is None:
                os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in reversed(self.children):
            if not child.proc:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
