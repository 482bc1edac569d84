"""``StatusPublic``: what ``/status``, ``/api/status`` and ``paperwire status`` report."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class StatusPublic(BaseModel):
    papers: int
    embedded: int
    embedding_model: str
    embedding_backlog: int
    semantic_ready: bool
    keyword_documents: int
    vector_documents: int
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    database: str
    index: str
    version: str
