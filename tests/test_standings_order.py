"""Final standings do not depend on the order in which games finished."""

from __future__ import annotations

from agents.registry import make_agent
from agents.match import play_match
from tournaments.store import Store
from games.registry import resolve_game
from tournaments import records
from tournaments.ratings import LiveTable
from tournaments.spec import parse_spec
from tournaments.standings import compute_standings

SPEC = {"name": "order", "game": "tictactoe", "games_per_pairing": 4, "seed": 5,
        "participants": ["random", "greedy", {"name": "uct", "agent": "mcts:sims=20"}]}


def _played(spec):
    """Each planned game played once: (planned row, result), in schedule order."""
    game = resolve_game("tictactoe")
    refs = {p.name: p.agent for p in spec.participants}
    store = Store(":memory:")
    try:
        record = records.open_tournament(store, spec, "order.yaml")
        rows = records.games(store, record.id, "planned")
    finally:
        store.close()
    out = []
    for row in rows:
        agents = [make_agent(refs[name]) for name in row.seats]
        out.append((row, play_match(game, agents, seed=row.seed, names=row.seats,
                                    tag=record.tag)))
    return out


def _standings(path, spec, played):
    """A store where `played` finished in the order given; its final standings."""
    store = Store(path)
    try:
        record = records.open_tournament(store, spec, "order.yaml")
        for row, result in played:
            store.record(result, then=lambda conn, mid, key=row.key:
                         records.mark_done(conn, record.id, key, mid, None))
        records.finish(store, record.id)
        return compute_standings(store, records.require_tournament(store, spec.name))
    finally:
        store.close()


def test_the_same_games_in_another_completion_order_give_the_same_standings(tmp_path):
    spec = parse_spec(SPEC, "order.yaml")
    played = _played(spec)
    assert len(played) == 12
    shuffled = played[1::2][::-1] + played[0::2]
    straight = _standings(tmp_path / "straight.db", spec, played)
    resumed = _standings(tmp_path / "resumed.db", spec, shuffled)
    assert straight["standings"] == resumed["standings"]  # OpenSkill columns included
    assert straight["forfeits"] == resumed["forfeits"] == []
    # Not equal by luck: OpenSkill taken in completion order differs between the two.
    by_completion = []
    for order in (played, shuffled):
        live = LiveTable(spec.names)
        for _, result in order:
            live.record(result.agents, result.returns)
        by_completion.append({row["name"]: round(row["mu"], 3) for row in live.table()})
    assert by_completion[0] != by_completion[1]
    final = {row["name"]: row["openskill"]["mu"] for row in straight["standings"]}
    assert final == by_completion[0]  # the final table is the schedule-order one
