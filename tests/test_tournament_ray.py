"""The Ray backend: a real local Ray cluster plays the same games as the local pool."""

from __future__ import annotations

import pytest
from tournament_support import fault, write_spec

from arena.config import load_settings
from tournaments.store import Store
from tournaments import records
from tournaments.runner import run_tournament
from tournaments.spec import load_spec

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _games(store: Store, name: str) -> dict[str, tuple]:
    record = records.require_tournament(store, name)
    out = {}
    for row in records.games(store, record.id):
        m = store.get_match(row.match_id)
        out[row.key] = (row.status, m.agents, m.seed, [(p, a) for p, a, _, _ in m.moves],
                        m.returns, m.outcomes, m.forfeit_player)
    return out


def test_ray_plays_exactly_the_games_the_local_pool_plays(tmp_path, config, ray_cluster):
    fields = {"game": "tictactoe", "games_per_pairing": 2, "seed": 3,
              "participants": ["random", "greedy", {"name": "uct", "agent": "mcts:sims=25"}]}
    local = write_spec(tmp_path, name="on-local", **fields)
    on_ray = write_spec(tmp_path, name="on-ray", backend="ray", **fields)
    settings = load_settings()
    a = run_tournament(load_spec(local), settings, concurrency=2)
    b = run_tournament(load_spec(on_ray), settings)
    assert (a.backend, b.backend) == ("local", "ray")
    assert a.done == b.done == 6 and b.voided_now == 0
    store = Store(settings.store_path)
    try:
        local_games, ray_games = _games(store, "on-local"), _games(store, "on-ray")
    finally:
        store.close()
    assert local_games == ray_games
    assert len({tuple(g[3]) for g in ray_games.values()}) > 1  # not trivially equal


def test_a_dead_ray_worker_voids_the_game_and_bounded_retries_give_it_up(tmp_path, config,
                                                                          ray_cluster):
    path = write_spec(tmp_path, name="ray-dies", game="tictactoe", games_per_pairing=1,
                      backend="ray", max_attempts=2, withdraw_after=5,
                      participants=["random", {"name": "dier", "agent": fault("KillsItsWorker")}])
    report = run_tournament(load_spec(path), load_settings())
    assert (report.done, report.void, report.voided_now) == (0, 1, 2)
    store = Store(load_settings().store_path)
    try:
        (row,) = records.games(store, records.require_tournament(store, "ray-dies").id)
    finally:
        store.close()
    assert row.status == "void" and row.attempts == 2
    assert row.note.startswith("Ray task failed: "), row.note
