"""BM25 keyword search with tantivy (the keyword half of the embedded index).

Design notes (see ``shared/notes/measurements.md``):

* Title and abstract are indexed as ONE field, ``text`` (stemmed with tantivy's
  ``en_stem``): that scored best on SciFact; boosting the title hurt. They are added as
  two values of the field, so BM25 sees one field while a phrase cannot match across the
  title/abstract boundary.
* The query is built clause by clause instead of with tantivy's query parser: the parser
  drops repeated words, but a long "papers like this abstract" query ranks better when a
  term is weighted by how often it occurs. Terms are analysed with an analyzer built to
  be identical to ``en_stem`` (``simple`` tokenizer, drop tokens of 40+ bytes,
  lowercase, English Snowball stemmer), so query and index tokens always agree. Building
  queries from analysed tokens also means user input is never parsed as query syntax:
  punctuation, LaTeX and unbalanced quotes cannot raise.
* Filters are MUST clauses with a constant score of 0, so they restrict without changing
  the BM25 ranking.
* Only one ``IndexWriter`` may exist per index across all processes. The writer is opened
  on the first write and released by the next :meth:`TantivyKeywordIndex.commit` (or
  ``close``), so a process holds the lock only while it writes a batch; a process that
  only searches never takes it. (Holding it for a server's lifetime made every CLI
  ingest fail while the site ran: issue 11.)
* Each document stores its ``IndexDoc.fingerprint()`` (field ``fp``), which
  ``inventory`` reports so ``paperwire doctor`` can find stale documents.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import tantivy

from paperwire.index.base import IndexDoc, KeywordQuery, Ranked
from paperwire.models.search import SearchFilters

__all__ = ["KeywordIndexError", "KeywordIndexLockedError", "TantivyKeywordIndex"]

# How much stronger than one text term an author-name match of the whole query counts.
AUTHOR_NAME_BOOST = 3.0
# Longer free-text queries are not names; skip the author clause for them.
MAX_AUTHOR_NAME_TOKENS = 6
# Bytes; tantivy's own ``en_stem`` / ``default`` tokenizers drop tokens of 40+ bytes.
_LONG_TOKEN_LIMIT = 40

_F_ID = "arxiv_id"
_F_TEXT = "text"
_F_TITLE = "title"
_F_AUTHORS = "authors"
_F_CATEGORIES = "categories"
_F_ORG = "organization"
_F_PUBLISHED = "published"
_F_HAS_CODE = "has_code"
_F_FP = "fp"

_Stamp = tuple[int, int, int]


class KeywordIndexError(RuntimeError):
    """The keyword index cannot be opened or written."""


class KeywordIndexLockedError(KeywordIndexError):
    """Another ``IndexWriter`` (in this or another process) holds the index lock."""


def _build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(_F_ID, stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(_F_TEXT, tokenizer_name="en_stem", index_option="position")
    sb.add_text_field(_F_TITLE, tokenizer_name="en_stem", index_option="position")
    sb.add_text_field(_F_AUTHORS, tokenizer_name="default", index_option="position")
    sb.add_text_field(_F_CATEGORIES, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(_F_ORG, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field(_F_PUBLISHED, indexed=True, fast=True)
    sb.add_boolean_field(_F_HAS_CODE, indexed=True, fast=True)
    sb.add_text_field(_F_FP, stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


def _analyzer(*, stem: bool) -> tantivy.TextAnalyzer:
    """The Python twin of tantivy's ``en_stem`` (stem=True) or ``default`` tokenizer."""
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_LONG_TOKEN_LIMIT))
        .filter(tantivy.Filter.lowercase())
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


def normalize_keyword(value: str) -> str:
    """How category and organisation values are stored and matched (case-insensitive)."""
    return value.strip().lower()


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class TantivyKeywordIndex:
    """A tantivy index of ``IndexDoc``s in ``path`` (created when missing)."""

    def __init__(
        self, path: Path, *, writer_heap_bytes: int | None = None, writer_threads: int | None = None
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._schema = _build_schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise KeywordIndexError(
                    f"the keyword index in {self.path} was built by another paperwire "
                    f"version (schema differs); delete that directory and run "
                    f"`paperwire index --rebuild`"
                ) from exc
            raise KeywordIndexError(f"cannot open keyword index {self.path}: {exc}") from exc
        # Reload only when asked (commit/refresh): searches see a stable snapshot and no
        # background file watcher runs in every process.
        self._index.config_reader("manual")
        threads = writer_threads or max(1, min(2, os.cpu_count() or 1))
        self._writer_threads = threads
        # tantivy needs at least ~15 MB of heap per indexing thread.
        self._writer_heap = writer_heap_bytes or 48_000_000 * threads
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.RLock()
        self._text_analyzer = _analyzer(stem=True)
        self._name_analyzer = _analyzer(stem=False)
        self._meta_stamp = _stamp(self.path / "meta.json")

    # ------------------------------------------------------------------ writing

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(self._writer_heap, self._writer_threads)
            except ValueError as exc:
                if "LockBusy" in str(exc):
                    raise KeywordIndexLockedError(
                        f"another process is writing the keyword index in {self.path} "
                        f"(only one writer is allowed); wait for it to finish"
                    ) from exc
                raise KeywordIndexError(f"cannot write keyword index {self.path}: {exc}") from exc
        return self._writer

    def _document(self, doc: IndexDoc) -> tantivy.Document:
        d = tantivy.Document()
        d.add_text(_F_ID, doc.arxiv_id)
        title = doc.title or ""
        # Two values of one field: one BM25 field, but no phrase across the boundary.
        d.add_text(_F_TEXT, title)
        d.add_text(_F_TEXT, doc.abstract or "")
        d.add_text(_F_TITLE, title)
        for author in doc.authors:
            d.add_text(_F_AUTHORS, author)
        for category in {normalize_keyword(c) for c in doc.categories if c.strip()}:
            d.add_text(_F_CATEGORIES, category)
        if doc.organization and doc.organization.strip():
            d.add_text(_F_ORG, normalize_keyword(doc.organization))
        if doc.published is not None:
            d.add_integer(_F_PUBLISHED, doc.published.toordinal())
        d.add_boolean(_F_HAS_CODE, bool(doc.has_code))
        d.add_text(_F_FP, doc.fingerprint())
        return d

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        with self._lock:
            writer = self._get_writer()
            for doc in docs:
                writer.delete_documents_by_term(_F_ID, doc.arxiv_id)
                writer.add_document(self._document(doc))

    def delete(self, arxiv_ids: Sequence[str]) -> None:
        if not arxiv_ids:
            return
        with self._lock:
            writer = self._get_writer()
            for arxiv_id in arxiv_ids:
                writer.delete_documents_by_term(_F_ID, arxiv_id)

    def commit(self) -> None:
        """Make the writes durable and visible, then release the writer lock."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.commit()
                writer.wait_merging_threads()  # consumes the writer, freeing the lock
            self._reload()

    def clear(self) -> None:
        """Delete every document (and discard uncommitted changes), then commit."""
        with self._lock:
            writer = self._get_writer()
            writer.rollback()  # delete_all_documents() keeps documents added since commit
            writer.delete_all_documents()
            self.commit()

    def rollback(self) -> None:
        """Discard uncommitted changes and release the writer lock (if held)."""
        self.close()

    def close(self) -> None:
        """Discard uncommitted changes and release the writer lock (if held)."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.rollback()
                writer.wait_merging_threads()  # consumes the writer, freeing the lock

    # ------------------------------------------------------------------ reading

    def _reload(self) -> None:
        self._index.reload()
        self._meta_stamp = _stamp(self.path / "meta.json")

    def refresh(self) -> None:
        """See commits made by other processes (cheap when nothing changed)."""
        with self._lock:
            if _stamp(self.path / "meta.json") != self._meta_stamp:
                self._reload()

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def fingerprints(self) -> dict[str, str]:
        """Every committed document's arXiv id and stored fingerprint ("" if none)."""
        searcher = self._index.searcher()
        n = int(searcher.num_docs)
        if n == 0:
            return {}
        found: dict[str, str] = {}
        for _score, address in searcher.search(tantivy.Query.all_query(), limit=n).hits:
            doc = searcher.doc(address)
            arxiv_id = doc.get_first(_F_ID)
            if arxiv_id is not None:
                found[str(arxiv_id)] = str(doc.get_first(_F_FP) or "")
        return found

    def _tokens(self, text: str, *, stem: bool) -> list[str]:
        analyzer = self._text_analyzer if stem else self._name_analyzer
        return list(analyzer.analyze(text))

    def _phrase(self, field: str, text: str, *, stem: bool) -> tantivy.Query | None:
        """A phrase (or term) query for ``text`` on ``field``; None when it has no tokens."""
        analyzer = self._text_analyzer if stem else self._name_analyzer
        tokens = analyzer.pre_tokenize(text).tokens
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self._schema, field, tokens[0].text)
        first = tokens[0].position
        words: list[str | tuple[int, str]] = [(t.position - first, t.text) for t in tokens]
        return tantivy.Query.phrase_query(self._schema, field, words)

    def _filter_clauses(self, filters: SearchFilters) -> list[tantivy.Query]:
        schema = self._schema
        clauses: list[tantivy.Query] = []
        if filters.date_from is not None or filters.date_to is not None:
            clauses.append(
                tantivy.Query.range_query(
                    schema,
                    _F_PUBLISHED,
                    tantivy.FieldType.Integer,
                    filters.date_from.toordinal() if filters.date_from else None,
                    filters.date_to.toordinal() if filters.date_to else None,
                    include_lower=True,
                    include_upper=True,
                )
            )
        if filters.category is not None:
            value = normalize_keyword(filters.category)
            clauses.append(tantivy.Query.term_query(schema, _F_CATEGORIES, value, "basic"))
        if filters.organization is not None:
            value = normalize_keyword(filters.organization)
            clauses.append(tantivy.Query.term_query(schema, _F_ORG, value, "basic"))
        if filters.has_code is not None:
            clauses.append(tantivy.Query.term_query(schema, _F_HAS_CODE, bool(filters.has_code)))
        # Restrict without scoring: BM25 of a category term would reorder results.
        return [tantivy.Query.const_score_query(q, 0.0) for q in clauses]

    def build_query(self, query: KeywordQuery, filters: SearchFilters) -> tantivy.Query | None:
        """The tantivy query for ``query`` + ``filters``; None when nothing can match
        (no searchable token). Exposed for debugging (``Query.explain``)."""
        schema = self._schema
        scoring: list[tantivy.Query] = []

        counts = Counter(tok for term in query.terms for tok in self._tokens(term, stem=True))
        should: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for token, n in counts.items():
            tq = tantivy.Query.term_query(schema, _F_TEXT, token, "freq")
            if n > 1:
                tq = tantivy.Query.boost_query(tq, float(n))
            should.append((tantivy.Occur.Should, tq))
        if should and len(query.terms) >= 2:
            # "Li Dong" typed as free text: rank that author's papers first.
            name = " ".join(query.terms)
            if 2 <= len(self._tokens(name, stem=False)) <= MAX_AUTHOR_NAME_TOKENS:
                author_q = self._phrase(_F_AUTHORS, name, stem=False)
                if author_q is not None:
                    boosted = tantivy.Query.boost_query(author_q, AUTHOR_NAME_BOOST)
                    should.append((tantivy.Occur.Should, boosted))
        if should:
            # Nested so the SHOULDs stay required-one-of next to the MUST clauses below.
            scoring.append(tantivy.Query.boolean_query(should))

        for phrase in query.phrases:
            pq = self._phrase(_F_TEXT, phrase, stem=True)
            if pq is not None:
                scoring.append(pq)
        for author in query.authors:
            aq = self._phrase(_F_AUTHORS, author, stem=False)
            if aq is not None:
                scoring.append(aq)

        if not scoring:
            return None
        must = scoring + self._filter_clauses(filters)
        if len(must) == 1:
            return must[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in must])

    def keyword_search(self, query: KeywordQuery, filters: SearchFilters, k: int) -> Ranked:
        if k <= 0:
            return Ranked()
        q = self.build_query(query, filters)
        if q is None:
            return Ranked()
        searcher = self._index.searcher()
        result = searcher.search(q, limit=k, count=False)
        ids: list[str] = []
        scores: list[float] = []
        for score, address in result.hits:
            arxiv_id = searcher.doc(address).get_first(_F_ID)
            if arxiv_id is not None:
                ids.append(str(arxiv_id))
                scores.append(float(score))
        return Ranked(ids=ids, scores=scores)
