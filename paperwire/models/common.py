"""What every area shares: the JSON error bodies, the email address rule and what a
control character is."""

from __future__ import annotations

import re

from pydantic import BaseModel

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# C0 and C1 controls except tab, newline and carriage return (which are whitespace):
# PostgreSQL refuses NUL in text, and none of them belongs in a title, a name or a query.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_char_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (its first control character), or None."""
    found = CONTROL_RE.search(text)
    if found is None:
        return None
    return f"contains the control character U+{ord(found[0]):04X} at position {found.start()}"


class ErrorPublic(BaseModel):
    detail: str


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; raises ``ValueError`` when it cannot be an address."""
    email = value.strip().lower()
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise ValueError("not an email address (expected e.g. ada@example.org)")
    return email
