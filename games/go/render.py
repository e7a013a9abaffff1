"""Drawing a Go board with pygame: wood, lines, star points, shaded stones.

Works on any pygame Surface (no display needed), so the env's rgb_array
render, the pygame window (arena.window) and tests share one drawing.

Promises the tests rely on: an empty point shows the wood colour (within a few
percent, the grain is faint), a black stone is dark and a white stone light
over most of its disc, and the last move's centre pixel is exactly `MARK`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

WOOD = (220, 179, 92)
LINE = (40, 30, 20)
BLACK_STONE = (20, 20, 22)
WHITE_STONE = (238, 238, 232)
MARK = (200, 40, 40)
LETTERS = "ABCDEFGHJKLMNOPQRST"

# The heat map runs from a cool blue (little interest) to a hot orange-red.
HEAT_COLD = (60, 120, 255)
HEAT_HOT = (255, 80, 30)


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


def point_centre(n: int, size_px: int, row: int, col: int) -> tuple[float, float]:
    """The pixel (x, y) of intersection (row, col); the inverse of point_at."""
    margin, spacing = geometry(n, size_px)
    return margin + col * spacing, margin + row * spacing


def heat_colour(h: float) -> tuple[int, int, int]:
    """The heat map's colour for a value in [0, 1] (cold blue to hot orange)."""
    h = min(max(h, 0.0), 1.0)
    return tuple(int(c + (w - c) * h) for c, w in zip(HEAT_COLD, HEAT_HOT))  # type: ignore[return-value]


@lru_cache(maxsize=8)
def _wood_pixels(width: int, height: int) -> np.ndarray:
    """A faint, fixed wood grain around WOOD as a (width, height, 3) uint8 array.

    Generated rather than shipped as art: it scales to any size and stays
    within about 5% of WOOD, so "empty point = wood colour" holds everywhere.
    """
    rng = np.random.default_rng(1937)
    x = np.arange(width, dtype=np.float64)[:, None]
    y = np.arange(height, dtype=np.float64)[None, :]
    # Grain lines run top to bottom and wander gently sideways.
    wander = 6.0 * np.sin(y * 0.013 + 0.7) + 2.5 * np.sin(y * 0.041 + 2.1)
    phase = (x + wander) * (2 * np.pi / 23.0)
    grain = 0.55 * np.sin(phase) + 0.3 * np.sin(phase * 2.3 + 1.1)
    # Per-column streaks of slightly darker or lighter wood.
    streak = np.convolve(rng.normal(0.0, 1.0, width + 40), np.ones(41) / 41.0, mode="valid")
    streak = streak[:width, None] * 2.0
    shade = 1.0 + 0.028 * grain + 0.02 * streak
    pixels = np.asarray(WOOD, dtype=np.float64)[None, None, :] * shade[:, :, None]
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _font(size: int):
    """pygame's default font at `size` (cached; made anew after pygame.font was quit)."""
    import pygame

    font = _cached_font(size)
    try:
        font.size("0")
    except pygame.error:  # made before pygame.font was last quit: dead
        _cached_font.cache_clear()
        font = _cached_font(size)
    return font


@lru_cache(maxsize=16)
def _cached_font(size: int):
    import pygame

    return pygame.font.Font(None, size)


def _disc(surface, colour, centre: tuple[float, float], radius: float) -> None:
    """A filled circle with a smooth edge."""
    import pygame

    pygame.draw.aacircle(surface, colour, centre, radius)


@lru_cache(maxsize=32)
def _stone_sprite(colour: int, radius_q: int):
    """A stone (1 black, 2 white) of radius radius_q / 4 px as an SRCALPHA Surface.

    Shaded per pixel: a soft highlight up and to the left, a darker rim, and
    an anti-aliased edge, so stones read as lenses rather than flat discs.
    """
    import pygame

    radius = radius_q / 4.0
    size = int(np.ceil(radius * 2)) + 2
    centre = size / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    d = np.hypot(xx - centre, yy - centre) / radius  # 0 at the centre, 1 at the edge
    hx, hy = centre - 0.38 * radius, centre - 0.4 * radius
    glow = np.exp(-((xx - hx) ** 2 + (yy - hy) ** 2) / (2 * (0.42 * radius) ** 2))
    if colour == 1:
        tone = 18 + 70 * glow + 10 * (1 - d.clip(0, 1))
        rgb = np.stack([tone, tone, tone + 3], axis=-1)
    else:
        tone = 250 - 52 * d.clip(0, 1) ** 3 + 8 * glow
        rgb = np.stack([tone, tone, tone - 7], axis=-1)
    alpha = np.clip((radius - np.hypot(xx - centre, yy - centre)) + 0.5, 0, 1) * 255
    sprite = pygame.Surface((size, size), pygame.SRCALPHA)
    pygame.surfarray.blit_array(sprite, np.clip(rgb, 0, 255).astype(np.uint8).transpose(1, 0, 2))
    pixels = pygame.surfarray.pixels_alpha(sprite)
    pixels[:] = alpha.astype(np.uint8).T
    del pixels  # releases the surface lock
    return sprite


def _stone(surface, colour: int, centre: tuple[float, float], radius: float,
           alpha: int | None = None) -> None:
    """One stone (1 black, 2 white) centred on `centre`; translucent given `alpha` (0-255)."""
    sprite = _stone_sprite(colour, max(4, round(radius * 4)))
    if alpha is not None:
        sprite = sprite.copy()
        sprite.set_alpha(alpha)
    surface.blit(sprite, sprite.get_rect(center=(round(centre[0]), round(centre[1]))))


def draw_board(surface, board: np.ndarray, last_action: int | None = None,
               heat: np.ndarray | None = None, *,
               notes: Mapping[tuple[int, int], str] | None = None,
               ghost: tuple[int, int, int] | None = None,
               coordinates: bool = True) -> None:
    """Draw `board` (int8 n x n: 0 empty, 1 black, 2 white) filling `surface`.

    `heat` (n x n, values in [0, 1]) tints empty points, e.g. MCTS visit
    shares; `notes` writes short texts on points (e.g. "23" percent);
    `ghost` = (row, col, colour) shows a translucent stone (a hover preview).
    The board is drawn in the top-left min(width, height) square.
    """
    import pygame

    n = board.shape[0]
    size_px = min(surface.get_width(), surface.get_height())
    margin, spacing = geometry(n, size_px)
    pygame.surfarray.blit_array(surface.subsurface((0, 0, size_px, size_px)),
                                _wood_pixels(size_px, size_px))
    far = margin + (n - 1) * spacing
    width = max(1, round(spacing / 28))
    for i in range(n):
        pos = round(margin + i * spacing)
        pygame.draw.line(surface, LINE, (round(margin), pos), (round(far), pos), width)
        pygame.draw.line(surface, LINE, (pos, round(margin)), (pos, round(far)), width)
    # A heavier outline, as on a real board.
    side = round(far - margin) + 1
    edge = pygame.Rect(round(margin), round(margin), side, side)
    pygame.draw.rect(surface, LINE, edge, width + 1)
    for r, c in star_points(n):
        _disc(surface, LINE, (margin + c * spacing, margin + r * spacing), max(2.0, spacing * 0.09))
    if coordinates and pygame.font.get_init():
        font = _font(max(12, int(spacing * 0.42)))
        for i in range(n):
            pos = margin + i * spacing
            letter = font.render(LETTERS[i], True, LINE)
            number = font.render(str(n - i), True, LINE)
            surface.blit(letter, letter.get_rect(center=(pos, margin * 0.42)))
            surface.blit(letter, letter.get_rect(center=(pos, size_px - margin * 0.42)))
            surface.blit(number, number.get_rect(center=(margin * 0.42, pos)))
            surface.blit(number, number.get_rect(center=(size_px - margin * 0.42, pos)))
    radius = spacing * 0.47
    if heat is not None:
        layer = pygame.Surface((size_px, size_px), pygame.SRCALPHA)
        for r in range(n):
            for c in range(n):
                h = float(heat[r, c])
                if h > 0.01 and board[r, c] == 0:
                    alpha = int(70 + 150 * min(h, 1.0))
                    pygame.draw.aacircle(layer, (*heat_colour(h), alpha),
                                         (margin + c * spacing, margin + r * spacing),
                                         radius * (0.55 + 0.4 * min(h, 1.0)))
        surface.blit(layer, (0, 0))
    shadow = pygame.Surface((size_px, size_px), pygame.SRCALPHA)
    stones = [(r, c, int(board[r, c])) for r in range(n) for c in range(n) if board[r, c]]
    for r, c, _ in stones:  # all shadows first, so none falls on a neighbouring stone
        pygame.draw.aacircle(shadow, (0, 0, 0, 70),
                             (margin + c * spacing + radius * 0.08,
                              margin + r * spacing + radius * 0.12),
                             radius * 1.02)
    surface.blit(shadow, (0, 0))
    for r, c, colour in stones:
        _stone(surface, colour, (margin + c * spacing, margin + r * spacing), radius)
    if ghost is not None:
        r, c, colour = ghost
        if 0 <= r < n and 0 <= c < n and board[r, c] == 0:
            _stone(surface, colour, (margin + c * spacing, margin + r * spacing), radius,
                   alpha=130)
    if notes and pygame.font.get_init():
        font = _font(max(11, int(spacing * 0.36)))
        for (r, c), text in notes.items():
            if board[r, c]:
                continue
            label = font.render(text, True, (255, 255, 255))
            centre = (margin + c * spacing, margin + r * spacing)
            outline = font.render(text, True, (30, 20, 10))
            for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                surface.blit(outline, outline.get_rect(center=(centre[0] + dx, centre[1] + dy)))
            surface.blit(label, label.get_rect(center=centre))
    if last_action is not None and 0 <= last_action < n * n:
        r, c = divmod(last_action, n)
        _disc(surface, MARK, (margin + c * spacing, margin + r * spacing), max(3.0, radius * 0.3))


def rgb_array(state, last_action: int | None = None, size_px: int = 640) -> np.ndarray:
    """The position drawn as an (size_px, size_px, 3) uint8 image."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    surface = pygame.Surface((size_px, size_px))
    draw_board(surface, state.board(), last_action)
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()
