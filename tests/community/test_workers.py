"""``paperwire serve --workers 2``: two processes share sessions, CSRF tokens, votes
and the data version, so a vote made through one worker shows on every worker's pages
and a token issued by one is good at the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from paperwire.services.community import community_of
from tests.community.conftest import FAST, HOT, PASSWORD, make_env
from tests.conftest import AppFactory, _free_port, backend_env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[tuple[str, Path]]:
    with _serving(make_app, workers=2) as found:
        yield found


@contextmanager
def _serving(make_app: AppFactory, workers: int, **settings: str) -> Iterator[tuple[str, Path]]:
    """``paperwire serve --workers N`` over a fresh community install: its base URL and
    log file, once it answers."""
    env = make_env(make_app)
    comm = community_of(env.pw)
    comm.users.create("worker@example.org", "Worker Tester", comm.hash_password(PASSWORD))
    port = _free_port()
    child_env = {
        **os.environ,
        **backend_env(env.pw.settings),
        **{f"PAPERWIRE_{k.upper()}": str(v) for k, v in FAST.items()},
        "PAPERWIRE_HOME": str(env.pw.settings.home),
        "HF_HUB_OFFLINE": "1",
        **{f"PAPERWIRE_{k.upper()}": v for k, v in settings.items()},
    }
    child_env.pop("PAPERWIRE_SECRET_KEY", None)  # serve generates one; workers share it
    log = env.pw.settings.home / "serve.log"
    cmd = [sys.executable, "-m", "paperwire", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=child_env, cwd=REPO, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_two_workers_share_sessions_tokens_and_the_data_version(
    served: tuple[str, Path],
) -> None:
    base, log = served
    login = httpx.post(
        base + "/api/auth/login", json={"email": "worker@example.org", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    cookie = login.cookies["pw_session"]
    token = login.json()["csrf_token"]
    etag = httpx.get(base + "/").headers["etag"]
    # A fresh connection per request: the kernel hands them to either worker.
    for i in range(12):
        method = "POST" if i % 2 == 0 else "DELETE"
        r = httpx.request(
            method,
            f"{base}/api/papers/{HOT}/vote",
            headers={"X-CSRF-Token": token},
            cookies={"pw_session": cookie},
        )
        assert r.status_code == 200, (i, r.text)
    final = httpx.post(
        f"{base}/api/papers/{HOT}/vote",
        headers={"X-CSRF-Token": token},
        cookies={"pw_session": cookie},
    )
    assert final.status_code == 200
    for _ in range(8):  # every worker now shows the vote, none serves the old page
        r = httpx.get(base + "/", headers={"If-None-Match": etag})
        assert r.status_code == 200
        assert r.headers["etag"] != etag
        papers = {
            p["arxiv_id"]: p["upvotes"] for p in httpx.get(base + "/api/daily").json()["papers"]
        }
        assert papers[HOT] == 11
    text = log.read_text()
    assert "2 workers" in text or "Started parent process" in text
    assert '"GET / HTTP/1.1" 200' in text  # the access log is on by default


def test_the_access_log_can_be_turned_off(make_app: AppFactory) -> None:
    with _serving(make_app, workers=1, access_log="false") as (base, log):
        assert httpx.get(base + "/").status_code == 200
        assert httpx.get(base + "/api/daily").status_code == 200
        text = log.read_text()
    assert "Uvicorn running" in text or "Application startup complete" in text, text
    assert "GET /" not in text, text
