"""Painters: how each game looks in the window, and where a click lands.

A painter draws one position into a rectangle of any pygame Surface (no
display needed, so tests and screenshots use the same code) and maps a pixel
back to an action. Board painters draw from the game's search state (Go,
connect four, tic-tac-toe); gymnasium games are drawn from the env's
rgb_array frame, scaled up.

Promises: `centre(rect, subject, action)` is a pixel that `action_at` maps
back to `action` (tests click there), and a painter never changes the state
it draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from agents.base import Insight
from arena.window import theme
from games.go import render as go_render

Point = tuple[int, int]


@dataclass
class Heat:
    """What an agent thinks of each action, ready to draw on a board.

    level: action -> [0, 1], 1 for the agent's favourite (drives colour and size).
    text: action -> a short figure to print on the board ("42" percent, "0.31").
    """

    level: dict[int, float] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_insight(cls, insight: Insight | None) -> Heat | None:
        """MCTS visit shares, policy probabilities or Q-values (scaled to [0, 1]); None if empty."""
        if insight is None or not insight.actions:
            return None
        acts = insight.actions
        if insight.kind == "mcts" and all(a.visits is not None for a in acts):
            visits = {a.action: a.visits or 0 for a in acts}
            total = sum(visits.values()) or 1
            lo, hi = min(visits.values()), max(visits.values())
            # UCT spreads visits widely; stretching min..max over the colour
            # range shows where the search concentrated, and the floor keeps
            # every searched move visible.
            return cls({a: 0.12 + 0.88 * (v - lo) / (hi - lo) if hi > lo else 1.0
                        for a, v in visits.items()},
                       {a: f"{100 * v / total:.0f}" for a, v in visits.items()})
        if insight.kind == "q":
            lo = min(a.score for a in acts)
            hi = max(a.score for a in acts)
            span = hi - lo
            return cls({a.action: (a.score - lo) / span if span > 0 else 1.0 for a in acts},
                       {a.action: f"{a.score:.2f}" for a in acts})
        # "probs" (and anything else scored in [0, 1]): share of the best.
        top = max(a.score for a in acts)
        return cls({a.action: a.score / top if top > 0 else 0.0 for a in acts},
                   {a.action: f"{100 * a.score:.0f}" for a in acts})

    def top(self, k: int) -> list[int]:
        """The k actions of highest level, best first."""
        return sorted(self.level, key=lambda a: -self.level[a])[:k]


@dataclass
class BoardSubject:
    """A board position to draw: the search state and the last action played (or None)."""

    state: Any
    last_action: int | None


class Painter:
    """Base painter: a dark panel. Subclasses draw a game."""

    #: render_mode the match env must be made with for this painter (None: draws from state).
    render_mode: str | None = None
    #: True when a person can play by clicking on this painter's board.
    clickable: bool = False
    #: How the HUD names each seat's pieces ("Black", "Red", "X" ...); empty for one player.
    seat_names: tuple[str, ...] = ()
    #: Words for the click hint in the status line.
    target: str = "a point"

    def subject(self, env: Any) -> Any:
        """What `draw` needs from the live AEC env."""
        unwrapped = getattr(env, "unwrapped", env)
        return BoardSubject(getattr(unwrapped, "state", None),
                            getattr(unwrapped, "last_action", None))

    def draw(self, surface: Any, rect: Any, subject: Any, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        """Draw `subject` into `rect`; `hover` = (action, player) previews a piece."""
        import pygame

        pygame.draw.rect(surface, theme.PANEL, rect, border_radius=12)

    def action_at(self, rect: Any, subject: Any, pos: Point) -> int | None:
        """The action a click at `pos` means, or None (off the board, or not clickable)."""
        return None

    def centre(self, rect: Any, subject: Any, action: int) -> Point:
        """A pixel inside `action`'s point, cell or column (what action_at maps to it)."""
        raise NotImplementedError

    def draw_piece(self, surface: Any, centre: Point, radius: float, player: int) -> None:
        """A small picture of `player`'s piece, for the HUD."""

    def seat_detail(self, subject: Any, seat: int) -> str:
        """A short fact about a seat for the HUD (Go: stones captured); "" for none."""
        return ""

    def position_note(self, subject: Any) -> str:
        """A line about the position for the HUD (Go: the score); "" for none."""
        return ""


def _alpha_fill(surface: Any, colour: tuple[int, int, int], alpha: int, rect: Any,
                radius: int = 0) -> None:
    import pygame

    layer = pygame.Surface((max(1, int(rect.w)), max(1, int(rect.h))), pygame.SRCALPHA)
    pygame.draw.rect(layer, (*colour, alpha), layer.get_rect(), border_radius=radius)
    surface.blit(layer, (rect.x, rect.y))


def _text(surface: Any, text: str, size: int, colour: tuple[int, int, int], centre: Point,
          bold: bool = False, outline: tuple[int, int, int] | None = None) -> None:
    f = theme.font(size, bold)
    if outline is not None:
        shade = f.render(text, True, outline)
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            surface.blit(shade, shade.get_rect(center=(centre[0] + dx, centre[1] + dy)))
    image = f.render(text, True, colour)
    surface.blit(image, image.get_rect(center=centre))


# -- Go ----------------------------------------------------------------------------


class GoPainter(Painter):
    """Go: games/go/render.py's wooden board, heat per intersection."""

    clickable = True
    seat_names = ("Black", "White")
    target = "an intersection"

    def __init__(self, size: int):
        self.n = size

    def _square(self, rect: Any) -> Any:
        import pygame

        side = int(min(rect.w, rect.h))
        return pygame.Rect(rect.centerx - side // 2, rect.centery - side // 2, side, side)

    def draw(self, surface: Any, rect: Any, subject: BoardSubject, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        import pygame

        square = self._square(rect)
        n = self.n
        # A soft drop shadow lifts the board off the window.
        _alpha_fill(surface, (0, 0, 0), 90, square.move(6, 8), radius=6)
        grid = notes = None
        if heat is not None:
            grid = np.zeros((n, n))
            # The hottest points only: a search touches most of the board, and
            # tinting every point would hide the few that matter.
            for action in heat.top(16):
                if 0 <= action < n * n:
                    grid[divmod(action, n)] = heat.level[action]
            # Figures on the few hottest points only: more would be noise.
            notes = {divmod(a, n): heat.text[a] for a in heat.top(6)
                     if a < n * n and heat.level[a] >= 0.5 and a in heat.text}
        ghost = None
        if hover is not None and 0 <= hover[0] < n * n:
            ghost = (*divmod(hover[0], n), hover[1] + 1)
        board = subject.state.board()
        go_render.draw_board(surface.subsurface(square), board, subject.last_action, grid,
                             notes=notes, ghost=ghost)
        pygame.draw.rect(surface, (150, 112, 50), square, 2)

    def action_at(self, rect: Any, subject: Any, pos: Point) -> int | None:
        square = self._square(rect)
        point = go_render.point_at(self.n, square.w, pos[0] - square.x, pos[1] - square.y)
        if point is None:
            return None
        return point[0] * self.n + point[1]

    def centre(self, rect: Any, subject: Any, action: int) -> Point:
        square = self._square(rect)
        x, y = go_render.point_centre(self.n, square.w, *divmod(action, self.n))
        return round(square.x + x), round(square.y + y)

    def draw_piece(self, surface: Any, centre: Point, radius: float, player: int) -> None:
        go_render._stone(surface, player + 1, centre, radius)

    def seat_detail(self, subject: Any, seat: int) -> str:
        state = getattr(subject, "state", None)
        captures = getattr(state, "captures", None)
        if captures is None:
            return ""
        count = int(captures[seat])
        return f"{count} capture{'' if count == 1 else 's'}"

    def position_note(self, subject: Any) -> str:
        state = getattr(subject, "state", None)
        if state is None or not hasattr(state, "score_label"):
            return ""
        # Live: the playout estimate with dead stones judged; over: Tromp-Taylor.
        return f"{state.score_label()} (komi {state.komi:g})"


# -- Connect four --------------------------------------------------------------------

C4_BLUE = (28, 86, 204)
C4_BLUE_DARK = (18, 58, 150)
C4_HOLE = (16, 18, 23)
C4_RED = (220, 38, 50)
C4_YELLOW = (250, 204, 40)
_C4_RIM = {0: (164, 22, 34), 1: (206, 158, 20)}
_C4_FACE = {0: C4_RED, 1: C4_YELLOW}


@lru_cache(maxsize=8)
def _c4_frame(cell: int) -> Any:
    """The blue frame with see-through holes, for a board of `cell`-px cells (SRCALPHA)."""
    import pygame

    pad = cell * 0.2
    w, h = int(cell * 7 + 2 * pad), int(cell * 6 + 2 * pad)
    frame = pygame.Surface((w, h), pygame.SRCALPHA)
    pygame.draw.rect(frame, C4_BLUE, frame.get_rect(), border_radius=int(cell * 0.22))
    # A lighter top edge and a darker bottom edge give the plastic some depth.
    pygame.draw.rect(frame, (60, 120, 232), (0, 0, w, int(pad * 0.6)),
                     border_top_left_radius=int(cell * 0.22),
                     border_top_right_radius=int(cell * 0.22))
    pygame.draw.rect(frame, C4_BLUE_DARK, (0, h - int(pad * 0.6), w, int(pad * 0.6)),
                     border_bottom_left_radius=int(cell * 0.22),
                     border_bottom_right_radius=int(cell * 0.22))
    for row in range(6):
        for col in range(7):
            centre = (pad + (col + 0.5) * cell, pad + (row + 0.5) * cell)
            pygame.draw.aacircle(frame, C4_BLUE_DARK, centre, cell * 0.43)
            pygame.draw.aacircle(frame, (0, 0, 0, 0), centre, cell * 0.4)
    return frame


class Connect4Painter(Painter):
    """Connect four: a blue frame with holes, red and yellow discs, heat per column."""

    clickable = True
    seat_names = ("Red", "Yellow")
    target = "a column"

    def _geometry(self, rect: Any) -> tuple[int, float, float, float]:
        """(cell, x of the frame, y of the top strip, y of the frame)."""
        cell = int(min(rect.w / 7.6, rect.h / 7.6))
        width = cell * 7.4
        height = cell * (0.75 + 6.4 + 0.35)
        x0 = rect.centerx - width / 2
        top = rect.centery - height / 2
        return cell, x0, top, top + cell * 0.75

    def hole_centre(self, rect: Any, row: int, col: int) -> Point:
        """The pixel centre of the hole at (row, col), row 0 at the top."""
        cell, x0, _, y0 = self._geometry(rect)
        return (round(x0 + cell * 0.2 + (col + 0.5) * cell),
                round(y0 + cell * 0.2 + (row + 0.5) * cell))

    def _disc(self, surface: Any, centre: Point, cell: float, player: int,
              alpha: int = 255) -> None:
        import pygame

        r = cell * 0.4
        if alpha < 255:
            layer = pygame.Surface((int(2 * r + 4), int(2 * r + 4)), pygame.SRCALPHA)
            pygame.draw.aacircle(layer, (*_C4_FACE[player], alpha), (r + 2, r + 2), r)
            surface.blit(layer, (centre[0] - r - 2, centre[1] - r - 2))
            return
        pygame.draw.aacircle(surface, _C4_RIM[player], centre, r)
        pygame.draw.aacircle(surface, _C4_FACE[player], centre, r * 0.9)
        pygame.draw.aacircle(surface, _C4_RIM[player], centre, r * 0.66, 2)

    def draw(self, surface: Any, rect: Any, subject: BoardSubject, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        import pygame

        state = subject.state
        cell, x0, top, y0 = self._geometry(rect)
        frame = _c4_frame(cell)
        fx, fy = round(x0), round(y0)
        # Feet under the frame, then the dark back the empty holes show.
        foot_w, foot_h = cell * 0.55, cell * 0.45
        for fx_foot in (fx - cell * 0.15, fx + frame.get_width() - foot_w + cell * 0.15):
            pygame.draw.rect(surface, C4_BLUE_DARK,
                             (fx_foot, fy + frame.get_height() - cell * 0.2, foot_w, foot_h),
                             border_radius=int(cell * 0.1))
        _alpha_fill(surface, (0, 0, 0), 90, pygame.Rect(fx + 6, fy + 8, *frame.get_size()),
                    radius=int(cell * 0.22))
        pygame.draw.rect(surface, C4_HOLE, (fx, fy, *frame.get_size()),
                         border_radius=int(cell * 0.22))
        for row in range(6):
            for col in range(7):
                owner = state.owner_at(row, col)
                if owner is not None:
                    self._disc(surface, self.hole_centre(rect, row, col), cell, owner)
        surface.blit(frame, (fx, fy))
        last = subject.last_action
        if last is not None:
            row = next((r for r in range(6) if state.owner_at(r, last) is not None), None)
            if row is not None:
                pygame.draw.aacircle(surface, (255, 255, 255), self.hole_centre(rect, row, last),
                                     cell * 0.1)
        line = _four_in_a_row(state)
        if line:
            a, b = self.hole_centre(rect, *line[0]), self.hole_centre(rect, *line[-1])
            for r, c in line:
                pygame.draw.aacircle(surface, (255, 255, 255), self.hole_centre(rect, r, c),
                                     cell * 0.42, max(2, cell // 16))
            pygame.draw.line(surface, (255, 255, 255), a, b, max(3, cell // 12))
        if heat is not None:
            # Per column: a pill above the column, coloured by interest, with its share.
            for col in range(7):
                level = heat.level.get(col)
                if level is None:
                    continue
                cx = self.hole_centre(rect, 0, col)[0]
                pill = pygame.Rect(0, 0, round(cell * 0.84), round(cell * 0.42))
                pill.center = (cx, round(top + cell * 0.3))
                _alpha_fill(surface, go_render.heat_colour(level), int(90 + 165 * level), pill,
                            radius=pill.h // 2)
                if col in heat.text:
                    text = heat.text[col] + ("" if "." in heat.text[col] else "%")
                    _text(surface, text, max(11, int(cell * 0.22)), (255, 255, 255), pill.center,
                          bold=True, outline=(20, 20, 30))
        if hover is not None and 0 <= hover[0] < 7:
            # The ghost disc sits where the piece would land.
            col = hover[0]
            empty = [r for r in range(6) if state.owner_at(r, col) is None]
            if empty:
                self._disc(surface, self.hole_centre(rect, max(empty), col), cell, hover[1],
                           alpha=120)

    def action_at(self, rect: Any, subject: Any, pos: Point) -> int | None:
        cell, x0, top, y0 = self._geometry(rect)
        x, y = pos
        if not (top <= y <= y0 + cell * 6.4 and x0 <= x < x0 + cell * 7.4):
            return None
        return int(min(6, max(0, (x - x0 - cell * 0.2) // cell)))

    def centre(self, rect: Any, subject: Any, action: int) -> Point:
        return self.hole_centre(rect, 0, action)

    def draw_piece(self, surface: Any, centre: Point, radius: float, player: int) -> None:
        self._disc(surface, centre, radius / 0.4, player)


def _four_in_a_row(state: Any) -> list[tuple[int, int]] | None:
    """The cells (row, col) of a completed four in a row, or None."""
    for r in range(6):
        for c in range(7):
            owner = state.owner_at(r, c)
            if owner is None:
                continue
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= rr < 6 and 0 <= cc < 7 and state.owner_at(rr, cc) == owner
                       for rr, cc in cells):
                    return cells
    return None


# -- Tic-tac-toe -------------------------------------------------------------------------

TTT_PAPER = (246, 242, 230)
TTT_GRID = (72, 76, 90)
TTT_X = (38, 98, 210)
TTT_O = (222, 68, 58)
_TTT_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8),
              (0, 4, 8), (2, 4, 6))


class TicTacToePainter(Painter):
    """Tic-tac-toe: a clean grid on paper, blue X and red O, heat per cell."""

    clickable = True
    seat_names = ("X", "O")
    target = "a cell"

    def _geometry(self, rect: Any) -> tuple[float, float, float]:
        """(cell, x, y) of the 3x3 grid's top-left corner."""
        side = min(rect.w, rect.h) * 0.8
        return side / 3, rect.centerx - side / 2, rect.centery - side / 2 + side * 0.02

    def cell_rect(self, rect: Any, action: int) -> Any:
        """The square of cell `action` (column action // 3, row action % 3)."""
        import pygame

        cell, x0, y0 = self._geometry(rect)
        col, row = divmod(action, 3)
        return pygame.Rect(round(x0 + col * cell), round(y0 + row * cell), round(cell), round(cell))

    def _mark(self, surface: Any, box: Any, player: int, alpha: int = 255) -> None:
        import pygame

        layer = pygame.Surface(box.size, pygame.SRCALPHA)
        w = box.w
        thick = max(4, int(w / 8.5))
        if player == 0:
            inset = w * 0.25
            for (ax, ay), (bx, by) in (((inset, inset), (w - inset, w - inset)),
                                       ((w - inset, inset), (inset, w - inset))):
                _thick_line(layer, (*TTT_X, alpha), (ax, ay), (bx, by), thick)
        else:
            pygame.draw.aacircle(layer, (*TTT_O, alpha), (w / 2, w / 2), w * 0.29, thick)
        surface.blit(layer, box.topleft)

    def draw(self, surface: Any, rect: Any, subject: BoardSubject, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        import pygame

        state = subject.state
        cell, x0, y0 = self._geometry(rect)
        side = cell * 3
        paper = pygame.Rect(round(x0 - cell * 0.3), round(y0 - cell * 0.3),
                            round(side + cell * 0.6), round(side + cell * 0.6))
        _alpha_fill(surface, (0, 0, 0), 90, paper.move(6, 8), radius=int(cell * 0.12))
        pygame.draw.rect(surface, TTT_PAPER, paper, border_radius=int(cell * 0.12))
        label_size = max(11, int(cell * 0.12))
        for i in range(3):
            _text(surface, "abc"[i], label_size, (150, 146, 132),
                  (round(x0 + (i + 0.5) * cell), round(y0 - cell * 0.15)))
            _text(surface, str(i + 1), label_size, (150, 146, 132),
                  (round(x0 - cell * 0.15), round(y0 + (i + 0.5) * cell)))
        last = subject.last_action
        if last is not None:
            pygame.draw.rect(surface, (238, 230, 200), self.cell_rect(rect, last).inflate(-8, -8),
                             border_radius=int(cell * 0.08))
        if heat is not None:
            for action, level in heat.level.items():
                if state.cell_owner(action) is not None:
                    continue
                box = self.cell_rect(rect, action).inflate(-cell * 0.16, -cell * 0.16)
                # One warm hue, stronger with interest: on paper a blue-to-red ramp turns muddy.
                _alpha_fill(surface, go_render.HEAT_HOT, int(25 + 190 * level), box,
                            radius=int(cell * 0.1))
                if action in heat.text:
                    # The figure sits low in the cell, clear of a hover preview's mark.
                    text = heat.text[action] + ("" if "." in heat.text[action] else "%")
                    _text(surface, text, max(12, int(cell * 0.14)), (255, 255, 255),
                          (box.centerx, round(box.bottom - cell * 0.13)), bold=True,
                          outline=(40, 40, 40))
        thick = max(3, int(cell / 22))
        for i in (1, 2):
            x = x0 + i * cell
            y = y0 + i * cell
            near, far = cell * 0.05, side - cell * 0.05
            _thick_line(surface, TTT_GRID, (x, y0 + near), (x, y0 + far), thick)
            _thick_line(surface, TTT_GRID, (x0 + near, y), (x0 + far, y), thick)
        for action in range(9):
            owner = state.cell_owner(action)
            if owner is not None:
                self._mark(surface, self.cell_rect(rect, action), owner)
        if hover is not None and 0 <= hover[0] < 9 and state.cell_owner(hover[0]) is None:
            self._mark(surface, self.cell_rect(rect, hover[0]), hover[1], alpha=90)
        for line in _TTT_LINES:
            owners = {state.cell_owner(a) for a in line}
            if len(owners) == 1 and None not in owners:
                a = self.cell_rect(rect, line[0]).center
                b = self.cell_rect(rect, line[2]).center
                # Extend the stroke a little past the outer marks.
                dx, dy = (b[0] - a[0]) * 0.12, (b[1] - a[1]) * 0.12
                _thick_line(surface, (40, 40, 48), (a[0] - dx, a[1] - dy), (b[0] + dx, b[1] + dy),
                            max(4, int(cell / 14)))
                break

    def action_at(self, rect: Any, subject: Any, pos: Point) -> int | None:
        cell, x0, y0 = self._geometry(rect)
        col = int((pos[0] - x0) // cell)
        row = int((pos[1] - y0) // cell)
        if 0 <= col < 3 and 0 <= row < 3:
            return col * 3 + row
        return None

    def centre(self, rect: Any, subject: Any, action: int) -> Point:
        return self.cell_rect(rect, action).center

    def draw_piece(self, surface: Any, centre: Point, radius: float, player: int) -> None:
        import pygame

        side = int(radius * 2.6)
        box = pygame.Rect(centre[0] - side // 2, centre[1] - side // 2, side, side)
        self._mark(surface, box, player)


def _thick_line(surface: Any, colour: tuple[int, ...], a: tuple[float, float],
                b: tuple[float, float], width: int) -> None:
    """A line `width` px wide with round caps and smooth edges."""
    import pygame

    ax, ay = a
    bx, by = b
    length = float(np.hypot(bx - ax, by - ay)) or 1.0
    nx, ny = -(by - ay) / length * width / 2, (bx - ax) / length * width / 2
    corners = [(ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny)]
    pygame.draw.polygon(surface, colour, corners)
    if len(colour) == 3 or colour[3] == 255:
        pygame.draw.aalines(surface, colour, True, corners)
    for end in (a, b):
        pygame.draw.aacircle(surface, colour, end, width / 2)


# -- Frames and text ---------------------------------------------------------------------


class FramePainter(Painter):
    """Gymnasium (and other rgb_array) games: the env's own frame, scaled to fit."""

    render_mode = "rgb_array"

    def subject(self, env: Any) -> Any:
        try:
            frame = env.render()
        except Exception:  # noqa: BLE001 - a failed frame must not end the match
            return None
        return np.asarray(frame) if frame is not None else None

    def frame_rect(self, rect: Any, frame: np.ndarray) -> Any:
        """Where a frame of this shape is drawn in `rect` (aspect kept)."""
        import pygame

        h, w = frame.shape[:2]
        scale = min(rect.w / w, rect.h / h)
        if scale >= 2:
            scale = int(scale)  # whole-pixel scaling keeps Atari pixels crisp
        size = (int(w * scale), int(h * scale))
        return pygame.Rect(rect.centerx - size[0] // 2, rect.centery - size[1] // 2, *size)

    def draw(self, surface: Any, rect: Any, subject: Any, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        import pygame

        if subject is None or np.asarray(subject).ndim != 3:
            super().draw(surface, rect, subject)
            _text(surface, "no picture from this env", 18, theme.MUTED, rect.center)
            return
        frame = np.ascontiguousarray(np.asarray(subject)[:, :, :3], dtype=np.uint8)
        image = pygame.surfarray.make_surface(frame.transpose(1, 0, 2))
        target = self.frame_rect(rect, frame)
        _alpha_fill(surface, (0, 0, 0), 90, target.move(6, 8), radius=4)
        if target.w >= 2 * frame.shape[1]:
            image = pygame.transform.scale(image, target.size)
        else:
            image = pygame.transform.smoothscale(image, target.size)
        surface.blit(image, target)
        pygame.draw.rect(surface, theme.PANEL_EDGE, target.inflate(2, 2), 1)


class TextPainter(Painter):
    """Any other board game: its text rendering, in a monospace font."""

    def draw(self, surface: Any, rect: Any, subject: Any, heat: Heat | None = None,
             hover: tuple[int, int] | None = None) -> None:
        import pygame

        super().draw(surface, rect, subject)
        state = getattr(subject, "state", None)
        if state is None or not hasattr(state, "render_text"):
            _text(surface, "no picture for this game", 18, theme.MUTED, rect.center)
            return
        lines = state.render_text(subject.last_action).splitlines()
        path = theme._font_path(False)
        mono = path.replace("DejaVuSans.ttf", "DejaVuSansMono.ttf") if path else None
        size = max(10, min(28, int(rect.h / (len(lines) + 2))))
        f = pygame.font.Font(mono if mono and os.path.exists(mono) else None, size)
        y = rect.centery - len(lines) * f.get_linesize() // 2
        for line in lines:
            image = f.render(line, True, theme.TEXT)
            surface.blit(image, image.get_rect(midtop=(rect.centerx, y)))
            y += f.get_linesize()


def painter_for(game: Any) -> Painter:
    """The painter for a GameSpec: Go, connect four and tic-tac-toe by their state's type."""
    if game.players == 1:
        return FramePainter()
    if game.new_state is not None:
        from games.connect4 import Connect4State
        from games.go.state import GoState
        from games.tictactoe import TicTacToeState

        state = game.new_state()
        if isinstance(state, GoState):
            return GoPainter(state.size)
        if isinstance(state, Connect4State):
            return Connect4Painter()
        if isinstance(state, TicTacToeState):
            return TicTacToePainter()
        return TextPainter()
    env = game.env()
    try:
        modes = env.metadata.get("render_modes", [])
    finally:
        env.close()
    return FramePainter() if "rgb_array" in modes else TextPainter()
