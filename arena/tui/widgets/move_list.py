"""MoveList: the moves of the game so far, two plies to a line, the newest at the bottom."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from agents.match import Move


class MoveList(Widget):
    """The game's moves as ``12. ● d4   ○ c3``; shows the last lines that fit its height.

    `piece(player)` gives each player's mark (the board's colours).
    """

    moves: reactive[tuple[Move, ...]] = reactive((), always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.piece: Callable[[int], Text] = lambda player: Text("XO"[player] if player < 2 else "?")
        self.players = 2

    def set_moves(self, moves: list[Move] | tuple[Move, ...], players: int = 2) -> None:
        self.players = players
        self.moves = tuple(moves)

    def add(self, move: Move) -> None:
        self.moves = (*self.moves, move)

    def render(self) -> Text:
        if not self.moves:
            return Text("no moves yet", style="dim")
        per_line = max(self.players, 1)
        lines: list[Text] = []
        for start in range(0, len(self.moves), per_line):
            line = Text()
            line.append(f"{start // per_line + 1:>3}. ", style="dim")
            for move in self.moves[start:start + per_line]:
                line.append_text(self.piece(move.player))
                line.append(f" {move.label:<7}")
            lines.append(line)
        height = max(self.size.height, 1)
        return Text("\n").join(lines[-height:])
