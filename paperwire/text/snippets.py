"""Highlighted snippets and teasers for result cards (plain text; templates escape).

Rules shared by every function here:

* The text is whitespace-normalised first (runs of whitespace, including arXiv's hard
  line breaks, become one space; ends stripped). Joining ``part.text`` of the returned
  parts gives exactly the snippet: that normalised text, or a window of it with "…"
  where it was cut.
* Words are runs of letters, digits and combining marks (the same definition as
  ``paperwire.text.tokens.tokenize``); only whole words are marked, so ``cat`` never
  lights up inside ``category``, and each hit part is exactly one matched word.
* Matching is case-insensitive and stemming-aware (Snowball English via PyStemmer):
  ``pruning`` marks ``pruned`` and ``Pruning``. Words the stemmer leaves alone get a
  plural fallback so ``LLM`` marks ``LLMs``. Terms are tokenised like queries, so a
  phrase passed as one term marks each of its words.
* Common English stop words (``the``, ``of``, …) are not highlighted unless every term
  is one.
* Cuts fall on whitespace. Only when no whitespace is in reach (a very long URL,
  unspaced CJK text, a tiny ``max_chars``) is a word cut, at a word-character boundary
  if possible. The result never exceeds ``max_chars`` characters (for
  ``max_chars`` >= 1).
"""

from __future__ import annotations

import functools
import operator
import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import Stemmer

from paperwire.models.search import SnippetPart
from paperwire.text.tokens import tokenize, word_or_mark_pattern, word_pattern, words

try:  # the C loops for ASCII text (``_scan.c``), where the install could compile them
    from paperwire.text import _scan
except ImportError:  # pragma: no cover - an install without a C compiler
    _scan = None  # type: ignore[assignment]

__all__ = ["annotate", "best_snippet", "highlight", "loops", "teaser", "terms_present"]

ELLIPSIS = "…"


def loops() -> Literal["c", "python"]:
    """How this process works snippets out (``paperwire status``): ``c`` where the
    install compiled ``_scan.c``, ``python`` where it could not (same results)."""
    return "python" if _scan is None else "c"


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "might",
        "more",
        "most",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "over",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "under",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
    ]
)

_WORD = word_pattern()
_WORD_OR_MARK = word_or_mark_pattern()
_WS = re.compile(r"\s+")
# End of a sentence: terminal punctuation, optional closing quotes/brackets, a space.
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*(?= )")
_SENTENCE_CLOSE = re.compile(r"[.!?…][\"')\]]*$")
_TRAILING_JOINERS = ",;:-–—(/"

_local = threading.local()


def _stem(word: str) -> str:
    """Snowball English stem; one stemmer per thread (they are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("english")
        _local.stemmer = stemmer
    try:
        return str(stemmer.stemWord(word))
    except (UnicodeError, ValueError):  # e.g. lone surrogates
        return word


def _keys(word: str) -> list[str]:
    """Match keys of a lowercase word: itself, its stem, a plural fallback."""
    stem = _stem(word)
    keys = [word, stem]
    if stem == word and len(word) > 2 and word.endswith("s"):
        keys.append(_stem(word[:-1]))
    return keys


@functools.lru_cache(maxsize=65536)
def _word_keys(word: str) -> tuple[str, ...]:
    """``_keys`` of a word as it appears in text (NFKC, lowercased), cached: snippets of
    one result page stem thousands of words, mostly the same few hundred."""
    return tuple(_keys(unicodedata.normalize("NFKC", word).lower()))


class _Hit(NamedTuple):
    """A matched word: ``text[start:end]``, matching query term ``term`` (a tuple: a
    result page makes thousands, and a frozen dataclass costs several times more)."""

    start: int
    end: int
    term: int


_START = operator.itemgetter(0)  # a hit's start (``bisect`` keys)
_END = operator.itemgetter(1)


class _Matcher:
    def __init__(self, terms: Sequence[str]) -> None:
        tokens = [t for term in terms for t in tokenize(term)]
        content = [t for t in tokens if t not in STOP_WORDS]
        self._ids: dict[str, int] = {}
        for token in content or tokens:
            term_id = self._ids.get(_stem(token), len(self._ids))
            for key in _keys(token):
                self._ids.setdefault(key, term_id)
        # word as written → term id (-1: no term); matchers are shared per query
        # (``_matcher``), so a result page looks each distinct word up once.
        self._memo: dict[str, int] = {}
        # Stemming keeps a word's first letter (Snowball English removes no prefixes),
        # so an ASCII word whose first letter starts no key cannot match: no stemming.
        self.first_letters = frozenset(key[0] for key in self._ids if key)
        # Where a matching ASCII word can start (``ascii_hits``): every word with a key
        # ``k`` starts with ``k[:-2]`` (at least its first letter), because Snowball
        # English changes at most a key's last two letters (``ies`` → ``i``, ``ying`` →
        # ``ie``, ``biliti`` → ``ble``); checked on the 126k distinct words of the
        # 74.7k arXiv listings and in the tests.
        ascii_keys = [key for key in self._ids if key.isascii()]
        self._prefixes = _shortest(key[: max(1, len(key) - 2)] for key in ascii_keys)
        # the regex of those words, compiled on first use (``ascii_hits`` without ``_scan``)
        self._candidates: re.Pattern[str] | None = None
        # Each term's first spelling with its id, in query order (``_present``): worked
        # out once per query, not once per result.
        self.in_order: list[tuple[str, int]] = []
        for token in tokens:
            matched = self.match(token)
            if matched is not None and all(matched != t for _, t in self.in_order):
                self.in_order.append((token, matched))

    def __bool__(self) -> bool:
        return bool(self._ids)

    def match(self, word: str) -> int | None:
        """The id of the query term that ``word`` matches (same id per stem), or None."""
        term_id = self._memo.get(word)
        if term_id is None:
            term_id = self._look_up(word)
        return None if term_id < 0 else term_id

    def _look_up(self, word: str) -> int:
        """``match`` without the memo (-1: no term); remembers the answer."""
        if word.isascii() and word[0].lower() not in self.first_letters:
            term_id = -1
        else:
            term_id = next((self._ids[k] for k in _word_keys(word) if k in self._ids), -1)
        if len(self._memo) < 100_000:
            self._memo[word] = term_id
        return term_id

    def ascii_hits(self, text: str) -> list[_Hit]:
        """Every word of ASCII ``text`` that matches a term, in text order.

        One regex pass over the lowercased text finds the words (runs of letters and
        digits) that start with a key's prefix (``_candidates``); only those are looked
        up. Offsets hold: lowercasing ASCII text keeps its length. Keys that are not
        ASCII are left out: an ASCII word's keys are ASCII.

        ``_scan.word_hits`` finds the same words in C where it is built, with no regex
        to compile per query: 0.39 against 1.04 ms for a page of 30 titles and
        abstracts (the 100 keyword bench pages at 74.7k papers; docs/benchmarks.md,
        "Snippets' loops in C")."""
        if not self._prefixes:
            return []
        if _scan is not None:
            return _scan.word_hits(text, self._prefixes, self._memo, self._look_up, _Hit)
        if self._candidates is None:
            self._candidates = _prefix_words(self._prefixes)
        hits: list[_Hit] = []
        for found in self._candidates.finditer(text.lower()):
            term = self.match(found.group())
            if term is not None:
                hits.append(_Hit(found.start(), found.end(), term))
        return hits

    def matching(self, words: set[str]) -> dict[str, int]:
        """The words among ``words`` that match a term, with its id.

        Set operations, not a Python step per word: every word seen in any text is
        filed once under its match keys (``_VOCABULARY``), so the words that match are
        ``words`` intersected with the words filed under the query's keys; only those
        few are looked up (``match``: the first of a word's keys decides its term)."""
        unfiled = _VOCABULARY.file(words)
        found: dict[str, int] = {}
        for word in _VOCABULARY.under(words, self._ids) | unfiled:
            term_id = self.match(word)
            if term_id is not None:
                found[word] = term_id
        return found


def _shortest(prefixes: Iterable[str]) -> tuple[str, ...]:
    """The shortest of ``prefixes``: a word that starts with "illuminati" starts with
    "illum", so only "illum" is needed to find it. Sorted: one set of keys, one tuple
    (and one regex, which ``re`` then compiles once)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=lambda p: (len(p), p)):
        if not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return tuple(sorted(kept))


def _prefix_words(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    """The words of lowercase ASCII text (runs of ``[a-z0-9]``) that start with one of
    ``prefixes`` (``_shortest``: none starts with another).

    Each alternative opens with its literal first letter and only then looks back for
    the start of a word (``v(?<![a-z0-9]v)id``, not ``(?<![a-z0-9])vid``): a pattern
    that opens with a letter lets ``re`` skip to the next place one of those letters
    occurs, where one that opens with a look-behind is tried at every character. With
    only the shortest prefixes kept, the regex passes of a page of 30 cost 0.83–0.85 ms
    instead of 0.98–1.16 (the 100 bench queries on the 74.7k listings)."""
    rests: dict[str, list[str]] = {}
    for prefix in prefixes:
        rests.setdefault(prefix[0], []).append(prefix)
    alternatives = []
    for first, kept in sorted(rests.items()):
        letter = re.escape(first)
        tails = "|".join(re.escape(p[1:]) for p in kept)
        alternatives.append(f"{letter}(?<![a-z0-9]{letter})(?:{tails})")
    return re.compile(f"(?:{'|'.join(alternatives)})[a-z0-9]*")


class _Vocabulary:
    """Every distinct word seen in snippet texts that are not ASCII (ASCII text takes
    ``_Matcher.ascii_hits``), filed under its match keys (``_keys`` of the word as
    written), up to ``limit`` words (~300 bytes each); beyond it, new words are looked
    up one by one."""

    def __init__(self, limit: int = 400_000) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._by_key: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def file(self, words: set[str]) -> set[str]:
        """File the new ones among ``words``; returns those that did not fit."""
        new = words.difference(self._known)
        if not new:
            return new
        with self._lock:
            room = self.limit - len(self._known)
            if room <= 0:
                return new
            filed = set(list(new)[:room]) if len(new) > room else new
            for word in filed:
                for key in _word_keys(word):
                    self._by_key.setdefault(key, set()).add(word)
            self._known |= filed
            return new - filed

    def under(self, words: set[str], keys: Iterable[str]) -> set[str]:
        """The filed words among ``words`` that have one of ``keys``."""
        found: set[str] = set()
        with self._lock:
            for key in keys:
                filed = self._by_key.get(key)
                if filed:
                    found |= words.intersection(filed)
        return found


_VOCABULARY = _Vocabulary()


@functools.lru_cache(maxsize=256)
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    return _Matcher(terms)


# What ``str.split()`` splits ASCII text on (``str.isspace``), but for single spaces.
_ASCII_BREAKS = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def _normalize(text: str) -> str:
    """``text`` with runs of whitespace made one space and its ends stripped.

    Titles and abstracts are stored normalised already (ingest), and every result card
    normalises two: ASCII text (``isascii`` is free: CPython keeps the flag) is looked
    through for a break with ``in``, a memchr-like scan, and returned as it is when it
    has none: 0.09 ms for a page of 30 abstracts against 0.28 ms for splitting and
    joining them (74.7k listings, the 100 bench queries' pages). ``_scan.spaced`` does
    the same check in one pass over the bytes where it is built."""
    if text.isascii():
        if _scan is not None:
            if _scan.spaced(text):
                return text
        elif text[:1] != " " and text[-1:] != " " and not any(brk in text for brk in _ASCII_BREAKS):
            return text
    # ``str.split()`` splits on exactly the characters ``\s`` matches (str.isspace),
    # several times faster than ``_WS.sub(" ", text).strip()``.
    return " ".join(text.split())


def _find_hits(text: str, terms: Sequence[str]) -> list[_Hit]:
    """Every word of ``text`` that matches a query term, in text order.

    The hot path of a result page (~200 words per abstract, 20–30 abstracts), so no
    Python step per word: ASCII text (99 % of arXiv's titles and abstracts) takes one
    regex pass for the words that can match (``_Matcher.ascii_hits``); other text has
    its distinct words collected (``words``), looked up once per query
    (``_Matcher.matching``), and only the few that match located again with
    ``str.find``.
    """
    matcher = _matcher(tuple(terms))
    if not matcher:
        return []
    if text.isascii():
        return matcher.ascii_hits(text)
    hits: list[_Hit] = []
    for word, term in matcher.matching(set(words(text))).items():
        size = len(word)
        at = text.find(word)
        while at >= 0:
            if _is_token(text, at, size):
                hits.append(_Hit(at, at + size, term))
            at = text.find(word, at + 1)
    hits.sort(key=lambda hit: hit.start)
    return hits


def _is_token(text: str, start: int, size: int) -> bool:
    """Whether ``_WORD.finditer(text)`` yields a token at exactly ``[start, start+size)``."""
    m = _WORD.match(text, start)
    if m is None or m.end() != start + size:
        return False
    before = start - 1
    while before >= 0 and _WORD_OR_MARK.match(text, before) and not _WORD.match(text, before):
        before -= 1  # combining marks: part of a token only if a letter/digit precedes them
    return before < 0 or not _WORD.match(text, before)


def _is_word_char(ch: str) -> bool:
    return _WORD.fullmatch(ch) is not None or unicodedata.category(ch).startswith("M")


def _cut_end(text: str, start: int, limit: int) -> int:
    """The best end ``e`` with ``start < e <= limit`` that does not split a word."""
    if limit >= len(text):
        return len(text)
    if limit <= start:
        return min(start + 1, len(text))
    space = text.rfind(" ", start + 1, limit + 1)
    if space > start:
        end = space
        while end > start + 1 and text[end - 1] in _TRAILING_JOINERS + " ":
            end -= 1
        return end
    for end in range(limit, start, -1):  # no whitespace in reach: word-char boundary
        if not (_is_word_char(text[end - 1]) and _is_word_char(text[end])):
            return end
    return limit


def _sentence_starts(text: str) -> list[int]:
    """Start offsets of sentences: after ``. ``/``! ``/``? `` unless lowercase follows.

    ASCII text takes ``_scan.sentence_starts`` where it is built (the same rule in C)."""
    if _scan is not None and text.isascii():
        return _scan.sentence_starts(text)
    starts = [0]
    for m in _SENTENCE_END.finditer(text):
        nxt = m.end() + 1
        if nxt < len(text) and not text[nxt].islower():
            starts.append(nxt)
    return starts


def _ends_sentence(text: str, end: int) -> bool:
    return _SENTENCE_CLOSE.search(text, max(0, end - 8), end) is not None


@functools.lru_cache(maxsize=4096)
def _hit_part(word: str) -> SnippetPart:
    """The part of one matched word, shared: a page's ~300 hits are the same few words,
    and building each anew cost 0.08-0.09 ms of a page's 2.42 ms of snippets (the 100
    bench queries' pages at 74.7k papers)."""
    return SnippetPart(text=word, hit=True)


def _parts(
    text: str, start: int, end: int, hits: list[_Hit], prefix: str, suffix: str
) -> list[SnippetPart]:
    """``text[start:end]`` as parts, ``prefix`` before it and ``suffix`` after it: each
    of ``hits`` inside it a hit part, the text between plain parts (never empty).
    ASCII text takes ``_scan.parts`` where it is built (the same loop in C)."""
    if _scan is not None and text.isascii():
        return _scan.parts(text, start, end, hits, prefix, suffix, SnippetPart, _hit_part)
    parts: list[SnippetPart] = []
    plain = prefix
    pos = start
    for hit in hits:
        if hit.start < start or hit.end > end:
            continue
        plain += text[pos : hit.start]
        if plain:
            parts.append(SnippetPart(text=plain))
        parts.append(_hit_part(text[hit.start : hit.end]))
        plain = ""
        pos = hit.end
    plain += text[pos:end] + suffix
    if plain:
        parts.append(SnippetPart(text=plain))
    return parts


def _head_cut(text: str, max_chars: int | None) -> tuple[int, str] | None:
    """Where the head of ``text`` ends and what follows it: the whole text (``""``), or
    its first ``max_chars`` characters cut at a word (``"…"``); ``(0, "…")`` when nothing
    fits before "…"; None when there is nothing to show."""
    if not text or (max_chars is not None and max_chars <= 0):
        return None
    if max_chars is None or len(text) <= max_chars:
        return len(text), ""
    end = _cut_end(text, 0, max_chars - len(ELLIPSIS))
    if end > max_chars - len(ELLIPSIS):  # max_chars == 1: nothing fits before "…"
        return 0, ELLIPSIS
    return end, ELLIPSIS


def _head(text: str, hits: list[_Hit], max_chars: int | None) -> list[SnippetPart]:
    """The whole text, or its first ``max_chars`` characters cut at a word with "…"."""
    cut = _head_cut(text, max_chars)
    if cut is None:
        return []
    return _parts(text, 0, cut[0], hits, "", cut[1])


def highlight(text: str, terms: Sequence[str], max_chars: int | None = None) -> list[SnippetPart]:
    """Mark ``terms`` in the whole ``text`` (e.g. a title), cut to ``max_chars`` if set."""
    norm = _normalize(text)
    return _head(norm, _find_hits(norm, terms), max_chars)


def _present(hits: Sequence[_Hit], terms: Sequence[str]) -> list[str]:
    """The terms (first spelling, query order) that ``hits`` matched."""
    found = {hit.term for hit in hits}
    return [token for token, term_id in _matcher(tuple(terms)).in_order if term_id in found]


def terms_present(texts: Sequence[str], terms: Sequence[str]) -> list[str]:
    """The ``terms`` (their first spelling, in order) that ``texts`` contain, matched as
    highlighting matches them (stems, plural fallback, stop words only when every term
    is one): what a "matched by words: …" label or a "shared terms" line shows."""
    return _present([h for text in texts for h in _find_hits(_normalize(text), terms)], terms)


def annotate(
    title: str, abstract: str, terms: Sequence[str], max_chars: int = 280
) -> tuple[list[SnippetPart], list[SnippetPart], list[str]]:
    """A search hit's highlighted title, best snippet and the terms it holds, finding
    the terms in each text once (``highlight`` + ``best_snippet`` + ``terms_present``)."""
    t_norm, a_norm = _normalize(title), _normalize(abstract)
    t_hits, a_hits = _find_hits(t_norm, terms), _find_hits(a_norm, terms)
    return (
        _head(t_norm, t_hits, None),
        _best(a_norm, a_hits, max_chars),
        _present([*t_hits, *a_hits], terms),
    )


def teaser(text: str, max_chars: int = 220) -> str:
    """The start of ``text`` for a card: at most ``max_chars``, cut at a word with "…"."""
    # Normalise only a prefix when it already yields more than max_chars: the cut
    # happens before its end, so the result is the same as for the whole text.
    head = text[: 2 * max_chars + 64]
    norm = _normalize(head)
    if len(head) < len(text) and len(norm) <= max_chars:
        norm = _normalize(text)  # mostly whitespace up front: look at everything
    # ``_head`` with no hits, as one string: no parts built to be joined again (the
    # teasers of 30 abstracts in 0.11 ms instead of 0.17; docs/benchmarks.md)
    cut = _head_cut(norm, max_chars)
    return "" if cut is None else norm[: cut[0]] + cut[1]


class _Window(NamedTuple):
    start: int
    end: int
    prefix: str
    suffix: str
    aligned: bool


def _window(text: str, start: int, aligned: bool, sentences: Sequence[int], budget: int) -> _Window:
    """The window from ``start``: whole sentences while they fit, then filled with words
    up to the budget when more than a third of it is left."""
    prefix = "" if start == 0 else (ELLIPSIS + " " if aligned else ELLIPSIS)
    if len(prefix) + len(text) - start <= budget:
        return _Window(start, len(text), prefix, "", aligned)
    room = budget - len(prefix) - 2  # worst-case suffix " …"
    limit = start + max(room, 1)
    end = start
    for s in sentences[bisect_left(sentences, start + 1) :]:
        if s - 1 > limit:
            break
        end = s - 1  # the space before the next sentence
    if end <= start or limit - end > budget // 3:
        end = _cut_end(text, start, limit)
    suffix = " " + ELLIPSIS if _ends_sentence(text, end) else ELLIPSIS
    if len(prefix) + (end - start) + len(suffix) > budget:  # tiny budgets
        suffix = ELLIPSIS
    return _Window(start, end, prefix, suffix, aligned)


def best_snippet(text: str, terms: Sequence[str], max_chars: int = 280) -> list[SnippetPart]:
    """The ``max_chars`` window of ``text`` that shows the most distinct query terms.

    Candidate windows start at each sentence and shortly before each hit; they are
    ranked by distinct terms shown, then sentence alignment, then hits shown, then how
    soon the first hit comes, then earliest start. Cut ends get "…". The whole text is
    returned when it fits; with no hit the result is the start of the text, cut at a
    word with "…".
    """
    norm = _normalize(text)
    return _best(norm, _find_hits(norm, terms), max_chars)


def _best(
    norm: str, hits: list[_Hit], max_chars: int, exhaustive: bool = False
) -> list[SnippetPart]:
    """``best_snippet`` of normalised text whose hits are known. ``exhaustive`` works
    out every candidate window (the definition; tests check the pruned search equals it)."""
    if not hits or not norm or max_chars < 8 or len(norm) <= max_chars:
        return _head(norm, hits, max_chars)
    if _scan is not None and not exhaustive and norm.isascii():
        found = _scan.best_window(norm, hits, max_chars)
        win = None if found is None else _Window._make(found)
    else:
        win = _best_window(norm, hits, max_chars, exhaustive)
    if win is None:
        return _head(norm, hits, max_chars)
    inside = hits[bisect_left(hits, win.start, key=_START) : bisect_right(hits, win.end, key=_END)]
    return _parts(norm, win.start, win.end, inside, win.prefix, win.suffix)


def _best_window(
    norm: str, hits: Sequence[_Hit], max_chars: int, exhaustive: bool
) -> _Window | None:
    """The window of ``_best`` (None: no candidate window holds a hit). ASCII text takes
    ``_scan.best_window`` where it is built: the same search in C (with the parts built
    after it, 0.42 against 0.96 ms for a page of 30 abstracts, the 100 keyword bench
    pages at 74.7k papers)."""
    sentences = _sentence_starts(norm)
    starts: dict[int, bool] = dict.fromkeys(sentences, True)
    lead = max_chars // 4
    # increasing both: hits are words, in order
    hit_starts, hit_ends, terms = zip(*hits, strict=True)
    for at in hit_starts[:500]:
        if at - sentences[bisect_left(sentences, at + 1) - 1] > lead:
            # not close enough to its sentence's own window: one that starts before it
            starts.setdefault(norm.rfind(" ", 0, at - lead + 1) + 1, False)
    # A window never reaches past ``start + max_chars``, so the hits up to there bound
    # its score key by key: at most their distinct terms and their number; its
    # alignment, first hit and start as they are (scores differ in their start, so no
    # two tie). Working out a window's exact end is the costly part: candidates are
    # tried best bound first, and the search stops at the first whose bound does not
    # beat the best window found.
    bounds: list[tuple[int, bool, int, int, int]] = []
    for start, aligned in starts.items():
        first = bisect_left(hit_starts, start)
        reach = bisect_right(hit_ends, start + max_chars, first)
        if reach > first:
            shown = len(set(terms[first:reach]))
            bounds.append((shown, aligned, reach - first, start - hit_starts[first], -start))
    bounds.sort(reverse=True)
    best: tuple[tuple[int, bool, int, int, int], _Window] | None = None
    for bound in bounds:
        if best is not None and bound < best[0] and not exhaustive:
            break
        win = _window(norm, -bound[4], bound[1], sentences, max_chars)
        first = bisect_left(hit_starts, win.start)
        after = bisect_right(hit_ends, win.end, first)
        if after <= first:
            continue
        gap = hit_starts[first] - win.start
        score = (len(set(terms[first:after])), win.aligned, after - first, -gap, -win.start)
        if best is None or score > best[0]:
            best = (score, win)
    return None if best is None else best[1]
