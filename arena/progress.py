"""Progress of long CLI jobs (train, eval): one line, redrawn on a terminal, plain lines in a pipe.

On a terminal the line is redrawn in place a few times a second. Anywhere
else (``arena train ... 2>&1 | tee log``, a log file, the app's train.log)
a carriage-return redraw would show nothing until the job ends, so a plain
line is printed every ``ARENA_PROGRESS_EVERY`` seconds (default 10) and once
at the end.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from typing import TextIO

from games.errors import UserError

#: seconds between plain progress lines when the stream is not a terminal
PLAIN_EVERY_S = 10.0
#: seconds between redraws on a terminal
LIVE_EVERY_S = 0.5
EVERY_ENV = "ARENA_PROGRESS_EVERY"


def format_duration(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on; never negative (a negative span reads 0:00)."""
    if not math.isfinite(seconds):
        return "-"
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_eta(seconds: float | None) -> str:
    """The time left as m:ss or h:mm:ss; '-' when unknown; 0:00 once the work is done or past."""
    if seconds is None or math.isnan(seconds) or seconds == math.inf:
        return "-"
    return format_duration(max(seconds, 0.0))


def eta_seconds(done: float, total: float, rate: float | None) -> float | None:
    """Seconds until `total` at `rate` per second: None when the rate is unknown, never < 0."""
    if total <= done:
        return 0.0
    if not rate or rate <= 0:
        return None
    return (total - done) / rate


def plain_every_s() -> float:
    """The interval between plain progress lines: $ARENA_PROGRESS_EVERY seconds, else 10."""
    text = os.environ.get(EVERY_ENV)
    if text is None or text.strip() == "":
        return PLAIN_EVERY_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"${EVERY_ENV}: expected a number of seconds > 0 (got {text!r})")
    return value


class RateMeter:
    """Units per second over the last `window_s` seconds of samples (since the first, before)."""

    def __init__(self, window_s: float = 60.0):
        self.window_s = window_s
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, count: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.samples.append((now, count))
        # Keep one sample older than the window, so the span covers the whole window.
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        if t1 - t0 <= 0:
            return None
        return max(c1 - c0, 0) / (t1 - t0)


class ProgressLine:
    """A job's progress line on `stream` (stderr by default).

    `live` (default: the stream is a terminal) redraws the line in place;
    otherwise each `show` prints a full line. Callers ask `due()` before
    building the text, so they draw at the stream's pace.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 every_s: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        if every_s is None:
            every_s = LIVE_EVERY_S if live else plain_every_s()
        self.every_s = every_s
        self.last: float | None = None
        self.width = 0

    def due(self, now: float | None = None) -> bool:
        """True when a new line should be shown now (always for the first one)."""
        now = time.monotonic() if now is None else now
        return self.last is None or now - self.last >= self.every_s

    def show(self, text: str) -> None:
        self.last = time.monotonic()
        try:
            if self.live:
                pad = " " * max(self.width - len(text), 0)
                self.stream.write("\r" + text + pad)
                self.width = len(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader went away; the job itself goes on

    def finish(self, text: str | None = None) -> None:
        """The last line (always shown), and the end of a live line."""
        if text is not None:
            self.show(text)
        if self.live and self.width:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass
            self.width = 0


class CountProgress:
    """Progress of `total` like items (episodes, games): done/total, rate, ETA and a figure.

    ``label`` leads every line, e.g. "eval runs/x on cartpole".
    """

    def __init__(self, label: str, total: int, unit: str = "episodes",
                 line: ProgressLine | None = None):
        self.label = label
        self.total = total
        self.unit = unit
        self.line = line if line is not None else ProgressLine()
        self.start = time.monotonic()

    def _text(self, done: int, figure: str, end: str) -> str:
        parts = [f"{self.label}: {done}/{self.total} {self.unit}"]
        if figure:
            parts.append(figure)
        parts.append(end)
        return "  ".join(parts)

    def update(self, done: int, figure: str = "") -> None:
        """`done` items finished; shown when the line is due (the first call always is)."""
        if not self.line.due():
            return
        elapsed = time.monotonic() - self.start
        rate = done / elapsed if elapsed > 0 and done else None
        rate_text = f"{rate:.2f} {self.unit}/s  " if rate else ""
        eta = format_eta(eta_seconds(done, self.total, rate))
        self.line.show(self._text(done, figure, f"{rate_text}ETA {eta}"))

    def finish(self, done: int, figure: str = "") -> None:
        """The last line: what was done and the time it took."""
        elapsed = time.monotonic() - self.start
        self.line.finish(self._text(done, figure, f"done in {format_duration(elapsed)}"))
