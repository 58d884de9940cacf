"""Logging for the ``dwa-rater`` command: ``--verbose`` and ``--log-file``.

The library only creates records under the ``dwa_rater`` logger hierarchy (and installs no
handler); the command, being the application, decides where records go. It attaches its
handlers to the root logger and filters there, so no other library's logger is reconfigured:

- on stderr: ``dwa_rater`` records from WARNING (``-v``: INFO, ``-vv``: DEBUG); other
  libraries' records from WARNING, except ``instructor``, whose per-attempt retry errors
  repeat what the engine reports itself and show only with ``-vv``;
- in ``--log-file``: ``dwa_rater`` records from DEBUG and other libraries' from INFO, with
  timestamps (the file is appended to).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from dwa_rater.errors import ConfigError

OUR_LOGGER = "dwa_rater"
#: Libraries whose records only show on stderr at ``-vv``.
NOISY_ON_STDERR: tuple[str, ...] = ("instructor",)
_HANDLER_MARK = "_dwa_rater_cli"


def _belongs(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


class LevelFilter(logging.Filter):
    """Let a record through at one level for ``dwa_rater.*`` and another for other loggers."""

    def __init__(self, ours: int, others: int, quiet: tuple[str, ...] = (), quiet_level: int = 0):
        super().__init__()
        self.ours, self.others, self.quiet, self.quiet_level = ours, others, quiet, quiet_level

    def filter(self, record: logging.LogRecord) -> bool:
        if _belongs(record.name, OUR_LOGGER):
            return record.levelno >= self.ours
        if any(_belongs(record.name, q) for q in self.quiet):
            return record.levelno >= self.quiet_level
        return record.levelno >= self.others


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (it may be swapped, e.g.
    by a test runner's capture), like logging's own last-resort handler."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def stderr_level(verbosity: int) -> int:
    """WARNING by default, INFO with ``-v``, DEBUG with ``-vv`` or more."""
    return logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG


def configure_logging(verbosity: int = 0, log_file: Path | None = None) -> None:
    """Install the command's handlers on the root logger (replacing ones it installed before)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    ours = stderr_level(verbosity)
    console = StderrHandler()
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    quiet_level = logging.DEBUG if verbosity >= 2 else logging.CRITICAL + 1
    console.addFilter(LevelFilter(ours, logging.WARNING, NOISY_ON_STDERR, quiet_level))
    handlers: list[logging.Handler] = [console]
    lowest = min(ours, logging.WARNING)
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the log file {log_file}: {exc.strerror}") from exc
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
        )
        file_handler.addFilter(LevelFilter(logging.DEBUG, logging.INFO))
        handlers.append(file_handler)
        lowest = logging.DEBUG
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(lowest)
