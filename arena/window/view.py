"""WindowView: the window, its layout, and the one place where pygame events are handled.

Everything that happens in the window goes through `WindowView.poll()`:
closing the window or Esc marks it closed, watch controls (pause, speed,
heat map) change the Scene at once, held keys are tracked from KEYDOWN/KEYUP
(so posted events work headless, where pygame.key.get_pressed() sees
nothing), and what is left (clicks on the board, keys) is handed back to
the caller as `Click` and `Key` inputs.

Callers never block without polling: `wait`, `wait_until` and `idle` pump
events while they wait, so one thread is enough and the window never
freezes between moves. A closed window raises `WindowClosed` (a
KeyboardInterrupt, so the match loop records the game as abandoned) from
`check_open`, the only place that raises it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from games.errors import UserError
from arena.window import theme
from arena.window.hud import HudLayout, Scene, draw_hud
from arena.window.painters import Heat, Painter, painter_for

DEFAULT_SIZE = (1200, 780)
FPS = 60
MIN_SPEED, MAX_SPEED = 1 / 16, 256.0


class WindowClosed(KeyboardInterrupt):
    """The person closed the window or pressed Esc.

    A KeyboardInterrupt, so that raised inside the match loop it ends the game
    as "abandoned" (and the store records it); watch() and play() catch it
    and return normally.
    """


@dataclass(frozen=True)
class Click:
    """A left click on the window; `action` is what it means on the board (None: nothing)."""

    pos: tuple[int, int]
    action: int | None


@dataclass(frozen=True)
class Key:
    """A key pressed: "p", "u", "r", "n", "left", "space", "3" ..."""

    name: str


def init_pygame(window: bool = True) -> None:
    """Start pygame's display (events) and fonts, and nothing else (no audio).

    window=False (drawing on a Surface only) works anywhere: without a
    display, SDL's dummy video driver is chosen. window=True on a Linux
    machine with no display (and no SDL_VIDEODRIVER) is a UserError, not an
    invisible window that waits forever.
    """
    no_display = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
                  and not os.environ.get("WAYLAND_DISPLAY") and "SDL_VIDEODRIVER" not in os.environ)
    if no_display:
        if window:
            raise UserError("no display to open a window on (DISPLAY is not set); use the "
                            "terminal front end, or SDL_VIDEODRIVER=dummy to run unseen")
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    if not pygame.display.get_init():
        pygame.display.init()
    if not pygame.font.get_init():
        pygame.font.init()


def _key_name(key: int) -> str:
    import pygame

    name = pygame.key.name(key)
    # Keypad digits arrive as "[1]"; they mean the same as the top row.
    if len(name) == 3 and name[0] == "[" and name[2] == "]" and name[1].isdigit():
        return name[1]
    return name


class WindowView:
    """The pygame window: board on the left, HUD on the right.

    game: the GameSpec (chooses the painter). mode: "watch" or "play".
    surface: draw here instead of opening a window (tests, screenshots);
    events are still read from pygame's queue. speed: watch speed factor.
    """

    def __init__(self, game: Any, *, mode: str = "watch", names: Sequence[str] = (),
                 size: tuple[int, int] = DEFAULT_SIZE, surface: Any = None, speed: float = 1.0,
                 title: str | None = None, painter: Painter | None = None):
        init_pygame(window=surface is None)
        import pygame

        self.game = game
        self.painter = painter or painter_for(game)
        if surface is None:
            self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)
            pygame.display.set_caption(f"Arena · {title or game.title}")
            self._own_display = True
        else:
            self.surface = surface
            self._own_display = False
        # The board heat map is on when watching. When playing it starts off (H shows
        # it): the opponent's search drawn on your turn reads like advice for you.
        self.scene = Scene(title=title or game.title, mode=mode, names=list(names),
                           seat_names=self.painter.seat_names, speed=speed,
                           show_heat=mode != "play")
        self.env: Any = None
        self.closed = False
        self.held: set[str] = set()  # keys down now
        self._pressed: set[str] = set()  # keys pressed since take_pressed(), so short taps count
        self.mouse: tuple[int, int] | None = None
        self.awaiting: int | None = None  # the seat of a person to move (hover preview)
        self.legal: np.ndarray | None = None  # that person's action mask
        self.step_hz: float = 30.0  # single-player games: env steps per second at speed 1
        self.layout = HudLayout()
        self._subject: Any = None
        self._hover: int | None = None
        self._dirty = True
        self._clock = pygame.time.Clock()

    # -- layout ---------------------------------------------------------------

    @property
    def board_rect(self) -> Any:
        """Where the board (or the game's frame) is drawn."""
        import pygame

        w, h = self.surface.get_size()
        hud_w = self._hud_width(w)
        return pygame.Rect(20, 20, max(50, w - hud_w - 60), max(50, h - 40))

    @property
    def hud_rect(self) -> Any:
        """Where the HUD is drawn."""
        import pygame

        w, h = self.surface.get_size()
        hud_w = self._hud_width(w)
        return pygame.Rect(w - hud_w - 20, 24, hud_w, max(50, h - 44))

    @staticmethod
    def _hud_width(width: int) -> int:
        return int(min(440, max(300, width * 0.33)))

    # -- drawing --------------------------------------------------------------

    def show(self, env: Any) -> None:
        """Take `env` as the live position (or frame) and mark the window for redrawing."""
        self.env = env
        self.refresh()

    def refresh(self) -> None:
        """The position changed: read it from the env again before the next draw."""
        self._subject = self.painter.subject(self.env) if self.env is not None else None
        self._dirty = True

    def invalidate(self) -> None:
        """Something in the Scene changed: redraw at the next idle()."""
        self._dirty = True

    def draw(self) -> None:
        """Redraw everything now (and show it, when this view owns a window)."""
        import pygame

        self.surface.fill(theme.BACKGROUND)
        board = self.board_rect
        if self._subject is not None:
            heat = Heat.from_insight(self.scene.insight) if self.scene.show_heat else None
            hover = None
            if self._hover is not None and self.awaiting is not None:
                hover = (self._hover, self.awaiting)
            self.painter.draw(self.surface, board, self._subject, heat, hover)
        self.layout = draw_hud(self.surface, self.hud_rect, self.scene, self.painter, self._subject)
        if self._own_display:
            pygame.display.flip()
        self._dirty = False

    def screenshot(self, path: str) -> None:
        """Draw and save the window as a PNG."""
        import pygame

        self.draw()
        pygame.image.save(self.surface, str(path))

    # -- events ---------------------------------------------------------------

    def poll(self) -> list[Click | Key]:
        """Handle every pending pygame event; the clicks and keys left for the caller."""
        import pygame

        inputs: list[Click | Key] = []
        for event in pygame.event.get():
            kind = event.type
            if kind == pygame.QUIT:
                self.closed = True
            elif kind == pygame.KEYDOWN:
                if event.key == pygame.K_ESCAPE:
                    self.closed = True
                    continue
                name = _key_name(event.key)
                self.held.add(name)
                self._pressed.add(name)
                if not self._view_key(name):
                    inputs.append(Key(name))
            elif kind == pygame.KEYUP:
                self.held.discard(_key_name(event.key))
            elif kind == pygame.MOUSEMOTION:
                self.mouse = tuple(event.pos)
                self._update_hover()
            elif kind == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
                pos = (int(event.pos[0]), int(event.pos[1]))
                self.mouse = pos
                action = None
                if self._subject is not None and self.painter.clickable:
                    action = self.painter.action_at(self.board_rect, self._subject, pos)
                inputs.append(Click(pos, action))
            elif kind in (pygame.VIDEORESIZE, pygame.WINDOWRESIZED, pygame.WINDOWSIZECHANGED,
                          pygame.WINDOWEXPOSED):
                self._dirty = True
            elif kind == pygame.WINDOWFOCUSLOST:
                # Keys released while the window is not focused are never reported.
                self.held.clear()
        return inputs

    def _view_key(self, name: str) -> bool:
        """Keys the view handles itself (True): heat map, and in watch mode pause and speed."""
        scene = self.scene
        if name == "h":
            scene.show_heat = not scene.show_heat
        elif scene.mode == "watch" and name == "space":
            scene.paused = not scene.paused
        elif scene.mode == "watch" and name in ("+", "=", "]", "[+]"):
            scene.speed = min(MAX_SPEED, scene.speed * 2)
        elif scene.mode == "watch" and name in ("-", "[", "[-]"):
            scene.speed = max(MIN_SPEED, scene.speed / 2)
        else:
            return False
        self._dirty = True
        return True

    def _update_hover(self) -> None:
        hover = None
        if self.awaiting is not None and self.mouse is not None and self._subject is not None \
                and self.painter.clickable:
            action = self.painter.action_at(self.board_rect, self._subject, self.mouse)
            if action is not None and (self.legal is None or
                                       (action < len(self.legal) and self.legal[action])):
                hover = action
        if hover != self._hover:
            self._hover = hover
            self._dirty = True

    def await_move(self, seat: int | None, legal: np.ndarray | None = None) -> None:
        """Show (seat) or stop showing (None) a person's hover preview for legal moves."""
        self.awaiting = seat
        self.legal = legal
        self._update_hover()
        self._dirty = True

    def take_pressed(self) -> set[str]:
        """The keys pressed since the last call (a tap shorter than a frame still counts)."""
        pressed, self._pressed = self._pressed, set()
        return pressed

    def check_open(self) -> None:
        """Raise WindowClosed once the person has closed the window or pressed Esc."""
        if self.closed:
            raise WindowClosed()

    # -- waiting --------------------------------------------------------------

    def idle(self, fps: int = FPS) -> None:
        """Redraw if needed, then sleep until the next frame."""
        if self._dirty:
            self.draw()
        self._clock.tick(fps)

    def wait(self, seconds: float) -> None:
        """Keep the window live for `seconds` (longer while paused); WindowClosed if closed."""
        self.wait_until(time.perf_counter() + seconds)

    def wait_until(self, deadline: float) -> None:
        """Pump events until perf_counter() reaches `deadline`; paused time does not count."""
        while True:
            self.poll()
            self.check_open()
            now = time.perf_counter()
            if self.scene.paused:
                paused_at = now
                while self.scene.paused:
                    self.idle()
                    self.poll()
                    self.check_open()
                deadline += time.perf_counter() - paused_at
                continue
            left = deadline - now
            if left <= 0:
                if self._dirty:
                    self.draw()
                return
            if self._dirty:
                self.draw()
            # Short waits (fast replays, 50 Hz CartPole) sleep exactly; long ones by frames.
            time.sleep(min(left, 1 / FPS))

    def wait_for_key(self, names: Collection[str]) -> str | None:
        """Wait for one of `names`; None when the window is closed instead (nothing raised)."""
        while not self.closed:
            for item in self.poll():
                if isinstance(item, Key) and item.name in names:
                    return item.name
            self.idle()
        return None

    def close(self) -> None:
        """Close the window (when this view opened one)."""
        import pygame

        if self._own_display and pygame.display.get_init():
            pygame.display.quit()
        self._own_display = False
