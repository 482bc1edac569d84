"""Field checks shared by the importers, so every source rejects bad values the same way.

Each helper either returns a clean value or raises ``FieldError`` naming the field; the
importer turns that into a ``Rejection`` and moves on to the next record.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import ValidationError

from paperwire.models.common import clean_text
from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources.normalize import (
    InvalidArxivId,
    normalize_arxiv_id,
    parse_date,
    parse_datetime,
)

Item = PaperRecord | Rejection

_NAME_SPLIT = re.compile(r"\s*(?:[,;]|\band\b)\s*")


class FieldError(ValueError):
    """A value that cannot be used; ``field`` is the ``PaperRecord`` (or source) field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def arxiv_id(value: object, field: str = "arxiv_id") -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(field, "missing arXiv id")
    if not isinstance(value, str):
        raise FieldError(field, f"arXiv id must be a string, got {type(value).__name__}")
    try:
        return normalize_arxiv_id(value)
    except InvalidArxivId as exc:
        raise FieldError(field, str(exc)) from None


def text(value: object, field: str) -> str | None:
    """Optional free text: whitespace-cleaned, empty → ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {type(value).__name__}")
    return clean_text(value)


def title(value: object, field: str = "title") -> str:
    out = text(value, field)
    if out is None:
        raise FieldError(field, "missing title")
    return out


def count(value: object, field: str, *, from_text: bool = False) -> int | None:
    """A non-negative integer; ``from_text`` also accepts ``"12"`` (CSV cells)."""
    if value is None or value == "":
        return None
    if from_text and isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise FieldError(field, f"not an integer: {value!r}") from None
    if from_text and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"expected a non-negative integer, got {value!r}")
    if value < 0:
        raise FieldError(field, f"must not be negative: {value}")
    return value


def str_list(value: object, field: str) -> list[str]:
    """A list of strings, each cleaned; empty strings dropped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(field, f"expected a list, got {type(value).__name__}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise FieldError(field, f"expected strings in the list, got {item!r}")
        cleaned = clean_text(item)
        if cleaned:
            out.append(cleaned)
    return out


def split_names(value: str) -> list[str]:
    """``"A. Smith, B. Jones and C. Wu"`` → three names (also ``;``-separated)."""
    return [n for n in (clean_text(p) for p in _NAME_SPLIT.split(value)) if n]


def datetime_value(value: object, field: str) -> dt.datetime | None:
    try:
        return parse_datetime(value)
    except (ValueError, TypeError):
        raise FieldError(field, f"not a date: {value!r}") from None


def date_value(value: object, field: str) -> dt.date | None:
    try:
        return parse_date(value)
    except (ValueError, TypeError):
        raise FieldError(field, f"not a date: {value!r}") from None


def build(fields: Mapping[str, object], location: str | None = None) -> PaperRecord:
    """Construct the record (remembering where it was read); a pydantic complaint, e.g.
    a control character in a field, becomes a ``FieldError`` naming the field."""
    try:
        return PaperRecord.model_validate({**fields, "location": location})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "record"
        raise FieldError(field, str(err["msg"]).removeprefix("Value error, ")) from None


def raw_id(value: object) -> str | None:
    """The id as written, for the ``record`` of a rejection (never raises)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def raw_json(value: object) -> str:
    """A record as read, for the rejects file (JSON; values JSON lacks as text)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def rejection(location: str, record: object, exc: FieldError, raw: object = None) -> Rejection:
    """The ``Rejection`` for a bad field; ``raw`` is the whole record as read."""
    return Rejection(
        location=location,
        record=raw_id(record),
        field=exc.field,
        reason=exc.reason,
        raw=None if raw is None else raw_json(raw),
    )


class LineError(ValueError):
    """A JSON line that could not be decoded; the reader keeps going after it. ``raw``
    is the line as read (for the rejects file)."""

    def __init__(self, reason: str, raw: str | None = None) -> None:
        super().__init__(reason)
        self.raw = raw


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def jsonl_lines(path: Path) -> Iterator[tuple[int, object]]:
    """``(line number, decoded value or LineError)`` for each non-blank line.

    Lines are decoded one by one, so bad bytes or bad JSON cost only that line; a
    damaged gzip stream or a read error ends the file with one ``LineError``.
    """
    n = 0
    try:
        with _open_binary(path) as fh:
            for n, raw in enumerate(fh, start=1):
                line = raw.removeprefix(b"\xef\xbb\xbf") if n == 1 else raw
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line.decode("utf-8"))
                except ValueError as exc:
                    shown = line.decode("utf-8", errors="replace").rstrip("\r\n")
                    yield n, LineError(f"not valid JSON: {exc}", shown)
    except (OSError, EOFError) as exc:
        yield n + 1, LineError(f"cannot read file: {exc}")
