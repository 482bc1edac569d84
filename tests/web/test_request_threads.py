"""A request takes as few turns in the request threads as it can (issue 16).

FastAPI runs a view written as a plain function in the request threads, and each of its
plain-function dependencies there too, one turn each. A server has a few request
threads (``PAPERWIRE_WEB_THREADS``), so under load each turn waits behind the requests
already queued: a search (the ``Paperwire`` object, the filters, the search params, then
the view) waited four times. Dependencies that only read the request run on the event
loop (``web.dependencies.on_the_loop``); only those that read the database (the signed-in
viewer's account) keep a turn of their own.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from paperwire.web.auth import current_user, require_account, require_admin, require_user
from paperwire.web.dependencies import get_pw, on_the_loop, search_params
from tests.web.conftest import WebEnv

# They read the viewer's account from the database: a thread turn is what they need.
READS_THE_DATABASE = {current_user, require_account, require_admin, require_user}


def _routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, also inside included routers (newer FastAPI keeps those whole)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)


def _thread_turns(dependant: Dependant) -> list[Any]:
    """The dependencies FastAPI would run in the request threads (plain functions)."""
    found = []
    for sub in dependant.dependencies:
        found += _thread_turns(sub)
        call = sub.call
        if call is not None and not (
            inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
        ):
            found.append(call)
    return found


def test_only_dependencies_that_read_the_database_take_a_request_thread(web: WebEnv) -> None:
    routes = list(_routes(web.app.routes))
    assert len(routes) > 100  # the walk reached the included routers
    offenders = {
        f"{sorted(route.methods)} {route.path}: {call.__module__}.{call.__qualname__}"
        for route in routes
        for call in _thread_turns(route.dependant)
        if call not in READS_THE_DATABASE
    }
    assert not offenders, sorted(offenders)


def test_a_search_and_the_feed_wait_for_one_request_thread_only(web: WebEnv) -> None:
    app: FastAPI = web.app
    by_path = {(route.path, next(iter(route.methods))): route for route in _routes(app.routes)}
    for path in ("/search", "/api/search", "/", "/papers", "/api/daily", "/papers/{arxiv_id:path}"):
        assert _thread_turns(by_path[path, "GET"].dependant) == [], path


def test_a_dependency_on_the_loop_answers_as_the_plain_function_does(web: WebEnv) -> None:
    assert inspect.iscoroutinefunction(on_the_loop(get_pw))
    assert inspect.signature(on_the_loop(search_params)) == inspect.signature(search_params)
    client = web.client
    bad = client.get("/api/search", params={"q": "x", "from": "2025-13-01"})
    assert bad.status_code == 422 and "from" in bad.json()["detail"]
    page = client.get("/search", params={"q": "language", "from": "2025-13-01"})
    assert page.status_code == 422 and "2025-13-01" in page.text
    found = client.get("/api/search", params={"q": "language model", "mode": "keyword"})
    assert found.status_code == 200 and found.json()["total"] > 0
    feed = client.get("/api/daily", params={"period": "fortnight"})
    assert feed.status_code == 422 and "period" in feed.text
