"""``Base``: the declarative base every table derives from (JSON for dicts and lists)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase

COUNTER: dict[str, Any] = {"counter": True}
"""``info`` of a column that counts rows of another table (a paper's local votes and
comments): a commit that only moves counters is logged as such (``store.versions``), so
what reads no counts (kept search rankings, which read their cards afresh) keeps."""


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}
