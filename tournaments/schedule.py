"""The planned games of a tournament: which seats, which colours, which seed.

A schedule is a pure function of the spec (and, for swiss rounds after the
first, of the results so far), so running a spec twice plans the same games
with the same keys. A key names a game for good: its round, its index within
the pairing, the participants by seat (seat 0 moves first) and its seed.

Colours alternate game by game within a pairing. Game g of every pairing uses
seed ``spec.seed + g``, so in a single-player leaderboard every participant
plays the same episodes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tournaments.spec import TournamentSpec

#: Swiss pairing gives up avoiding repeats after this many search steps (and pairs in order).
_PAIRING_SEARCH_LIMIT = 200_000


@dataclass(frozen=True)
class PlannedGame:
    """One game the schedule asks for (or a swiss bye: one seat, no game)."""

    key: str
    round: int
    seats: tuple[str, ...]  # participant names by seat; seat 0 moves first
    seed: int
    bye: bool = False


def game_key(round_index: int, game_index: int, seats: Iterable[str], seed: int) -> str:
    """The stable key of a planned game, e.g. ``[0,1,["greedy","random"],7]``."""
    return json.dumps([round_index, game_index, list(seats), seed], separators=(",", ":"))


def bye_key(round_index: int, name: str) -> str:
    """The key of a swiss bye."""
    return json.dumps([round_index, "bye", name], separators=(",", ":"))


def _game(spec: TournamentSpec, round_index: int, g: int, seats: tuple[str, ...]) -> PlannedGame:
    seed = spec.seed + g
    return PlannedGame(game_key(round_index, g, seats, seed), round_index, seats, seed)


def plan_games(spec: TournamentSpec) -> list[PlannedGame]:
    """Every game of a round-robin, gauntlet or leaderboard, in the order they are played.

    Game index outermost, so every pairing has played g games before any plays
    g + 2 and early standings are fair. Swiss rounds come from `plan_swiss_round`.
    """
    names = spec.names
    games: list[PlannedGame] = []
    if spec.format == "leaderboard":
        for g in range(spec.games_per_pairing):
            games += [_game(spec, 0, g, (name,)) for name in names]
    elif spec.format == "round-robin":
        pairs = list(itertools.combinations(range(len(names)), 2))
        for g in range(spec.games_per_pairing):
            for i, j in pairs:
                # The parity of i + j spreads first moves evenly when there is one game a pairing.
                first, second = (i, j) if (g + i + j) % 2 == 0 else (j, i)
                games.append(_game(spec, 0, g, (names[first], names[second])))
    elif spec.format == "gauntlet":
        k = spec.challengers
        for g in range(spec.games_per_pairing):
            for h in range(k):
                for j in range(k, len(names)):
                    hero, other = names[h], names[j]
                    seats = (hero, other) if (g + h + j) % 2 == 1 else (other, hero)
                    games.append(_game(spec, 0, g, seats))
    else:
        raise ValueError(f"format '{spec.format}' is planned round by round (plan_swiss_round)")
    return games


def total_games(spec: TournamentSpec) -> int:
    """How many games the whole tournament plays if nobody withdraws (byes not counted)."""
    n = len(spec.participants)
    if spec.format == "swiss":
        return spec.swiss_rounds() * (n // 2) * spec.games_per_pairing
    if spec.format == "leaderboard":
        return n * spec.games_per_pairing
    if spec.format == "gauntlet":
        return spec.challengers * (n - spec.challengers) * spec.games_per_pairing
    return n * (n - 1) // 2 * spec.games_per_pairing


def plan_swiss_round(
    spec: TournamentSpec,
    round_index: int,
    points: Mapping[str, float],
    met: set[frozenset[str]],
    had_bye: set[str],
    active: list[str],
) -> list[PlannedGame]:
    """The games (and bye) of one swiss round.

    Players are ranked by points, ties by their order in the spec. With an odd
    number, the lowest-ranked player who has had no bye yet sits out and scores
    a bye. The rest are paired top down so that nobody meets an earlier
    opponent again where that can be avoided (a search over pairings);
    where it cannot, each player from the top takes the best-ranked opponent it
    has not met, else the next one down.
    Within a pairing the higher-ranked player moves first in even games of even
    rounds, and colours alternate from there.
    """
    order = {name: i for i, name in enumerate(spec.names)}
    ranked = sorted(active, key=lambda n: (-points.get(n, 0.0), order[n]))
    planned: list[PlannedGame] = []
    if len(ranked) % 2 == 1:
        candidates = [n for n in reversed(ranked) if n not in had_bye] or [ranked[-1]]
        bye = candidates[0]
        ranked.remove(bye)
        planned.append(PlannedGame(bye_key(round_index, bye), round_index, (bye,), spec.seed,
                                   bye=True))
    for high, low in pair_avoiding_repeats(ranked, met):
        for g in range(spec.games_per_pairing):
            seats = (high, low) if (g + round_index) % 2 == 0 else (low, high)
            planned.append(_game(spec, round_index, g, seats))
    return planned


def pair_avoiding_repeats(ranked: list[str], met: set[frozenset[str]]) -> list[tuple[str, str]]:
    """Pairs of `ranked` (an even-length list, best first), none in `met` if possible."""
    steps = 0

    def search(players: list[str]) -> list[tuple[str, str]] | None:
        nonlocal steps
        if not players:
            return []
        first = players[0]
        for k in range(1, len(players)):
            steps += 1
            if steps > _PAIRING_SEARCH_LIMIT:
                return None
            if frozenset((first, players[k])) in met:
                continue
            rest = search(players[1:k] + players[k + 1:])
            if rest is not None:
                return [(first, players[k]), *rest]
        return None

    pairs = search(list(ranked))
    if pairs is not None:
        return pairs
    # No repeat-free pairing (or too costly to find): each player from the top takes
    # the best-ranked opponent it has not met, else the next one down.
    rest, pairs = list(ranked), []
    while rest:
        first = rest.pop(0)
        fresh = [p for p in rest if frozenset((first, p)) not in met]
        partner = fresh[0] if fresh else rest[0]
        rest.remove(partner)
        pairs.append((first, partner))
    return pairs
