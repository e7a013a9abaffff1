"""The Training screen follows runs trained anywhere: the runs_dir of arena.toml, paths opened
on the screen, and a live heartbeat from any process (here `arena train` started outside the app).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ARENA
from tournament_support import plain, wait_for

from arena.config import load_settings
from arena.heartbeat import HEARTBEAT_NAME, heartbeat_state, process_start, read_heartbeat
from arena.tui.app import ArenaApp
from arena.tui.runs import read_run
from arena.tui.screens.training import TrainingScreen

SIZE = (120, 40)




@pytest.fixture
def runs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """arena.toml naming a runs_dir that is not ./runs of the test's working directory."""
    path = tmp_path / "conf" / "arena.toml"
    path.parent.mkdir()
    path.write_text('data_dir = "data"\nruns_dir = "../elsewhere/runs"\n')
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    return path


def write_run(path: Path, total: int = 10000) -> Path:
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"algo": "ppo", "game": "cartpole", "seed": 0,
                                               "total_steps": total, "eval_every": 1000}))
    (path / "episodes.csv").write_text("step,return,length,seconds\n20,20,20,0.10\n")
    return path


def option_ids(screen: TrainingScreen) -> list[str]:
    runs = screen.query_one("#runs")
    return [runs.get_option_at_index(i).id for i in range(runs.option_count)]


def first_label(screen: TrainingScreen) -> str:
    return str(screen.query_one("#runs").get_option_at_index(0).prompt)


def test_runs_dir_is_read_from_arena_toml_relative_to_it(runs_config, tmp_path):
    settings = load_settings()
    assert settings.runs_dir == tmp_path / "conf" / "../elsewhere/runs"
    assert ArenaApp(settings).runs_dir == settings.runs_dir


def test_a_runs_dir_that_is_a_file_is_refused(tmp_path):
    from games.errors import UserError

    (tmp_path / "runs").write_text("")
    path = tmp_path / "arena.toml"
    path.write_text('runs_dir = "runs"\n')
    with pytest.raises(UserError, match="field 'runs_dir'.*is not a directory"):
        load_settings(path)
    path.write_text("runs_dir = 3\n")
    with pytest.raises(UserError, match="runs_dir"):
        load_settings(path)


def test_a_heartbeat_whose_process_is_gone_reads_as_crashed(tmp_path):
    run = write_run(tmp_path / "run")
    process = subprocess.Popen(["sleep", "30"])
    try:
        beat = {"pid": process.pid, "pid_start": process_start(process.pid),
                "host": socket.gethostname(), "state": "running", "updated_at": time.time(),
                "step": 500, "total_steps": 10000, "steps_per_s": 250.0, "eta_s": 38.0}
        (run / HEARTBEAT_NAME).write_text(json.dumps(beat))
        status = read_run(run)
        assert status.state == "running" and status.pid == process.pid
        assert status.steps_per_s == 250.0 and status.step == 500
        beat["pid_start"] = "1"  # the pid now belongs to another process
        (run / HEARTBEAT_NAME).write_text(json.dumps(beat))
        assert read_run(run).state == "crashed" and read_run(run).pid is None
    finally:
        process.kill()
        process.wait()
    assert heartbeat_state(beat) == "crashed"


def test_opening_a_path_lists_its_runs_and_remembers_it(runs_config, tmp_path):
    outside = write_run(tmp_path / "somewhere" / "ppo-run")

    async def scenario():
        app = ArenaApp(load_settings(), models_dir=tmp_path / "none")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            assert isinstance(screen, TrainingScreen)
            assert option_ids(screen) == [""]  # "no runs yet"
            await pilot.press("o")
            assert app.focused is screen.query_one("#open-path")
            await pilot.press(*str(tmp_path / "nowhere"), "enter")
            assert option_ids(screen) == [""]
            screen.query_one("#open-path").value = str(tmp_path / "somewhere")
            await pilot.press("enter")
            assert option_ids(screen) == [str(outside.resolve())]

    asyncio.run(scenario())
    stored = json.loads((load_settings().data_dir / "opened_runs.json").read_text())
    assert stored == {"paths": [str((tmp_path / "somewhere").resolve())]}

    async def again():  # a later session lists it too
        app = ArenaApp(load_settings(), models_dir=tmp_path / "none")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            assert option_ids(app.screen) == [str(outside.resolve())]

    asyncio.run(again())


def test_a_run_trained_in_a_terminal_shows_running_and_s_stops_it(runs_config, tmp_path):
    """`arena train` started outside the app, elsewhere; its default run dir is arena.toml's
    runs_dir. The screen lists it as running with steps/s and ETA, `s` stops it, and the run
    saves its checkpoint first."""
    workdir = tmp_path / "terminal"
    workdir.mkdir()
    log = (tmp_path / "train.out").open("w")
    trainer = subprocess.Popen([*ARENA, "train", "pg", "cartpole", "--steps", "5000000"],
                               cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=dict(os.environ))
    runs_dir = load_settings().runs_dir

    async def scenario():
        app = ArenaApp(load_settings(), models_dir=tmp_path / "none")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            # The run appears in the list by itself (the screen polls), with its dot.
            await wait_for(pilot, lambda: option_ids(screen) != [""], timeout=120)
            [run_id] = option_ids(screen)
            run = Path(run_id)
            assert run.parent.resolve() == runs_dir.resolve()
            await pilot.click("#runs", offset=(3, 1))
            await wait_for(pilot, lambda: screen.status is not None)
            await wait_for(pilot, lambda: screen.status.running and screen.status.steps_per_s,
                           timeout=120)
            assert screen.status.pid == trainer.pid
            await wait_for(pilot, lambda: "●" in first_label(screen))
            title = plain(screen.query_one("#run-title"))
            stats = plain(screen.query_one("#run-stats"))
            assert "RUNNING" in title
            assert "steps/s" in stats and "ETA" in stats, stats
            await pilot.press("s")
            await wait_for(pilot, lambda: trainer.poll() is not None, timeout=120)
            assert trainer.returncode == 0
            await pilot.press("f5")
            assert screen.status.state == "stopped" and not screen.status.running
            assert "STOPPED" in plain(screen.query_one("#run-title"))
            assert "●" not in first_label(screen)
            return run

    try:
        run = asyncio.run(scenario())
    finally:
        if trainer.poll() is None:
            trainer.send_signal(signal.SIGKILL)
            trainer.wait()
        log.close()
    assert (run / "last" / "meta.json").is_file()
    beat = read_heartbeat(run)
    assert beat["state"] == "stopped" and beat["pid"] == trainer.pid
    assert beat["step"] == json.loads((run / "last" / "meta.json").read_text())["steps"]
    output = (tmp_path / "train.out").read_text()
    assert "stopping: saving a checkpoint" in output and "Traceback" not in output
