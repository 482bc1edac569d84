"""Rate limits hold: across several worker processes on one database, and a short-window
call never resets a long window (issue 12 finding 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.community.conftest import PASSWORD, make_env
from tests.conftest import AppFactory, _free_port


def test_short_windows_never_prune_long_ones(make_app: AppFactory) -> None:
    """The old limiter pruned with the window of whichever call came 1000th: after 62 s
    and 1,100 login hits, the sign-up limit (one hour) was forgotten."""
    env = make_env(make_app)
    limiter = env.app.state.rate_limiter
    t = time.time()
    for _ in range(2):
        assert limiter.hit("signup:ip:203.0.113.9", 2, 3600, now=t) is None
    assert limiter.hit("signup:ip:203.0.113.9", 2, 3600, now=t) is not None
    for n in range(1100):
        limiter.hit(f"login:ip:198.51.100.{n % 7}", 10, 60, now=t + 62)
    if hasattr(limiter, "prune"):
        limiter.prune(t + 62)
    wait = limiter.hit("signup:ip:203.0.113.9", 2, 3600, now=t + 62)
    assert wait is not None and wait > 1000  # the hour still counts (at least ~30 min left)
    # and it does end: the next hour's window lets one in once the first has slid out
    assert limiter.hit("signup:ip:203.0.113.9", 2, 3600, now=t + 2 * 3600 + 1) is None


def test_the_sliding_estimate_has_no_double_burst_at_a_window_edge(make_app: AppFactory) -> None:
    limiter = make_env(make_app).app.state.rate_limiter
    edge = (int(time.time()) // 60 + 1) * 60  # a window boundary
    assert all(limiter.hit("vote:user:1", 3, 60, now=edge - 1) is None for _ in range(3))
    # just after the edge the previous window still counts almost fully
    wait = limiter.hit("vote:user:1", 3, 60, now=edge + 1)
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("vote:user:1", 3, 60, now=edge + 1 + wait) is None


def _serve(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "paperwire.cli", "serve", "--home", str(home)]
    return subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


@pytest.mark.slow
def test_limits_hold_across_three_worker_processes(tmp_path: Path) -> None:
    """Three `paperwire serve` processes on one SQLite database, hammered at once: the
    per-IP sign-up limit (5/hour) and login limit (8/minute) hold in total, not per
    process (the old in-memory limiter let each worker count alone: up to 3x)."""
    env = {
        **os.environ,
        "PAPERWIRE_SEMANTIC": "false",
        "PAPERWIRE_RATE_SIGNUP_PER_HOUR": "5",
        "PAPERWIRE_RATE_LOGIN_PER_MINUTE": "8",
        "PAPERWIRE_ARGON2_TIME_COST": "1",
        "PAPERWIRE_ARGON2_MEMORY_KIB": "1024",
        "PAPERWIRE_ARGON2_PARALLELISM": "1",
    }
    home = tmp_path / "home"
    ports = [_free_port() for _ in range(3)]
    procs = [_serve(home, ports[0], env)]
    try:
        _wait_ready(ports[0], procs[0])  # the first one migrates the database
        procs += [_serve(home, port, env) for port in ports[1:]]
        for port, proc in zip(ports[1:], procs[1:], strict=True):
            _wait_ready(port, proc)

        def signup(n: int) -> int:
            body = {"email": f"u{n}@example.org", "display_name": f"User{n}", "password": PASSWORD}
            url = f"http://127.0.0.1:{ports[n % 3]}/api/auth/signup"
            return httpx.post(url, json=body, timeout=30).status_code

        def login(n: int) -> int:
            body = {"email": f"u{n}@example.org", "password": "wrong password"}
            url = f"http://127.0.0.1:{ports[n % 3]}/api/auth/login"
            return httpx.post(url, json=body, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=9) as pool:
            signups = Counter(pool.map(signup, range(30)))
            logins = Counter(pool.map(login, range(30)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
    assert signups == {201: 5, 429: 25}, signups
    assert logins == {401: 8, 429: 22}, logins
