"""What every area shares: the JSON error body and the email address rule."""

from __future__ import annotations

import re

from pydantic import BaseModel

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class ErrorPublic(BaseModel):
    detail: str


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; raises ``ValueError`` when it cannot be an address."""
    email = value.strip().lower()
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise ValueError("not an email address (expected e.g. ada@example.org)")
    return email
