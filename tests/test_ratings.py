"""Ratings: the Bradley-Terry fit, its intervals, LOS and the SPRT, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tournaments.ratings import (
    LiveTable,
    expected_score,
    fit_elo,
    los_from_counts,
    sprt,
    sprt_bounds,
    sprt_llr,
)


def test_two_players_three_wins_to_one_by_hand():
    games = [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)]
    fit = fit_elo(["a", "b"], games, prior_draws=0, prior_sd_elo=None)
    # 3:1 means p = 3/4, so the difference is 400 log10(3) = 190.85 Elo.
    assert fit.rating("a") - fit.rating("b") == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert fit.rating("a") == pytest.approx(-fit.rating("b"))  # mean 0
    # Fisher information of the difference: n p (1 - p) = 4 * 3/16 = 3/4 (natural units),
    # so its standard error is sqrt(4/3) * 400 / ln 10 = 200.59 Elo.
    se_diff = math.sqrt(4 / 3) * 400 / math.log(10)
    assert fit.ci95[0] == pytest.approx(1.959964 * se_diff / 2, rel=1e-5)
    assert fit.los("a", "b") == pytest.approx(0.5 * (1 + math.erf(190.849 / se_diff / math.sqrt(2))),
                                              abs=1e-4)
    assert fit.los("a", "b") == pytest.approx(0.8293, abs=1e-4)
    anchored = fit_elo(["a", "b"], games, prior_draws=0, prior_sd_elo=None, anchor="b")
    assert anchored.rating("b") == 0 and anchored.ci95[1] == 0
    assert anchored.rating("a") == pytest.approx(190.849, abs=1e-3)
    assert anchored.ci95[0] == pytest.approx(1.959964 * se_diff, rel=1e-5)


def test_draws_count_as_half_a_win():
    with_draws = fit_elo(["a", "b"], [("a", "b", 0.5)] * 2 + [("a", "b", 1.0)],
                         prior_draws=0, prior_sd_elo=None)
    # 2 of 3 points: p = 2/3, 400 log10(2) = 120.41 Elo.
    assert with_draws.rating("a") - with_draws.rating("b") == pytest.approx(120.412, abs=1e-3)


def test_a_perfect_score_gives_a_finite_rating_and_a_wide_interval():
    fit = fit_elo(["a", "b", "c"], [("a", "b", 1.0)] * 2)
    assert np.isfinite(fit.elo).all() and fit.rating("a") > fit.rating("b")
    assert fit.ci95[2] > 1000  # c never played: only the prior speaks for it


def test_the_fit_recovers_known_strengths_within_its_intervals():
    rng = np.random.default_rng(2024)
    inside = total = 0
    for _ in range(4):
        true = rng.normal(0.0, 200.0, 8)
        true -= true.mean()
        names = [f"p{i}" for i in range(8)]
        games = []
        for i in range(8):
            for j in range(i + 1, 8):
                p = expected_score(true[i] - true[j])
                draw = 0.3 * min(p, 1 - p)  # keeps the expected score at p
                for u in rng.random(16):
                    games.append((names[i], names[j],
                                  1.0 if u < p - draw / 2 else 0.5 if u < p + draw / 2 else 0.0))
        fit = fit_elo(names, games)
        inside += int(np.sum(np.abs(fit.elo - true) <= fit.ci95))
        total += len(names)
        # The ranking is right where the true gap is wide.
        assert np.corrcoef(fit.elo, true)[0, 1] > 0.9
    assert inside / total >= 0.9, f"only {inside}/{total} true ratings inside their 95% CI"


def test_los_from_a_head_to_head_record_by_hand():
    assert los_from_counts(3, 1) == pytest.approx(0.841345, abs=1e-6)  # Phi(2 / 2) = Phi(1)
    assert los_from_counts(5, 5) == 0.5 and los_from_counts(0, 0) == 0.5
    assert los_from_counts(0, 4) == pytest.approx(1 - 0.977250, abs=1e-6)  # Phi(-2)


def test_sprt_llr_by_hand():
    # 60 wins, 20 draws, 20 losses: mean score 0.7, per-game variance
    # (60 * 0.3^2 + 20 * 0.2^2 + 20 * 0.7^2) / 100 = 0.16.
    s0, s1 = 0.5, 1 / (1 + 10 ** (-50 / 400))
    hand = 100 * (s1 - s0) * (2 * 0.7 - s0 - s1) / (2 * 0.16)
    assert sprt_llr(60, 20, 20, 0, 50) == pytest.approx(hand, rel=1e-12)
    assert hand == pytest.approx(7.33696, abs=1e-4)
    lower, upper = sprt_bounds(0.05, 0.05)
    assert upper == pytest.approx(math.log(19)) and lower == pytest.approx(-math.log(19))
    assert sprt(60, 20, 20, 0, 50).decision == "H1"
    assert sprt(20, 20, 60, 0, 50).decision == "H0"
    assert sprt(11, 10, 9, 0, 50).decision is None
    assert sprt_llr(0, 0, 0, 0, 50) == 0.0 and sprt_llr(0, 7, 0, 0, 50) == 0.0


def test_sprt_bounds_follow_alpha_and_beta():
    lower, upper = sprt_bounds(0.01, 0.1)
    assert upper == pytest.approx(math.log(0.9 / 0.01))
    assert lower == pytest.approx(math.log(0.1 / 0.99))


def test_live_table_follows_the_winner():
    table = LiveTable(["greedy", "random"])
    for _ in range(5):
        table.record(["random", "greedy"], [-1.0, 1.0])
    assert table.leader().startswith("greedy (mu ")
    assert table.table()[0]["mu"] > table.table()[1]["mu"]
    single = LiveTable(["a", "b"], single_player=True)
    single.record(["a"], [10.0])
    single.record(["b"], [30.0])
    assert single.leader() == "b (mean return 30.0)"
