"""A person at the window, as an Agent.

Board games: click a point, cell or column; in Go P passes; U takes back
your last move (where the session allows it); R twice resigns. Single-player
games: the keyboard (see keymap.py), one action per env step at the game's
pace. `act` waits for input by pumping the window's events (never blocking
without polling), so the match loop runs in the same thread as the window.

Promises: act() returns only actions its mask allows; closing the window
raises WindowClosed (the game is recorded as abandoned); R twice raises
agents.base.Resignation (recorded as a loss by resignation); U raises
UndoRequested, which play() handles by replaying the game without those moves.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agents.base import Agent, MatchContext, Resignation
from arena.window import theme
from arena.window.keymap import KeyMap, keymap_for
from arena.window.view import Click, Key, WindowView

#: Seconds within which a second R confirms resigning.
RESIGN_CONFIRM_S = 3.0


class UndoRequested(BaseException):
    """The person asked to take back moves.

    A BaseException (neither an error nor an interrupt), so the match loop
    neither forfeits nor records the game: it unwinds to play(), which starts
    the game again from the moves before the person's last one.
    """


class WindowHuman(Agent):
    """Moves made by a person in a WindowView: clicks for boards, keys for gymnasium games."""

    name = "human"
    timed = False  # people are never on the clock

    def __init__(self, view: WindowView, allow_undo: bool = False):
        self.view = view
        self.allow_undo = allow_undo
        self.state: Any = None
        self.keymap: KeyMap | None = None
        self._moves_made = 0
        self._tick = 0
        self._next_step: float | None = None

    def start(self, ctx: MatchContext) -> None:
        self.state = ctx.game.new_state() if ctx.game.new_state is not None else None
        self._moves_made = 0
        self._tick = 0
        self._next_step = None
        self.keymap = None
        super().start(ctx)

    def observe(self, player: int, action: Any) -> None:
        if self.state is not None:
            self.state.play(int(action))
        if self.ctx is not None and player == self.ctx.player:
            self._moves_made += 1

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        assert self.ctx is not None
        if self.ctx.game.players == 1:
            return self._act_keys(action_mask)
        if action_mask is None:
            raise ValueError("the window plays board games with action masks only")
        return self._act_board(np.asarray(action_mask))

    # -- board games --------------------------------------------------------

    def _pass_action(self) -> int | None:
        return getattr(self.state, "pass_action", None)

    def _why_illegal(self, action: int) -> str:
        state = self.state
        label = state.action_label(action) if state is not None else str(action)
        reason = None
        if state is not None and hasattr(state, "illegal_reason"):
            try:
                reason = state.illegal_reason(action)
            except Exception:  # noqa: BLE001 - only a nicer message; "not allowed" will do
                reason = None
        return f"{label}: {reason or 'not allowed here'}"

    def _act_board(self, mask: np.ndarray) -> int:
        view, scene = self.view, self.view.scene
        seat = self.ctx.player
        colour = scene.seat_names[seat] if seat < len(scene.seat_names) else "you"
        prompt = f"Your move ({colour}): click {view.painter.target}"
        scene.status, scene.status_colour = prompt, theme.ACCENT
        view.await_move(seat, mask)
        resign_until = 0.0
        try:
            while True:
                for item in view.poll():
                    if isinstance(item, Click):
                        if item.action is None:
                            continue
                        if 0 <= item.action < len(mask) and mask[item.action]:
                            return item.action
                        scene.status = self._why_illegal(item.action)
                        scene.status_colour = theme.WARN
                        view.invalidate()
                    elif isinstance(item, Key):
                        action = self._key(item.name, mask, resign_until)
                        if action == "confirm-resign":
                            resign_until = time.perf_counter() + RESIGN_CONFIRM_S
                        elif action is not None:
                            return action
                view.check_open()
                if resign_until and time.perf_counter() > resign_until:
                    resign_until = 0.0
                    scene.status, scene.status_colour = prompt, theme.ACCENT
                    view.invalidate()
                view.idle()
        finally:
            view.await_move(None)
            scene.status = ""

    def _key(self, name: str, mask: np.ndarray, resign_until: float) -> Any:
        """What a key means on a person's turn: an action, "confirm-resign", or None."""
        scene, view = self.view.scene, self.view
        pass_action = self._pass_action()
        if name == "p" and pass_action is not None:
            if mask[pass_action]:
                return pass_action
        elif name == "u":
            if self.allow_undo and self._moves_made > 0:
                raise UndoRequested()
            scene.status = ("nothing to take back" if self.allow_undo
                            else "undo is not available here")
            scene.status_colour = theme.WARN
            view.invalidate()
        elif name == "r":
            if resign_until and time.perf_counter() <= resign_until:
                raise Resignation("resigned")
            scene.status, scene.status_colour = "Press R again to resign", theme.WARN
            view.invalidate()
            return "confirm-resign"
        return None

    # -- single-player games ------------------------------------------------

    def _act_keys(self, mask: np.ndarray | None) -> int:
        view, scene = self.view, self.view.scene
        if self.keymap is None:
            self.keymap = keymap_for(view.env)
            if self.keymap is None:
                raise ValueError("this game's actions cannot be played from the keyboard")
            scene.action_labels = self.keymap.labels
            scene.hint = f"{self.keymap.hint} · Esc quit"
        keymap = self.keymap
        if self._next_step is None:
            # Wait for the person to be ready: the first key press starts the game.
            scene.status, scene.status_colour = f"Press a key to start: {keymap.hint}", theme.ACCENT
            view.invalidate()
            while not (view.held or any(isinstance(i, Key) for i in view.poll())):
                view.check_open()
                view.idle()
            scene.status = ""
            view.invalidate()
            self._next_step = time.perf_counter()
        view.wait_until(self._next_step)
        keys = view.held | view.take_pressed()
        action = keymap.action(keys, self._tick)
        if mask is not None and not (0 <= action < len(mask) and mask[action]):
            action = int(np.flatnonzero(mask)[0])
        self._tick += 1
        interval = 1.0 / max(1e-6, view.step_hz * view.scene.speed)
        # After a stall (a slow frame) carry on from now rather than rushing to catch up.
        self._next_step = max(self._next_step + interval, time.perf_counter())
        return action
