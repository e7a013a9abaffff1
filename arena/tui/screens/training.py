"""Training: start a preset training run, or follow one, with live curves.

A run started here is `arena train ALGO GAME --out RUNS_DIR/...` in its own
process session: it goes on when the app closes. The list holds every run
under the runs_dir of arena.toml, plus any run, or folder of runs, opened by
path (`o`; remembered in the data dir). A run is followed whoever started it:
its files and heartbeat are polled once a second, and `s` stops it with SIGINT
to the pid its heartbeat names (the run saves a checkpoint first).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    OptionList,
    ProgressBar,
    Select,
    Sparkline,
    Static,
)
from textual.widgets.option_list import Option

from arena.progress import format_eta
from arena.tui.runs import (
    RunStatus,
    gather_runs,
    is_run_dir,
    list_runs,
    live_state,
    load_opened,
    new_run_dir,
    read_run,
    remember_opened,
    start_training,
    stop_training,
    train_command,
)
from arena.tui.screens.base import BackScreen
from games.registry import builtin_games

ALGORITHMS = [("DQN", "dqn"), ("PPO", "ppo"), ("A2C", "a2c"), ("REINFORCE", "pg")]
#: The curves drawn, by widget id: episode returns, evaluations, and the loss (from TensorBoard).
CURVES = [("returns", "Episode return"), ("evals", "Evaluation: mean return"), ("losses", "Loss")]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class TrainingScreen(BackScreen):
    """New runs on the left, the followed run's progress and curves on the right."""

    BINDINGS = [
        Binding("s", "stop", "Stop run (saves)"),
        Binding("o", "open", "Open a run by path"),
        Binding("f5", "poll", "Refresh"),
    ]

    def __init__(self, follow: Path | None = None, poll_s: float = 1.0):
        super().__init__()
        self.follow = Path(follow) if follow is not None else None
        self.poll_s = poll_s
        self.processes: dict[Path, subprocess.Popen] = {}  # runs started from this screen
        self.status: RunStatus | None = None
        self.opened: list[Path] = []  # runs and folders of runs opened by path
        self.listed: list[tuple[str, bool]] = []  # what the run list shows: (path, running)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="setup", classes="sidebar"):
                yield Static("[b]New run[/b] (a preset)", classes="heading")
                yield Label("Algorithm")
                yield Select(ALGORITHMS, allow_blank=False, value="dqn", id="algo")
                yield Label("Game")
                games = [(g.title, g.id) for g in builtin_games() if g.make_gym is not None]
                yield Select(games, allow_blank=False, value=games[0][1], id="train-game")
                yield Label("Steps (blank: preset)")
                yield Input(type="integer", placeholder="e.g. 20000", id="steps")
                yield Button("Start training", variant="primary", id="start")
                yield Static("[b]Runs[/b] (pick one to follow)", classes="heading")
                yield Input(placeholder="open a path (o)", id="open-path")
                yield OptionList(id="runs")
            with Vertical(id="run"):
                yield Static("No run followed: start one, or pick one on the left.", id="run-title")
                yield ProgressBar(total=100, show_eta=False, id="progress")
                yield Static(id="run-stats")
                for key, title in CURVES:
                    yield Label(title, classes="curve-label", id=f"{key}-label")
                    yield Sparkline([], summary_function=_mean, id=key)
                yield Static(id="checkpoints")
                yield Static(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Training"
        self.query_one("#algo", Select).focus()
        for sparkline in self.query(Sparkline):
            sparkline.display = False  # until a run with data is followed
        self.opened = load_opened(self.app.settings.data_dir)
        self.reload_runs()
        if self.follow is not None:
            self.poll()
        self.set_interval(self.poll_s, self.poll)

    # -- runs ------------------------------------------------------------------
    def run_paths(self) -> list[Path]:
        """The runs listed: under runs_dir (arena.toml) and the opened paths, newest first."""
        return gather_runs(self.app.runs_dir, self.opened)

    def reload_runs(self, force: bool = True) -> None:
        """List the runs, a dot before those training now; only on a change unless `force`."""
        paths = self.run_paths()
        listed = [(str(path), live_state(path)[0] == "running") for path in paths]
        if not force and listed == self.listed:
            return
        self.listed = listed
        runs = self.query_one("#runs", OptionList)
        highlighted = runs.highlighted
        keep = runs.get_option_at_index(highlighted).id if highlighted is not None else None
        runs.clear_options()
        home = self.app.runs_dir.expanduser().resolve()
        for path, (_, running) in zip(paths, listed, strict=True):
            label = Text("● " if running else "  ", style="bold green" if running else "")
            label.append(path.name)
            if path.parent.resolve() != home:
                label.append(f"\n  in {path.parent}", style="dim")
            runs.add_option(Option(label, id=str(path)))
        if not paths:
            runs.add_option(Option(Text(f"no runs yet in {self.app.runs_dir}", style="dim"),
                                   id="", disabled=True))
        ids = [str(path) for path in paths]
        if keep in ids:
            runs.highlighted = ids.index(keep)

    def action_open(self) -> None:
        """Focus the path input: Enter opens a run directory, or a folder of runs."""
        self.query_one("#open-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "open-path":
            self.open_path(event.value)

    def open_path(self, text: str) -> Path | None:
        """Open a run (follow it) or a folder of runs (list them); remembered in the data dir."""
        text = text.strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_dir():
            self.notify(f"'{text}' is not a directory", severity="error", timeout=4)
            return None
        if not is_run_dir(path) and not list_runs(path):
            self.notify(f"no runs in '{text}' (a run directory holds run.json)",
                        severity="warning", timeout=4)
            return None
        self.opened = remember_opened(self.app.settings.data_dir, path)
        self.query_one("#open-path", Input).value = ""
        if is_run_dir(path):
            self.follow = path.resolve()
        else:
            self.notify(f"{len(list_runs(path))} run(s) in {path}", timeout=3)
        self.reload_runs()
        self.poll()
        return path

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.follow = Path(event.option.id)
            self.poll()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.start_run()

    def start_run(self) -> Path:
        """Start `arena train` on the chosen preset in a new run directory; follow it."""
        algo = str(self.query_one("#algo", Select).value)
        game = str(self.query_one("#train-game", Select).value)
        steps_text = self.query_one("#steps", Input).value.strip()
        steps = int(steps_text) if steps_text else None
        run_dir = new_run_dir(self.app.runs_dir, algo, game)
        process = start_training(train_command(algo, game, run_dir, steps), run_dir)
        self.processes[run_dir] = process
        self.follow = run_dir
        self.notify(f"training {algo} on {game} in {run_dir}", timeout=3)
        self.reload_runs()
        self.poll()
        return run_dir

    def action_stop(self) -> None:
        """SIGINT to the followed run: it saves a checkpoint and exits."""
        if self.follow is None:
            return
        if stop_training(self.follow):
            self.notify("stopping: the run saves a checkpoint, then exits", timeout=3)
            return
        status = read_run(self.follow)
        if status.running and status.host:
            message = f"this run trains on {status.host}: stop it there"
        else:
            message = f"this run is not running ({status.state})"
        self.notify(message, severity="warning", timeout=3)

    def action_poll(self) -> None:
        self.reload_runs()
        self.poll()

    # -- the followed run ----------------------------------------------------------
    def poll(self) -> None:
        """Read the followed run again and redraw its progress, curves and checkpoints."""
        for process in self.processes.values():
            process.poll()  # reap finished runs, so their pid no longer counts as running
        self.reload_runs(force=False)  # runs started elsewhere appear, and their dots change
        if self.follow is None:
            return
        status = read_run(self.follow)
        self.status = status
        self.show(status)

    def show(self, status: RunStatus) -> None:
        title = Text()
        title.append(f"{status.algo} on {status.game}", style="bold")
        title.append(f"  {status.path.name}  ", style="dim")
        title.append(status.state.upper(), style="bold reverse" if status.running else "bold")
        self.query_one("#run-title", Static).update(title)
        progress = self.query_one("#progress", ProgressBar)
        progress.update(total=status.total_steps or max(status.step, 1), progress=status.step)
        stats = [f"step {status.step:,}" + (f" / {status.total_steps:,}" if status.total_steps else ""),
                 f"{status.episodes} episodes"]
        if status.returns:
            recent = status.returns[-20:]
            stats.append(f"return (last {len(recent)}) {_mean(recent):.1f}")
        if status.best_eval is not None:
            stats.append(f"best eval {status.best_eval:.1f}")
        if status.steps_per_s:
            stats.append(f"{status.steps_per_s:,.0f} steps/s")
        if status.eta_s is not None:
            stats.append(f"ETA {format_eta(status.eta_s)}")
        self.query_one("#run-stats", Static).update(" · ".join(stats))
        curves = {"returns": status.returns, "evals": [m for _, m, _ in status.evals],
                  "losses": status.losses}
        for key, title in CURVES:
            values = curves[key]
            label = Text(title)
            if values:
                label.append(f"   last {values[-1]:.4g} · min {min(values):.4g} · "
                             f"max {max(values):.4g} · {len(values)} points", style="dim")
            else:
                label.append("   none yet", style="dim")
            self.query_one(f"#{key}-label", Label).update(label)
            sparkline = self.query_one(f"#{key}", Sparkline)
            sparkline.display = bool(values)
            sparkline.data = values
        lines = Text("Checkpoints: ", style="bold")
        if not status.checkpoints:
            lines.append("none yet", style="dim")
        for cp in status.checkpoints:
            evaluation = f", eval {cp.eval_mean:.1f}" if cp.eval_mean is not None else ""
            lines.append(f"{cp.name}/ ({cp.steps if cp.steps is not None else '?'} steps{evaluation})  ")
        self.query_one("#checkpoints", Static).update(lines)
        self.query_one("#log", Static).update(Text("\n".join(status.log_tail), style="dim"))
