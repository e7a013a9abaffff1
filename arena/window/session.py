"""watch() and play(): matches in a pygame window, recorded in the store.

The match loop runs in the calling (main) thread. The window stays live
because `WindowObserver` pumps its events between moves and `WindowHuman`
pumps them while it waits for a person; neither blocks without polling.

Closing the window or pressing Esc during a game raises WindowClosed inside
the loop: the game is stored as "abandoned", and watch()/play() return 0
without a traceback. Ctrl-C does the same and returns 130.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agents.base import Agent, MatchContext
from games.errors import UserError
from agents.match import (
    MatchEnded,
    MatchResult,
    MatchStarted,
    Move,
    MovePlayed,
    Observer,
    describe_result,
    play_match,
)
from arena.window import theme
from arena.window.human import UndoRequested, WindowHuman
from arena.window.keymap import keymap_for
from arena.window.view import WindowClosed, WindowView

#: Seconds between moves of a board game when watching at speed 1.
MOVE_DELAY_S = 0.8
#: Seconds the result stays up before the next game when watching at speed 1.
GAME_PAUSE_S = 2.5
#: Seconds a person's own move stays alone on the board before the reply appears.
REPLY_PAUSE_S = 0.3

EXIT_OK = 0
EXIT_INTERRUPTED = 130


def step_rate(env: Any) -> float:
    """Env steps per second that play a single-player game in real time.

    The env's render_fps counts emulator frames; wrappers that repeat each
    action (Atari's frame_skip) make a step last several frames.
    """
    gym_env = getattr(env, "gym_env", env)
    fps = float((getattr(env, "metadata", None) or {}).get("render_fps") or 30)
    if hasattr(getattr(gym_env, "unwrapped", None), "ale"):
        fps = 60.0  # the Atari 2600's frame rate (ALE's render_fps is a display setting)
    skip = 1
    layer = gym_env
    for _ in range(32):  # walk the wrapper chain down to the base env
        for attr in ("frame_skip", "_frameskip"):
            value = getattr(layer, attr, None) if attr in getattr(layer, "__dict__", {}) else None
            if isinstance(value, int) and value > 1:
                skip *= value
        inner = getattr(layer, "env", None)
        if inner is None or inner is layer:
            break
        layer = inner
    return max(1.0, fps / skip)


def describe(result: MatchResult, names: Sequence[str], seat_names: Sequence[str],
             env: Any = None) -> str:
    """One line for a finished game: who won and how (Go: by how much, from `env`'s board)."""
    state = getattr(getattr(env, "unwrapped", env), "state", None)
    score = None
    if result.winner is not None and state is not None and hasattr(state, "score"):
        from games.go.sgf import score_text

        points = state.score()  # Go: black's area minus white's, komi included
        score = score_text(points) if points else None
    return describe_result(result, names, seat_names=seat_names, score=score, headline=True)


def _display_names(names: Sequence[str]) -> list[str]:
    """Names for the HUD: a file agent by its class (not its path), duplicates numbered."""
    shown = []
    for name in names:
        if ".py:" in name:
            name = name.partition(".py:")[2]
        shown.append(name)
    if len(set(shown)) == len(shown):
        return shown
    return [f"{n} #{i + 1}" for i, n in enumerate(shown)]


class WindowObserver:
    """Observer: draws every move, pumps the window's events and sets the pace.

    Raises WindowClosed from MovePlayed (inside the match loop, which records
    the game as abandoned) once the window is closed; never from MatchStarted
    or MatchEnded, which the loop runs outside its guard. Moves replayed
    after an undo get back the think time and insight they had when first
    played (`replay`, set by play()); the Move is the loop's own, so the
    store keeps that time too.
    """

    wants_insight = True
    wants_moves = True

    def __init__(self, view: WindowView, move_delay: float = MOVE_DELAY_S):
        self.view = view
        self.move_delay = move_delay
        self.moves: list[Move] = []
        self.insights: list[Any] = []  # per move, what its player said of it (None: nothing)
        self.fast_forward = 0  # moves replayed after an undo: no pause, no drawing
        self.replay: list[tuple[Move, Any]] = []  # those moves as first played, with insights
        self.last_result: MatchResult | None = None
        self._next_time = 0.0

    def on_event(self, event: Any) -> None:
        view, scene = self.view, self.view.scene
        if isinstance(event, MatchStarted):
            self.moves, self.insights = [], []
            scene.names = _display_names(event.agents)
            scene.ply, scene.to_play, scene.result, scene.last = 0, 0, None, ""
            scene.last_colour = theme.MUTED
            scene.insight = scene.insight_by = scene.insight_ply = None
            scene.episode_return = 0.0 if len(event.agents) == 1 else None
            if len(event.agents) == 1:
                view.step_hz = step_rate(event.env)
                keymap = keymap_for(event.env)
                scene.action_labels = keymap.labels if keymap else None
            view.show(event.env)
            self._thinking(event.env)
            self._next_time = time.perf_counter()
            view.poll()  # a close here is acted on at the first move (the loop's guard)
            view.draw()
        elif isinstance(event, MovePlayed):
            self._moved(event)
        elif isinstance(event, MatchEnded):
            self._ended(event.result)

    def _seat_to_play(self, env: Any) -> int | None:
        try:
            return list(env.possible_agents).index(env.agent_selection)
        except (AttributeError, ValueError):
            return None

    def _thinking(self, env: Any) -> None:
        scene = self.view.scene
        seat = self._seat_to_play(env)
        scene.to_play = seat
        if seat is not None and seat not in scene.humans and len(scene.names) > 1:
            scene.status, scene.status_colour = f"{scene.names[seat]} is thinking…", theme.MUTED

    def _moved(self, event: MovePlayed) -> None:
        view, scene = self.view, self.view.scene
        move, insight = event.move, event.insight
        if move.ply < len(self.replay) and self.replay[move.ply][0].action == move.action:
            before, insight = self.replay[move.ply]
            move.think_s = before.think_s
        self.moves.append(move)
        self.insights.append(insight)
        scene.ply = len(self.moves)
        replaying = len(self.moves) < self.fast_forward
        if insight is not None:
            scene.insight, scene.insight_by, scene.insight_ply = insight, move.player, move.ply
        elif move.player not in scene.humans:
            scene.insight = scene.insight_by = scene.insight_ply = None
        single = len(scene.names) == 1
        if single:
            scene.episode_return = float(getattr(event.env, "episode_return", 0.0) or 0.0)
        else:
            who = scene.names[move.player] if move.player < len(scene.names) else "?"
            took = f", {move.think_s:.2f} s" if move.player not in scene.humans else ""
            if _is_pass(event.env, move.action):
                seat = (scene.seat_names[move.player] if move.player < len(scene.seat_names)
                        else who)
                scene.last = f"Move {move.ply + 1}: {seat} passes ({who}{took})"
                scene.last_colour = theme.ACCENT
            else:
                scene.last = f"Move {move.ply + 1}: {who} played {move.label}"
                if took:
                    scene.last += f" ({took[2:]})"
                scene.last_colour = theme.MUTED
        scene.status = ""
        self._thinking(event.env)
        if replaying:
            view.refresh()
            view.poll()
            view.check_open()
            return
        view.refresh()
        view.draw()
        view.poll()  # clicks made while it was not a person's turn are dropped here
        view.check_open()
        speed = max(scene.speed, 1e-6)
        if single:
            if move.player not in scene.humans:  # a person paces their own game
                self._next_time = max(self._next_time + 1.0 / (view.step_hz * speed),
                                      time.perf_counter() - 0.25)
                view.wait_until(self._next_time)
        elif move.player in scene.humans:
            if scene.to_play is not None and scene.to_play not in scene.humans:
                view.wait(REPLY_PAUSE_S / speed)
        elif scene.mode == "watch" and scene.to_play is not None:
            view.wait(self.move_delay / speed)

    def _ended(self, result: MatchResult) -> None:
        view, scene = self.view, self.view.scene
        self.last_result = result
        scene.to_play = None
        scene.status = ""
        scene.result = describe(result, scene.names, scene.seat_names, view.env)
        if result.status != "abandoned":
            if len(scene.names) == 1:
                scene.returns.append(result.returns[0])
            else:
                for seat, name in enumerate(scene.names):
                    tally = scene.tally.setdefault(name, [0, 0, 0])
                    outcome = result.outcomes[seat]
                    if outcome in ("win", "draw", "loss"):
                        tally[("win", "draw", "loss").index(outcome)] += 1
        view.refresh()
        view.poll()
        view.draw()


def _is_pass(env: Any, action: Any) -> bool:
    """Whether `action` is the game's pass move (Go's); False for games without one."""
    state = getattr(getattr(env, "unwrapped", env), "state", None)
    pass_action = getattr(state, "pass_action", None)
    return pass_action is not None and action == pass_action


class _Scripted(Agent):
    """An agent that first plays the given moves (a game replayed after an undo), then itself."""

    def __init__(self, inner: Agent, script: Sequence[int]):
        self.inner = inner
        self.name = inner.name
        self.timed = inner.timed
        self.needs_state = inner.needs_state
        self._script = list(script)
        self._queue: deque[int] = deque()
        self._forced = False

    def start(self, ctx: MatchContext) -> None:
        self.ctx = ctx
        self._queue = deque(self._script)
        self._forced = False
        self.inner.start(ctx)

    def act(self, observation: Any, action_mask: Any) -> Any:
        if self._queue:
            self._forced = True
            return self._queue.popleft()
        self._forced = False
        return self.inner.act(observation, action_mask)

    def observe(self, player: int, action: Any) -> None:
        self.inner.observe(player, action)

    def explain(self) -> Any:
        return None if self._forced else self.inner.explain()

    def close(self) -> None:
        self.inner.close()


@contextmanager
def _pygame_kept() -> Iterator[None]:
    """While inside, pygame.quit() and pygame.display.quit() do nothing.

    gymnasium's classic-control envs end their close() with pygame.quit(),
    which would destroy this window along with the env's off-screen surface.
    """
    import pygame

    saved = pygame.quit, pygame.display.quit
    pygame.quit = pygame.display.quit = lambda: None
    try:
        yield
    finally:
        pygame.quit, pygame.display.quit = saved


def _window_safe(game: Any) -> Any:
    """`game` with envs whose close() leaves pygame (and so the window) running."""

    def make_env(render_mode: str | None = None) -> Any:
        env = game.make_env(render_mode=render_mode)
        close = env.close

        def close_keeping_pygame() -> None:
            with _pygame_kept():
                close()

        env.close = close_keeping_pygame
        return env

    return dataclasses.replace(game, make_env=make_env)


def _settings(settings: Any) -> Any:
    if settings is not None:
        return settings
    from arena.config import load_settings

    return load_settings()


def _observers(store: Any, game: Any, settings: Any, window: WindowObserver,
               extra: Sequence[Observer]) -> list[Any]:
    """The store's writer first (the SGF writer names files by its id), then the window."""
    from tournaments.recording import recorders

    observers: list[Any] = recorders(store, game, settings.data_dir)
    observers.append(window)
    observers.extend(extra)
    return observers


def _build(ref: str, settings: Any, view: WindowView | None) -> Agent | None:
    """The agent `ref` names, with the settings' roster and build limit; "human" is a
    person at the window (None until the view exists)."""
    from agents.registry import make_agent

    if ref.strip() == "human":
        return WindowHuman(view, allow_undo=True) if view is not None else None
    return make_agent(ref, settings.roster_refs(), build_limit=settings.build_limit)


def _interrupted() -> int:
    print("arena: interrupted; finished games are stored", file=sys.stderr)
    return EXIT_INTERRUPTED


def watch(game_id: str, agent_refs: list[str], speed: float = 1.0, games: int = 1, *,
          seed: int = 0, settings: Any = None, view: WindowView | None = None,
          observers: Sequence[Observer] = ()) -> int:
    """Watch agents play `games` games of `game_id` in a window; the exit code.

    Colours alternate game by game and game i uses seed + i, as in `arena
    match`; every game is stored. speed scales the pace (1: a board move per
    0.8 s, single-player games in real time). After the last game the window
    stays open until closed. Closing it (or Esc) mid-game stores that game as
    abandoned and returns 0; Ctrl-C returns 130. Raises UserError for a bad
    game, agent, count or speed before any window opens. `view` (a ready
    WindowView, e.g. on an off-screen Surface) and extra `observers` are for
    tests and other front ends.
    """
    from tournaments.store import Store
    from games.registry import resolve_game

    settings = _settings(settings)
    game = resolve_game(game_id)
    if games < 1:
        raise UserError(f"watch: games must be at least 1, got {games}")
    if not speed > 0:
        raise UserError(f"watch: speed must be above 0, got {speed:g}")
    if len(agent_refs) != game.players:
        raise UserError(f"game '{game.id}' is for {game.players} player(s); got "
                        f"{len(agent_refs)} agent(s): {' '.join(agent_refs)}")
    built = [_build(ref, settings, None) for ref in agent_refs]  # UserErrors before the window
    from agents.registry import check_game

    for agent in built:  # gnugo in tic-tac-toe, a go9 model in go19: refused up front
        if agent is not None:
            check_game(agent, game)
    store = Store(settings.store_path)
    try:
        view = view or WindowView(game, mode="watch", speed=speed)
    except BaseException:
        store.close()
        raise
    view.scene.mode, view.scene.speed, view.scene.games = "watch", speed, games
    agents = [a if a is not None else WindowHuman(view) for a in built]
    humans_by_entrant = {k for k, a in enumerate(agents) if isinstance(a, WindowHuman)}
    view.scene.hint = ("Space pause · +/− speed · H heat map · Esc quit"
                       if theme.has_glyphs("−") else "Space pause, +/- speed, H heat, Esc quit")
    window = WindowObserver(view)
    all_observers = _observers(store, game, settings, window, observers)
    n = len(agents)
    try:
        for i in range(games):
            order = [(k + i) % n for k in range(n)]
            seated = [0] * n
            for k, seat in enumerate(order):
                seated[seat] = k
            view.scene.game_no = i + 1
            view.scene.humans = {seat for seat, k in enumerate(seated) if k in humans_by_entrant}
            play_match(_window_safe(game), [agents[k] for k in seated],
                       names=[agent_refs[k] for k in seated],
                       seed=seed + i, time_per_move=settings.time_per_move,
                       max_moves=settings.max_moves, observers=all_observers,
                       render_mode=view.painter.render_mode)
            if i < games - 1:
                view.wait(GAME_PAUSE_S / max(view.scene.speed, 1e-6))
        view.scene.status = "Finished: Esc or close the window"
        view.scene.status_colour = theme.MUTED
        view.invalidate()
        view.wait_for_key(())
        return EXIT_OK
    except WindowClosed:
        return EXIT_OK
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        for agent in agents:
            agent.close()
        store.close()
        view.close()


def play(game_id: str, opponent_ref: str | None, human_first: bool = True, *,
         speed: float = 1.0, seed: int | None = None, settings: Any = None,
         view: WindowView | None = None, observers: Sequence[Observer] = ()) -> int:
    """Play `game_id` against `opponent_ref` in a window; the exit code.

    Board games by mouse (Go also: P pass; U undo; R twice resigns); for a
    single-player game pass opponent_ref "" or None and play by keyboard
    (speed scales its pace). opponent_ref "human" is a second person at the
    same window. After each game, N starts another (colours swap) and Esc or
    closing the window ends; every game is stored, one closed mid-game as
    abandoned (then 0 is returned; Ctrl-C returns 130). seed None takes one
    from the clock (it is stored with the game). Raises UserError for a bad
    game or opponent, or a game the window cannot take moves for, before any
    window opens.
    """
    from tournaments.store import Store
    from arena.window.painters import painter_for
    from games.registry import resolve_game

    settings = _settings(settings)
    game = resolve_game(game_id)
    single = game.players == 1
    if not speed > 0:
        raise UserError(f"play: speed must be above 0, got {speed:g}")
    if single and opponent_ref not in (None, "", "none"):
        raise UserError(f"game '{game.id}' is for one player: play it without an opponent "
                        f"(got '{opponent_ref}')")
    if not single and not opponent_ref:
        raise UserError(f"game '{game.id}' is for {game.players} players: name an opponent "
                        f"(an agent reference, or 'human')")
    if game.players > 2:
        raise UserError(f"game '{game.id}' is for {game.players} players; the window plays 1 or 2")
    painter = view.painter if view is not None else painter_for(game)
    if not single and not painter.clickable:
        raise UserError(f"the window cannot take moves for game '{game.id}'; "
                        "play it in the terminal front end")
    if single:
        probe = game.env()
        try:
            if keymap_for(probe) is None:
                raise UserError(f"game '{game.id}' has no discrete actions to play "
                                "from the keyboard")
        finally:
            probe.close()
    opponent = None if single else _build(str(opponent_ref), settings, None)
    if opponent is not None:
        from agents.registry import check_game

        check_game(opponent, game)  # refused before the window opens, not forfeited in it
    if seed is None:
        seed = int(time.time()) % (2**31)
    store = Store(settings.store_path)
    try:
        view = view or WindowView(game, mode="play", speed=speed, painter=painter)
    except BaseException:
        store.close()
        raise
    scene = view.scene
    scene.mode, scene.speed, scene.games = "play", speed, None
    human = WindowHuman(view, allow_undo=not single)
    others: list[Agent] = []
    if not single:
        others.append(opponent if opponent is not None else WindowHuman(view, allow_undo=True))
    if single:
        scene.hint = "Esc quit"
    else:
        keys = "P pass · " if game.is_go else ""
        scene.hint = f"Click to move · {keys}U undo · R R resign · H heat map · Esc quit"
    window = WindowObserver(view)
    all_observers = _observers(store, game, settings, window, observers)
    human_seat = 0 if human_first or single else 1
    try:
        i = 0
        while True:  # one game after another, until the person stops
            agents: list[Agent] = [human] if single else (
                [human, others[0]] if human_seat == 0 else [others[0], human])
            names = [a.name if isinstance(a, WindowHuman) else str(opponent_ref) for a in agents]
            scene.game_no = i + 1
            scene.humans = {s for s, a in enumerate(agents) if isinstance(a, WindowHuman)}
            prefix: list[Move] = []
            kept: list[tuple[Move, Any]] = []  # prefix as first played, with the insights
            while True:
                seated: list[Agent] = agents
                if prefix:
                    seated = [_Scripted(a, [m.action for m in prefix if m.player == s])
                              for s, a in enumerate(agents)]
                window.fast_forward = len(prefix)
                window.replay = kept
                try:
                    play_match(_window_safe(game), seated, names=names, seed=seed + i,
                               time_per_move=settings.time_per_move, max_moves=settings.max_moves,
                               observers=all_observers, render_mode=painter.render_mode)
                    break
                except UndoRequested:
                    played, insights = list(window.moves), list(window.insights)
                    last = max(j for j, m in enumerate(played) if m.player in scene.humans)
                    prefix = played[:last]
                    kept = list(zip(prefix, insights[:last], strict=True))
            scene.status, scene.status_colour = "N new game · Esc quit", theme.MUTED
            view.invalidate()
            if view.wait_for_key({"n"}) is None:
                return EXIT_OK
            if not single:
                human_seat = 1 - human_seat
            i += 1
    except WindowClosed:
        return EXIT_OK
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        human.close()
        for agent in others:
            agent.close()
        store.close()
        view.close()
