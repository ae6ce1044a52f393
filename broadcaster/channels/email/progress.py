"""A progress bar for long sends, on a terminal only (never in cron, pipes or tests): rich's
progress bars are imported only when one is shown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn, TaskID


class SendProgress:
    """Rows of the subscriber list gone through (sent or skipped), and how many were sent."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._sent = 0

    @classmethod
    def for_stdout(cls) -> SendProgress:
        return cls(sys.stdout.isatty())

    def begin(self, path: Path) -> None:
        """A new pass over the list (one notice)."""
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = _progress_bar()
            self._bar.start()
        self._sent = 0
        self._task = self._bar.add_task("email", total=_count_rows(path), sent=0)

    def label(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"email {text}")

    def rows(self, count: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, count)

    def sent(self, count: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._sent += count
            self._bar.update(self._task, sent=self._sent)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = None


def _progress_bar() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sent {task.fields[sent]:,}"),
        _rate(),
        TimeRemainingColumn(),
        console=Console(),
    )


def _rate() -> ProgressColumn:
    """Messages a second (a column class made here, where rich's progress is imported)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="cyan")

    return Rate()


def _count_rows(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
    return max(0, lines - 1)
