"""Retries, backoff and Retry-After against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import time

import httpx
import pytest

from paperwire import __version__
from paperwire.sources.http import SourceError, get_with_retries, make_client, retry_after


def _script(*responses: tuple[int, dict[str, str], bytes]):
    """A handler answering with ``responses`` in order, repeating the last one."""
    queue = list(responses)

    def handler(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_client_identifies_itself(serve, sleeps):
    server = serve(_script((200, {}, b"ok")))
    with make_client(5) as client:
        response = get_with_retries(client, server.url + "/x", {"a": 1}, retries=0, sleep=sleeps)
    assert response.text == "ok"
    ua = server.requests[0].headers["User-Agent"]
    assert ua == f"paperwire/{__version__} (+https://github.com/paperwire)"
    assert server.requests[0].query == {"a": "1"}


def test_retry_after_is_honoured_on_503(serve, sleeps):
    busy = (503, {"Retry-After": "7"}, b"busy")
    server = serve(_script(busy, busy, (200, {}, b"done")))
    with make_client(5) as client:
        response = get_with_retries(client, server.url, None, retries=3, sleep=sleeps)
    assert response.text == "done"
    assert len(server.requests) == 3
    assert sleeps.calls == [7.0, 7.0]


def test_exponential_backoff_on_429_without_retry_after(serve, sleeps):
    limited = (429, {}, b"slow down")
    server = serve(_script(limited, limited, limited, (200, {}, b"ok")))
    with make_client(5) as client:
        get_with_retries(client, server.url, None, retries=3, backoff=0.5, sleep=sleeps)
    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert len(server.requests) == 4


def test_gives_up_with_clear_error_after_last_try(serve, sleeps):
    server = serve(_script((500, {}, b"broken")))
    with make_client(5) as client, pytest.raises(SourceError) as err:
        get_with_retries(client, server.url + "/api", None, retries=2, sleep=sleeps)
    assert len(server.requests) == 3
    assert len(sleeps.calls) == 2
    assert "failed after 3 tries" in str(err.value)
    assert "HTTP 500" in str(err.value)
    assert err.value.status == 500
    assert err.value.url == server.url + "/api"


def test_client_errors_are_not_retried_unless_accepted(serve, sleeps):
    server = serve(_script((404, {}, b"nope")))
    with make_client(5) as client:
        with pytest.raises(SourceError, match="HTTP 404"):
            get_with_retries(client, server.url, None, retries=3, sleep=sleeps)
        assert len(server.requests) == 1
        response = get_with_retries(
            client, server.url, None, retries=3, accept=(404,), sleep=sleeps
        )
    assert response.status_code == 404
    assert sleeps.calls == []


def test_connection_refused_is_retried_then_reported(sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make_client(2) as client, pytest.raises(SourceError, match="ConnectError") as err:
        get_with_retries(client, f"http://127.0.0.1:{port}/", None, retries=2, sleep=sleeps)
    assert sleeps.calls == [1.0, 2.0]
    assert err.value.status is None


def test_timeout_is_retried(serve, sleeps):
    calls = []

    def slow_once(path, query):
        calls.append(path)
        if len(calls) == 1:
            time.sleep(0.6)
        return 200, {}, b"fast now"

    server = serve(slow_once)
    with make_client(0.2) as client:
        response = get_with_retries(client, server.url, None, retries=2, sleep=sleeps)
    assert response.text == "fast now"
    assert len(sleeps.calls) == 1


def test_retry_after_http_date():
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120), True)
    wait = retry_after(httpx.Response(503, headers={"Retry-After": later}))
    assert wait is not None and 100 < wait <= 120
    assert retry_after(httpx.Response(503, headers={"Retry-After": "garbage"})) is None
    assert retry_after(httpx.Response(503)) is None
