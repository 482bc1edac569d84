"""Recommendations ("For you", "more like this collection") and the map of the field."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from paperwire.models.common import DataClock
from paperwire.models.papers import PaperCard

Topic = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9.\-]{0,31}$", max_length=32)]
"""An arXiv category (``cs.CL``)."""


class ReasonKind(StrEnum):
    similar = "similar"
    author = "author"
    author_followed = "author_followed"
    topic = "topic"


class Reason(BaseModel):
    """Why a paper is recommended: ``kind`` for programs, ``text`` for people."""

    kind: ReasonKind
    text: str


class Recommendation(BaseModel):
    paper: PaperCard
    score: float
    reasons: list[Reason]


class ForYouSettings(BaseModel):
    paused: bool = False
    reset_at: dt.datetime | None = None
    topics: list[str] = Field(default_factory=list)
    digest_collections: bool = Field(
        False, description="Digests carry each collection's recommendations (opt-in)."
    )


class ForYouPage(BaseModel):
    """A reader's feed: recommendations with reasons, or why there are none yet."""

    items: list[Recommendation]
    settings: ForYouSettings
    liked: int = Field(description="Upvoted and saved papers the feed is built from.")
    cold_start: bool = Field(
        description="True when the reader has liked nothing yet: pick topics or papers."
    )
    as_of: DataClock


class ForYouSettingsUpdate(BaseModel):
    """Change the feed: pause or resume it, start over, pick topics, digest opt-in."""

    paused: bool | None = None
    reset: bool = False
    topics: list[Topic] | None = Field(
        None, max_length=20, description="arXiv categories, e.g. cs.CL (cold start)."
    )
    digest_collections: bool | None = None


class NotInterestedResult(BaseModel):
    arxiv_id: str
    changed: bool


class CollectionPicks(BaseModel):
    """ "More like this collection": recommendations from a collection's papers."""

    collection_id: int
    name: str
    items: list[Recommendation]
    feed_url: str | None = Field(
        None, description="The private Atom feed of these picks (owner only)."
    )


class MapInfo(BaseModel):
    """The current map of the field (``paperwire map build``)."""

    built_at: dt.datetime | None
    points: int
    method: str | None
    stale: bool = Field(description="True when papers were embedded since it was built.")
