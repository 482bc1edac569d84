"""Parse what a reader typed into the search box.

Syntax (everything else is free text):

* ``"quoted phrase"`` — must match as a phrase. Curly quotes (“…”) count as quotes. An
  unbalanced quote is dropped and the rest of the query is parsed as ordinary text.
* ``author:Dong`` / ``author:"Li Dong"`` (alias ``au:``) — author constraint. A quoted
  value with no closing quote runs to the end of the query.
* arXiv ids anywhere: ``2406.07522``, ``2406.07522v2``, ``arXiv:2406.07522``, abs/pdf/html
  URLs, ``huggingface.co/papers/…`` URLs and old-style ids (``hep-th/9901001``). They are
  returned normalised (versionless, deduplicated) and are not search terms.
* Inline filters: ``category:cs.CL`` (alias ``cat:``), ``org:nvidia`` (alias
  ``organization:``; quoted values allowed), ``has:code``, ``after:2025-01-01`` and
  ``before:2025-02-01`` (ISO dates, both inclusive: they become ``date_from`` /
  ``date_to``). Operator names are case-insensitive; when a filter is given twice the
  last one wins. A filter with an invalid value (``after:notadate``, ``has:pizza``) is
  kept as plain text, never an error.

There are no boolean operators: ``OR``, ``AND`` and ``-word`` are ordinary words.

Syntax applies only where it is well-formed and meant (``reads_as_text``): text that reads
as prose — a pasted abstract, a paragraph, a long description — is searched as text, with
its quotes, ``word:`` labels and ids as plain words. That is the case when the query has
at least ``PROSE_MIN_WORDS`` words and is long (``PROSE_LONG_WORDS`` words or more), holds
a sentence break (``. `` followed by a capital letter or digit) or a ``Label:`` (a word
ending in a colon, followed by a space), *and* has at most one syntax item (quoted
phrase or well-formed operator) per ``PROSE_WORDS_PER_SYNTAX`` words. A quoted span of
more than ``MAX_PHRASE_WORDS`` words is never a phrase constraint (it is text) either:
people quote a term or a short phrase, not a paragraph. ``parse_query(text,
as_text=True)`` switches syntax off explicitly (``paperwire search --file``, the search
page's "similar to this text" box, ``as_text=true`` in the API).

Free-text terms come from ``tokenize``: NFKC-normalised, lowercased runs of letters,
digits and combining marks (so ``pre-training`` → ``pre``, ``training`` and
``$\\alpha$-divergence`` → ``alpha``, ``divergence``). One-character tokens are dropped
unless they are a digit (``GPT 4``) or a CJK/kana/hangul character: single Latin letters
are mostly noise (the ``s`` of ``model's``, the ``x`` of a formula). Stop words are kept
(BM25 weighs them down) and repeated terms are kept because counts matter for long
"papers like this abstract" queries.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from paperwire.index.base import KeywordQuery
from paperwire.models.search import SearchFilters
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.text.tokens import tokenize, word_pattern

MAX_TERMS = 2000
"""Free-text terms kept per query (the rest are ignored)."""
MAX_ITEMS = 100
"""Phrases, authors and arXiv ids kept per query, each."""
MAX_SEMANTIC_CHARS = 20_000
"""Longest ``semantic_text``; embedding models truncate far earlier anyway."""
MAX_PHRASE_WORDS = 8
"""Longest quoted span taken as a phrase constraint; longer ones are searched as text."""
PROSE_MIN_WORDS = 12
"""Shorter queries are always parsed for syntax (see ``reads_as_text``)."""
PROSE_LONG_WORDS = 25
"""From this many words on, a query reads as prose unless it is dense with syntax."""
PROSE_WORDS_PER_SYNTAX = 12
"""Prose has at most one quoted phrase or operator per this many words."""

__all__ = [
    "MAX_ITEMS",
    "MAX_PHRASE_WORDS",
    "MAX_SEMANTIC_CHARS",
    "MAX_TERMS",
    "ParsedQuery",
    "extract_arxiv_id",
    "parse_query",
    "reads_as_text",
    "tokenize",
    "word_pattern",
]


@dataclass
class ParsedQuery:
    """A parsed search-box query.

    ``semantic_text`` is the text to embed: free text and phrase contents as typed,
    without operators, filters or arXiv ids. ``filters`` holds only filters typed
    inline; merging them with the form's filters is the caller's job.
    ``highlight_terms`` are the distinct terms and phrase words, for snippets.
    ``as_text`` is True when the query was searched as plain text (no syntax), either
    because the caller asked or because it reads as prose (``reads_as_text``).
    """

    raw: str
    keyword: KeywordQuery = field(default_factory=KeywordQuery)
    semantic_text: str = ""
    arxiv_ids: list[str] = field(default_factory=list)
    filters: SearchFilters = field(default_factory=SearchFilters)
    highlight_terms: list[str] = field(default_factory=list)
    as_text: bool = False

    def is_empty(self) -> bool:
        """True when there is nothing to search for (filters alone do not count)."""
        return self.keyword.is_empty() and not self.arxiv_ids


# --- arXiv ids ----------------------------------------------------------------------

_HF_PAPERS = re.compile(r"^(?:https?://)?(?:www\.)?huggingface\.co/papers/", re.IGNORECASE)
_LEADING_PUNCT = "([{<'`"
_TRAILING_PUNCT = ".,;:!?)]}>'`"


def extract_arxiv_id(token: str) -> str | None:
    """The normalised arXiv id a single whitespace-free token names, or None.

    Accepts whatever ``normalize_arxiv_id`` accepts, plus surrounding punctuation
    (``(2406.07522),``), URL query strings/fragments and Hugging Face paper URLs.
    """
    t = token.strip(_LEADING_PUNCT)
    t = t.rstrip(_TRAILING_PUNCT)
    if not t:
        return None
    if "/" in t:
        t = t.split("?", 1)[0].split("#", 1)[0]
        t = _HF_PAPERS.sub("", t)
    try:
        return normalize_arxiv_id(t)
    except InvalidArxivId:
        return None


# --- inline filters -------------------------------------------------------------------

_OPERATOR = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
_KEYS = {
    "author": "author",
    "au": "author",
    "category": "category",
    "cat": "category",
    "org": "org",
    "organization": "org",
    "has": "has",
    "after": "after",
    "before": "before",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CATEGORY = re.compile(r"^([A-Za-z]+(?:-[A-Za-z]+)?)(?:\.([A-Za-z]+(?:-[A-Za-z]+)?))?$")
_ORG_BARE = re.compile(r"^[\w.&+\-]+$")
_HAS_ALNUM = re.compile(r"[^\W_]")
_WS = re.compile(r"\s+")
_CHUNK = re.compile(r'[^\s"]+')
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "＂": '"'})


def _parse_date(value: str) -> dt.date | None:
    if not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _normalize_category(value: str) -> str | None:
    """``cs.cl`` → ``cs.CL``: archive lowercase, two-letter subject classes uppercase."""
    m = _CATEGORY.match(value)
    if not m:
        return None
    archive, subject = m.group(1).lower(), m.group(2)
    if subject is None:
        return archive
    subject = subject.upper() if len(subject) == 2 else subject.lower()
    return f"{archive}.{subject}"


class _Builder:
    def __init__(self) -> None:
        self.terms: list[str] = []
        self.phrases: list[str] = []
        self.authors: list[str] = []
        self.ids: list[str] = []
        self.semantic: list[str] = []
        self.semantic_len = 0
        self.filters: dict[str, object] = {}

    def add_semantic(self, text: str) -> None:
        if text and self.semantic_len < MAX_SEMANTIC_CHARS:
            self.semantic.append(text)
            self.semantic_len += len(text) + 1

    def add_free(self, text: str) -> None:
        if _HAS_ALNUM.search(text):  # "!!!" is not worth embedding
            self.add_semantic(text)
        room = MAX_TERMS - len(self.terms)
        if room > 0:
            self.terms.extend(tokenize(text)[:room])

    def add_phrase(self, text: str) -> None:
        phrase = _WS.sub(" ", text).strip()
        words = tokenize(phrase, keep_short=True)
        if not phrase or not words:
            return
        if len(words) > MAX_PHRASE_WORDS:  # a quoted sentence: searched as text
            self.add_free(phrase)
            return
        self.add_semantic(phrase)
        if len(self.phrases) < MAX_ITEMS:
            self.phrases.append(phrase)

    def add_id(self, arxiv_id: str) -> None:
        if arxiv_id not in self.ids and len(self.ids) < MAX_ITEMS:
            self.ids.append(arxiv_id)

    def apply_operator(self, key: str, value: str, quoted: bool) -> bool:
        """Apply one ``key:value``; False when the value is invalid for the key."""
        value = _WS.sub(" ", value).strip()
        if key == "author":
            value = value if quoted else value.rstrip(",;")
            if not _HAS_ALNUM.search(value):
                return False
            if value not in self.authors and len(self.authors) < MAX_ITEMS:
                self.authors.append(value)
            return True
        if key == "category":
            category = _normalize_category(value)
            if category is None:
                return False
            self.filters["category"] = category
            return True
        if key == "org":
            if not _HAS_ALNUM.search(value) or not (quoted or _ORG_BARE.match(value)):
                return False
            self.filters["organization"] = value
            return True
        if key == "has":
            if value.lower() != "code":
                return False
            self.filters["has_code"] = True
            return True
        date = _parse_date(value)
        if date is None:
            return False
        self.filters["date_from" if key == "after" else "date_to"] = date
        return True

    def build(self, raw: str, as_text: bool = False) -> ParsedQuery:
        highlight: list[str] = []
        seen: set[str] = set()
        words = [*self.terms, *(t for p in self.phrases for t in tokenize(p))]
        for word in words:
            if word not in seen and len(highlight) < MAX_TERMS:
                seen.add(word)
                highlight.append(word)
        return ParsedQuery(
            raw=raw,
            keyword=KeywordQuery(terms=self.terms, phrases=self.phrases, authors=self.authors),
            semantic_text=" ".join(self.semantic)[:MAX_SEMANTIC_CHARS].strip(),
            arxiv_ids=self.ids,
            filters=SearchFilters.model_validate(self.filters),
            highlight_terms=highlight,
            as_text=as_text,
        )


_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+[\"'(\[]?[A-Z0-9]")
_LABEL = re.compile(r"(?:^|\s)[A-Za-z][\w-]*:(?=\s)")


def _syntax_items(s: str) -> int:
    """Quoted phrases and well-formed known-key operators in ``s`` (quotes normalised)."""
    items = 0
    inside = False
    for chunk in re.split(r'(")', s):
        if chunk == '"':
            inside = not inside
            items += inside  # count opening quotes only
            continue
        if inside:
            continue
        for word in chunk.split():
            op = _OPERATOR.match(word)
            if op and op.group(1).lower() in _KEYS and op.group(2).strip(",;"):
                items += 1
    return items


def reads_as_text(text: str) -> bool:
    """Whether ``text`` reads as prose (a pasted abstract, a paragraph) rather than a typed
    query with syntax; the rule is in the module docstring."""
    s = text.translate(_QUOTES)
    words = len(tokenize(s, keep_short=True))
    if words < PROSE_MIN_WORDS:
        return False
    prose = words >= PROSE_LONG_WORDS or bool(_SENTENCE_BREAK.search(s) or _LABEL.search(s))
    return prose and _syntax_items(s) * PROSE_WORDS_PER_SYNTAX <= words


def _as_text(text: str) -> ParsedQuery:
    b = _Builder()
    b.add_free(text.translate(_QUOTES).replace('"', " "))
    b.semantic = [" ".join(text.split())[:MAX_SEMANTIC_CHARS]]
    return b.build(text, as_text=True)


def parse_query(text: str, *, as_text: bool = False) -> ParsedQuery:
    """Parse a search-box query. Never raises: anything unrecognised is free text.

    With ``as_text`` (or when ``reads_as_text``), the whole text is free text: no
    phrases, operators, filters or arXiv ids.
    """
    if as_text or reads_as_text(text):
        return _as_text(text)
    s = text.translate(_QUOTES)
    b = _Builder()
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            close = s.find('"', i + 1)
            if close < 0:  # unbalanced: drop the quote, parse the rest as usual
                i += 1
            else:
                b.add_phrase(s[i + 1 : close])
                i = close + 1
            continue
        m = _CHUNK.match(s, i)
        if m is None:  # unreachable: s[i] is neither whitespace nor a quote
            i += 1
            continue
        chunk, end = m.group(), m.end()
        op = _OPERATOR.match(chunk)
        key = _KEYS.get(op.group(1).lower()) if op else None
        if op and key:
            value, quoted = op.group(2), False
            if not value and end < n and s[end] == '"':
                close = s.find('"', end + 1)
                value = s[end + 1 :] if close < 0 else s[end + 1 : close]
                end = n if close < 0 else close + 1
                quoted = True
            if not b.apply_operator(key, value, quoted):
                b.add_free(s[i:end].replace('"', " "))
            i = end
            continue
        arxiv_id = extract_arxiv_id(chunk)
        if arxiv_id is not None:
            b.add_id(arxiv_id)
        else:
            b.add_free(chunk)
        i = end
    return b.build(text)
