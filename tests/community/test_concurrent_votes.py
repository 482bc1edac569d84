"""Exact counts under concurrency: 50 users voting on one paper at the same moment,
against a real uvicorn server on loopback and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from paperwire.core import Paperwire
from paperwire.web.auth import csrf_for_session
from tests.community.conftest import HOT, LiveServer, make_env
from tests.conftest import AppFactory

USERS = 50


def _all_at_once(clients: list[httpx.Client], action: Callable[[httpx.Client], int]) -> list[int]:
    barrier = threading.Barrier(len(clients))
    codes: list[int] = [0] * len(clients)

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = action(clients[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return codes


def session_clients(pw: Paperwire, base_url: str, tokens: list[str]) -> list[httpx.Client]:
    """One API client per session token (cookie and CSRF header set)."""
    return [
        httpx.Client(
            base_url=base_url,
            cookies={"pw_session": token},
            headers={"X-CSRF-Token": csrf_for_session(pw, token)},
            timeout=60,
        )
        for token in tokens
    ]


def test_fifty_concurrent_voters_count_exactly(make_app: AppFactory, database_url: str) -> None:
    env = make_env(make_app, database_url=database_url)
    comm = env.comm
    password_hash = comm.hash_password("concurrency!")  # one hash, reused: speed only
    tokens = []
    for i in range(USERS):
        account = comm.users.create(f"u{i}@example.org", f"User {i}", password_hash)
        tokens.append(comm.start_session(account))
    with LiveServer(env.app) as server:
        clients = session_clients(env.pw, server.url, tokens)
        try:
            url = f"/api/papers/{HOT}/vote"
            codes = _all_at_once(clients, lambda c: c.post(url).status_code)
            assert codes == [200] * USERS
            assert comm.votes.counts(HOT) == (USERS, USERS)
            # everyone votes again at once: nothing changes
            codes = _all_at_once(clients, lambda c: c.post(url).status_code)
            assert codes == [200] * USERS
            state = clients[0].get(f"/api/votes/{HOT}").json()
            assert (state["local_upvotes"], state["source_upvotes"]) == (USERS, 10)
            assert state["upvotes"] == 10 + USERS
            # and everyone takes it back at once
            codes = _all_at_once(clients, lambda c: c.delete(url).status_code)
            assert codes == [200] * USERS
            assert comm.votes.counts(HOT) == (0, 0)
            assert clients[0].get(f"/api/papers/{HOT}").json()["upvotes"] == 10
        finally:
            for c in clients:
                c.close()
