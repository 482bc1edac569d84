"""``PaperStore``: every query paperwire runs against papers, features and embeddings.

Merging rule (a paper seen in several sources is one paper with all their facts):
bibliographic fields (title, abstract, authors, comment) come from the most
authoritative source that provided them (arXiv > arXiv listings > HF daily > table);
community facts (upvotes, organisation, code links, keywords) take the newest
non-empty value, upvotes never go down; categories and featured days are unions;
the published date is the earliest seen. "Newest" is by the record's featured day, not
by the order records arrive in: a record of an earlier day than one the paper already
has never overwrites that day's facts (nor a same-source title or abstract), so
re-ingesting the same files — where a paper featured on two days appears twice with
different star counts — changes nothing and reports the paper unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import logging
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from paperwire.index.base import IndexDoc, Vector
from paperwire.models.papers import PaperCard, PaperPublic, PaperRecord, Rejection
from paperwire.models.people import FollowKind, follow_key
from paperwire.models.search import SearchFilters, SortOrder
from paperwire.store.convert import (
    CARD_COLUMNS,
    INDEX_COLUMNS,
    PUBLIC_COLUMNS,
    as_utc,
    card_of,
    cards_of_rows,
    index_doc_of,
    public_from,
)
from paperwire.store.db import Database
from paperwire.store.journal import record_changes, record_paper_changes
from paperwire.store.kept import KeptReads
from paperwire.store.match_sort import SORT_KEYS_OF, ListedMatches, MatchSet, sort_page
from paperwire.store.result_cards import KeptResultCards
from paperwire.store.schema.papers import (
    Embedding,
    Featured,
    IndexChange,
    Meta,
    Paper,
    PaperAuthor,
    PaperCategory,
    PaperSource,
)

SEARCH_READS = frozenset(
    {
        # texts (snippets, "more like this"), filters (dates, category, organisation,
        # code), hidden papers, the index documents (``INDEX_COLUMNS``), the total of a
        # paged similar list (``browse``); its counters (``papers:counts``, a comment's
        # ``local_comments``, a vote's ``local_upvotes``) are not in: only cards show
        # them, and a kept result reads its cards afresh
        Paper.__tablename__,
        # the vectors semantic matches and similar papers are ranked by (the index's
        # vectors are copied from here)
        Embedding.__tablename__,
        # the queue the index is brought up to date from: its applier's commit says
        # the index itself changed (another process's edit reaches the index then)
        IndexChange.__tablename__,
        # a card's featured day: read afresh with each kept answer, so not needed, but
        # written only with papers (ingests, submissions) and cheap to include
        Featured.__tablename__,
        # which source gave a paper's merged title and abstract: written only with them
        PaperSource.__tablename__,
    }
)
"""The tables what search keeps between requests is computed from: relevance rankings,
snippets, totals, similar papers (``search.results.ContentGeneration``) and Milvus's
word holders. A commit that declared nothing and wrote none of these (a signup, a
comment, a follow, a collection, a notification, a subscription, a job's ``meta``
bookkeeping) keeps them. Wrong here means stale search results: a table goes in when in
doubt. Not in: ``meta`` (jobs' state; search never reads it), ``thumbnails`` (images;
a card's link is read afresh), and every community table."""

SOURCE_PRIORITY = {"arxiv": 4, "submission": 3, "arxiv-listings": 2, "hf-daily": 1, "table": 0}
BIBLIOGRAPHIC = ("title", "abstract", "authors", "comment")
COMMUNITY = (
    "organization",
    "organization_id",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "thumbnail",
)
log = logging.getLogger(__name__)

# attempts to store a batch whose new papers another writer may insert first (``upsert``)
_RACE_TRIES = 3
# The text hash of a vector due to be embedded again (``PaperStore.embed_again``): no
# paper's (theirs are 40 hex digits), so the vector reads as stale.
EMBED_AGAIN = "again"

_SNAPSHOT_FIELDS = (
    *BIBLIOGRAPHIC,
    *COMMUNITY,
    "categories",
    "primary_category",
    "published_at",
    "source_upvotes",
    "keywords",
)


def document_text(title: str, abstract: str) -> str:
    """The text that is embedded for a paper (title first: it carries the topic)."""
    return f"{title}. {abstract}".strip()


def text_hash(title: str, abstract: str) -> str:
    return hashlib.sha1(document_text(title, abstract).encode(), usedforsecurity=False).hexdigest()


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class UpsertOutcome:
    """Arxiv ids per outcome; ``queued``: those whose index documents changed (every
    added paper; an updated one only when a searchable field changed, not for upvotes or
    featured days), queued for the index in the same transaction."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)


def _snapshot(p: Paper) -> tuple[object, ...]:
    feats = tuple(sorted((f.day, f.source) for f in p.features))
    return (*(getattr(p, name) for name in _SNAPSHOT_FIELDS), feats)


def _is_newest(paper: Paper, rec: PaperRecord) -> bool:
    """Whether ``rec`` is at least as recent as everything the paper was featured with
    (records without a featured day count as newest: tables, arXiv)."""
    if rec.featured_on is None or not paper.features:
        return True
    return rec.featured_on >= max(f.day for f in paper.features)


def _merge(paper: Paper, rec: PaperRecord, is_new: bool) -> None:
    """Fold one record into a paper row following the module's merging rule."""
    incoming = SOURCE_PRIORITY.get(rec.source, 0)
    current = SOURCE_PRIORITY.get(paper.meta_source, -1) if not is_new else -1
    newest = is_new or _is_newest(paper, rec)
    authoritative = incoming > current or (incoming == current and newest)
    for name in BIBLIOGRAPHIC:
        value = getattr(rec, name)
        if value in (None, "", []):
            continue
        if authoritative or getattr(paper, name) in (None, "", []):
            setattr(paper, name, value)
    if authoritative and (rec.title or rec.abstract):
        paper.meta_source = rec.source
    for name in COMMUNITY:
        value = getattr(rec, name)
        if value not in (None, "") and (newest or getattr(paper, name) in (None, "")):
            setattr(paper, name, value)
    if rec.upvotes is not None:
        paper.source_upvotes = max(paper.source_upvotes or 0, rec.upvotes)
    if rec.keywords and (newest or not paper.keywords):
        paper.keywords = list(rec.keywords)
    if rec.categories:
        merged = (
            list(dict.fromkeys([*rec.categories, *(paper.categories or [])]))
            if authoritative
            else list(dict.fromkeys([*(paper.categories or []), *rec.categories]))
        )
        paper.categories = merged
        paper.primary_category = merged[0]
    published = _naive_utc(rec.published_at)
    if published is not None and (paper.published_at is None or published < paper.published_at):
        paper.published_at = published
    paper.text_hash = text_hash(paper.title, paper.abstract or "")


def _lists(paper: Paper) -> tuple[list[str], list[str]]:
    """What ``paper_authors`` and ``paper_categories`` hold of a paper."""
    return list(paper.authors or []), list(paper.categories or [])


def _write_lists(s: Session, papers: Sequence[Paper]) -> None:
    """Replace the ``paper_authors`` and ``paper_categories`` rows of ``papers``
    (flushed: they have ids) with their ``authors`` and ``categories`` now, in the
    caller's transaction: the lookups by name and category never disagree with the JSON
    lists the papers show."""
    if not papers:
        return
    ids = [p.id for p in papers]
    s.execute(delete(PaperAuthor).where(PaperAuthor.paper_id.in_(ids)))
    s.execute(delete(PaperCategory).where(PaperCategory.paper_id.in_(ids)))
    authors = [
        {"paper_id": p.id, "position": i, "key": follow_key(FollowKind.author, a), "name": a}
        for p in papers
        for i, a in enumerate(p.authors or [])
    ]
    categories = [
        {"paper_id": p.id, "position": i, "key": follow_key(FollowKind.category, c)}
        for p in papers
        for i, c in enumerate(p.categories or [])
    ]
    if authors:
        s.execute(insert(PaperAuthor), authors)
    if categories:
        s.execute(insert(PaperCategory), categories)


# Built once: building a statement with 30 bound ids anew each time cost as much as
# running it (issue 16). A card's day (its latest featured day) comes with its row: a
# second statement for the days cost ~0.12 ms of a page's ~1.1 read afresh (74.7k).
_LAST_DAY = select(func.max(Featured.day)).where(Featured.paper_id == Paper.id).scalar_subquery()
_CARDS_OF = select(_LAST_DAY, Paper.upvotes, *CARD_COLUMNS).where(
    Paper.arxiv_id.in_(bindparam("ids", expanding=True)), Paper.hidden.is_(False)
)
_PUBLIC_OF = select(Paper.id, Paper.upvotes, *PUBLIC_COLUMNS).where(
    Paper.arxiv_id == bindparam("id"), Paper.hidden.is_(False)
)
_FEATURED_ON = select(Featured.day).where(Featured.paper_id == bindparam("pk"))
_SOURCES_OF = select(PaperSource.source).where(PaperSource.paper_id == bindparam("pk"))
_TEXTS_OF = select(Paper.arxiv_id, Paper.title, Paper.abstract).where(
    Paper.arxiv_id.in_(bindparam("ids", expanding=True))
)


def read_cards(
    db: Database, arxiv_ids: Sequence[str]
) -> tuple[dict[str, PaperCard], dict[str, tuple[str, str]]]:
    """Cards of the visible papers among ``arxiv_ids`` and their ``(title, abstract)``,
    from one read: a result page needs both (cards, and the full texts its snippets come
    from). A function of the database, not of a ``PaperStore``: author pages and follow
    feeds read cards too, and need none of a store's kept feed reads."""
    if not arxiv_ids:
        return {}, {}
    # Plain columns, not ``Paper`` objects: a result page builds 20–30 cards per
    # search, and ORM rows with their relationships cost several times more.
    with db.reading() as s:
        rows = s.execute(_CARDS_OF, {"ids": list(arxiv_ids)}).all()
    cards = {card.arxiv_id: card for card in cards_of_rows(rows)}
    # ``CARD_COLUMNS`` from the row's third column on: arxiv_id, title, abstract
    texts = {row[2]: (row[3], row[4]) for row in rows}
    return cards, texts


class PaperStore:
    """Queries over papers. Each public method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # the feeds' reads (days, a period's papers), kept until a change reaches them
        self._kept = KeptReads(db)
        # result cards and their texts, kept until a change reaches their paper
        self._cards = KeptResultCards(db, lambda ids: read_cards(db, ids))

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, batch: Sequence[tuple[PaperRecord, str]]) -> UpsertOutcome:
        """Store a batch of ``(record, location)`` pairs in one transaction, which also
        queues the added and updated papers for the search index (``store.journal``).

        Another writer (a second worker, a cron ingest, a submission) may insert one of
        the batch's new papers between this batch's read and its insert: the unique key
        refuses the insert and the whole transaction rolls back. The batch is then
        stored again from a fresh read, which finds those papers and merges into them,
        so no batch is lost to a race (``_RACE_TRIES`` attempts in all)."""
        attempt = 1
        while True:
            try:
                return self._upsert_once(batch)
            except IntegrityError:
                if attempt == _RACE_TRIES:
                    raise
                attempt += 1
                log.info("papers stored meanwhile by another writer: storing the batch again")

    def _upsert_once(self, batch: Sequence[tuple[PaperRecord, str]]) -> UpsertOutcome:
        out = UpsertOutcome()
        if not batch:
            return out
        now = _now()
        ids = list({rec.arxiv_id for rec, _ in batch})
        queued: dict[str, None] = {}
        # papers whose authors or categories are new or changed: their rows follow
        listed: dict[str, Paper] = {}
        with self.db.session() as s:
            rows = s.scalars(select(Paper).where(Paper.arxiv_id.in_(ids))).all()
            by_id = {p.arxiv_id: p for p in rows}
            for rec, location in batch:
                paper = by_id.get(rec.arxiv_id)
                is_new = paper is None
                if paper is None:
                    if not rec.title:
                        out.rejections.append(
                            Rejection(
                                location=location,
                                record=rec.arxiv_id,
                                field="title",
                                reason="missing, and the paper is not already known "
                                "(a record without a title, such as a table's row of "
                                "upvotes, can only add to a paper already here)",
                                raw=rec.model_dump_json(exclude_defaults=True),
                            )
                        )
                        continue
                    paper = Paper(
                        arxiv_id=rec.arxiv_id,
                        title=rec.title,
                        abstract="",
                        authors=[],
                        categories=[],
                        keywords=[],
                        source_upvotes=0,
                        local_upvotes=0,
                        num_comments=0,
                        meta_source=rec.source,
                        text_hash="",
                        hidden=False,
                        created_at=now,
                        updated_at=now,
                        features=[],
                        sources=[],
                    )
                    s.add(paper)
                    by_id[rec.arxiv_id] = paper
                    before: tuple[object, ...] | None = None
                else:
                    before = _snapshot(paper)
                indexed = None if is_new else index_doc_of(paper).fingerprint()
                lists = _lists(paper)
                _merge(paper, rec, is_new)
                if is_new or _lists(paper) != lists:
                    listed[rec.arxiv_id] = paper
                if indexed is None or index_doc_of(paper).fingerprint() != indexed:
                    queued[rec.arxiv_id] = None
                if rec.featured_on and not any(
                    f.day == rec.featured_on and f.source == rec.source for f in paper.features
                ):
                    paper.features.append(
                        Featured(
                            day=rec.featured_on, source=rec.source, submitted_by=rec.submitted_by
                        )
                    )
                seen = next((x for x in paper.sources if x.source == rec.source), None)
                if seen is None:
                    paper.sources.append(
                        PaperSource(source=rec.source, first_seen=now, last_seen=now)
                    )
                else:
                    seen.last_seen = now
                if before is None:
                    out.added.append(rec.arxiv_id)
                elif _snapshot(paper) != before:
                    paper.updated_at = now
                    out.updated.append(rec.arxiv_id)
                else:
                    out.unchanged.append(rec.arxiv_id)
            out.queued = list(queued)
            record_changes(s, out.queued, "stored")
            if listed:
                s.flush()
                _write_lists(s, list(listed.values()))
        return out

    def set_meta(self, key: str, value: str) -> None:
        with self.db.session() as s:
            s.merge(Meta(key=key, value=value))

    def get_meta(self, key: str) -> str | None:
        with self.db.session() as s:
            row = s.get(Meta, key)
            return row.value if row else None

    # -- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count(Paper.id)).where(Paper.hidden.is_(False))) or 0

    def get(self, arxiv_id: str) -> PaperPublic | None:
        """A visible paper as its page shows it (None when unknown or hidden)."""
        with self.db.reading() as s:
            row = s.execute(_PUBLIC_OF, {"id": arxiv_id}).first()
            if row is None:
                return None
            days = s.scalars(_FEATURED_ON, {"pk": row[0]}).all()
            sources = s.scalars(_SOURCES_OF, {"pk": row[0]}).all()
        return public_from(row, int(row[1] or 0), days, sources)

    def cards(self, arxiv_ids: Sequence[str]) -> dict[str, PaperCard]:
        """Cards for visible papers, keyed by arXiv id (hidden/unknown ids are absent)."""
        return self.cards_and_texts(arxiv_ids)[0]

    def forget_cards(self, arxiv_ids: Sequence[str]) -> None:
        """Drop the kept cards of these papers (``KeptResultCards.forget``): a write that
        bypassed the store's sessions shows on the next read."""
        self._cards.forget(arxiv_ids)

    def cards_and_texts(
        self, arxiv_ids: Sequence[str]
    ) -> tuple[dict[str, PaperCard], dict[str, tuple[str, str]]]:
        """``cards`` and the ``texts`` of the same visible papers (``read_cards``), kept
        until a change reaches their paper (``store.result_cards``)."""
        return self._cards.get(arxiv_ids)

    def sort_keys(self, arxiv_ids: Sequence[str]) -> dict[str, tuple[float, int]]:
        """``(published timestamp, upvotes)`` of each visible paper among ``arxiv_ids``
        (hidden/unknown ids are absent): what search needs to drop and order its
        candidates before it builds cards for one page only."""
        if not arxiv_ids:
            return {}
        with self.db.reading() as s:
            rows = s.execute(SORT_KEYS_OF, {"ids": list(arxiv_ids)}).all()
        out: dict[str, tuple[float, int]] = {}
        for aid, published, upvotes in rows:
            when = as_utc(published)
            out[aid] = (when.timestamp() if when else 0.0, int(upvotes or 0))
        return out

    def sort_page(
        self,
        members: AbstractSet[str] | MatchSet,
        sort: SortOrder,
        limit: int,
        offset: int,
        visible: int | None = None,
    ) -> list[str]:
        """One page of a search's match set (listed, or asked about along the walk) in a
        store order (see ``match_sort``); ``visible`` (papers shown anywhere, e.g. the
        index's count) saves a count."""
        if isinstance(members, AbstractSet):
            members = ListedMatches(members)
        return sort_page(self.db, members, sort, limit, offset, visible or self.count())

    def texts(self, arxiv_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``(title, abstract)`` per id, for snippets."""
        if not arxiv_ids:
            return {}
        with self.db.reading() as s:
            rows = s.execute(_TEXTS_OF, {"ids": list(arxiv_ids)}).all()
            return {r[0]: (r[1], r[2]) for r in rows}

    def feed(self, start: dt.date, end: dt.date, limit: int | None = None) -> list[PaperCard]:
        """Papers featured between ``start`` and ``end`` (inclusive), most upvoted first.
        Kept until a change reaches the period (``store.kept``): the feed pages ask it
        on every render."""
        key = ("feed", start, end, limit)
        return list(self._kept.get(key, (start, end), lambda: self._feed(start, end, limit)))

    def _feed(self, start: dt.date, end: dt.date, limit: int | None) -> list[PaperCard]:
        # Plain columns, as for search results: a feed page shows 50–500 cards, and ORM
        # rows with their relationships were most of its cost (issue 16).
        with self.db.reading() as s:
            first_day = func.min(Featured.day).label("first_day")
            q = (
                select(first_day, Paper.upvotes, *CARD_COLUMNS)
                .join(Featured, Featured.paper_id == Paper.id)
                .where(Featured.day >= start, Featured.day <= end, Paper.hidden.is_(False))
                .group_by(Paper.id)
                .order_by(
                    Paper.upvotes.desc(),
                    Paper.published_at.desc(),
                    Paper.arxiv_id,
                )
            )
            if limit:
                q = q.limit(limit)
            rows = s.execute(q).all()
        return cards_of_rows(rows)

    def shows_day(self, day: dt.date) -> bool:
        """Whether a visible paper is featured on ``day`` (kept: see ``feed``)."""
        return self._kept.get(("shows_day", day), None, lambda: self._shows_day(day))

    def _shows_day(self, day: dt.date) -> bool:
        with self.db.reading() as s:
            found = s.execute(
                select(Featured.paper_id)
                .join(Paper, Paper.id == Featured.paper_id)
                .where(Featured.day == day, Paper.hidden.is_(False))
                .limit(1)
            ).first()
        return found is not None

    def trending(
        self,
        now: dt.datetime,
        *,
        gravity: float,
        offset_hours: float,
        window_days: int,
        limit: int,
    ) -> list[tuple[PaperCard, float]]:
        """Recent papers by time-decayed votes: ``votes / (age_h + offset_h) ** gravity``.

        A paper's age runs from when it last became visible: its newest featured day
        (midnight UTC) or, if never featured, its publication time. Papers older than
        ``window_days`` are not considered.
        """
        now_naive = _naive_utc(now) or _now()
        since = now_naive - dt.timedelta(days=window_days)
        last_day = func.max(Featured.day)
        # Plain columns scored here, cards built for the ``limit`` shown only: a window
        # holds thousands of papers (ORM rows and cards for each took ~1 s at 74.7k).
        with self.db.reading() as s:
            # in the window: last featured in it, or never featured and published in it
            # (``where`` narrows to papers that may be, through the indexes)
            maybe = union(
                select(Featured.paper_id).where(Featured.day >= since.date()),
                select(Paper.id).where(Paper.published_at >= since),
            )
            rows = s.execute(
                select(Paper.arxiv_id, Paper.upvotes, Paper.published_at, last_day)
                .outerjoin(Featured, Featured.paper_id == Paper.id)
                .where(Paper.hidden.is_(False), Paper.id.in_(maybe))
                .group_by(Paper.id)
                .having(
                    or_(
                        last_day >= since.date(),
                        and_(last_day.is_(None), Paper.published_at >= since),
                    )
                )
            ).all()
        scores: dict[str, float] = {}
        for arxiv_id, upvotes, published_at, day in rows:
            seen = dt.datetime.combine(day, dt.time()) if day is not None else published_at
            if seen is None:
                continue
            age_h = max(0.0, (now_naive - seen).total_seconds() / 3600)
            scores[arxiv_id] = (upvotes or 0) / (age_h + offset_hours) ** gravity
        top = heapq.nsmallest(limit, scores, key=lambda i: (-scores[i], i))
        cards = self.cards(top)
        return [(cards[i], scores[i]) for i in top if i in cards]

    def feature_day_bounds(self) -> tuple[dt.date | None, dt.date | None]:
        with self.db.session() as s:
            row = s.execute(select(func.min(Featured.day), func.max(Featured.day))).one()
            return row[0], row[1]

    def latest_source_day(self, exclude: Sequence[str] = ()) -> dt.date | None:
        """The newest day a source (other than ``exclude``) featured a paper; for a site
        without featured days (arXiv imports only), the newest publication day. Kept
        (see ``feed``): the data clock asks it on every feed page."""
        key = ("latest_source_day", tuple(exclude))
        return self._kept.get(key, None, lambda: self._latest_source_day(exclude))

    def _latest_source_day(self, exclude: Sequence[str]) -> dt.date | None:
        with self.db.reading() as s:
            day: dt.date | None = s.scalar(
                select(Featured.day)
                .where(Featured.source.not_in(list(exclude)) if exclude else true())
                .order_by(Featured.day.desc())
                .limit(1)
            )
            if day is not None:
                return day
            published = s.scalar(select(func.max(Paper.published_at)))
            return published.date() if published is not None else None

    def featured_days(self, until: dt.date, count: int) -> list[dt.date]:
        """The ``count`` newest days with featured papers, up to ``until``, newest first
        (kept: see ``feed``)."""
        key = ("featured_days", until, count)
        return list(self._kept.get(key, None, lambda: self._featured_days(until, count)))

    def _featured_days(self, until: dt.date, count: int) -> list[dt.date]:
        with self.db.reading() as s:
            return list(
                s.scalars(
                    self._visible_days()
                    .where(Featured.day <= until)
                    .group_by(Featured.day)
                    .order_by(Featured.day.desc())
                    .limit(count)
                )
            )

    @staticmethod
    def _visible_days() -> Select[dt.date]:
        """Featured days of visible papers: a day whose papers are all hidden has no
        feed to open, link to or fall back on."""
        return (
            select(Featured.day)
            .join(Paper, Paper.id == Featured.paper_id)
            .where(Paper.hidden.is_(False))
        )

    def adjacent_feature_days(
        self, start: dt.date, end: dt.date
    ) -> tuple[dt.date | None, dt.date | None]:
        """The nearest featured day before ``start`` and after ``end`` (kept: see
        ``feed``)."""
        key = ("adjacent_feature_days", start, end)
        return self._kept.get(key, None, lambda: self._adjacent_feature_days(start, end))

    def _adjacent_feature_days(
        self, start: dt.date, end: dt.date
    ) -> tuple[dt.date | None, dt.date | None]:
        days = self._visible_days()
        with self.db.reading() as s:  # walks the day index from the period outwards
            prev = s.scalar(days.where(Featured.day < start).order_by(Featured.day.desc()).limit(1))
            nxt = s.scalar(days.where(Featured.day > end).order_by(Featured.day).limit(1))
            return prev, nxt

    def browse(
        self, filters: SearchFilters, sort: SortOrder, limit: int, offset: int
    ) -> tuple[int, list[PaperCard]]:
        """Filtered listing without a text query (search page with filters only)."""
        conds = [Paper.hidden.is_(False), *self.filter_conditions(filters)]
        order = (
            [Paper.upvotes.desc(), Paper.published_at.desc()]
            if sort == SortOrder.upvotes
            else [Paper.published_at.desc(), Paper.arxiv_id]
        )
        with self.db.session() as s:
            total = s.scalar(select(func.count(Paper.id)).where(*conds)) or 0
            rows = s.scalars(
                select(Paper).where(*conds).order_by(*order).limit(limit).offset(offset)
            ).all()
            return total, [card_of(p) for p in rows]

    @staticmethod
    def filter_conditions(f: SearchFilters) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if f.date_from:
            conds.append(Paper.published_at >= dt.datetime.combine(f.date_from, dt.time()))
        if f.date_to:
            end = dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time())
            conds.append(Paper.published_at < end)
        if f.category:
            # The category's papers from ``paper_categories``' index (not a LIKE over every
            # paper's JSON), as a set the walk in page order probes: ``+ 0`` keeps SQLite
            # from fetching a broad category's papers by id and sorting them all (cs.CL
            # at 74.7k: 107 ms LIKE, 228 ms by id, 72 ms probed; a rare one 263 / 8 / 55).
            key = follow_key(FollowKind.category, f.category)
            conds.append(
                (Paper.id + 0).in_(select(PaperCategory.paper_id).where(PaperCategory.key == key))
            )
        if f.organization:
            org = f.organization.lower()
            conds.append(
                or_(func.lower(Paper.organization_id) == org, func.lower(Paper.organization) == org)
            )
        if f.has_code is not None:
            has = and_(Paper.github_repo.is_not(None), Paper.github_repo != "")
            conds.append(has if f.has_code else ~has)
        return conds

    # -- index and embeddings -------------------------------------------------------------

    def iter_index_docs(
        self, model: str | None, arxiv_ids: Sequence[str] | None = None, batch_size: int = 2000
    ) -> Iterator[list[IndexDoc]]:
        """Index documents of visible papers in batches, with the stored vector of
        ``model``. A vector computed for an older text of the paper is included too: it is
        what the index keeps until ``paperwire embed`` replaces it, so a document is a
        function of the store alone (``paperwire doctor`` compares the two)."""
        last_id = 0
        while True:
            with self.db.session() as s:
                q = select(Paper.id, *INDEX_COLUMNS).where(
                    Paper.id > last_id, Paper.hidden.is_(False)
                )
                if arxiv_ids is not None:
                    q = q.where(Paper.arxiv_id.in_(list(arxiv_ids)))
                rows = s.execute(q.order_by(Paper.id).limit(batch_size)).all()
                if not rows:
                    return
                last_id = rows[-1].id
                vectors = self._vectors(s, model, [r.id for r in rows]) if model else {}
                docs = []
                for r in rows:
                    doc = index_doc_of(r)
                    doc.vector = vectors.get(r.id)
                    docs.append(doc)
            yield docs

    @staticmethod
    def _vectors(s: Session, model: str, paper_pks: Sequence[int]) -> dict[int, Vector]:
        found = s.execute(
            select(Embedding.paper_id, Embedding.vector).where(
                Embedding.model == model, Embedding.paper_id.in_(list(paper_pks))
            )
        ).all()
        return {pid: np.frombuffer(blob, dtype=np.float32).copy() for pid, blob in found}

    def index_ids(self, model: str) -> tuple[set[str], set[str]]:
        """The ids the index should hold: visible papers, and those of them with a
        stored vector of ``model`` (what ``iter_index_docs`` yields, without reading it)."""
        with self.db.session() as s:
            visible = set(s.scalars(select(Paper.arxiv_id).where(Paper.hidden.is_(False))))
            with_vector = set(
                s.scalars(
                    select(Paper.arxiv_id)
                    .join(Embedding, Embedding.paper_id == Paper.id)
                    .where(Paper.hidden.is_(False), Embedding.model == model)
                )
            )
        return visible, with_vector

    def hidden_ids(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Paper.arxiv_id).where(Paper.hidden.is_(True))))

    def _backlog_query(self, model: str):  # type: ignore[no-untyped-def]
        return (
            select(Paper.id, Paper.arxiv_id, Paper.title, Paper.abstract, Paper.text_hash)
            .outerjoin(Embedding, and_(Embedding.paper_id == Paper.id, Embedding.model == model))
            .where(or_(Embedding.paper_id.is_(None), Embedding.text_hash != Paper.text_hash))
        )

    def embedding_backlog(self, model: str, limit: int) -> list[tuple[int, str, str, str]]:
        """Papers whose embedding for ``model`` is missing or stale, newest first:
        ``(paper_pk, arxiv_id, document_text, text_hash)``."""
        with self.db.session() as s:
            rows = s.execute(
                self._backlog_query(model)
                .order_by(Paper.published_at.desc().nulls_last(), Paper.id.desc())
                .limit(limit)
            ).all()
            return [(r[0], r[1], document_text(r[2], r[3]), r[4]) for r in rows]

    def backlog_count(self, model: str) -> int:
        with self.db.session() as s:
            sub = self._backlog_query(model).subquery()
            return s.scalar(select(func.count()).select_from(sub)) or 0

    def embedded_count(self, model: str) -> int:
        with self.db.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Embedding)
                    .join(Paper, Paper.id == Embedding.paper_id)
                    .where(Embedding.model == model, Embedding.text_hash == Paper.text_hash)
                )
                or 0
            )

    def embed_again(self, model: str) -> int:
        """Put every stored vector of ``model`` in the embedding backlog again
        (``paperwire embed --again``: the model's files or pooling changed under the same
        name); how many. Each is kept, and served, until its paper is embedded again:
        its text hash is set to one no paper has, so it reads as stale."""
        with self.db.session() as s:
            done = s.execute(
                update(Embedding)
                .where(Embedding.model == model, Embedding.text_hash != EMBED_AGAIN)
                .values(text_hash=EMBED_AGAIN)
            )
            return int(getattr(done, "rowcount", 0) or 0)

    def embedding_lengths(self, model: str) -> dict[int, int]:
        """How many stored vectors of ``model`` have each length (``paperwire doctor``:
        the index holds one length; two here mean ``embed --again`` is not done)."""
        with self.db.session() as s:
            rows = s.execute(
                select(Embedding.dim, func.count())
                .where(Embedding.model == model)
                .group_by(Embedding.dim)
            ).all()
            return {int(dim): int(n) for dim, n in rows}

    def save_embeddings(self, model: str, items: Sequence[tuple[int, str, Vector]]) -> None:
        """Store ``(paper_pk, text_hash, vector)`` triples, replacing older ones, and
        queue their papers for the search index in the same transaction."""
        if not items:
            return
        with self.db.session() as s:
            record_paper_changes(s, [pk for pk, _, _ in items], "embedded")
            s.execute(
                delete(Embedding).where(
                    Embedding.model == model, Embedding.paper_id.in_([i[0] for i in items])
                )
            )
            s.add_all(
                Embedding(
                    paper_id=pk,
                    model=model,
                    text_hash=h,
                    dim=int(vec.shape[0]),
                    vector=np.asarray(vec, dtype=np.float32).tobytes(),
                )
                for pk, h, vec in items
            )
