"""Schedules: deterministic from the spec, fair colours, swiss pairings without repeats."""

from __future__ import annotations

import itertools
from collections import Counter

from tournaments.schedule import pair_avoiding_repeats, plan_games, plan_swiss_round, total_games
from tournaments.spec import parse_spec


def spec(**fields):
    return parse_spec({"name": "t", "game": "connect4", **fields}, "t.yaml")


def test_round_robin_plays_every_pairing_with_colours_alternating():
    s = spec(participants=["a", "b", "c", "d"], games_per_pairing=2, seed=5)
    games = plan_games(s)
    assert len(games) == total_games(s) == 6 * 2
    per_pair = Counter(frozenset(g.seats) for g in games)
    assert set(per_pair) == {frozenset(p) for p in itertools.combinations("abcd", 2)}
    assert set(per_pair.values()) == {2}
    for pair in per_pair:  # one game each way
        firsts = Counter(g.seats[0] for g in games if frozenset(g.seats) == pair)
        assert sorted(firsts.values()) == [1, 1]
    assert {g.seed for g in games} == {5, 6}
    assert len({g.key for g in games}) == len(games)


def test_one_game_a_pairing_still_spreads_first_moves():
    games = plan_games(spec(participants=["a", "b", "c", "d", "e"], games_per_pairing=1))
    firsts = Counter(g.seats[0] for g in games)
    assert max(firsts.values()) - min(firsts.get(n, 0) for n in "abcde") <= 1


def test_the_schedule_and_its_keys_are_a_function_of_the_spec():
    s = spec(participants=["a", "b", "c"], games_per_pairing=3, seed=1)
    assert plan_games(s) == plan_games(spec(participants=["a", "b", "c"], games_per_pairing=3,
                                            seed=1))
    other = {g.key for g in plan_games(spec(participants=["a", "b", "c"], games_per_pairing=3,
                                            seed=2))}
    assert other.isdisjoint({g.key for g in plan_games(s)})


def test_a_gauntlet_pits_the_challengers_against_the_rest_only():
    s = spec(format="gauntlet", participants=["hero", "x", "y", "z"], games_per_pairing=2)
    games = plan_games(s)
    assert len(games) == total_games(s) == 6
    assert all("hero" in g.seats for g in games)
    assert Counter(g.seats[0] for g in games)["hero"] == 3
    two = spec(format="gauntlet", challengers=2, participants=["h1", "h2", "x", "y", "z"],
               games_per_pairing=1)
    pairs = {frozenset(g.seats) for g in plan_games(two)}
    assert pairs == {frozenset((h, o)) for h in ("h1", "h2") for o in "xyz"}


def test_a_leaderboard_plays_everyone_on_the_same_seeds():
    s = parse_spec({"name": "c", "game": "cartpole", "participants": ["random", "x"],
                    "games_per_pairing": 4, "seed": 100}, "c.yaml")
    assert s.format == "leaderboard"
    games = plan_games(s)
    by_name = {n: sorted(g.seed for g in games if g.seats == (n,)) for n in ("random", "x")}
    assert by_name["random"] == by_name["x"] == [100, 101, 102, 103]


def _run_swiss(names, rounds):
    s = spec(format="swiss", participants=names, rounds=rounds, games_per_pairing=1)
    points = dict.fromkeys(names, 0.0)
    met, had_bye, all_games = set(), set(), []
    for r in range(rounds):
        planned = plan_swiss_round(s, r, points, met, had_bye, names)
        for g in planned:
            if g.bye:
                had_bye.add(g.seats[0])
                points[g.seats[0]] += 1
                continue
            assert frozenset(g.seats) not in met, f"repeat pairing in round {r}: {g.seats}"
            met.add(frozenset(g.seats))
            winner = min(g.seats, key=names.index)  # the earlier name always wins
            points[winner] += 1
            all_games.append(g)
        assert {n for g in planned for n in g.seats} == set(names)  # everyone plays or has the bye
    return all_games, had_bye


def test_swiss_pairs_by_score_without_repeats():
    names = [f"p{i}" for i in range(6)]
    games, _ = _run_swiss(names, rounds=5)  # 5 rounds of 6 players: a full round robin
    assert len(games) == 15


def test_swiss_gives_byes_to_different_players():
    names = [f"p{i}" for i in range(5)]
    games, had_bye = _run_swiss(names, rounds=4)
    assert len(had_bye) == 4 and len(games) == 8


def test_swiss_first_round_pairs_top_half_order():
    s = spec(format="swiss", participants=["a", "b", "c", "d"], games_per_pairing=2)
    planned = plan_swiss_round(s, 0, {}, set(), set(), ["a", "b", "c", "d"])
    assert [set(g.seats) for g in planned] == [{"a", "b"}] * 2 + [{"c", "d"}] * 2
    assert total_games(s) == s.swiss_rounds() * 2 * 2


def test_pairing_falls_back_when_every_pairing_repeats():
    met = {frozenset(("a", "b")), frozenset(("c", "d")), frozenset(("a", "c")),
           frozenset(("b", "d")), frozenset(("a", "d")), frozenset(("b", "c"))}
    pairs = pair_avoiding_repeats(["a", "b", "c", "d"], met)
    assert sorted(n for p in pairs for n in p) == ["a", "b", "c", "d"]
    assert pair_avoiding_repeats(["a", "b", "c", "d"], {frozenset(("a", "b"))}) == [
        ("a", "c"), ("b", "d")]
