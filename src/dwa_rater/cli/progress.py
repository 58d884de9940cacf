"""Live progress display for long runs: items, cached, failed, tokens, cost, ETA."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from dwa_rater.rating import Progress as RunProgress


def output_console() -> Console:
    """stdout for tables: the terminal's width, or a wide page when piped to a file or a log
    (rich would otherwise wrap tables at 80 columns and cut their headers)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


class RunDisplay:
    """A rich progress bar fed by the engine's progress callback (writes to stderr)."""

    def __init__(self, description: str = "rating", enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        # A live bar on a terminal; elsewhere (CI logs, pipes) a plain line now and then.
        self.live = enabled and self.console.is_terminal
        self.plain = enabled and not self.live
        self._last_plain = 0.0
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>6.0f}/{task.total:<6.0f}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
            transient=False,
        )
        self._task: TaskID | None = None
        self._description = description

    def __enter__(self) -> RunDisplay:
        self._bar.__enter__()
        self._task = self._bar.add_task(self._description, total=0, detail="starting")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.live:
            self._bar.__exit__(exc_type, exc, traceback)

    def update(self, progress: RunProgress) -> None:
        tokens = progress.prompt_tokens + progress.completion_tokens
        detail = (
            f"cached {progress.cached + progress.skipped}  failed {progress.failed}  "
            f"tokens {tokens:,}  ${progress.cost_usd:.4f}  {_format_eta(progress.eta_seconds())}"
        )
        if self.plain:
            now = time.monotonic()
            finished = progress.finished == progress.total and progress.total > 0
            if now - self._last_plain >= 15.0 or finished:
                self._last_plain = now
                self.console.print(
                    f"{self._description}: {progress.finished}/{progress.total}  {detail}",
                    highlight=False,
                )
            return
        if self._task is None:
            return
        self._bar.update(
            self._task, total=progress.total, completed=progress.finished, detail=detail
        )
