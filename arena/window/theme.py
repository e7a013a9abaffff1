"""Colours and fonts of the pygame window: one place, so every part matches."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

Colour = tuple[int, int, int]

BACKGROUND: Colour = (23, 25, 30)
PANEL: Colour = (33, 36, 43)
PANEL_EDGE: Colour = (48, 52, 61)
TEXT: Colour = (232, 234, 238)
MUTED: Colour = (146, 152, 164)
FAINT: Colour = (92, 98, 110)
ACCENT: Colour = (96, 172, 255)
GOOD: Colour = (110, 210, 140)
WARN: Colour = (255, 190, 80)
BAD: Colour = (255, 110, 100)

#: Bar colours by Insight kind: Q-values, probabilities, MCTS visits.
BAR: dict[str, Colour] = {"q": (96, 172, 255), "probs": (110, 210, 140), "mcts": (255, 160, 70)}
BAR_TRACK: Colour = (46, 50, 59)

# Fonts: DejaVu Sans where the system has it (clean at small sizes, has arrows
# and dashes); pygame's bundled font otherwise, so the window always works.
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
              "/usr/share/fonts/TTF", "/Library/Fonts", "C:/Windows/Fonts")
_ASSETS = Path(__file__).resolve().parents[2] / "assets" / "fonts"


def _font_path(bold: bool) -> str | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in (_ASSETS, *map(Path, _FONT_DIRS)):
        path = folder / name
        if path.is_file():
            return str(path)
    return None


def font(size: int, bold: bool = False):
    """A pygame Font of `size` px (cached; pygame.font must be initialised).

    A font made before pygame.font was last quit (gymnasium's envs quit pygame
    when they close) is dead: the cache is then emptied and the font made anew.
    """
    import pygame

    cached = _font(size, bold)
    try:
        cached.size("0")
    except pygame.error:
        _font.cache_clear()
        cached = _font(size, bold)
    return cached


@lru_cache(maxsize=64)
def _font(size: int, bold: bool):
    import pygame

    path = _font_path(bold)
    if path is None:
        # The bundled font runs small: scale it up to match DejaVu's metrics.
        f = pygame.font.Font(None, int(size * 1.3))
        f.set_bold(bold)
        return f
    return pygame.font.Font(path, size)


def has_glyphs(text: str) -> bool:
    """True when the UI font can draw every character of `text` (assumed before fonts start)."""
    import pygame

    if not pygame.font.get_init():
        return True
    f = font(14)
    metrics = f.metrics(text)
    return all(m is not None for m in metrics)


def arrow(left: str, fallback: str) -> str:
    """`left` (e.g. an arrow glyph) when the font has it, else `fallback`."""
    return left if has_glyphs(left) else fallback
