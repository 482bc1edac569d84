"""Exact comment counts under concurrency, against a real uvicorn server and a real
database (SQLite and PostgreSQL): 20 people comment and upvote one comment at the same
moment, then delete while a moderator hides one of them; ``papers.local_comments`` and
``comments.upvotes`` always match the rows."""

from __future__ import annotations

import httpx

from paperwire.store.comments import CommentStore
from tests.community.conftest import HOT, LiveServer, make_env
from tests.community.test_concurrent_votes import _all_at_once, session_clients
from tests.conftest import AppFactory

USERS = 20


def test_concurrent_comments_count_exactly(make_app: AppFactory, database_url: str) -> None:
    env = make_env(make_app, database_url=database_url, rate_comments_per_hour=100)
    comm = env.comm
    password_hash = comm.hash_password("concurrency!")
    accounts = [
        comm.users.create(f"u{i}@example.org", f"User {i}", password_hash) for i in range(USERS)
    ]
    admin = comm.users.create("root@example.org", "Root", password_hash, is_admin=True)
    tokens = [comm.start_session(a) for a in accounts]
    store = CommentStore(env.pw.db)
    with LiveServer(env.app) as server:
        clients = session_clients(env.pw, server.url, tokens)
        try:
            url = f"/api/papers/{HOT}/comments"
            codes = _all_at_once(clients, lambda c: c.post(url, json={"body": "hi"}).status_code)
            assert codes == [201] * USERS
            assert store.counts_agree(HOT) == (USERS, USERS)
            first = clients[0].get(url).json()["comments"][0]["id"]
            vote = f"/api/comments/{first}/vote"
            codes = _all_at_once(clients, lambda c: c.post(vote).status_code)
            assert codes == [200] * USERS
            upvotes = {c["id"]: c["upvotes"] for c in clients[0].get(url).json()["comments"]}
            assert upvotes[first] == USERS

            # each deletes their comment while the moderator hides user 0's comments
            mine = {c["author"]["handle"]: c["id"] for c in clients[0].get(url).json()["comments"]}
            ids = [mine[a.handle] for a in accounts]

            def delete_or_hide(client: httpx.Client) -> int:
                i = clients.index(client)
                if i == 0:  # the moderator, at the same moment
                    store.set_user_hidden(admin, accounts[0].id, True)
                    return 204
                return client.delete(f"/api/comments/{ids[i]}").status_code

            codes = _all_at_once(clients, delete_or_hide)
            assert codes == [204] * USERS
            assert store.counts_agree(HOT) == (0, 0)
            assert clients[0].get(url).json()["comments"] == []
        finally:
            for c in clients:
                c.close()
