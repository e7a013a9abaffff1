"""A small GTP referee: two engines play a game of Go, moves relayed both ways.

Used by the tests to play `arena gtp ...` against real GnuGo. The referee
keeps no board of its own: each engine checks every move it is told, and a
refusal (``? illegal move``) stops the game with EngineRefused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.gtp_agent import GtpProcess

COLOURS = ("b", "w")
TIMEOUT = 30.0  # seconds for any one reply; real engines here answer in milliseconds


@dataclass
class Game:
    moves: list[tuple[str, str]] = field(default_factory=list)  # (colour, vertex)
    ended_by_passes: bool = False


class Referee:
    """Runs games between `engines[0]` (black) and `engines[1]` (white)."""

    def __init__(self, black: GtpProcess, white: GtpProcess):
        self.engines = (black, white)
        self.size = 19

    def setup(self, size: int, komi: float) -> None:
        self.size = size
        for engine in self.engines:
            for command in (f"boardsize {size}", f"komi {komi:g}", "clear_board"):
                engine.command(command, TIMEOUT)

    def play(self, game: Game, max_moves: int, movers: tuple[GtpProcess, GtpProcess] | None = None,
             first: int = 0, check_every: int = 0) -> None:
        """Play on until two passes in a row or `max_moves` more moves.

        movers[c] is asked ``genmove`` for colour c (default: each colour's own
        engine); every move is then played on every other engine. With
        check_every=k, both engines' boards (showboard) must be equal after
        every k-th move.
        """
        movers = movers or self.engines
        colour, passes = first, 0
        for _ in range(max_moves):
            mover = movers[colour]
            vertex = mover.command(f"genmove {COLOURS[colour]}", TIMEOUT).upper()
            if vertex == "RESIGN":
                raise AssertionError(f"{COLOURS[colour]} resigned after {len(game.moves)} moves")
            game.moves.append((COLOURS[colour], vertex))
            for engine in self.engines:
                if engine is not mover:
                    engine.command(f"play {COLOURS[colour]} {vertex}", TIMEOUT)
            if check_every and len(game.moves) % check_every == 0:
                self.check_boards(f"after move {len(game.moves)}")
            passes = passes + 1 if vertex == "PASS" else 0
            if passes == 2:
                game.ended_by_passes = True
                return
            colour = 1 - colour
        game.ended_by_passes = False

    def check_boards(self, when: str) -> None:
        """AssertionError unless both engines show the same stones."""
        boards = [parse_showboard(e.command("showboard", TIMEOUT), self.size) for e in self.engines]
        assert boards[0] == boards[1], (f"boards differ {when}:\n" + "\n".join(boards[0]) +
                                        "\n---\n" + "\n".join(boards[1]))

    def next_colour(self, game: Game) -> int:
        return 0 if not game.moves or game.moves[-1][0] == "w" else 1


# showboard draws stones in each engine's own way: GnuGo X/O, Arena ●/○.
_STONES = {"X": "b", "●": "b", "O": "w", "○": "w"}


def parse_showboard(text: str, size: int) -> list[str]:
    """The rows (top first) of a size x size showboard reply as strings of b, w and '.'."""
    rows = []
    for line in text.splitlines():
        # Arena brackets the last move: "·(●)·"; the brackets are not points.
        words = line.replace("(", " ").replace(")", " ").split()
        if len(words) < 2 or not words[0].isdigit():
            continue
        points = words[1:1 + size]
        rows.append("".join(_STONES.get(p, ".") for p in points))
    return rows
