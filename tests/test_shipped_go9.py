"""The shipped 9x9 AlphaGo model loads from assets/, plays real games, and beats GnuGo level 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_arena

from agents.gtp_agent import find_gnugo
from agents.registry import make_agent
from agents.match import play_match
from games.registry import resolve_game

MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "go9-alphago"
needs_gnugo = pytest.mark.skipif(find_gnugo() is None, reason="gnugo is not installed (make gnugo)")


def test_the_model_is_small_and_records_its_recipe_and_figures():
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size <= 20 * 1024 * 1024
    recipe = json.loads((MODEL / "recipe.json").read_text())
    assert any("arena train alphago go9" in c for c in recipe["commands"])
    figures = json.loads((MODEL / "figures.json").read_text())
    assert figures["sl"]["accuracy"] > 5 * figures["sl"]["baseline_most_frequent"]
    assert figures["rl"]["win_rate"] > 0.5


def test_it_beats_random_on_9x9_with_either_colour():
    game = resolve_game("go9")
    reference = f"alphago:{MODEL},sims=16"
    for seat in (0, 1):
        agents = [make_agent(reference), make_agent("random")]
        if seat:
            agents.reverse()
        result = play_match(game, agents, seed=11 + seat)
        assert result.returns[seat] > 0, (seat, result.returns)


def test_it_plays_with_the_settings_its_metadata_names():
    agent = make_agent(f"alphago:{MODEL}")
    assert (agent.sims, agent.lam, agent.rollouts) == (1600, 1.0, 4)
    assert make_agent(f"alphago:{MODEL},sims=50").sims == 50


def _match_vs_gnugo(level: int, games: int, timeout: float) -> dict:
    proc = run_arena("match", "go9", f"alphago:{MODEL}", f"gnugo:level={level}",
                     "--games", str(games), "--seed", "0", "--json", timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["forfeits"] == []
    return data["agents"][0]


@needs_gnugo
def test_it_beats_gnugo_level_1_with_either_colour(config):
    # The first 6 games of the 50-game acceptance match below (GnuGo is seeded by the game;
    # 40 of those 50 were wins). At a true 80%, 3 or more wins of 6 come 98 times in 100.
    model = _match_vs_gnugo(1, 6, timeout=900)
    assert model["games"] == 6 and model["wins"] >= 3, model


@pytest.mark.slow
@needs_gnugo
def test_acceptance_it_wins_at_least_half_of_50_games_against_gnugo_level_1(config):
    model = _match_vs_gnugo(1, 50, timeout=3600)
    assert model["wins"] >= 25, model
