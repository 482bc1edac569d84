"""The rejects file of an import: every rejected record, one JSON object a line.

A summary can only show a few rejections; the file keeps all of them with what is needed
to fix the source: ``file`` and ``line`` (when the location has them), ``location`` as
the importer wrote it, the record's id, the ``field``, the ``reason`` and the ``raw``
record as read. It is created on the first rejection only, under
``<home>/rejects/<source>-<UTC time>.jsonl``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import IO, Any

from paperwire.models.papers import Rejection

# "path:12" (a line) or "path: record 3" / "path: row 3" / "path: entry 3" (a position)
_AT_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")
_AT_ITEM = re.compile(r"^(?P<file>.+): (?:record|row|entry) \d+$")


def where(location: str) -> tuple[str | None, int | None]:
    """``(file, line)`` of a rejection's location, each None when it does not say."""
    m = _AT_LINE.match(location)
    if m:
        return m["file"], int(m["line"])
    m = _AT_ITEM.match(location)
    return (m["file"], None) if m else (None, None)


def rejects_path(home: Path, source: str, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return home / "rejects" / f"{source}-{stamp}.jsonl"


class RejectsFile:
    """Appends rejections to ``path`` (opened on the first one); use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None

    def add(self, rejection: Rejection) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        file, line = where(rejection.location)
        row: dict[str, Any] = {
            "file": file,
            "line": line,
            "location": rejection.location,
            "record": rejection.record,
            "field": rejection.field,
            "reason": rejection.reason,
            "raw": rejection.raw,
        }
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
