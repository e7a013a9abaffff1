"""The shipped 9x9 AlphaGo model loads from assets/ and plays real games."""

from __future__ import annotations

import json
from pathlib import Path

from agents.registry import make_agent
from arena.match import play_match
from games.registry import resolve_game

MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "go9-alphago"


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
