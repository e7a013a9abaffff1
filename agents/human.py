"""`human`: a person at the terminal.

Shows the board, reads a move, and asks again until the move is legal. End of
input forfeits the game (the player left; the match loop records the reason).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import numpy as np

from agents.base import Agent, MatchContext
from games.state import GameState


class HumanAgent(Agent):
    """Moves typed by a person: a label such as 'c3' or '4', or an action number."""

    name = "human"
    timed = False

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self._in = stdin
        self._out = stdout
        self.state: GameState | None = None
        self._last: int | None = None

    def start(self, ctx: MatchContext) -> None:
        self.state = ctx.game.new_state() if ctx.game.new_state else None
        self._last = None
        super().start(ctx)

    def observe(self, player: int, action: Any) -> None:
        if self.state is not None:
            self.state.play(int(action))
            self._last = int(action)

    def _parse(self, text: str, n: int) -> int:
        if self.state is not None:
            return self.state.parse_action(text)
        try:
            action = int(text)
        except ValueError:
            raise ValueError(f"'{text}' is not an action number") from None
        if not 0 <= action < n:
            raise ValueError(f"{action} is out of range 0..{n - 1}")
        return action

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        stdin = self._in or sys.stdin
        out = self._out or sys.stdout
        if action_mask is None:
            raise ValueError("the human agent plays discrete action spaces only")
        n = len(action_mask)
        legal = np.flatnonzero(action_mask)
        if self.state is not None:
            print(self.state.render_text(self._last), file=out)
            names = " ".join(self.state.action_label(int(a)) for a in legal)
            symbol = self.state.symbols()[self.state.to_play]
            prompt = f"Your move ({symbol}); legal: {names}\n> "
        else:
            prompt = f"Your action (0..{n - 1}); legal: {' '.join(map(str, legal))}\n> "
        while True:
            out.write(prompt)
            out.flush()
            line = stdin.readline()
            if not line:
                raise EOFError("no more input: the player left")
            text = line.strip()
            if not text:
                continue
            try:
                action = self._parse(text, n)
            except ValueError as exc:
                print(f"{exc}; try again", file=out)
                continue
            if not action_mask[action]:
                label = self.state.action_label(action) if self.state else str(action)
                print(f"illegal move: {label}; try again", file=out)
                continue
            return action
