"""Drawing a Go board with pygame: wood, lines, star points, shaded stones.

Works on any pygame Surface (no display needed), so the env's rgb_array
render, the pygame window and tests share one drawing.
"""

from __future__ import annotations

import numpy as np

WOOD = (220, 179, 92)
LINE = (40, 30, 20)
BLACK_STONE = (20, 20, 22)
WHITE_STONE = (238, 238, 232)
MARK = (200, 40, 40)
LETTERS = "ABCDEFGHJKLMNOPQRST"


def star_points(n: int) -> list[tuple[int, int]]:
    """The hoshi (row, column) of an n x n board."""
    if n < 7:
        return [(n // 2, n // 2)] if n % 2 else []
    edge = 2 if n < 13 else 3
    far = n - 1 - edge
    points = [(edge, edge), (edge, far), (far, edge), (far, far)]
    if n % 2 and n >= 9:
        mid = n // 2
        points.append((mid, mid))
        if n >= 15:
            points += [(edge, mid), (far, mid), (mid, edge), (mid, far)]
    return points


def geometry(n: int, size_px: int) -> tuple[float, float]:
    """(margin, spacing) in pixels for an n x n board drawn in a size_px square."""
    spacing = size_px / (n + 1)
    return spacing, spacing


def point_at(n: int, size_px: int, x: float, y: float) -> tuple[int, int] | None:
    """The (row, column) nearest a pixel, or None when it is off the board."""
    margin, spacing = geometry(n, size_px)
    col = round((x - margin) / spacing)
    row = round((y - margin) / spacing)
    if 0 <= row < n and 0 <= col < n:
        return row, col
    return None


def draw_board(surface, board: np.ndarray, last_action: int | None = None,
               heat: np.ndarray | None = None) -> None:
    """Draw `board` (int8 n x n: 0 empty, 1 black, 2 white) filling `surface`.

    `heat` (n x n, values in [0, 1]) tints points, e.g. MCTS visit shares.
    """
    import pygame

    n = board.shape[0]
    size_px = min(surface.get_width(), surface.get_height())
    margin, spacing = geometry(n, size_px)
    surface.fill(WOOD)
    font = pygame.font.Font(None, max(12, int(spacing * 0.45))) if pygame.font.get_init() else None
    for i in range(n):
        pos = margin + i * spacing
        pygame.draw.line(surface, LINE, (margin, pos), (margin + (n - 1) * spacing, pos), 1)
        pygame.draw.line(surface, LINE, (pos, margin), (pos, margin + (n - 1) * spacing), 1)
        if font is not None:
            label = font.render(LETTERS[i], True, LINE)
            surface.blit(label, label.get_rect(center=(pos, margin * 0.45)))
            number = font.render(str(n - i), True, LINE)
            surface.blit(number, number.get_rect(center=(margin * 0.45, pos)))
    for r, c in star_points(n):
        pygame.draw.circle(surface, LINE, (margin + c * spacing, margin + r * spacing),
                           max(2, int(spacing * 0.09)))
    if heat is not None:
        for r in range(n):
            for c in range(n):
                h = float(heat[r, c])
                if h > 0.01 and board[r, c] == 0:
                    tint = pygame.Surface((int(spacing), int(spacing)), pygame.SRCALPHA)
                    tint.fill((40, 120, 255, int(40 + 180 * min(h, 1.0))))
                    surface.blit(tint, (margin + (c - 0.5) * spacing, margin + (r - 0.5) * spacing))
    radius = spacing * 0.47
    for r in range(n):
        for c in range(n):
            colour = board[r, c]
            if not colour:
                continue
            centre = (margin + c * spacing, margin + r * spacing)
            base = BLACK_STONE if colour == 1 else WHITE_STONE
            pygame.draw.circle(surface, (0, 0, 0), (centre[0] + 1.5, centre[1] + 1.5), radius)
            pygame.draw.circle(surface, base, centre, radius)
            # A soft highlight up and to the left makes the stone read as round.
            shine = (90, 90, 95) if colour == 1 else (255, 255, 255)
            pygame.draw.circle(surface, shine, (centre[0] - radius * 0.35, centre[1] - radius * 0.35),
                               radius * 0.25)
    if last_action is not None and last_action < n * n:
        r, c = divmod(last_action, n)
        pygame.draw.circle(surface, MARK, (margin + c * spacing, margin + r * spacing),
                           max(3, radius * 0.3), 0)


def rgb_array(state, last_action: int | None = None, size_px: int = 640) -> np.ndarray:
    """The position drawn as an (size_px, size_px, 3) uint8 image."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    surface = pygame.Surface((size_px, size_px))
    draw_board(surface, state.board(), last_action)
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()
