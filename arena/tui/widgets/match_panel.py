"""MatchPanel: one live game: the board (or picture), a status line, the insight panel, the moves.

It follows a LiveMatch through the messages the match thread posts
(LiveStarted, LiveMove, LiveThinking, LiveEnded); the screen that owns it decides what
starts, pauses and ends games. Messages from any match but the current one
are ignored, so a stopped game can never draw over its successor.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widget import Widget
from textual.widgets import Static

from agents.base import Insight
from agents.match import MatchResult, Move
from agents.match import describe_result as _describe
from tournaments.store import StoredMatch
from arena.tui.live_match import (
    LiveEnded,
    LiveMatch,
    LiveMove,
    LiveStarted,
    LiveThinking,
    Snapshot,
    speed_text,
)
from arena.tui.widgets.board import BoardView
from arena.tui.widgets.frame import FrameView
from arena.tui.widgets.insight import InsightPanel
from arena.tui.widgets.move_list import MoveList


def describe_result(result: MatchResult | StoredMatch, names: list[str]) -> str:
    """One line saying how a game ended (a live result or one read back from the store)."""
    return _describe(result, names, draw="a draw", episode="finished: ")


class MatchPanel(Widget):
    """Board or picture on the left; status, insight and moves on the right."""

    def __init__(self, *, interactive: bool = False, id: str | None = None):
        super().__init__(id=id)
        self.interactive = interactive
        self.live: LiveMatch | None = None
        self.names: list[str] = []
        self.snapshot: Snapshot | None = None
        self.moves: list[Move] = []
        self.insights: list[Insight | None] = []  # per move, what its player said of it
        self.result: MatchResult | None = None
        self.error: str | None = None
        self.note = ""  # the screen's own line (your turn, messages); see `say`
        self.note_style = ""
        self.you: int | None = None  # the seat of the person at the keyboard, if any

    def compose(self) -> ComposeResult:
        with Vertical(id="board-area"):
            with Center():
                yield BoardView(interactive=self.interactive, id="board")
            yield FrameView(id="frame")
        with Vertical(id="side"):
            yield Static(id="status")
            yield Static(id="note")
            yield InsightPanel(id="insight")
            yield MoveList(id="moves")

    def on_mount(self) -> None:
        self.refresh_status()

    @property
    def board(self) -> BoardView:
        return self.query_one(BoardView)

    def begin(self, live: LiveMatch) -> None:
        """Follow `live` from now on (forgetting the previous game)."""
        self.live = live
        self.names = list(live.refs)
        self.snapshot = None
        self.moves = []
        self.insights = []
        self.result = None
        self.error = None
        self.note = ""
        single = live.single_player
        self.query_one("#board-area").set_class(single, "-picture")
        moves = self.query_one(MoveList)
        moves.display = not single
        moves.set_moves([], live.game.players)
        self.query_one(InsightPanel).show("", None)
        self.refresh_status()

    def say(self, text: str, style: str = "") -> None:
        """Show the screen's message line (your turn, an illegal move, ...)."""
        self.note, self.note_style = text, style
        self.query_one("#note", Static).update(Text(text, style=style))

    def _mine(self, live: LiveMatch) -> bool:
        return live is self.live

    def on_live_started(self, message: LiveStarted) -> None:
        if not self._mine(message.live):
            return
        self.names = message.names
        self._draw(message.snapshot)

    def on_live_move(self, message: LiveMove) -> None:
        if not self._mine(message.live):
            return
        move = message.move
        if move.ply < len(self.moves):  # never happens in one game; guards a replay
            self.moves = self.moves[: move.ply]
            self.insights = self.insights[: move.ply]
        self.moves.append(move)
        self.insights.append(message.insight)
        self._draw(message.snapshot)
        if not message.live.single_player:
            self.query_one(MoveList).set_moves(self.moves, message.live.game.players)
        if move.player != self.you:  # what a person thinks is not ours to show
            self.query_one(InsightPanel).show(self._who(move.player), message.insight,
                                              seat=self._seat(move.player), ply=move.ply)

    def on_live_thinking(self, message: LiveThinking) -> None:
        if not self._mine(message.live) or self.result is not None:
            return
        self.query_one(InsightPanel).thinking(self._who(message.player), message.since)

    def on_live_ended(self, message: LiveEnded) -> None:
        if not self._mine(message.live):
            return
        self.result = message.result
        self.error = message.error
        self.query_one(InsightPanel).thinking(None)
        result, snap = message.result, self.snapshot
        if result is not None and snap is not None and message.live.single_player:
            # The last frames may have been skipped (at most ~40 are drawn a second).
            snap.total_return, snap.steps = result.returns[0], result.plies
        self.refresh_status()

    def _seat(self, player: int) -> str:
        """How `player`'s side is called on the board ("Black", "Red", "X"), "" without a board."""
        if self.snapshot is None or self.snapshot.state is None:
            return ""
        return self.board.seat_name(player)

    def _who(self, player: int) -> Text:
        text = Text()
        if self.snapshot is not None and self.snapshot.state is not None and self.live is not None:
            text.append_text(self.board.piece(player))
            text.append(" ")
        name = self.names[player] if player < len(self.names) else f"player {player}"
        text.append(name, style="bold")
        if player == self.you:
            text.append(" (you)")
        return text

    def _draw(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        if snapshot.state is not None:
            self.board.show(snapshot.state, snapshot.last_action)
            self.query_one(MoveList).piece = self.board.piece
        elif snapshot.frame is not None:
            self.query_one(FrameView).frame = snapshot.frame
        self.refresh_status()

    def refresh_status(self) -> None:
        """Redraw the status line from what is known now."""
        live = self.live
        text = Text()
        if live is None:
            text.append("No game yet.", style="dim")
            self.query_one("#status", Static).update(text)
            return
        text.append(f"{live.game.title}\n", style="bold")
        for i, name in enumerate(self.names):
            if i:
                text.append("  vs  ")
            text.append_text(self._who(i))
        text.append("\n")
        snap = self.snapshot
        if live.single_player:
            steps = snap.steps if snap else 0
            total = snap.total_return if snap else 0.0
            text.append(f"return {total:g} · step {steps}")
        elif snap is not None and snap.state is not None:
            state = snap.state
            text.append(f"move {len(self.moves)}")
            if not state.is_terminal() and self.result is None:
                text.append(" · ")
                text.append_text(self._who(state.to_play))
                text.append(" to play")
            go = getattr(state, "captures", None)
            if go is not None and hasattr(state, "score_label"):
                # Live: the playout estimate with dead stones judged; over: Tromp-Taylor.
                text.append(f"\ncaptures ● {go[0]}  ○ {go[1]} · {state.score_label()} "
                            f"(komi {state.komi:g})")
        pacer = live.pacer
        if pacer.base_delay > 0:
            text.append(f" · speed {speed_text(pacer.speed)}")
            if pacer.paused and self.result is None and self.error is None:
                text.append(" · ")
                text.append(" PAUSED ", style="bold reverse")
        if self.error is not None:
            text.append(f"\n{self.error}", style="bold red")
        elif self.result is not None:
            text.append(f"\n{describe_result(self.result, self.names)}", style="bold")
            if self.result.match_id is not None:
                text.append(f" · stored as match {self.result.match_id}", style="dim")
        self.query_one("#status", Static).update(text)
