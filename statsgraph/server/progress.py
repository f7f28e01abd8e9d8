"""A one-line progress bar for long command-line runs (demo generation, aggregation)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def progress_bar(label: str, *, unit: str = "rows", width: int = 30) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr, for `progress(done, total)` callbacks."""
    started = time.monotonic()
    finished = False

    def show(done: int, total: int) -> None:
        nonlocal finished
        if finished:
            return
        fraction = 1.0 if total <= 0 else min(1.0, done / total)
        filled = int(width * fraction)
        elapsed = max(time.monotonic() - started, 1e-9)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(
            f"\r{label} [{bar}] {fraction * 100:5.1f}% {done:,}/{max(total, 0):,} {done / elapsed:,.0f} {unit}/s"
        )
        if fraction >= 1.0:
            finished = True
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


__all__ = ["progress_bar"]
