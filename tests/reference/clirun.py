"""Run the ``onlinekit`` command as a user does: piped, or inside a pseudo-terminal (pty).

Under a pty, stdin/stdout/stderr are terminals, so the CLI takes its interactive paths
(progress bars, terminal widths) -- the paths an in-process test never exercises.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "onlinekit"
ONLINEKIT = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "onlinekit.cli"]


def run_piped(args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    """``onlinekit ARGS`` with stdout/stderr captured (pipes, not a terminal)."""
    return subprocess.run([*ONLINEKIT, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _as_foreground_job() -> None:
    """Ctrl-C and Ctrl-\\ at their defaults, as a shell gives a job it runs in the foreground of a
    terminal: a test run started in the background (``pytest ... &``) has them ignored, and a
    child would inherit that and never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


class PtyProcess:
    """``onlinekit ARGS`` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, args, cwd=None, env=None, cols=100, rows=30):
        master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ if env is None else env)
        env.setdefault("TERM", "xterm")
        self.proc = subprocess.Popen([*ONLINEKIT, *args], cwd=cwd, env=env, stdin=slave, stdout=slave,
                                     stderr=slave, start_new_session=True, close_fds=True,
                                     preexec_fn=_as_foreground_job)
        os.close(slave)
        self.master = master
        self.buf = b""

    def read_until(self, predicate, timeout: float) -> str:
        """Read output until ``predicate(text)`` holds, the process ends, or ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self.text):
                break
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data and self.proc.poll() is not None:
                    break
                self.buf += data
            elif self.proc.poll() is not None:
                # drain what is left
                r, _, _ = select.select([self.master], [], [], 0.2)
                if not r:
                    break
        return self.text

    @property
    def text(self) -> str:
        return self.buf.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def wait(self, timeout: float) -> int:
        self.read_until(lambda _t: False, timeout)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def interrupt(self) -> None:
        """Ctrl-C as the terminal sends it: SIGINT to the foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        os.close(self.master)


def run_pty(args, cwd=None, env=None, timeout=300) -> tuple[int, str]:
    """``onlinekit ARGS`` in a pseudo-terminal; returns ``(exit status, screen text)``."""
    p = PtyProcess(args, cwd=cwd, env=env)
    try:
        rc = p.wait(timeout)
        return rc, p.text
    finally:
        p.close()


def has_script() -> bool:
    return shutil.which("script") is not None
