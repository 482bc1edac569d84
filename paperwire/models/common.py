"""What every area shares: the JSON error bodies, the email address rule, what a
control character is, how stored text is spaced, which links may be shown, and the clock
that time-based features measure against (``DataClock``)."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# C0 and C1 controls except tab, newline and carriage return (which are whitespace):
# PostgreSQL refuses NUL in text, and none of them belongs in a title, a name or a query.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def safe_url(value: str | None) -> str:
    """``value`` when it is an http(s) URL, else ``""``: a stored ``javascript:`` or
    ``data:`` link must never become a link (in a page, the JSON API, an export, a feed
    or an email; autoescaping does not stop it). The one definition all of them use."""
    text = (value or "").strip()
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in ("http", "https") and rest and not any(c.isspace() for c in text):
        return text
    return ""


def clean_text(text: str | None) -> str | None:
    """Join hard line breaks and collapse whitespace; LaTeX is kept as written. None when
    nothing is left: a title of spaces is a missing title."""
    if text is None:
        return None
    # ``str.split()`` splits on what ``\s`` matches (``str.isspace``), several times
    # faster than a regular expression's substitution: every record is cleaned.
    return " ".join(text.split()) or None


def control_char_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (its first control character), or None."""
    found = CONTROL_RE.search(text)
    if found is None:
        return None
    return f"contains the control character U+{ord(found[0]):04X} at position {found.start()}"


class ErrorPublic(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `form`, then the field (empty: "
        "the request as a whole)."
    )
    msg: str
    type: str = Field(description="What kind of problem, e.g. `value_error`, `json_invalid`.")


class InvalidRequest(BaseModel):
    """Every 422 answer: ``detail`` for people (one line naming the fields), ``errors``
    for programs (one entry per problem)."""

    detail: str
    errors: list[FieldProblem]


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; raises ``ValueError`` when it cannot be an address."""
    email = value.strip().lower()
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise ValueError("not an email address (expected e.g. ada@example.org)")
    return email


class DataClock(BaseModel):
    """The "now" of trending, digests, alerts and the home feed (``services/clock.py``):
    the wall clock while the sources are current, else the end of the newest data's day."""

    now: dt.datetime
    live: bool = Field(
        description="True: the wall clock (the sources are current); False: the newest "
        "data's day, because nothing newer came in for a while."
    )
    latest_day: dt.date | None = Field(
        description="The newest day a source featured a paper (else published one)."
    )
    note: str | None = Field(
        None, description='e.g. "as of Aug 21, 2026, the latest papers here"; None when live.'
    )
    reason: str = Field(description="Why this clock was chosen, in words.")
