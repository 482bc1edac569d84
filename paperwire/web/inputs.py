"""Bad bytes in a request are a refused field, not a crash.

``refuse_control_chars`` runs before every route (an app-wide dependency): a NUL or
another control character (``models.common.CONTROL_RE``) in the path, a query
parameter, a JSON body or a form answers 422 naming where it was — the page's error
page or the API's ``InvalidRequest`` — before any of it reaches a query (PostgreSQL
refuses NUL in text; SQLite would store it and show it in pages and mails).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from paperwire.models.common import control_char_problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
Loc = tuple[str | int, ...]


def _strings(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Every string in a decoded JSON value (keys too), with where it sits."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, str(key)), str(key)
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, (*loc, n))


async def _inputs(request: Request) -> Iterator[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = [
        (("path", name), str(value)) for name, value in request.path_params.items()
    ]
    for name, value in request.query_params.multi_items():
        found += [(("query", name), name), (("query", name), value)]
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        with contextlib.suppress(ValueError):  # not JSON: the route's validation answers
            found += _strings(json.loads(await request.body()), ("body",))
    elif media in FORM_TYPES:
        form = await request.form()
        for name, item in form.multi_items():
            found.append((("body", name), name))
            if isinstance(item, str):
                found.append((("body", name), item))
    return iter(found)


async def refuse_control_chars(request: Request) -> None:
    """App-wide dependency: 422 for a control character anywhere in the request."""
    errors = []
    for loc, text in await _inputs(request):
        problem = control_char_problem(text)
        if problem:
            errors.append({"loc": loc, "msg": problem, "type": "control_character"})
    if errors:
        raise RequestValidationError(errors)
