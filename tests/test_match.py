"""The match loop: results, events, forfeits, time limits, move caps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from agents.registry import make_agent
from games.errors import UserError
from agents.match import (MatchEnded, MatchResult, MatchStarted, MovePlayed, describe_result,
                          play_match)
from agents.series import run_series
from tournaments.store import Store, StoreWriter
from games.registry import resolve_game

FAULTY = str(Path(__file__).parent / "fixtures" / "faulty_agents.py")


class Recorder:
    wants_insight = True

    def __init__(self):
        self.events = []

    def on_event(self, event):
        self.events.append(event)


def test_events_arrive_in_order_and_match_the_result():
    rec = Recorder()
    game = resolve_game("tictactoe")
    result = play_match(game, [make_agent("mcts:sims=30"), make_agent("random")], seed=3,
                        observers=[rec])
    assert isinstance(rec.events[0], MatchStarted)
    assert isinstance(rec.events[-1], MatchEnded) and rec.events[-1].result is result
    moves = [e for e in rec.events if isinstance(e, MovePlayed)]
    assert [e.move for e in moves] == result.moves
    assert [m.player for m in result.moves] == [i % 2 for i in range(len(result.moves))]
    # MCTS explains its moves with visits; random has nothing to say.
    assert moves[0].insight.kind == "mcts" and moves[0].insight.actions[0].visits > 0
    assert moves[1].insight is None
    assert result.outcomes in (["win", "loss"], ["loss", "win"], ["draw", "draw"])


def test_same_seed_same_game():
    game = resolve_game("connect4")
    runs = [play_match(game, [make_agent("random"), make_agent("random")], seed=11) for _ in range(2)]
    assert [m.action for m in runs[0].moves] == [m.action for m in runs[1].moves]
    other = play_match(game, [make_agent("random"), make_agent("random")], seed=12)
    assert [m.action for m in other.moves] != [m.action for m in runs[0].moves]


def test_winner_and_returns_follow_the_rules():
    game = resolve_game("connect4")
    for seed in range(20):
        r = play_match(game, [make_agent("greedy"), make_agent("random")], seed=seed)
        state = game.new_state()
        for m in r.moves:
            state.play(m.action)
        assert state.is_terminal()
        assert list(state.returns()) == r.returns
        if r.winner is not None:
            assert r.returns[r.winner] == 1.0 and r.outcomes[r.winner] == "win"


def test_move_cap_truncates_a_board_game_as_a_draw():
    game = resolve_game("connect4")
    r = play_match(game, [make_agent("random"), make_agent("random")], seed=0, max_moves=5)
    assert r.truncated and r.plies == 5
    assert r.outcomes == ["draw", "draw"] and r.winner is None


def test_single_player_return_is_the_episode_reward():
    game = resolve_game("cartpole")
    r = play_match(game, [make_agent("random")], seed=0)
    assert r.outcomes == ["done"]
    assert r.returns[0] == r.plies  # CartPole pays 1 per step
    capped = play_match(game, [make_agent("random")], seed=0, max_moves=4)
    assert capped.truncated and capped.returns == [4.0] and capped.outcomes == ["truncated"]


def test_search_agent_on_a_game_without_state_is_a_user_error():
    with pytest.raises(UserError, match="search state"):
        play_match(resolve_game("cartpole"), [make_agent("mcts")], seed=0)


def test_wrong_number_of_agents_is_a_user_error():
    with pytest.raises(UserError, match="needs 2 agent"):
        play_match(resolve_game("tictactoe"), [make_agent("random")], seed=0)


@pytest.mark.parametrize(
    ("cls", "game", "reason"),
    [
        ("Raiser", "connect4", "raised RuntimeError: boom"),
        ("Sleeper", "connect4", "exceeded the time per move (0.3 s)"),
        ("BusyLooper", "connect4", "exceeded the time per move (0.3 s)"),
        ("Illegal", "tictactoe", "played illegal action"),
        ("OutOfRange", "connect4", "outside 0..6"),
        ("NotAnAction", "connect4", "not an action number"),
    ],
)
def test_a_faulty_agent_forfeits_one_game_and_the_run_completes(tmp_path, cls, game, reason):
    store = Store(tmp_path / "arena.db")
    spec = resolve_game(game)
    ref = f"{FAULTY}:{cls}:bad_game=2"
    agents = [make_agent(ref), make_agent("random")]
    start = time.perf_counter()
    series = run_series(spec, agents, [ref, "random"], games=5, seed=0, time_per_move=0.3,
                        observers=[StoreWriter(store)])
    assert time.perf_counter() - start < 30
    forfeits = [r for r in series.results if r.forfeit_player is not None]
    assert len(forfeits) == 1
    bad = forfeits[0]
    assert bad is series.results[2]
    assert reason in bad.forfeit_reason
    assert bad.agents[bad.forfeit_player] == ref
    assert bad.outcomes[bad.forfeit_player] == "loss"
    assert series.entrants[0].forfeits == 1 and series.entrants[0].losses >= 1
    # Every game, the forfeited one included, is in the store.
    assert store.count() == 5
    stored = store.get_match(bad.match_id)
    assert stored.forfeit_reason == bad.forfeit_reason and stored.forfeit_player == bad.forfeit_player


def test_time_limit_holds_off_the_main_thread():
    """Front ends play matches in worker threads, where no SIGALRM can reach."""
    box = {}
    spec = resolve_game("connect4")
    ref = f"{FAULTY}:Sleeper:bad_game=0"

    def run():
        box["result"] = play_match(spec, [make_agent(ref), make_agent("random")], seed=0,
                                   time_per_move=0.3)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(20)
    assert not worker.is_alive()
    assert "exceeded the time per move" in box["result"].forfeit_reason


def test_people_are_not_timed():
    class SlowPerson(type(make_agent("random"))):
        timed = False

        def act(self, observation, action_mask):
            time.sleep(0.05)
            return super().act(observation, action_mask)

    r = play_match(resolve_game("tictactoe"), [SlowPerson(), make_agent("random")], seed=0,
                   time_per_move=0.01)
    assert r.forfeit_player != 0


def test_keyboard_interrupt_records_the_game_as_abandoned(tmp_path):
    class Quitter(type(make_agent("random"))):
        def act(self, observation, action_mask):
            raise KeyboardInterrupt

    store = Store(tmp_path / "arena.db")
    with pytest.raises(KeyboardInterrupt):
        play_match(resolve_game("tictactoe"), [make_agent("random"), Quitter()], seed=0,
                   observers=[StoreWriter(store)])
    (match_id,) = store.match_ids()
    stored = store.get_match(match_id)
    assert stored.status == "abandoned" and stored.outcomes == ["abandoned", "abandoned"]
    assert stored.plies == 1


def test_colours_alternate_in_a_series():
    spec = resolve_game("tictactoe")
    series = run_series(spec, [make_agent("random"), make_agent("greedy")], ["random", "greedy"],
                        games=4, seed=0)
    assert [r.agents[0] for r in series.results] == ["random", "greedy", "random", "greedy"]
    assert [r.seed for r in series.results] == [0, 1, 2, 3]
    e = series.entrants
    assert e[0].wins == e[1].losses and e[0].draws == e[1].draws and e[0].games == 4


def _ended(agents: list[str], **fields) -> MatchResult:
    return MatchResult(uid="u", game="go9", agents=agents, seed=0, agent_seeds=[0] * len(agents),
                       returns=[1.0] * len(agents), outcomes=["win"] * len(agents), moves=[],
                       started_at=0.0, duration_s=0.0, **fields)


def test_one_text_says_how_a_game_ended_in_each_front_ends_words():
    capped = _ended(["random", "greedy"], winner=1, truncated=True)
    assert describe_result(capped, score="W+7.5", say_adjudicated=True) == \
        "greedy wins, W+7.5 (move cap reached, adjudicated by score)"  # the CLI's replay
    assert describe_result(capped, ["r", "g"]) == "g wins (move cap reached)"  # the TUI's
    resigned = _ended(["random", "greedy"], winner=1, resign_player=0, end="resignation")
    assert describe_result(resigned) == "greedy wins; random resigned"
    assert describe_result(resigned, seat_names=("Black", "White"), headline=True) == \
        "random (Black) resigns; greedy (White) wins"  # the window's
    draw = _ended(["a", "b"], truncated=True)
    assert describe_result(draw, draw="a draw") == "a draw (move cap reached)"
    assert describe_result(draw, headline=True) == "Draw (move cap)"
    solo = _ended(["dqn"], forfeit_player=0, forfeit_reason="raised ValueError")
    assert describe_result(solo, episode="finished: ") == \
        "finished: return 1 in 0 steps; dqn forfeited: raised ValueError"
    assert describe_result(solo, headline=True) == "Episode over: dqn raised ValueError"
    assert describe_result(_ended(["a", "b"], status="abandoned"), headline=True) == "Game abandoned"
