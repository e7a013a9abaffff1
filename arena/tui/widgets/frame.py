"""FrameView: a single-player game's picture (an RGB frame) drawn with half blocks.

Every terminal cell shows two pixels: the upper one as the foreground of
"▀", the lower one as its background. The frame arrives already shrunk to
the cells available (see live_match.downscale), so drawing is one pass.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget


class FrameView(Widget):
    """Draws `frame`, a (2 * rows, columns, 3) uint8 array; `wanted` is the cell area it fits."""

    frame: reactive[np.ndarray | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._rows: list[Strip] = []

    @property
    def wanted(self) -> tuple[int, int]:
        """(columns, rows) a frame should be shrunk to; read from the match thread."""
        size = self.content_size
        return max(size.width, 10), max(size.height, 4)

    def watch_frame(self, frame: np.ndarray | None) -> None:
        self._rows = [] if frame is None else self._strips(frame)

    @staticmethod
    def _strips(frame: np.ndarray) -> list[Strip]:
        styles: dict[tuple[int, ...], Style] = {}
        strips = []
        for top, bottom in zip(frame[0::2], frame[1::2]):
            segments = []
            for upper, lower in zip(top.tolist(), bottom.tolist()):
                key = (*upper, *lower)
                style = styles.get(key)
                if style is None:
                    style = styles[key] = Style(color=Color.from_rgb(*upper),
                                                bgcolor=Color.from_rgb(*lower))
                segments.append(Segment("▀", style))
            strips.append(Strip(Segment.simplify(segments)))
        return strips

    def render_line(self, y: int) -> Strip:
        width, rows = self.size.width, self._rows
        if not rows:
            if y == 0:
                return Strip([Segment("no picture yet", Style(dim=True))])
            return Strip.blank(width, self.rich_style)
        # Centred: the frame keeps its aspect, so one side has room to spare.
        top = max((self.size.height - len(rows)) // 2, 0)
        if top <= y < top + len(rows):
            row = rows[y - top]
            left = max((width - row.cell_length) // 2, 0)
            return Strip.join([Strip.blank(left, self.rich_style), row,
                               Strip.blank(width - left - row.cell_length, self.rich_style)])
        return Strip.blank(width, self.rich_style)
