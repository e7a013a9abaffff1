"""The self-play league: spec errors, PFSP, a real tiny tic-tac-toe league (AlphaZero), its
store, resume, lock, SIGKILL, `league show --json` and `league export`."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ARENA, ROOT, run_arena
from tournament_support import db_rows, done_games, old_store, tables, wait_for_more_done

from arena.config import load_settings
from games.errors import UserError
from tournaments.league.runner import (
    LeagueLock,
    pfsp_distribution,
    pfsp_sampler,
    pfsp_weight,
    run_league,
    save_swapped,
    state_dir,
)
from tournaments.league.spec import check_league, load_league_spec, parse_league_spec

torch.set_num_threads(1)

TINY_AZ = {"blocks": 1, "channels": 8, "value_hidden": 8, "sims": 8, "parallel": 8,
           "games_per_generation": 8, "train_steps": 10, "batch_size": 32, "window": 2000,
           "play_sims": 8}


def tiny_spec(**fields: object) -> dict:
    spec = {"name": "tiny", "game": "tictactoe",
            "learners": [{"name": "az", "algo": "alphazero", "preset": "tictactoe",
                          "set": dict(TINY_AZ)}],
            "references": ["random", "greedy"], "anchor": "random", "rounds": 3,
            "steps_per_round": 40, "games_per_round": 4, "pfsp": "variance", "pool_size": 4,
            "seed": 3, "device": "cpu", "concurrency": 1, "threads": 1}
    spec.update(fields)
    return spec


def write(tmp_path: Path, data: dict, name: str | None = None) -> Path:
    path = tmp_path / f"{name or data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, message", [
    ({"pfsp": "softmax"}, "field 'pfsp': input should be 'hard', 'variance' or 'linear'"),
    ({"rounds": 0}, "field 'rounds': input should be greater than or equal to 1 (got 0)"),
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"game": "cartpole"}, "field 'game': a league is for two-player games; 'cartpole'"),
    ({"game": "chess9"}, "field 'game': unknown game 'chess9'"),
    ({"anchor": "mcts"}, "field 'anchor': 'mcts' is not a reference (references: random, greedy)"),
    ({"references": []}, "field 'references': list should have at least 1 item"),
    ({"device": "tpu"}, "field 'device': should be auto, cpu or cuda (got 'tpu')"),
    ({"snapshot_every": 5}, "field 'snapshot_every': 5 rounds between snapshots leaves none"),
    ({"learners": [{"name": "az", "algo": "muzero"}]},
     "field 'learners.0.algo': unknown algorithm 'muzero'"),
    ({"learners": [{"name": "a-b", "algo": "alphazero"}]},
     "field 'learners.0.name': should be a letter then letters, digits or '_'"),
    ({"learners": [{"name": "az", "algo": "alphazero"}, {"name": "az", "algo": "ppo"}]},
     "field 'learners.1.name': 'az' is already the name of learner 0"),
    ({"references": ["random", {"name": "random", "agent": "greedy"}]},
     "field 'references.1.name': 'random' is already the name of reference 0"),
])
def test_spec_errors_name_the_file_field_and_value(tmp_path, change, message):
    path = write(tmp_path, tiny_spec(**change))
    with pytest.raises(UserError) as info:
        load_league_spec(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text, text
    assert "\n" not in text


def test_spec_references_and_learner_settings_are_checked_before_anything_runs(tmp_path, config):
    roster = load_settings().roster_refs()
    bad_ref = parse_league_spec(tiny_spec(references=["random", "nosuchagent"]), "x.yaml")
    with pytest.raises(UserError, match=r"^x\.yaml: field 'references\.1\.agent': unknown agent "
                                        r"'nosuchagent'"):
        check_league(bad_ref, roster, "x.yaml")
    bad_set = parse_league_spec(tiny_spec(learners=[{"name": "az", "algo": "alphazero",
                                                     "set": {"simz": 3}}]), "x.yaml")
    with pytest.raises(UserError, match=r"^x\.yaml: field 'learners\.0': .*unknown "
                                        r"hyperparameter 'simz'"):
        check_league(bad_set, roster, "x.yaml")
    assert not (tmp_path / "data" / "arena.db").exists()  # nothing stored


def test_shipped_league_specs_are_valid():
    for path in sorted((ROOT / "tournaments").glob("league-*.yaml")):
        spec = load_league_spec(path)
        check_league(spec, {}, str(path))


def test_cli_spec_error_is_one_line_and_exit_code_2(tmp_path, config):
    path = write(tmp_path, tiny_spec(pool_size=0))
    result = run_arena("league", "run", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"arena: {path}: field 'pool_size': input should be greater "
                                     f"than or equal to 1 (got 0)")


def test_a_schema_2_store_gets_the_league_tables_and_keeps_its_tournaments(tmp_path):
    from tournaments.store import MIGRATIONS, SCHEMA, SCHEMA_VERSION

    store = old_store(tmp_path / "old.db", SCHEMA + MIGRATIONS[2], 2,
                      "INSERT INTO tournaments (name, game, format, spec, fingerprint, "
                      "created_at) VALUES ('t', 'tictactoe', 'round-robin', '{}', 'f', 0)")
    assert SCHEMA_VERSION >= 3
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"leagues", "league_players", "league_games", "league_ratings"} <= tables(store)
    assert store.conn.execute("SELECT name FROM tournaments").fetchall() == [("t",)]
    store.close()


# -- PFSP ------------------------------------------------------------------------------------


def test_pfsp_weights():
    assert pfsp_weight(0.25, "hard") == pytest.approx(0.75 ** 2)
    assert pfsp_weight(0.25, "hard", exponent=3) == pytest.approx(0.75 ** 3)
    assert pfsp_weight(0.25, "variance") == pytest.approx(0.1875)
    assert pfsp_weight(0.25, "linear") == pytest.approx(0.75)
    assert pfsp_weight(1.0, "hard") == 0.0 and pfsp_weight(0.0, "variance") == 0.0
    with pytest.raises(ValueError):
        pfsp_weight(0.5, "uniform")


def test_pfsp_distribution_follows_the_elo_expectation():
    # 400 Elo above an opponent: p = 10/11; equal: 1/2; 400 below: 1/11.
    opponents = {"weak": 0.0, "equal": 400.0, "strong": 800.0}
    hard = pfsp_distribution(400.0, opponents, "hard")
    raw = {"weak": (1 / 11) ** 2, "equal": 0.25, "strong": (10 / 11) ** 2}
    total = sum(raw.values())
    for name in opponents:
        assert hard[name] == pytest.approx(raw[name] / total)
    assert sum(hard.values()) == pytest.approx(1.0)
    variance = pfsp_distribution(400.0, opponents, "variance")
    assert max(variance, key=variance.get) == "equal"
    assert variance["weak"] == pytest.approx(variance["strong"])  # symmetric in p
    linear = pfsp_distribution(400.0, opponents, "linear")
    assert linear["strong"] > linear["equal"] > linear["weak"]
    # Certain to beat everyone: every weight is 0 (to float precision); uniform, not a crash.
    flat = pfsp_distribution(1e6, {"a": 0.0, "b": 0.0}, "hard")
    assert flat == {"a": 0.5, "b": 0.5}


def test_pfsp_sampler_draws_by_the_distribution_and_builds_each_opponent_once():
    import numpy as np

    from agents.registry import make_agent

    built: dict[str, object] = {}

    def make(name: str) -> object:
        if name not in built:
            built[name] = make_agent(name)
        return built[name]

    sample = pfsp_sampler({"random": 0.7, "greedy": 0.2, "mcts:sims=5": 0.1}, make)
    rng = np.random.default_rng(0)
    drawn = [sample(rng) for _ in range(2000)]
    share = {name: sum(d is agent for d in drawn) / len(drawn) for name, agent in built.items()}
    assert share["random"] == pytest.approx(0.7, abs=0.04)
    assert share["greedy"] == pytest.approx(0.2, abs=0.04)
    assert share["mcts:sims=5"] == pytest.approx(0.1, abs=0.03)
    assert sample(random.Random(1)) in built.values()  # a random.Random works too


def test_ppo_and_dqn_learners_train_in_a_league(tmp_path, config):
    spec = parse_league_spec(tiny_spec(
        name="mixed", rounds=2, steps_per_round=512, games_per_round=2,
        learners=[{"name": "ppo", "algo": "ppo", "set": {"board_eval_every": 10**6}},
                  {"name": "dqn", "algo": "dqn", "set": {"board_eval_every": 10**6}}]),
        "mixed.yaml")
    report = run_league(spec, load_settings(), stream=None)
    assert report.finished and report.games_done == 2 * 2 * 2
    assert sorted(report.snapshots) == ["dqn-r1", "dqn-r2", "ppo-r1", "ppo-r2"]
    from agents.registry import make_agent

    db = load_settings().store_path
    for name in ("ppo-r2", "dqn-r2"):
        (path, steps) = league_rows(db, "mixed", "SELECT agent, steps FROM league_players "
                                                 "WHERE league_id = ? AND name = ?", name)[0]
        assert steps >= 1024
        make_agent(path).close()  # a snapshot loads as an agent


# -- checkpoints -------------------------------------------------------------------------------


def test_save_swapped_always_leaves_a_whole_checkpoint(tmp_path):
    target = tmp_path / "learner"

    def save(step: int):
        def write_it(d: Path) -> None:
            d.mkdir(parents=True)
            (d / "meta.json").write_text(json.dumps({"steps": step}))
        return write_it

    save_swapped(save(1), target)
    save_swapped(save(2), target)
    assert json.loads((state_dir(target) / "meta.json").read_text()) == {"steps": 2}
    # A kill between the two renames of a swap: the old checkpoint is found.
    target.rename(target.with_name("learner.old"))
    assert state_dir(target) == target.with_name("learner.old")
    save_swapped(save(3), target)
    assert state_dir(target) == target and not target.with_name("learner.old").exists()


# -- a real league ---------------------------------------------------------------------------


def league_rows(db: Path, name: str, sql: str, *args: object) -> list[tuple]:
    (lid,) = db_rows(db, "SELECT id FROM leagues WHERE name = ?", name)[0]
    return db_rows(db, sql, lid, *args)


def check_store(db: Path, name: str, rounds: int, games_per_round: int) -> None:
    """Every planned game exactly once, each in its match; a snapshot and ratings per round."""
    games = league_rows(db, name, "SELECT game_key, round, seats, seed, status, match_id "
                                  "FROM league_games WHERE league_id = ?")
    assert len(games) == rounds * games_per_round
    assert {s for *_, s, _ in games} == {"done"}
    for r in range(rounds):
        in_round = [g for g in games if g[1] == r]
        assert len(in_round) == games_per_round
        for k, g in enumerate(sorted(in_round, key=lambda g: json.loads(g[0])[2])):
            seats = json.loads(g[2])
            # Colours alternate: the new snapshot moves first in even games.
            assert seats[k % 2] == f"az-r{r + 1}", (k, seats)
    match_ids = [m for *_, m in games]
    assert len(set(match_ids)) == len(match_ids)
    tagged = [i for (i,) in db_rows(db, "SELECT id FROM matches WHERE tag = ?", f"league:{name}")]
    assert sorted(tagged) == sorted(match_ids)  # no match stored outside the plan
    for key, _, seats, seed, _, match_id in games:
        stored = db_rows(db, "SELECT agent FROM match_agents WHERE match_id = ? ORDER BY player",
                         match_id)
        assert [a for (a,) in stored] == json.loads(seats)
        assert db_rows(db, "SELECT seed FROM matches WHERE id = ?", match_id)[0][0] == seed
        assert json.loads(key)[4] == seed
    snaps = league_rows(db, name, "SELECT name, round FROM league_players WHERE league_id = ? "
                                  "AND kind = 'snapshot' ORDER BY round")
    assert snaps == [(f"az-r{r + 1}", r) for r in range(rounds)]
    history = league_rows(db, name, "SELECT round, player FROM league_ratings "
                                    "WHERE league_id = ?")
    for r in range(rounds):
        players = {p for rr, p in history if rr == r}
        assert players == {"random", "greedy"} | {f"az-r{k + 1}" for k in range(r + 1)}
    anchor = league_rows(db, name, "SELECT DISTINCT elo, ci95 FROM league_ratings "
                                   "WHERE league_id = ? AND player = 'random'")
    assert anchor == [(0.0, 0.0)]


def test_tiny_league_runs_resumes_and_refuses_a_changed_spec(tmp_path, config):
    settings = load_settings()
    db = settings.store_path
    spec = parse_league_spec(tiny_spec(), "tiny.yaml")
    lines: list[str] = []

    class Lines:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    report = run_league(spec, settings, rounds=2, stream=Lines())  # the first 2 of 3 rounds
    assert report.rounds_done == 2 and report.rounds == 2
    assert report.games_played_now == 8 and report.snapshots == ["az-r1", "az-r2"]
    check_store(db, "tiny", 2, 4)
    text = "".join(lines)
    assert "az: training 0 -> 40 steps" in text and "az-r1 frozen at" in text
    assert "rated (random = 0)" in text

    # The spec's rounds (3): one more round, then the league is finished.
    report = run_league(spec, settings, stream=None)
    assert report.rounds_done == 3 and report.finished and report.games_played_now == 4
    check_store(db, "tiny", 3, 4)
    # Again: nothing left to do.
    report = run_league(spec, settings, stream=None)
    assert report.games_played_now == 0 and report.rounds_done == 3

    # Snapshots are checkpoint directories that load as agents.
    from agents.registry import make_agent

    path = league_rows(db, "tiny", "SELECT agent FROM league_players WHERE league_id = ? "
                                   "AND name = 'az-r3'")[0][0]
    agent = make_agent(path)
    assert agent.meta["algo"] == "alphazero" if hasattr(agent, "meta") else True
    agent.close()
    # The learner's checkpoint holds its full training state at the last round's steps.
    meta = json.loads((settings.data_dir / "leagues" / "tiny" / "learners" / "az" /
                       "meta.json").read_text())
    assert meta["train_state"] is True and meta["steps"] >= 120

    changed = parse_league_spec(tiny_spec(steps_per_round=50), "tiny.yaml")
    with pytest.raises(UserError, match=r"tiny\.yaml: league 'tiny' is already stored with "
                                        r"different settings \(field 'steps_per_round' was 40, "
                                        r"now 50\)"):
        run_league(changed, settings, source="tiny.yaml", stream=None)


def test_a_second_runner_is_refused(tmp_path, config):
    settings = load_settings()
    spec = parse_league_spec(tiny_spec(name="locked"), "locked.yaml")
    with LeagueLock(settings.data_dir, "locked"), pytest.raises(
            UserError, match=rf"^league 'locked' is already being run by pid {os.getpid()}"):
        run_league(spec, settings, stream=None)


def test_show_json_and_export(tmp_path, config, capsys):
    from arena.cli import main

    path = write(tmp_path, tiny_spec(name="shown", rounds=2))
    run_league(load_league_spec(path), load_settings(), stream=None)

    shown = run_arena("league", "show", "shown", "--json")  # the real command, once
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["status"] == "finished" and data["rounds_done"] == 2
    assert data["games"] == {"done": 8, "planned": 0, "void": 0}
    assert data["anchor"] == "random"
    names = {row["name"]: row for row in data["standings"]}
    assert set(names) == {"random", "greedy", "az-r1", "az-r2"}
    assert names["random"]["elo"] == 0.0
    for row in data["standings"]:
        assert math.isfinite(row["elo"]) and row["ci95"] >= 0
    assert names["az-r1"]["games"] >= 4 and names["az-r2"]["round"] == 2
    weights = data["pfsp_weights"]["az"]
    assert set(weights) == {"random", "greedy", "az-r1", "az-r2"}
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert [h["round"] for h in data["history"]].count(2) == 4

    capsys.readouterr()
    assert main(["league", "show", str(path)]) == 0  # by its spec file, as text
    text = capsys.readouterr().out
    assert "anchored to random = 0" in text
    assert "next az snapshot draws opponents by PFSP (variance)" in text

    out = tmp_path / "export"
    assert main(["league", "export", "shown", "--out", str(out), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    png = Path(written["chart"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    history = (out / "ratings_history.csv").read_text().splitlines()
    assert history[0] == "round,player,elo,ci95,games" and len(history) == 1 + 3 + 4
    assert json.loads((out / "standings.json").read_text())["name"] == "shown"
    assert (out / "standings.csv").read_text().startswith("rank,name,kind,learner,round")

    assert main(["league", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "shown", "game": "tictactoe", "rounds_done": 2, "rounds": 2, "games": 8,
         "finished": True}]
    assert main(["league", "show", "nope"]) == 2
    assert "no league named 'nope'" in capsys.readouterr().err


# -- SIGKILL -----------------------------------------------------------------------------------


def _done(db: Path) -> int:
    return done_games(db, "league_games")


def test_sigkill_at_random_moments_then_rerun_ends_with_exactly_the_planned_games(tmp_path,
                                                                                 config):
    rounds, per_round = 3, 6
    path = write(tmp_path, tiny_spec(name="killme", rounds=rounds, games_per_round=per_round))
    db = tmp_path / "data" / "arena.db"
    rng = random.Random(7)
    seen = []
    for i in range(4):
        proc = subprocess.Popen([*ARENA, "league", "run", str(path)], cwd=ROOT,
                                env=dict(os.environ), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        # The first kill waits for a stored game, so a fast machine cannot finish the whole
        # league before any kill lands.
        if i % 2 == 1:  # any moment: starting, training, saving, freezing, planning, playing
            time.sleep(rng.uniform(1.0, 6.0))
        else:  # a moment while it plays: once it has stored one more game
            wait_for_more_done(db, "league_games", seen[-1] if seen else 0, proc, 60)
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        seen.append(_done(db))
    assert seen == sorted(seen)  # nothing stored is ever lost
    assert any(0 < n < rounds * per_round for n in seen), seen
    final = run_arena("league", "run", str(path))
    assert final.returncode == 0, final.stderr
    check_store(db, "killme", rounds, per_round)
