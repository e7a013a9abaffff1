"""Agent references and the built-in agents."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from agents.base import MatchContext
from agents.greedy import GreedyAgent
from agents.isolation import IsolatedAgent
from agents.uct import MCTSAgent
from agents.registry import ForeignAgent, make_agent
from games.errors import UserError
from agents.match import play_match
from games.registry import resolve_game

FAULTY = Path(__file__).parent / "fixtures" / "faulty_agents.py"


def start(agent, game_id="connect4", player=0, seed=0):
    game = resolve_game(game_id)
    env = game.env()
    agent.start(MatchContext(game, env.possible_agents[player], player, seed,
                             env.action_space(env.possible_agents[player])))
    return agent


def play(agent, moves):
    for i, a in enumerate(moves):
        agent.observe(i % 2, a)


def test_builtin_with_parameters():
    agent = make_agent("mcts:sims=77,c=0.5")
    assert isinstance(agent, MCTSAgent) and agent.sims == 77 and agent.c == 0.5
    assert agent.name == "mcts:sims=77,c=0.5"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nobody", "unknown agent 'nobody'"),
        ("mcts:simz=3", "unknown parameter 'simz' (known: sims, c, time)"),
        ("mcts:sims=many", "parameter sims='many' is not an int"),
        ("mcts:sims=0", "sims must be at least 1"),
        ("mcts:sims", "parameter 'sims' is not key=value"),
        ("missing.py:Agent", "no such file 'missing.py'"),
        (f"{FAULTY}:Nope", "defines no 'Nope'"),
        ("", "empty"),
    ],
)
def test_bad_references_say_what_is_wrong(ref, message):
    with pytest.raises(UserError) as err:
        make_agent(ref)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_roster_names_resolve_through_arena_toml_entries():
    roster = {"strong": "mcts:sims=500", "alias": "strong"}
    agent = make_agent("alias", roster)
    assert isinstance(agent, MCTSAgent) and agent.sims == 500 and agent.name == "alias"
    with pytest.raises(UserError, match="loop"):
        make_agent("a", {"a": "b", "b": "a"})


def test_file_agent_with_parameters_and_duck_typed_classes():
    agent = make_agent(f"{FAULTY}:Raiser:bad_game=4", isolate=False)
    assert agent.bad_game == 4
    plain = make_agent(f"{FAULTY}:Plain", isolate=False)
    assert isinstance(plain, ForeignAgent)
    r = play_match(resolve_game("tictactoe"), [plain, make_agent("random")], seed=0)
    assert r.forfeit_player is None and r.moves[0].action == 0
    # By default user code plays in a process of its own, the same moves.
    isolated = make_agent(f"{FAULTY}:Plain")
    assert isinstance(isolated, IsolatedAgent) and isolated.name == f"{FAULTY}:Plain"
    again = play_match(resolve_game("tictactoe"), [isolated, make_agent("random")], seed=0)
    isolated.close()
    assert [m.action for m in again.moves] == [m.action for m in r.moves]


def test_installed_plugin_is_found_by_entry_point(tmp_path, monkeypatch):
    (tmp_path / "arena_plugin_demo.py").write_text(textwrap.dedent("""
        from agents.random_agent import RandomAgent

        class Lefty(RandomAgent):
            def __init__(self, offset: int = 0):
                self.offset = offset

            def act(self, observation, action_mask):
                import numpy as np
                return int(np.flatnonzero(action_mask)[self.offset])
    """))
    dist = tmp_path / "arena_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: arena-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[arena.agents]\nlefty = arena_plugin_demo:Lefty\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    agent = make_agent("lefty:offset=1", isolate=False)
    assert agent.offset == 1
    r = play_match(resolve_game("connect4"), [agent, make_agent("random")], seed=0)
    assert r.moves[0].action == 1
    isolated = make_agent("lefty:offset=1")  # a plugin is user code: its own process
    assert isinstance(isolated, IsolatedAgent)
    r = play_match(resolve_game("connect4"), [isolated, make_agent("random")], seed=0)
    isolated.close()
    assert r.moves[0].action == 1
    sys.modules.pop("arena_plugin_demo", None)


def test_random_only_plays_legal_actions():
    agent = start(make_agent("random"), "tictactoe")
    mask = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0], dtype=np.int8)
    assert {agent.act(None, mask) for _ in range(50)} == {1, 4}


def test_greedy_wins_when_it_can():
    agent = start(GreedyAgent())
    play(agent, [0, 6, 0, 6, 0, 5])  # X has three in column 1; X to move
    assert agent.act(None, agent.state.legal_mask()) == 0
    assert agent.explain().note == "win"


def test_greedy_blocks_when_it_must():
    agent = start(GreedyAgent(), player=1)
    play(agent, [2, 6, 3, 6, 4])  # X threatens both ends of 3-4-5; O must take one
    move = agent.act(None, agent.state.legal_mask())
    assert move in (1, 5)
    agent2 = start(GreedyAgent(), player=1)
    play(agent2, [0, 6, 0, 6, 0])  # X threatens column 1
    assert agent2.act(None, agent2.state.legal_mask()) == 0
    assert agent2.explain().note == "block"


def test_mcts_finds_the_win_and_the_block():
    agent = start(MCTSAgent(sims=300))
    play(agent, [3, 0, 3, 0, 3, 6])
    assert agent.act(None, agent.state.legal_mask()) == 3
    insight = agent.explain()
    assert insight.kind == "mcts" and insight.actions[0].action == 3
    assert insight.actions[0].score > 0.9
    assert sum(a.visits for a in insight.actions) == 300
    blocker = start(MCTSAgent(sims=600), player=1)
    play(blocker, [3, 0, 3, 0, 3])
    assert blocker.act(None, blocker.state.legal_mask()) == 3


def test_human_rejects_bad_and_illegal_input_then_plays():
    out = io.StringIO()
    agent = start(make_agent("human"), "tictactoe")
    agent._in = io.StringIO("zz\n\na1\nb2\n")
    agent._out = out
    agent.observe(1, 0)  # a1 is taken
    mask = agent.state.legal_mask()
    assert agent.act(None, mask) == 4
    text = out.getvalue()
    assert "'zz' is not a cell" in text and text.count("try again") == 2
    assert "illegal move: a1; try again" in text


def test_human_end_of_input_forfeits():
    human = make_agent("human")
    human._in = io.StringIO("")
    human._out = io.StringIO()
    r = play_match(resolve_game("tictactoe"), [human, make_agent("random")], seed=0)
    assert r.forfeit_player == 0 and "EOFError" in r.forfeit_reason
