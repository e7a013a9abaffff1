"""A Ray cluster with token authentication (Ray 2.52+): the error names Ray's settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest
from conftest import ARENA, ROOT
from tournament_support import write_spec

from games.errors import UserError
from tournaments.backends import ray_init_error

ray = pytest.importorskip("ray")

ADDRESS = "10.0.0.7:6379"
# What ray.init(address=...) raised against a token cluster without the token (Ray 2.60):
# a ConnectionError whose cause carries the GCS client's AuthenticationError.
GCS_TEXT = (
    "Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
    '  File ".../ray/_private/node.py", line 996, in _init_gcs_client\n'
    "    client = GcsClient(\n"
    "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is "
    "missing or incorrect. Note: RAY_AUTH_MODE is currently 'disabled' (not 'token'). Ensure "
    "that the token for the cluster is available in a local file (e.g., ~/.ray/auth_token or "
    "via RAY_AUTH_TOKEN_PATH) or as the `RAY_AUTH_TOKEN` environment variable.\n"
)


def _as_ray_raises() -> ConnectionError:
    try:
        try:
            raise RuntimeError(GCS_TEXT)
        except RuntimeError as cause:
            raise ConnectionError(f"Failed to connect to Ray cluster at {ADDRESS}") from cause
    except ConnectionError as exc:
        return exc


def _names_the_settings(message: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"--address: the Ray cluster at '{ADDRESS}' requires token "
                              "authentication")
    assert "RAY_AUTH_MODE=token" in message and "RAY_AUTH_TOKEN" in message
    assert "RAY_AUTH_TOKEN_PATH" in message


def test_an_auth_failure_names_ray_auth_mode_and_the_token_variable():
    error = ray_init_error(_as_ray_raises(), ADDRESS)
    assert isinstance(error, UserError)
    _names_the_settings(str(error))


def test_ray_own_authentication_error_is_translated_too():
    error = ray_init_error(ray.exceptions.AuthenticationError(
        "RPC error: InvalidAuthToken: Authentication token is missing or incorrect"), ADDRESS)
    _names_the_settings(str(error))


def test_other_failures_still_say_cannot_reach():
    plain = ConnectionError(f"Failed to connect to Ray cluster at {ADDRESS}")
    assert str(ray_init_error(plain, ADDRESS)) == (
        f"--address: cannot reach a Ray cluster at '{ADDRESS}': Failed to connect to Ray cluster "
        f"at {ADDRESS}")
    assert "locally" in str(ray_init_error(RuntimeError("no CPUs"), None))


SERVER = """
import sys, time, ray
ctx = ray.init(num_cpus=1, include_dashboard=False)
print(ctx.address_info["gcs_address"], flush=True)
sys.stdin.read()  # until the test closes stdin
ray.shutdown()
"""


@pytest.mark.slow
def test_a_token_cluster_is_refused_with_the_settings_and_then_plays_with_them(tmp_path, config):
    """A real local cluster with RAY_AUTH_MODE=token: without the token, exit 2 naming the
    settings; with them, the same command plays the tournament there."""
    token = secrets.token_hex(32)
    home = tmp_path / "home"  # no ~/.ray/auth_token to find by accident
    home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    base["HOME"] = str(home)
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**base, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    try:
        address = server.stdout.readline().strip()
        assert address, "the token cluster did not start"
        spec = write_spec(tmp_path, name="on-token-ray", game="tictactoe", games_per_pairing=1,
                          participants=["random", "greedy"])
        args = [*ARENA, "tournament", "run", str(spec), "--backend", "ray", "--address", address]
        started = time.monotonic()
        refused = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT,
                                 env=base)
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr
        last = refused.stderr.strip().splitlines()[-1]  # Ray's own C++ warnings come first
        assert last.startswith(f"arena: --address: the Ray cluster at '{address}' requires token")
        assert "RAY_AUTH_MODE=token" in last and "RAY_AUTH_TOKEN" in last
        assert time.monotonic() - started < 200
        played = subprocess.run(args + ["--json"], capture_output=True, text=True, timeout=300,
                                cwd=ROOT, env={**base, "RAY_AUTH_MODE": "token",
                                               "RAY_AUTH_TOKEN": token})
        assert played.returncode == 0, played.stderr[-2000:]
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
