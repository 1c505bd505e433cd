"""Child processes that never outlive us: own process group, parent-death signal, TERM then KILL.

Each component runs in its own session (so a Ctrl-C in the terminal reaches only Python, which then
stops the components in order) and asks the kernel to SIGKILL it when its parent dies
(``PR_SET_PDEATHSIG``), so even a SIGKILLed Python leaves nothing behind.

``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits: start components from a
thread that lives as long as they should (the main thread, in practice).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from rayjob_devenv.waiting import WaitTimeout, wait_for

_PR_SET_PDEATHSIG = 1


def _die_with_parent_hook() -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive SIGKILL when this process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class Component:
    """One long-running binary of the control plane, logging to its own file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509 (started from the owning thread)
            )

    def exit_code(self) -> int | None:
        """The exit code once the process ended, else None (also None before start)."""
        return self._proc.poll() if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the component's whole process group (if it is still running)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the process to exit; True if it has."""
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the component's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<no log at {self.log_path}: {e}>"
        return "\n".join(text.splitlines()[-lines:])

    def describe_failure(self, what: str) -> str:
        code = self.exit_code()
        state = "still running" if code is None else f"exited with code {code}"
        return f"{self.name}: {what} ({state}); log {self.log_path}, last lines:\n{self.log_tail()}"


def stop_all(components: Iterable[Component], grace: float = 10.0) -> None:
    """SIGTERM every component's process group, wait up to ``grace`` seconds, then SIGKILL the rest."""
    pending = [c for c in components if c.pid is not None]
    for c in pending:
        c.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for c in pending:
        if not c.wait(deadline - time.monotonic()):
            c.signal(signal.SIGKILL)
    for c in pending:
        c.wait(5.0)


def pids_mentioning(text: str) -> list[int]:
    """PIDs of live (non-zombie) processes whose command line contains ``text``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """True if ``pid`` names a live process (zombies count as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class ComponentFailed(RuntimeError):
    """A wait for a component failed; the message names the culprit and shows its log tail."""


def wait_while_alive(
    probe: Callable[[], object], timeout: float, what: str, *, watched: Sequence[Component], blamed: Component
) -> None:
    """Wait for ``probe`` (see :func:`wait_for`), giving up at once when a ``watched`` component exits.

    The culprit named in the error is the first component that exited, else ``blamed``.
    """

    def dead() -> list[Component]:
        return [c for c in watched if c.exit_code() is not None]

    def abort() -> str | None:
        return f"{dead()[0].name} exited" if dead() else None

    try:
        wait_for(probe, max(0.0, timeout), what, abort=abort)
    except WaitTimeout as e:
        culprit = (dead() or [blamed])[0]
        raise ComponentFailed(culprit.describe_failure(str(e))) from e


class StartStop:
    """A context manager over ``start()`` and ``stop()``."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
