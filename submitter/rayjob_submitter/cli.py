"""``rayjob-submit``: submit one Ray job (exactly once) and follow it to the end. See ``--help``."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from rayjob_submitter import follow, options, runner
from rayjob_submitter.client import UrllibDashboard
from rayjob_submitter.config import InputError, SubmitConfig
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.status import Fatal

logger = logging.getLogger("rayjob_submitter")


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived (a BaseException, so no retry loop swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM/SIGINT raise :class:`Interrupted` in the main thread (elsewhere: left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _log_to(stream: TextIO) -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s rayjob-submit: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)


def run(config: SubmitConfig, out: TextIO, clock: runner.Clock | None = None) -> ExitCode:
    """Wait for the dashboard, submit or attach, follow the job; Fatal for the non-job outcomes."""
    clock = clock or runner.SystemClock()
    settings, request = config.settings, config.request
    api = UrllibDashboard(settings.base_url, token=settings.token, timeout=settings.http_timeout)
    runner.wait_for_dashboard(api, settings, clock)
    runner.submit_or_attach(api, request, settings, clock)
    return follow.follow(api, request.submission_id, settings, clock, out)


def _tolerant(stream: TextIO) -> TextIO:
    """Job logs may hold anything: never die on a character the pod's stdout cannot encode."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    return stream


def main(argv: Sequence[str] | None = None) -> int:
    """The console script. Returns the exit code (see ``rayjob_submitter.contract.ExitCode``)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    with _log_to(sys.stderr), _signals_interrupt():
        try:
            config = options.load_config(arguments, os.environ)
            return int(run(config, _tolerant(sys.stdout)))
        except SystemExit as done:  # --help, or argparse's usage error (exit 2)
            return done.code if isinstance(done.code, int) else int(ExitCode.INVALID_INPUT)
        except InputError as error:
            logger.error("error: %s", error)
            return int(ExitCode.INVALID_INPUT)
        except Fatal as error:
            logger.error("error: %s", error.message)
            return int(error.code)
        except Interrupted as stop:
            name = signal.Signals(stop.signum).name
            logger.warning("received %s: exiting; the Ray job keeps running (a new submitter re-attaches)", name)
            return 128 + stop.signum
