"""Snippets: stemming-aware whole-word highlights, window choice, cuts, plain text."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pydantic
import pytest

from paperwire.models.search import SnippetPart
from paperwire.search.query import parse_query
from paperwire.text.snippets import best_snippet, highlight, teaser

ELLIPSIS = "…"


def joined(parts: Sequence[SnippetPart]) -> str:
    return "".join(p.text for p in parts)


def hits(parts: Sequence[SnippetPart]) -> list[str]:
    return [p.text for p in parts if p.hit]


def norm(text: str) -> str:
    return " ".join(text.split())


def window_of(snippet: str) -> str:
    """The snippet without its "…" / "… " prefix and "…" / " …" suffix."""
    return snippet.removeprefix(ELLIPSIS).lstrip(" ").removesuffix(ELLIPSIS).rstrip(" ")


def check_parts(parts: Sequence[SnippetPart], text: str, max_chars: int | None) -> str:
    """Invariants every result must hold; returns the snippet text."""
    full = norm(text)
    snippet = joined(parts)
    assert all(p.text for p in parts), "no empty parts"
    for a, b in itertools.pairwise(parts):
        assert a.hit or b.hit, "adjacent plain parts are merged"
    for p in parts:
        if p.hit:
            assert re.fullmatch(r"[^\W_]+", p.text), p.text
    if max_chars is not None and max_chars >= 1 and full:
        assert 1 <= len(snippet) <= max_chars
    if snippet == ELLIPSIS:
        return snippet
    inner = window_of(snippet)
    start = full.find(inner)
    assert start >= 0, (inner, full)
    if full and len(full) > len(inner) and max_chars is not None and max_chars >= 20:
        end = start + len(inner)
        # never inside a word (ample budgets always find whitespace in prose)
        assert start == 0 or full[start - 1] == " "
        assert end == len(full) or not (full[end - 1].isalnum() and full[end].isalnum())
    return snippet


@pytest.fixture(scope="module")
def abstracts(shared_data: Path) -> list[str]:
    entries = json.loads((shared_data / "hf-daily-papers" / "2025-06-10.json").read_text())
    return [e["paper"]["summary"] for e in entries]


@pytest.fixture(scope="module")
def titles(shared_data: Path) -> list[str]:
    entries = json.loads((shared_data / "hf-daily-papers" / "2025-06-10.json").read_text())
    return [e["paper"]["title"] for e in entries]


# --- highlight ------------------------------------------------------------------------


def test_highlight_stemming_and_case():
    parts = highlight("Pruned networks. Pruning again; we prune, PRUNES!", ["pruning"])
    assert hits(parts) == ["Pruned", "Pruning", "prune", "PRUNES"]
    assert joined(parts) == "Pruned networks. Pruning again; we prune, PRUNES!"


def test_highlight_exact_parts():
    parts = highlight("Sparse attention for long context", ["attention", "context"])
    assert parts == [
        SnippetPart(text="Sparse "),
        SnippetPart(text="attention", hit=True),
        SnippetPart(text=" for long "),
        SnippetPart(text="context", hit=True),
    ]


def test_highlight_whole_words_only():
    parts = highlight("A category of cats: cat, concatenate, bobcat, cat-like.", ["cat"])
    assert hits(parts) == ["cats", "cat", "cat"]


def test_highlight_phrase_words_and_query_terms():
    q = parse_query('"reinforcement learning" agents')
    parts = highlight("Agents trained with Reinforcement Learning (RL) learn.", q.highlight_terms)
    assert hits(parts) == ["Agents", "Reinforcement", "Learning", "learn"]


def test_highlight_terms_are_tokenised():
    parts = highlight("Reinforcement pre-training scales.", ["Pre-Training"])
    assert hits(parts) == ["pre", "training"]


def test_highlight_stop_words_skipped_unless_only_stop_words():
    assert hits(highlight("the state of the art", ["state of the art"])) == ["state", "art"]
    assert hits(highlight("to be or not to be", ["to be"])) == ["to", "be", "to", "be"]


def test_highlight_plural_fallback_for_acronyms():
    assert hits(highlight("LLMs and an LLM beat VLMs", ["llm"])) == ["LLMs", "LLM"]
    assert hits(highlight("one LLM", ["LLMs"])) == ["LLM"]


def test_highlight_no_terms_or_no_text():
    assert highlight("A title", []) == [SnippetPart(text="A title")]
    assert highlight("A title", ["", "!!"]) == [SnippetPart(text="A title")]
    assert highlight("", ["x"]) == []
    assert highlight("   \n ", ["x"]) == []


def test_highlight_collapses_whitespace_of_titles(titles: list[str]):
    title = titles[1]
    assert "\n" in title
    parts = highlight(title, ["medical", "understanding"])
    assert joined(parts) == norm(title)
    assert hits(parts) == ["Medical", "Understanding"]


def test_highlight_max_chars_cuts_at_a_word():
    text = "Efficient inference for mixture of experts models on commodity hardware"
    parts = highlight(text, ["experts", "hardware"], 40)
    assert joined(parts) == "Efficient inference for mixture of…"
    assert hits(parts) == []
    parts = highlight(text, ["experts", "hardware"], 50)
    assert joined(parts) == "Efficient inference for mixture of experts models…"
    assert hits(parts) == ["experts"]
    assert highlight(text, ["experts"], None) == highlight(text, ["experts"], len(text))


def test_html_stays_literal_text():
    text = "We inject <script>alert('x')</script> & <b>bold</b> payloads into abstracts."
    parts = highlight(text, ["script", "payload"])
    assert joined(parts) == text
    assert hits(parts) == ["script", "script", "payloads"]
    assert "<script>" in joined(best_snippet(text, ["script"], 60))
    assert "&amp;" not in joined(parts)
    assert teaser(text, 40) == "We inject <script>alert('x')</script> &…"


def test_latex_and_unicode():
    text = r"We minimise the $\alpha$-divergence of naïve 大语言模型 models 🚀 fast."
    parts = highlight(text, ["alpha", "divergences", "naïve", "大语言模型"])
    assert joined(parts) == text
    assert hits(parts) == ["alpha", "divergence", "naïve", "大语言模型"]
    assert hits(highlight("हिन्दी भाषा", ["हिन्दी"])) == ["हिन्दी"]


# --- best_snippet -----------------------------------------------------------------------

THREE = (
    "Large language models are trained on vast amounts of web text collected from many "
    "sources. "
    "We show that magnitude pruning removes most attention heads while sparse pruned "
    "networks keep their accuracy. "
    "Finally, we release code, data and model weights to the community for further study."
)


def test_best_snippet_picks_the_sentence_with_most_terms():
    parts = best_snippet(THREE, ["sparse", "pruning", "networks", "language"], max_chars=120)
    snippet = joined(parts)
    assert snippet == (
        "… We show that magnitude pruning removes most attention heads while sparse pruned "
        "networks keep their accuracy. …"
    )
    assert hits(parts) == ["pruning", "sparse", "pruned", "networks"]
    check_parts(parts, THREE, 120)


def test_best_snippet_first_and_last_sentences():
    first = joined(best_snippet(THREE, ["web text"], max_chars=120))
    assert first == (
        "Large language models are trained on vast amounts of web text collected from many "
        "sources. …"
    )
    last = joined(best_snippet(THREE, ["release weights"], max_chars=120))
    assert last == (
        "… Finally, we release code, data and model weights to the community for further study."
    )


def test_best_snippet_whole_text_when_it_fits():
    parts = best_snippet(THREE, ["pruning"], max_chars=1000)
    assert joined(parts) == THREE
    assert hits(parts) == ["pruning", "pruned"]


def test_best_snippet_distinct_terms_beat_repeats():
    text = (
        "Pruning pruning pruning pruning is all this sentence talks about at length. "
        "Quantization and pruning are combined in the second sentence of this text. "
        "A third sentence about nothing in particular closes the abstract for good."
    )
    parts = best_snippet(text, ["pruning", "quantization"], max_chars=90)
    assert hits(parts) == ["Quantization", "pruning"]
    assert joined(parts).startswith("… Quantization")


def test_best_snippet_long_sentence_window_around_hits():
    filler = " ".join(f"word{i}" for i in range(80))
    text = f"{filler} the crucial keyword appears here {filler}."
    parts = best_snippet(text, ["keyword"], max_chars=100)
    snippet = check_parts(parts, text, 100)
    assert hits(parts) == ["keyword"]
    assert snippet.startswith(ELLIPSIS) and not snippet.startswith(ELLIPSIS + " ")
    assert snippet.endswith(ELLIPSIS)
    assert len(snippet) <= 100


def test_best_snippet_no_match_falls_back_to_the_start():
    parts = best_snippet(THREE, ["zebra"], max_chars=100)
    assert len(parts) == 1 and not parts[0].hit
    snippet = parts[0].text
    assert snippet == teaser(THREE, 100)
    assert snippet == (
        "Large language models are trained on vast amounts of web text collected from many "
        "sources. We show…"
    )
    assert best_snippet(THREE, [], max_chars=100) == parts


def test_best_snippet_real_abstracts(abstracts: list[str]):
    rpt = abstracts[0]
    parts = best_snippet(rpt, ["scaling paradigm"])
    check_parts(parts, rpt, 280)
    assert set(hits(parts)) == {"scaling", "paradigm"}
    assert len(hits(parts)) == 3
    # the last sentences hold "scaling" twice and the phrase "scaling paradigm"
    assert joined(parts).endswith("pre-training.")
    assert joined(parts).startswith("… ")

    registers = next(a for a in abstracts if "test-time registers" in norm(a))
    parts = best_snippet(registers, parse_query('"test-time registers"').highlight_terms)
    check_parts(parts, registers, 280)
    assert {h.lower() for h in hits(parts)} >= {"test", "time", "registers"}


def test_best_snippet_invariants_on_real_abstracts(abstracts: list[str]):
    rng = random.Random(11)
    for abstract in abstracts:
        words = re.findall(r"[A-Za-z]{4,}", abstract)
        for _ in range(5):
            terms = rng.sample(words, k=min(len(words), rng.randint(1, 4)))
            max_chars = rng.choice([60, 120, 200, 280, 400])
            parts = best_snippet(abstract, terms, max_chars)
            snippet = check_parts(parts, abstract, max_chars)
            assert hits(parts), (terms, snippet)  # the terms come from the text


def test_pruned_window_search_equals_the_exhaustive_one(abstracts: list[str], loops: str) -> None:
    """``_best`` tries candidate windows best bound first (what their reach holds) and
    stops at the first whose bound does not beat the best window so far: on real
    abstracts, with title-long and short queries and every budget, it picks exactly the
    window that scoring every candidate picks."""
    from paperwire.text.snippets import _best, _find_hits, _normalize

    rng = random.Random(5)
    compared = 0
    for abstract in abstracts:
        text = _normalize(abstract)
        words = re.findall(r"[A-Za-z]{3,}", text)
        for _ in range(6):
            terms = [" ".join(rng.sample(words, k=min(len(words), rng.randint(1, 12))))]
            hits = _find_hits(text, terms)
            for max_chars in (60, 140, 280, 400):
                assert _best(text, hits, max_chars) == _best(text, hits, max_chars, True)
                compared += 1
    assert compared > 500


def test_tiny_and_odd_budgets_never_exceed_max_chars(abstracts: list[str]):
    text = abstracts[3]
    for max_chars in range(1, 40):
        for fn in (best_snippet, highlight):
            parts = fn(text, ["safety", "inference"], max_chars)
            assert 1 <= len(joined(parts)) <= max_chars
        assert 1 <= len(teaser(text, max_chars)) <= max_chars
    assert best_snippet(text, ["safety"], 0) == []
    assert best_snippet(text, ["safety"], -5) == []
    assert teaser(text, 0) == ""


def test_unspaced_text_is_cut_hard_when_it_must_be():
    text = "x" * 500
    assert teaser(text, 50) == "x" * 49 + ELLIPSIS
    url = "https://example.org/" + "a/" * 100
    assert len(teaser(url, 40)) <= 40


# --- teaser -------------------------------------------------------------------------


def test_teaser_short_text_unchanged_but_whitespace_collapsed():
    assert teaser("A  short\nabstract. ") == "A short abstract."
    assert teaser("") == ""


def test_teaser_cuts_at_a_word_with_ellipsis(abstracts: list[str]):
    for abstract in abstracts:
        full = norm(abstract)
        t = teaser(abstract)
        assert len(t) <= 220
        assert t.endswith(ELLIPSIS)
        body = t[: -len(ELLIPSIS)]
        assert full.startswith(body)
        assert full[len(body)] in " ,;:" or not full[len(body) - 1].isalnum()
        assert not body.endswith((" ", ","))


def test_teaser_drops_trailing_punctuation_before_the_ellipsis():
    assert teaser("alpha beta, gamma delta", 17) == "alpha beta…"


# --- robustness -----------------------------------------------------------------------

_PIECES = [
    "word",
    "Pruning",
    " ",
    "  ",
    "\n",
    ". ",
    "? ",
    "e.g. ",
    "<script>",
    "&amp;",
    r"$\alpha$",
    "-",
    "😀",
    "大语言模型",
    "\u0301",
    "\ud800",
    "\x00",
    "…",
    '"',
    "x" * 50,
]


def test_fuzz_never_raises():
    rng = random.Random(5)
    for _ in range(300):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 120)))
        terms = [rng.choice(["pruning", "word", "alpha", "", "大语言模型", "\ud800", "x"])]
        max_chars = rng.choice([1, 2, 5, 8, 20, 60, 280])
        for parts in (best_snippet(text, terms, max_chars), highlight(text, terms, max_chars)):
            snippet = joined(parts)
            assert len(snippet) <= max_chars
            assert bool(snippet) == bool(norm(text))
        assert len(teaser(text, max_chars)) <= max_chars


def test_long_text_is_fast():
    import time

    text = " ".join(["pruning sparse networks with care."] * 5000)  # ~170k chars
    start = time.perf_counter()
    parts = best_snippet(text, ["pruning", "networks"])
    assert time.perf_counter() - start < 5.0
    assert len(joined(parts)) <= 280


def test_thread_safe(abstracts: list[str]):
    def run(abstract: str) -> list[SnippetPart]:
        return best_snippet(abstract, ["models", "training", "reasoning"])

    expected = [run(a) for a in abstracts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(run, abstracts)) == expected


def test_teaser_of_a_prefix_equals_teaser_of_the_whole_text() -> None:
    """``teaser`` normalises only a prefix of long texts; the result must not change."""
    from paperwire.text.snippets import _head, _normalize

    rng = random.Random(7)
    words = ["alpha", "beta", "γάμμα", "x" * 50, "end.", "a", "\u00a0", "\t\n", " " * 40]
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 150)))
        limit = rng.choice([10, 50, 220, 300])
        whole = "".join(p.text for p in _head(_normalize(text), [], limit))
        assert teaser(text, limit) == whole, (text, limit)


def _hits(text: str, terms: list[str]) -> list[tuple[int, int, int]]:
    """``_find_hits`` as ``(start, end, term)``."""
    from paperwire.text.snippets import _find_hits

    return [(h.start, h.end, h.term) for h in _find_hits(text, terms)]


def _scanned(text: str, terms: list[str]) -> list[tuple[int, int, int]]:
    """What ``_find_hits`` must find: every word of ``text`` that the query's matcher
    matches, checked one by one."""
    from paperwire.text.snippets import _WORD, _matcher

    matcher = _matcher(tuple(terms))
    found = ((m, matcher.match(m.group())) for m in _WORD.finditer(text))
    return [(m.start(), m.end(), term) for m, term in found if term is not None]


def test_find_hits_equals_a_scan_of_every_word() -> None:
    """The fast ``_find_hits`` finds exactly what checking every token would find,
    including words inside longer words, combining marks and repeated words."""
    rng = random.Random(11)
    pieces = [
        "network",
        "networks",
        "Networks",
        "subnetwork",
        "network_x",
        "graph",
        "graphs",
        "e\u0301t\u0301",
        "\u0301network",
        "network\u0301",
        "_network",
        "neural",
        "s",
        "1",
        "naïve",
        "nai\u0308ve",
        "studies",
        "study",
        "-",
        ".",
        " ",
        "  ",
        "\n",
        "(graph)",
    ]
    queries = [["neural networks"], ["graph"], ["study"], ["naïve"], ["ét"], ["s", "1"]]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(60))
        terms = rng.choice(queries)
        assert _hits(text, terms) == _scanned(text, terms), (text, terms)


def built_scan() -> ModuleType:
    """The C loops' module, which the install (``make install``) builds: a test of it
    fails, never skips, where it was not built."""
    from paperwire.text import snippets

    assert snippets._scan is not None, "the install did not build paperwire.text._scan"
    return snippets._scan


@pytest.fixture(params=["c", "python"])
def loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on both ways the ASCII loops run: the C module (``_scan``, what the
    install builds) and the pure-Python definitions it must equal."""
    from paperwire.text import snippets

    if request.param == "c":
        built_scan()
    else:
        monkeypatch.setattr(snippets, "_scan", None)
    snippets._matcher.cache_clear()
    request.addfinalizer(snippets._matcher.cache_clear)
    return str(request.param)


def test_find_hits_in_ascii_text_equals_a_scan_of_every_word(loops: str) -> None:
    """ASCII text takes its own path (one regex pass over the words that can match):
    it finds exactly what checking every token finds, with repeated and adjacent words,
    words at both ends and words inside longer words (the other test's texts are
    nearly all non-ASCII)."""
    rng = random.Random(5)
    pieces = ["net", "nets", "Net", "subnet", "net_x", "_net", "net1", "1net", "a", "ab"]
    seps = ["", " ", "-", ".", "(", ")", "_", "'", "  "]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(seps) for _ in range(rng.randint(0, 30)))
        terms = rng.choice([["net"], ["nets", "ab"], ["1"]])
        assert text.isascii()
        assert _hits(text, terms) == _scanned(text, terms), (text, terms)


def test_words_equal_the_word_pattern_on_random_text() -> None:
    """``words`` (byte operations for ASCII text) finds exactly the regex's words."""
    from paperwire.text.tokens import word_pattern, words

    rng = random.Random(23)
    alphabet = [*"abcXYZ019_-.,;:'\"()[]{}$\\/@#!?*+=<>|~`^%& \t\n\r\x0b\x0c\x00\x7f"]
    unicode_bits = ["é", "e\u0301", "\u0301", "ß", "大", "\u00a0", "\u2003", "Ⅻ", "٣"]
    for n in range(4000):
        pool = alphabet if n % 2 else alphabet + unicode_bits
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 80)))
        expected = word_pattern().findall(text)
        assert words(text) == expected, text


def test_normalize_equals_splitting_and_joining(abstracts: list[str], titles: list[str]) -> None:
    """The fast path (normalised ASCII text returned as it is) gives what splitting on
    every whitespace character and joining with single spaces gives, on random text
    with every ASCII whitespace character, non-ASCII spaces, and real texts both as
    stored (already normalised) and as fetched (hard line breaks)."""
    from paperwire.text.snippets import _normalize

    ascii_spaces = [chr(i) for i in range(128) if chr(i).isspace()]
    assert len(ascii_spaces) == 10  # \t \n \v \f \r, the four separators, the space
    rng = random.Random(29)
    alphabet = [*"ab.,;-1 ", *ascii_spaces]
    unicode_bits = ["é", "\u00a0", "\u2003", "\u3000", "\x85", "大"]
    for n in range(6000):
        pool = alphabet if n % 2 else alphabet + unicode_bits
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert _normalize(text) == norm(text), repr(text)
    for text in [*abstracts, *titles]:
        assert _normalize(text) == norm(text)
        assert _normalize(norm(text)) == norm(text)
    stored = norm(abstracts[0])
    assert stored.isascii() and _normalize(stored) is stored  # nothing copied


def test_snippets_same_when_the_vocabulary_is_full(abstracts: list[str]) -> None:
    """Words that no longer fit the shared vocabulary are looked up one by one, with
    the same result."""
    from paperwire.text import snippets

    terms = ["language models", "reasoning", "training data"]
    # ASCII text never files its words (``_Matcher.ascii_hits``): make each abstract
    # non-ASCII so that the shared vocabulary is what finds the words.
    abstracts = [f"{a} (naïve)" for a in abstracts]
    expected = [snippets.annotate("A title on reasoning", a, terms) for a in abstracts]
    full = snippets._Vocabulary(limit=50)
    saved, snippets._VOCABULARY = snippets._VOCABULARY, full
    snippets._matcher.cache_clear()
    try:
        got = [snippets.annotate("A title on reasoning", a, terms) for a in abstracts]
    finally:
        snippets._VOCABULARY = saved
        snippets._matcher.cache_clear()
    assert len(full._known) == 50
    assert got == expected


def test_every_word_starts_with_its_keys_but_their_last_two_letters(
    abstracts: list[str], titles: list[str]
) -> None:
    """What ``_Matcher.ascii_hits`` relies on to find candidate words by prefix: a
    word's match keys (itself, its Snowball stem, the plural fallback) lose or change
    at most their last two letters, and never the first. Checked on the real texts'
    words and on Snowball English's special forms."""
    from paperwire.text.snippets import _keys
    from paperwire.text.tokens import words

    special = "skis skies dying lying tying idly gently ugly early only singly sky news"
    special += " ability probability mobility generously communism arsenal relational"
    special += " valency possibly hopping hoping troubled cries ties studies happy"
    vocabulary = {w.lower() for text in [*abstracts, *titles, special] for w in words(text)}
    assert len(vocabulary) > 1500
    for word in vocabulary:
        for key in _keys(word):
            assert word.startswith(key[: max(1, len(key) - 2)]), (word, key)


def test_ascii_hits_in_real_abstracts_equal_a_scan_of_every_word(
    abstracts: list[str], titles: list[str], loops: str
) -> None:
    """The prefix regex of ``_Matcher.ascii_hits`` finds in real abstracts exactly the
    words that checking every word finds, for queries made of real titles (many
    stems, short words, digits) and of words the stemmer changes most."""
    from paperwire.text.snippets import _normalize

    queries = [[t] for t in titles[:40]]
    queries += [["ability studies", "die"], ["lie", "tie"], ["3D", "x"], ["GPT-4o"], ["the of"]]
    texts = [_normalize(a) for a in abstracts if a.isascii()]
    texts.append("Dying stars, lying (LIES) and tying: abilities studied; 3d GPT-4o's x.")
    # a prefix at the very start, inside a word, after a digit, after punctuation
    texts.append("Studies restudied 3studies (studies) x-ray xx x3 x; died indie die.")
    queries += [["studies", "x"], ["die"]]
    assert len(texts) > 20
    checked = 0
    for terms in queries:
        for text in texts:
            got = _hits(text, terms)
            assert got == _scanned(text, terms), (text, terms)
            checked += len(got)
    assert checked > 1000


def test_a_matched_word_s_part_is_shared_and_immutable(abstracts: list[str]) -> None:
    """Snippets that mark the same word share its part; parts cannot be changed, so a
    shared one never shows another snippet's edit."""
    first = best_snippet(abstracts[0], ["model"], max_chars=2_000)
    second = highlight("A model of models", ["model"])
    marked = [p for p in [*first, *second] if p.hit and p.text == "model"]
    assert len(marked) >= 2 and all(p is marked[0] for p in marked)
    with pytest.raises(pydantic.ValidationError):
        marked[0].text = "changed"  # type: ignore[misc]


def test_the_c_loops_equal_their_python_definitions(
    abstracts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_scan.word_hits`` and ``_scan.sentence_starts`` give what the Python they stand
    in for gives (the prefix regex over the lowercased text, the sentence loop), on
    random ASCII text made of the characters they decide on (letters of both cases,
    digits, sentence ends, closing quotes and brackets, spaces, line breaks) and on
    real abstracts."""
    from paperwire.text import snippets

    scan = built_scan()
    rng = random.Random(31)
    pieces = [
        "ab",
        "Ab",
        "AB",
        "abc",
        "b",
        "a1",
        "1a",
        "x",
        "Xy",
        "z9",
        *".!?\"')] \n-_,(a/:@[`{09",
    ]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(4000)]
    texts += [" ".join(a.split()) for a in abstracts if a.isascii()]
    prefix_sets = [("a",), ("ab", "x"), ("1", "b", "xy", "z"), ("abc",), ("ab", "ac", "b9")]
    sentences = [scan.sentence_starts(text) for text in texts]
    monkeypatch.setattr(snippets, "_scan", None)
    assert sentences == [snippets._sentence_starts(text) for text in texts]
    checked = 0
    for n, text in enumerate(texts):
        prefixes = prefix_sets[n % len(prefix_sets)]
        regex = snippets._prefix_words(prefixes)
        memo = {"ab": 0, "b": -1}  # known words: one with a term, one without
        asked: list[str] = []

        def look_up(word: str, asked: list[str] = asked) -> int:
            asked.append(word)
            return len(word) % 3 - 1  # -1: no term

        found = [(m.start(), m.end(), m.group()) for m in regex.finditer(text.lower())]
        terms = {w: memo[w] if w in memo else len(w) % 3 - 1 for _, _, w in found}
        expected = [(a, b, terms[w]) for a, b, w in found if terms[w] >= 0]
        got = scan.word_hits(text, prefixes, memo, look_up, snippets._Hit)
        assert got == expected, (text, prefixes)
        assert all(type(hit) is snippets._Hit for hit in got)
        assert [hash(hit) for hit in got] == [hash(tuple(hit)) for hit in got]
        assert asked == [w for _, _, w in found if w not in memo]  # the memo is read first
        checked += len(got)
    assert checked > 4000


def test_the_c_loops_refuse_what_they_cannot_read() -> None:
    """Text that is not ASCII (its offsets would not be the str's), prefixes that are
    not ASCII or empty, and a look-up that fails are errors, never wrong offsets."""
    from paperwire.text import snippets

    scan = built_scan()
    with pytest.raises(ValueError, match="ASCII"):
        scan.sentence_starts("Une phrase. Été")
    with pytest.raises(ValueError, match="ASCII"):
        scan.word_hits("naïve models", ("mod",), {}, len, snippets._Hit)
    with pytest.raises(ValueError, match="prefixes"):
        scan.word_hits("models", ("",), {}, len, snippets._Hit)
    for prefix in ("mé", "m_", "m.", "Mo"):  # match keys are runs of [a-z0-9]
        with pytest.raises(ValueError, match="prefixes"):
            scan.word_hits("models", (prefix,), {}, len, snippets._Hit)
    with pytest.raises(TypeError):
        scan.word_hits("models", ["mod"], {}, len, snippets._Hit)  # type: ignore[arg-type]

    def failing(word: str) -> int:
        raise LookupError(word)

    with pytest.raises(LookupError, match="models"):
        scan.word_hits("models", ("mod",), {}, failing, snippets._Hit)
    assert scan.word_hits("", ("mod",), {}, failing, snippets._Hit) == []
    assert scan.sentence_starts("") == [0]


def test_the_c_window_search_equals_the_python_one(
    abstracts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_scan.best_window`` picks the window ``_best_window`` picks, with its prefix,
    suffix and alignment: on real abstracts with title-long and short queries, and on
    random ASCII text made of what the window rules decide on (sentence ends with
    closing quotes and brackets, joiners before a cut, runs without a space, which are
    cut between words, line breaks before the end), for budgets from the smallest up."""
    from paperwire.text import snippets

    scan = built_scan()
    rng = random.Random(37)
    cases: list[tuple[str, list[str]]] = []
    for abstract in abstracts:
        text = snippets._normalize(abstract)
        if text.isascii():
            words = re.findall(r"[A-Za-z]{3,}", text)
            for _ in range(4):
                k = min(len(words), rng.randint(1, 12))
                cases.append((text, [" ".join(rng.sample(words, k=k))]))
    pieces = [
        "net",
        "Nets",
        "graph",
        "x",
        "abc",
        "netgraphnetgraph",
        "n3t",
        "_net",
        "net_",
        *".!?\"')],;:-(/@[`{_09 ",
        "\n",
        "  ",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(5, 90)))
        cases.append((text, rng.choice([["net"], ["graph", "x"], ["nets abc"]])))
    # past 500 hits only the first 500 add candidate starts: here a later one would win
    crowd = " ".join(["alpha"] * 520 + ["beta", "gamma"])
    cases.append((crowd, ["alpha beta gamma"]))
    compared = 0
    for text, terms in cases:
        hits = snippets._find_hits(text, terms)
        if not hits:
            continue
        for budget in (8, 9, 13, 30, 40, 60, 140, 280):
            if len(text) <= budget:
                continue
            got = scan.best_window(text, hits, budget)
            with monkeypatch.context() as python_only:
                python_only.setattr(snippets, "_scan", None)
                expected = snippets._best_window(text, hits, budget, False)
            assert got == (None if expected is None else tuple(expected)), (text, terms, budget)
            compared += 1
    assert compared > 10_000
    crowd_hits = snippets._find_hits(crowd, ["alpha beta gamma"])
    assert scan.best_window(crowd, crowd_hits, 40) == (0, 35, "", ELLIPSIS, True)


def test_the_c_window_search_refuses_what_it_does_not_take() -> None:
    """What ``_best`` checks before it calls ``best_window`` is checked again there, and
    hits that are not words of the text in order are refused, never read past it."""
    from paperwire.text import snippets

    scan = built_scan()
    text = "Graph networks. Nets of graphs are studied here at length, net by net."
    hits = snippets._find_hits(text, ["net"])
    assert scan.best_window(text, hits, 30) is not None
    for bad_hits, budget in [
        ([], 30),  # no hits
        (hits, 7),  # a budget under 8
        (hits, len(text)),  # the whole text fits
        ([hits[1], hits[0]], 30),  # out of order
        ([snippets._Hit(60, 600, 0)], 30),  # past the end
        ([snippets._Hit(3, 2, 0)], 30),  # ends before it starts
        ([snippets._Hit(0, 5, -1)], 30),  # no term
        ([snippets._Hit(0, 5, 10**6)], 30),  # a term id no query has
    ]:
        with pytest.raises(ValueError):
            scan.best_window(text, bad_hits, budget)
    with pytest.raises(TypeError):
        scan.best_window(text, tuple(hits), 30)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        scan.best_window(text, [(0, 5)], 30)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="ASCII"):
        scan.best_window("Été " * 20, [snippets._Hit(0, 3, 0)], 30)


def test_the_c_spaced_check_equals_splitting_and_joining() -> None:
    """``_scan.spaced`` says a text is normalised exactly when splitting on every
    whitespace character and joining with single spaces gives it back: random ASCII
    text with each of the ten ASCII whitespace characters, at both ends and doubled."""
    scan = built_scan()
    rng = random.Random(43)
    ascii_spaces = [chr(i) for i in range(128) if chr(i).isspace()]
    alphabet = [*"ab.,1\x00\x7f", *ascii_spaces, " ", " "]
    verdicts = set()
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        verdict = scan.spaced(text)
        assert verdict == (" ".join(text.split()) == text), repr(text)
        verdicts.add(verdict)
    assert verdicts == {True, False}
    with pytest.raises(ValueError, match="ASCII"):
        scan.spaced("déjà vu")


def test_the_c_parts_equal_the_python_loop(
    abstracts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_scan.parts`` cuts a window of ASCII text into the parts the Python loop
    makes (hits inside the window marked, the text between plain, "…" prefixes and
    suffixes added, no empty part), with hit parts shared as there: real abstracts and
    random text, windows anywhere, including empty ones and ones that cut a hit."""
    from paperwire.text import snippets

    scan = built_scan()
    rng = random.Random(47)
    texts = [norm(a) for a in abstracts if norm(a).isascii()]
    pieces = ["net", "Nets", "x", "graph", " ", ". ", "-", "netgraph"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    affixes = ["", ELLIPSIS, ELLIPSIS + " ", " " + ELLIPSIS]
    compared = 0
    for text in texts:
        words = re.findall(r"[A-Za-z]{3,}", text)
        terms = [" ".join(rng.sample(words, k=min(len(words), 6)))] if words else ["net"]
        hits = snippets._find_hits(text, terms)
        for _ in range(3):
            start = rng.randint(0, len(text))
            end = rng.randint(start, len(text))
            prefix, suffix = rng.choice(affixes), rng.choice(affixes)
            got = scan.parts(
                text, start, end, hits, prefix, suffix, SnippetPart, snippets._hit_part
            )
            with monkeypatch.context() as python_only:
                python_only.setattr(snippets, "_scan", None)
                expected = snippets._parts(text, start, end, hits, prefix, suffix)
            assert got == expected, (text, start, end, prefix, suffix)
            shared = [p is e for p, e in zip(got, expected, strict=True) if p.hit]
            assert all(shared)  # the same shared hit parts
            compared += len(shared)
    assert compared > 3000


def test_the_c_parts_refuse_what_they_cannot_cut() -> None:
    """Text that is not ASCII, a window outside the text and hits that are not words
    of it in order are errors, never parts cut from the wrong offsets."""
    from paperwire.text import snippets

    scan = built_scan()
    text = "Nets of nets"
    hits = snippets._find_hits(text, ["net"])

    def cut(t: str, start: int, end: int, found: list[snippets._Hit]) -> list[SnippetPart]:
        return scan.parts(t, start, end, found, "", "", SnippetPart, snippets._hit_part)

    assert joined(cut(text, 0, len(text), hits)) == text
    with pytest.raises(ValueError, match="ASCII"):
        cut("Nets of néts", 0, 4, hits)
    for start, end in [(-1, 4), (5, 4), (0, len(text) + 1)]:
        with pytest.raises(ValueError, match="start"):
            cut(text, start, end, hits)
    for bad in ([hits[1], hits[0]], [snippets._Hit(3, 2, 0)], [snippets._Hit(8, 40, 0)]):
        with pytest.raises(ValueError, match="in order"):
            cut(text, 0, len(text), bad)
    with pytest.raises(TypeError):
        cut(text, 0, len(text), [(0, 4)])  # type: ignore[list-item]
