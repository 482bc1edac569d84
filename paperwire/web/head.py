"""``HEAD`` for every page that answers ``GET``.

FastAPI routes declared for ``GET`` answer ``HEAD`` with 405, so uptime monitors, link
checkers and ``curl -I`` reported a working site as broken. ``HeadAsGet`` (pure ASGI,
outermost) runs a ``HEAD`` request as the ``GET`` it stands for and sends the status
and headers of that answer (``Content-Length`` included, as HTTP asks) without its
body. Views never see ``HEAD``: one definition per page, and ``GET`` views are safe.

A view whose body costs work of its own, apart from its headers (a streamed corpus export,
a takeout archive), asks ``wants_body`` and skips that work for a ``HEAD``: the body
would be thrown away, and an export is minutes of a worker.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet", "wants_body"]

# Set in the scope of a ``HEAD`` run as ``GET``.
_HEAD_ONLY = "paperwire.head_only"


def wants_body(request: Request) -> bool:
    """False for a ``HEAD`` (run as ``GET``): only the status and headers go out."""
    return not request.scope.get(_HEAD_ONLY, False)


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def without_body(message: Message) -> None:
            nonlocal finished
            if message["type"] != "http.response.body":
                await send(message)
            elif not finished and not message.get("more_body", False):
                finished = True
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET", _HEAD_ONLY: True}, receive, without_body)
