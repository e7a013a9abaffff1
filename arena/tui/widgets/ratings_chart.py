"""RatingsChart: Elo against rounds, drawn in braille dots in the terminal.

Each terminal cell holds a 2 x 4 grid of braille dots, so a 60 x 12 cell plot
has 120 x 48 points of resolution. Series are polylines (one colour each),
levels are dotted horizontal lines (the references); the y axis is labelled
in Elo, the x axis in rounds, and a legend line names everything drawn.
"""

from __future__ import annotations

from itertools import pairwise

from rich.text import Text
from textual.widget import Widget

#: Dot (column, row) inside a cell -> its bit in the braille character (U+2800 + bits).
_BITS = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20,
         (0, 3): 0x40, (1, 3): 0x80}
COLORS = ("cyan", "magenta", "yellow", "green", "bright_blue", "red", "bright_white", "orange3")
LEVEL_COLOR = "grey50"
LABEL_WIDTH = 7


class RatingsChart(Widget):
    """Series of (round, Elo) points as braille polylines, references as dotted levels.

    Promises: after `plot(series, levels)` the widget shows them, scaled to
    its size; with nothing to plot it says so.
    """

    DEFAULT_CSS = """
    RatingsChart {
        height: 14;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.levels: dict[str, float] = {}
        self.title = ""

    def plot(self, series: dict[str, list[tuple[float, float]]], levels: dict[str, float],
             title: str = "") -> None:
        """Show `series` (name -> [(x, y)]) and `levels` (name -> y)."""
        self.series = {k: sorted(v) for k, v in series.items() if v}
        self.levels = dict(levels)
        self.title = title
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        return self.draw(width, height)

    def draw(self, width: int, height: int) -> Text:
        """The chart as text for a `width` x `height` cell area."""
        text = Text()
        if self.title:
            text.append(self.title + "\n", style="bold")
            height -= 1
        points = [p for pts in self.series.values() for p in pts]
        if not points or width < LABEL_WIDTH + 10 or height < 4:
            text.append("no ratings yet", style="dim")
            return text
        cols, rows = width - LABEL_WIDTH - 1, height - 2
        xs = [p[0] for p in points]
        ys = [p[1] for p in points] + list(self.levels.values())
        x0, x1 = min(xs), max(xs)
        if x1 == x0:
            x0, x1 = x0 - 1, x1 + 1
        y0, y1 = min(ys), max(ys)
        pad = max((y1 - y0) * 0.05, 10.0)
        y0, y1 = y0 - pad, y1 + pad
        dots_w, dots_h = cols * 2, rows * 4
        bits = [[0] * cols for _ in range(rows)]
        color: list[list[str | None]] = [[None] * cols for _ in range(rows)]

        def to_dot(x: float, y: float) -> tuple[int, int]:
            dx = round((x - x0) / (x1 - x0) * (dots_w - 1))
            dy = round((y1 - y) / (y1 - y0) * (dots_h - 1))
            return dx, dy

        def put(dx: int, dy: int, style: str) -> None:
            if 0 <= dx < dots_w and 0 <= dy < dots_h:
                r, c = dy // 4, dx // 2
                bits[r][c] |= _BITS[(dx % 2, dy % 4)]
                color[r][c] = style

        for y in self.levels.values():
            _, dy = to_dot(x0, y)
            for dx in range(0, dots_w, 3):
                put(dx, dy, LEVEL_COLOR)
        for k, pts in enumerate(self.series.values()):
            style = COLORS[k % len(COLORS)]
            dots = [to_dot(x, y) for x, y in pts]
            if len(dots) == 1:
                put(*dots[0], style)
            for (ax, ay), (bx, by) in pairwise(dots):
                steps = max(abs(bx - ax), abs(by - ay), 1)
                for s in range(steps + 1):
                    put(round(ax + (bx - ax) * s / steps), round(ay + (by - ay) * s / steps),
                        style)
            for dx, dy in dots:  # the points themselves: a 2x2 blob
                for ex in (0, 1):
                    for ey in (0, 1):
                        put(dx + ex - (dx == dots_w - 1), dy + ey - (dy == dots_h - 1), style)
        labels = {0: y1, rows // 2: (y0 + y1) / 2, rows - 1: y0}
        for r in range(rows):
            label = f"{labels[r]:+.0f}" if r in labels else ""
            text.append(f"{label:>{LABEL_WIDTH}}┤" if r in labels else " " * LABEL_WIDTH + "│",
                        style="dim")
            for c in range(cols):
                if bits[r][c]:
                    text.append(chr(0x2800 + bits[r][c]), style=color[r][c] or "")
                else:
                    text.append(" ")
            text.append("\n")
        left, right = f"round {x0:g}", f"round {x1:g}"
        axis = " " * LABEL_WIDTH + "└" + left + right.rjust(max(cols - len(left), 0))
        text.append(axis + "\n", style="dim")
        for k, name in enumerate(self.series):
            text.append("━ ", style=COLORS[k % len(COLORS)])
            text.append(f"{name}  ")
        for name, y in self.levels.items():
            text.append("┈ ", style=LEVEL_COLOR)
            text.append(f"{name} {y:+.0f}  ", style="dim")
        return text
