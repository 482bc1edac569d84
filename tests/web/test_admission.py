"""``web.admission``: a few requests at a time, in the order they came, one wait each.

The middleware is exercised as the app uses it (an ASGI app behind it whose requests run
their work in anyio's thread pool, as FastAPI runs views), then through the real app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from paperwire.services.waiting import waiting_elsewhere
from paperwire.web import create_app
from paperwire.web.admission import Admission
from tests.conftest import AppFactory


class Recorder:
    """An ASGI app that notes who is inside it, and does each request's work in a
    thread (``work(name)``), then answers; with ``stream``, a request for ``/download``
    gets its answer in two parts, 0.2 s apart."""

    def __init__(self, work: Callable[[str], None], stream: bool = False) -> None:
        self.work = work
        self.stream = stream
        self.inside: set[str] = set()
        self.most_inside = 0
        self.entered: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"].strip("/")
        self.entered.append(name)
        self.inside.add(name)
        self.most_inside = max(self.most_inside, len(self.inside))
        try:
            await anyio.to_thread.run_sync(self.work, name)
        finally:
            self.inside.discard(name)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if self.stream and name == "download":
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
            await anyio.sleep(0.2)  # the rest of a download, its slot given back
        await send({"type": "http.response.body", "body": b"b"})


async def _request(app: Any, name: str, done: list[str]) -> None:
    scope = {"type": "http", "method": "GET", "path": f"/{name}", "headers": []}

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.append(name)

    await app(scope, receive, send)


def _run(app: Any, names: list[str], spacing: float = 0.01) -> list[str]:
    """Send the requests ``spacing`` seconds apart, all at once in flight; the order
    they finished in."""
    done: list[str] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(_request, app, name, done)
                await anyio.sleep(spacing)

    anyio.run(main)
    return done


def _slow(seconds: float) -> Callable[[str], None]:
    def work(_name: str) -> None:
        threading.Event().wait(seconds)

    return work


def test_a_few_requests_are_inside_at_once_and_the_rest_enter_in_order() -> None:
    inner = Recorder(_slow(0.05))
    names = [f"r{i}" for i in range(8)]
    done = _run(Admission(inner, slots=2), names)
    assert inner.most_inside == 2
    assert inner.entered == names  # first come, first in
    assert sorted(done) == names


def test_without_admission_every_request_is_inside_at_once() -> None:
    """The check above can fail: the same requests with no admission crowd in."""
    inner = Recorder(_slow(0.05))
    _run(inner, [f"r{i}" for i in range(8)])
    assert inner.most_inside > 2


def test_a_streamed_answer_gives_its_slot_back_when_its_headers_go_out() -> None:
    inner = Recorder(_slow(0.01), stream=True)
    done = _run(Admission(inner, slots=1), ["download", "page"], spacing=0.02)
    assert done == ["page", "download"]  # the page did not wait for the download's body


def test_a_request_waiting_on_the_network_lends_its_slot() -> None:
    """``services.waiting.waiting_elsewhere`` (around a submission's arXiv fetch): with
    one slot, a request waiting elsewhere lets the next one in meanwhile, and the slots
    are back to one afterwards. Without it, the first would wait forever for the second."""
    inside, done = threading.Event(), threading.Event()

    def work(name: str) -> None:
        if name == "waiting":
            with waiting_elsewhere():
                inside.set()
                assert done.wait(10), "the other request never ran"
        else:
            assert inside.wait(10)
            done.set()

    admission = Admission(Recorder(work), slots=1)
    slots: list[float] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            finished: list[str] = []
            tg.start_soon(_request, admission, "waiting", finished)
            await anyio.sleep(0.01)
            tg.start_soon(_request, admission, "other", finished)
        slots.append(admission.limiter().total_tokens)

    anyio.run(main)
    assert slots == [1]
    with waiting_elsewhere():  # outside a request thread (CLI, jobs): nothing to lend
        pass


def test_the_app_admits_web_threads_requests_and_sizes_its_pool_for_them(
    make_app: AppFactory,
) -> None:
    """``PAPERWIRE_WEB_THREADS``: the app lets that many requests in at once; FastAPI's
    thread pool has room for them and as many streamed answers."""

    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    for n in (1, 3):
        app = create_app(make_app(web_threads=n, semantic=False))
        with TestClient(app) as c:
            assert c.portal is not None
            assert c.portal.call(tokens) == 2 * n
            assert c.get("/").status_code == 200
            assert c.get("/api/search", params={"q": "x"}).status_code == 200
        stack: Any = app.middleware_stack
        while stack is not None and not isinstance(stack, Admission):
            stack = getattr(stack, "app", None)
        assert stack is not None and stack.slots == n
