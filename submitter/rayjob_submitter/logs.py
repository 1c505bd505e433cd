"""Printing only the new part of a job's log, which the dashboard returns whole on every poll."""

from __future__ import annotations

RESTART_NOTICE = "[rayjob-submit: the job's log changed from its start; printing it again]\n"


class LogCursor:
    """Remembers what was printed; :meth:`delta` returns what to print for the next full log text."""

    def __init__(self) -> None:
        self._seen = ""

    @property
    def printed(self) -> str:
        return self._seen

    def delta(self, text: str) -> str:
        """The part of ``text`` not printed yet.

        A shorter answer that is a prefix of what was printed (a lagging or empty read) prints nothing.
        An answer that diverges (the log was replaced) is printed again in full after a notice.
        """
        if text.startswith(self._seen):
            new = text[len(self._seen) :]
        elif self._seen.startswith(text):
            return ""
        else:
            new = RESTART_NOTICE + text
        self._seen = text
        return new
