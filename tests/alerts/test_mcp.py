"""``paperwire mcp`` through the official SDK's own client, over stdio (the command run
as a subprocess) and over streamable HTTP (a real server on loopback): every tool is
listed and called, answers match the JSON API's, collections need a personal token."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from paperwire.services.alerts import alerts_of
from paperwire.web.mcp import http_app
from tests.community.conftest import HOT, Env, make_env
from tests.conftest import AppFactory, _free_port, backend_env

TOOLS = {
    "search",
    "get_paper",
    "similar_papers",
    "feed",
    "trending",
    "my_collections",
    "get_collection",
}


@pytest.fixture
def mcp_env(make_app: AppFactory) -> tuple[Env, int, str]:
    """The crafted corpus, Ada's private collection holding HOT, and her token."""
    env = make_env(make_app)
    ada = env.account("ada@example.org", "Ada")
    cid = ada.api("POST", "/api/collections", json={"name": "Mine", "public": False}).json()["id"]
    assert ada.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": HOT}).is_success
    user = env.comm.users.by_email("ada@example.org")
    assert user is not None
    token = alerts_of(env.pw).new_token(user.id, "tests").token
    return env, int(cid), token


async def _exercise(client: Client, env: Env, cid: int) -> dict[str, Any]:
    """List every tool and call each one; what they answered, by tool."""
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    assert all(t.output_schema for t in listed.values())  # typed answers
    calls = {
        "search": {"q": "sparse attention", "sort": "newest", "mode": "keyword", "limit": 5},
        "get_paper": {"arxiv_id": f"arXiv:{HOT}v2"},
        "similar_papers": {"arxiv_id": HOT, "limit": 3},
        "feed": {"period": "week", "limit": 10},
        "trending": {"limit": 3},
        "my_collections": {},
        "get_collection": {"collection_id": cid},
    }
    out: dict[str, Any] = {}
    for name, args in calls.items():
        result = await client.call_tool(name, args)
        assert not result.is_error, (name, result.content)
        out[name] = result.structured_content
    bad = await client.call_tool("search", {"limit": 1000})
    assert bad.is_error and "less than or equal to 100" in str(bad.content)
    missing = await client.call_tool("get_paper", {"arxiv_id": "2501.99999"})
    assert missing.is_error and "not on this site" in str(missing.content)
    return out


def _check(out: dict[str, Any], env: Env, cid: int) -> None:
    api = env.client()
    assert out["get_paper"] == api.get(f"/api/papers/{HOT}").json()
    assert [h["paper"]["arxiv_id"] for h in out["search"]["hits"]] == [HOT]
    want = api.get("/api/search?q=sparse+attention&sort=newest&mode=keyword&limit=5").json()
    assert out["search"]["hits"] == want["hits"]
    assert HOT in {p["arxiv_id"] for p in out["feed"]["papers"]}
    week = api.get("/api/daily?period=week&limit=10").json()
    assert out["feed"]["papers"] == week["papers"] and out["feed"]["start"] == week["start"]
    assert out["similar_papers"]["paper"]["arxiv_id"] == HOT
    assert [i["paper"]["arxiv_id"] for i in out["trending"]["items"]] == [
        i["paper"]["arxiv_id"] for i in api.get("/api/trending?limit=3").json()["items"]
    ]
    [mine] = out["my_collections"]["result"]
    assert mine["id"] == cid and mine["public"] is False
    assert [p["arxiv_id"] for p in out["get_collection"]["papers"]] == [HOT]


def test_the_mcp_server_over_stdio(mcp_env: tuple[Env, int, str]) -> None:
    env, cid, token = mcp_env
    s = env.pw.settings
    environ = {**backend_env(s), "PAPERWIRE_SEMANTIC": "false", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "paperwire", "mcp", "--home", str(s.home)]

    async def run() -> tuple[dict[str, Any], str]:
        server = StdioServerParameters(
            command=command[0], args=[*command[1:], "--token", token], env=environ
        )
        async with Client(server) as client:
            out = await _exercise(client, env, cid)
        # without a token, papers yes, collections no
        anonymous = StdioServerParameters(command=command[0], args=command[1:], env=environ)
        async with Client(anonymous) as client:
            refused = await client.call_tool("my_collections", {})
            assert refused.is_error
            assert not (await client.call_tool("trending", {"limit": 1})).is_error
        return out, str(refused.content)

    out, refused = anyio.run(run)
    _check(out, env, cid)
    assert "personal access token" in refused


@pytest.fixture
def mcp_http(mcp_env: tuple[Env, int, str]) -> Iterator[str]:
    env = mcp_env[0]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(http_app(env.pw), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "MCP HTTP server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


@asynccontextmanager
async def _over_http(url: str, token: str | None) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP, sending ``Authorization: Bearer token``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def test_the_mcp_server_over_streamable_http(mcp_env: tuple[Env, int, str], mcp_http: str) -> None:
    env, cid, token = mcp_env

    async def run() -> tuple[dict[str, Any], list[str]]:
        async with _over_http(mcp_http, token) as client:
            out = await _exercise(client, env, cid)
        errors = []
        for bearer in (None, "pw_not-a-token"):
            async with _over_http(mcp_http, bearer) as client:
                refused = await client.call_tool("get_collection", {"collection_id": cid})
                assert refused.is_error
                errors.append(str(refused.content))
        return out, errors

    out, errors = anyio.run(run)
    _check(out, env, cid)
    assert "personal access token" in errors[0] and "not valid" in errors[1]
    # a revoked token stops working at once
    user = env.comm.users.by_email("ada@example.org")
    assert user is not None
    [info] = alerts_of(env.pw).tokens.of_user(user.id)
    assert alerts_of(env.pw).tokens.revoke(info.id, user.id)
    assert alerts_of(env.pw).token_user(token) is None
