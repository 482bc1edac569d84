"""What every area shares: the JSON error body, the email address rule, and the clock
that time-based features measure against (``DataClock``)."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class ErrorPublic(BaseModel):
    detail: str


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
