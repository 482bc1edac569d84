"""parse_query: phrases, authors, arXiv ids, inline filters, terms, and fuzzing."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from paperwire.models.search import SearchFilters
from paperwire.search.query import (
    MAX_ITEMS,
    MAX_PHRASE_WORDS,
    MAX_SEMANTIC_CHARS,
    MAX_TERMS,
    ParsedQuery,
    extract_arxiv_id,
    parse_query,
    reads_as_text,
)
from paperwire.text.tokens import tokenize

# --- free terms ---------------------------------------------------------------------


def test_plain_terms_lowercased_in_order():
    q = parse_query("Sparse Mixture of Experts")
    assert q.raw == "Sparse Mixture of Experts"
    assert q.keyword.terms == ["sparse", "mixture", "of", "experts"]
    assert q.keyword.phrases == []
    assert q.keyword.authors == []
    assert q.arxiv_ids == []
    assert q.filters == SearchFilters()
    assert q.semantic_text == "Sparse Mixture of Experts"
    assert q.highlight_terms == ["sparse", "mixture", "of", "experts"]
    assert not q.is_empty()


def test_repeated_terms_are_kept_but_highlight_terms_are_distinct():
    q = parse_query("attention attention is all you need attention")
    assert q.keyword.terms == ["attention", "attention", "is", "all", "you", "need", "attention"]
    assert q.keyword.terms.count("attention") == 3
    assert q.highlight_terms == ["attention", "is", "all", "you", "need"]


def test_tokenised_on_non_word_characters():
    q = parse_query("pre-training, RLHF/DPO (v2) x_1 GPT-4o")
    assert q.keyword.terms == ["pre", "training", "rlhf", "dpo", "v2", "1", "gpt", "4o"]


def test_single_letters_dropped_single_digits_kept():
    # the "s" of "model's" and the "x" of "x_1" are dropped; "1" and "4" are kept
    assert parse_query("model's x_1 GPT 4 a b").keyword.terms == ["model", "1", "gpt", "4"]
    assert tokenize("a b 4", keep_short=True) == ["a", "b", "4"]


def test_unicode_terms():
    q = parse_query("Naïve Straße 大语言模型 हिन्दी Ελληνικά ﬁne-tuning")
    assert q.keyword.terms == [
        "naïve",
        "straße",
        "大语言模型",
        "हिन्दी",
        "ελληνικά",
        "fine",
        "tuning",
    ]


def test_single_cjk_character_kept():
    assert tokenize("图 像") == ["图", "像"]


def test_latex_terms():
    q = parse_query(r"$\alpha$-divergence bounds on $\mathcal{O}(n^2)$")
    assert q.keyword.terms == ["alpha", "divergence", "bounds", "on", "mathcal", "2"]
    assert q.semantic_text == r"$\alpha$-divergence bounds on $\mathcal{O}(n^2)$"


def test_empty_and_whitespace_queries():
    for text in ("", "   ", "\n\t", '""', '" "', "!!! ???"):
        q = parse_query(text)
        assert q.keyword.is_empty(), text
        assert q.is_empty(), text
        assert q.semantic_text == "", text
        assert q.arxiv_ids == [], text


def test_term_cap():
    q = parse_query("word " * (MAX_TERMS + 500))
    assert len(q.keyword.terms) == MAX_TERMS
    assert q.highlight_terms == ["word"]


def test_semantic_text_cap():
    q = parse_query("longword " * 10_000)
    assert len(q.semantic_text) <= MAX_SEMANTIC_CHARS


# --- phrases ------------------------------------------------------------------------


def test_quoted_phrases():
    q = parse_query('"reinforcement learning" for "large  language\nmodels" scaling')
    assert q.keyword.phrases == ["reinforcement learning", "large language models"]
    assert q.keyword.terms == ["for", "scaling"]
    assert q.semantic_text == "reinforcement learning for large language models scaling"
    assert q.highlight_terms == [
        "for",
        "scaling",
        "reinforcement",
        "learning",
        "large",
        "language",
        "models",
    ]


def test_phrase_keeps_case_and_punctuation_for_the_backend_analyser():
    assert parse_query('"Pre-Training"').keyword.phrases == ["Pre-Training"]


def test_curly_quotes_are_quotes():
    assert parse_query("“chain of thought” prompting").keyword.phrases == ["chain of thought"]


def test_empty_phrases_dropped():
    q = parse_query('"" "  " "!!" diffusion')
    assert q.keyword.phrases == []
    assert q.keyword.terms == ["diffusion"]


def test_unbalanced_quote_rest_is_terms():
    q = parse_query('"vision transformers" "without registers')
    assert q.keyword.phrases == ["vision transformers"]
    assert q.keyword.terms == ["without", "registers"]
    assert q.semantic_text == "vision transformers without registers"


def test_single_unbalanced_quote():
    q = parse_query('diffusion "')
    assert q.keyword.terms == ["diffusion"]
    assert q.keyword.phrases == []


def test_unbalanced_quote_rest_still_parses_operators():
    q = parse_query('"open quote author:Dong 2406.07522')
    assert q.keyword.terms == ["open", "quote"]
    assert q.keyword.authors == ["Dong"]
    assert q.arxiv_ids == ["2406.07522"]


def test_quote_inside_word_starts_a_phrase():
    q = parse_query('pre"training data"')
    assert q.keyword.terms == ["pre"]
    assert q.keyword.phrases == ["training data"]


# --- authors ------------------------------------------------------------------------


def test_author_bare_and_quoted():
    q = parse_query('author:"Li Dong" author:Wei reinforcement')
    assert q.keyword.authors == ["Li Dong", "Wei"]
    assert q.keyword.terms == ["reinforcement"]
    assert q.semantic_text == "reinforcement"
    assert "dong" not in q.highlight_terms


def test_author_alias_case_insensitive_and_deduplicated():
    q = parse_query("AUTHOR:Dong au:Dong Author:Sun")
    assert q.keyword.authors == ["Dong", "Sun"]
    assert not q.is_empty()
    assert q.keyword.terms == []


def test_author_whitespace_collapsed_and_trailing_comma_dropped():
    assert parse_query('author:"  Li \n Dong "').keyword.authors == ["Li Dong"]
    assert parse_query("author:Dong, scaling").keyword.authors == ["Dong"]


def test_author_unclosed_quote_runs_to_end():
    assert parse_query('author:"Li Dong').keyword.authors == ["Li Dong"]


def test_author_without_value_is_a_term():
    for text in ("author:", 'author:""', "author:,,"):
        q = parse_query(text)
        assert q.keyword.authors == [], text
        assert q.keyword.terms == ["author"], text


# --- arXiv ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2406.07522", "2406.07522"),
        ("2406.07522v2", "2406.07522"),
        ("arXiv:2406.07522", "2406.07522"),
        ("ARXIV:2406.07522v3", "2406.07522"),
        ("https://arxiv.org/abs/2406.07522", "2406.07522"),
        ("https://arxiv.org/abs/2406.07522v2", "2406.07522"),
        ("http://arxiv.org/pdf/2406.07522v2.pdf", "2406.07522"),
        ("https://arxiv.org/pdf/2406.07522", "2406.07522"),
        ("arxiv.org/abs/2406.07522/", "2406.07522"),
        ("https://www.arxiv.org/abs/2406.07522?context=cs.CL", "2406.07522"),
        ("https://arxiv.org/html/2406.07522v1#S3", "2406.07522"),
        ("https://huggingface.co/papers/2506.08007", "2506.08007"),
        ("0704.0001", "0704.0001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("math.AG/0601001", "math.AG/0601001"),
        ("arXiv:hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        ("(2406.07522),", "2406.07522"),
        ("2406.07522.", "2406.07522"),
    ],
)
def test_arxiv_ids(typed: str, expected: str):
    assert extract_arxiv_id(typed) == expected
    q = parse_query(typed)
    assert q.arxiv_ids == [expected]
    assert q.keyword.terms == []
    assert q.semantic_text == ""
    assert not q.is_empty()


@pytest.mark.parametrize(
    "typed", ["2406.075", "24060.07522", "1.58", "arxiv", "hep-th", "https://github.com/x/y"]
)
def test_not_arxiv_ids(typed: str):
    assert extract_arxiv_id(typed) is None
    assert parse_query(typed).arxiv_ids == []


def test_ids_mixed_with_text_deduplicated_in_order():
    q = parse_query("compare 2406.07522v1 with arXiv:2506.08007 and 2406.07522v2 please")
    assert q.arxiv_ids == ["2406.07522", "2506.08007"]
    assert q.keyword.terms == ["compare", "with", "and", "please"]
    assert q.semantic_text == "compare with and please"


def test_id_inside_a_phrase_stays_in_the_phrase():
    q = parse_query('"see 2406.07522"')
    assert q.arxiv_ids == []
    assert q.keyword.phrases == ["see 2406.07522"]


# --- inline filters -------------------------------------------------------------------


def test_all_inline_filters():
    q = parse_query(
        "diffusion category:cs.CV org:nvidia has:code after:2025-01-01 before:2025-02-01"
    )
    assert q.filters == SearchFilters(
        date_from=dt.date(2025, 1, 1),
        date_to=dt.date(2025, 2, 1),
        category="cs.CV",
        organization="nvidia",
        has_code=True,
    )
    assert q.keyword.terms == ["diffusion"]
    assert q.semantic_text == "diffusion"
    assert q.highlight_terms == ["diffusion"]


def test_filters_alone_leave_the_query_empty():
    q = parse_query("category:cs.CL has:code")
    assert q.keyword.is_empty()
    assert q.is_empty()
    assert q.filters.category == "cs.CL"
    assert q.filters.has_code is True


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cs.CL", "cs.CL"),
        ("cs.cl", "cs.CL"),
        ("CS.Cl", "cs.CL"),
        ("stat.ML", "stat.ML"),
        ("hep-th", "hep-th"),
        ("astro-ph.GA", "astro-ph.GA"),
        ("cond-mat.mes-hall", "cond-mat.mes-hall"),
        ("q-bio.NC", "q-bio.NC"),
    ],
)
def test_category_normalised(typed: str, expected: str):
    assert parse_query(f"category:{typed}").filters.category == expected
    assert parse_query(f"cat:{typed}").filters.category == expected


def test_org_quoted_and_aliases():
    assert parse_query('org:"Allen Institute"').filters.organization == "Allen Institute"
    assert parse_query("organization:deepseek-ai").filters.organization == "deepseek-ai"
    assert parse_query("ORG:Qwen").filters.organization == "Qwen"


def test_last_filter_wins_and_keys_case_insensitive():
    q = parse_query("After:2025-01-01 AFTER:2025-03-01 category:cs.CL category:cs.LG HAS:CODE")
    assert q.filters.date_from == dt.date(2025, 3, 1)
    assert q.filters.category == "cs.LG"
    assert q.filters.has_code is True


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("after:notadate", ["after", "notadate"]),
        ("after:2025-02-30", ["after", "2025", "02", "30"]),
        ("before:2025-1-1", ["before", "2025", "1", "1"]),
        ("before:20250101", ["before", "20250101"]),
        ("after:2025-W01-1", ["after", "2025", "w01", "1"]),
        ("after:", ["after"]),
        ("has:pizza", ["has", "pizza"]),
        ("has:", ["has"]),
        ("category:cs..CL", ["category", "cs", "cl"]),
        ("category:", ["category"]),
        ("category:c$", ["category"]),
        ("org:", ["org"]),
        ('org:"!!"', ["org"]),
        ("org:a<b>", ["org"]),
        ("unknown:value", ["unknown", "value"]),
    ],
)
def test_invalid_filter_values_become_terms(typed: str, terms: list[str]):
    q = parse_query(typed)
    assert q.filters == SearchFilters(), typed
    assert q.keyword.terms == terms
    assert q.semantic_text == typed.replace('"', " ").strip()


def test_invalid_filter_does_not_clear_a_valid_one():
    q = parse_query("after:2025-01-01 after:garbage")
    assert q.filters.date_from == dt.date(2025, 1, 1)
    assert q.keyword.terms == ["after", "garbage"]


def test_everything_together():
    q = parse_query(
        'author:"Li Dong" "reinforcement pre-training" next token arXiv:2506.08007 '
        "category:cs.cl after:2025-06-01 scaling scaling"
    )
    assert q == ParsedQuery(
        raw=q.raw,
        keyword=q.keyword,
        semantic_text="reinforcement pre-training next token scaling scaling",
        arxiv_ids=["2506.08007"],
        filters=SearchFilters(category="cs.CL", date_from=dt.date(2025, 6, 1)),
        highlight_terms=["next", "token", "scaling", "reinforcement", "pre", "training"],
    )
    assert q.keyword.terms == ["next", "token", "scaling", "scaling"]
    assert q.keyword.phrases == ["reinforcement pre-training"]
    assert q.keyword.authors == ["Li Dong"]


def test_item_caps():
    q = parse_query(" ".join(f'"p{i}" author:a{i}' for i in range(MAX_ITEMS + 20)))
    assert len(q.keyword.phrases) == MAX_ITEMS
    assert len(q.keyword.authors) == MAX_ITEMS


def test_real_abstract_as_query(shared_data):
    import json

    entries = json.loads((shared_data / "hf-daily-papers" / "2025-06-10.json").read_text())
    abstract = entries[0]["paper"]["summary"]
    q = parse_query(abstract)
    assert q.keyword.terms.count("rpt") == 5
    assert q.keyword.terms[:4] == ["in", "this", "work", "we"]
    assert q.semantic_text == " ".join(abstract.split())
    assert q.arxiv_ids == []
    assert q.filters == SearchFilters()


# --- fuzzing ------------------------------------------------------------------------

_ALPHABET = [
    *list('abcxyz ABC 0123456789 .,;:!?-_/\\()[]{}<>"""\'\'`~@#$%^&*+=|\t\n'),
    *["author:", "au:", "org:", "has:", "code", "after:", "before:", "category:", "cat:"],
    *["2406.07522", "v2", "arXiv:", "https://arxiv.org/abs/", "hep-th/9901001", "2025-01-01"],
    *[r"$\alpha$", r"\frac{1}{2}", "^", "😀", "👩‍🔬", "中文", "ß", "İ", "ﬁ", "\u0301", "\u200b"],
    *["“", "”", "\x00", "\ud800", "\uffff", "\U0010ffff", "Ꙁ", "ǅ"],
]


def _random_query(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


def _check_invariants(q: ParsedQuery, text: str) -> None:
    assert q.raw == text
    assert len(q.keyword.terms) <= MAX_TERMS
    assert all(t and t == t.lower() for t in q.keyword.terms)
    assert all(p.strip() for p in q.keyword.phrases)
    assert all(a.strip() for a in q.keyword.authors)
    assert len(set(q.arxiv_ids)) == len(q.arxiv_ids)
    assert len(set(q.highlight_terms)) == len(q.highlight_terms)
    assert len(q.semantic_text) <= MAX_SEMANTIC_CHARS
    assert isinstance(q.filters, SearchFilters)


def test_fuzz_never_raises():
    rng = random.Random(20250610)
    for _ in range(600):
        text = _random_query(rng, rng.randint(0, 80))
        _check_invariants(parse_query(text), text)


def test_fuzz_random_unicode_never_raises():
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 60)))
        _check_invariants(parse_query(text), text)


@pytest.mark.parametrize(
    "text",
    [
        '"' * 101,
        'author:"' * 50,
        "author:" * 50,
        ":" * 100,
        "a:" * 100,
        '"""""',
        'author:"""',
        "\\" * 100,
        "\x00\x01\x02",
        "\ud800\udfff",
        "😀" * 500,
        r"$\sum_{i=1}^{n} \alpha_i$ \cite{foo} \begin{equation}x\end{equation}",
    ],
)
def test_edge_strings_never_raise(text: str):
    _check_invariants(parse_query(text), text)


def test_long_queries_are_fast():
    rng = random.Random(1)
    text = _random_query(rng, 10_000)
    assert len(text) >= 10_000
    start = time.perf_counter()
    q = parse_query(text)
    _check_invariants(q, text)
    big = "reasoning " * 100_000  # 1 MB
    q = parse_query(big)
    assert len(q.keyword.terms) == MAX_TERMS
    assert time.perf_counter() - start < 5.0


# --- prose is text, syntax only where meant -------------------------------------------

ABSTRACT = (
    'We study "test-time scaling" for reasoning models. Results: a 7B model with '
    "best-of-n sampling and a verifier matches a 70B model on math benchmarks, while "
    "author:nobody style tokens and before:yesterday stay plain words of the abstract."
)


def test_pasted_abstract_is_plain_text():
    q = parse_query(ABSTRACT)
    assert reads_as_text(ABSTRACT) and q.as_text
    assert q.keyword.phrases == [] and q.keyword.authors == []
    assert q.filters == SearchFilters() and q.arxiv_ids == []
    assert q.keyword.terms[:5] == ["we", "study", "test", "time", "scaling"]
    assert {"results", "author", "nobody", "before", "yesterday"} <= set(q.keyword.terms)
    assert q.semantic_text == " ".join(ABSTRACT.split())


def test_as_text_flag_switches_syntax_off():
    q = parse_query('"reinforcement learning" author:Dong 2406.07522', as_text=True)
    assert q.as_text and q.keyword.phrases == [] and q.keyword.authors == []
    assert q.arxiv_ids == []
    assert q.keyword.terms == ["reinforcement", "learning", "author", "dong", "2406", "07522"]


@pytest.mark.parametrize(
    "typed",
    [
        '"test-time scaling" author:"Furu Wei"',
        "video diffusion org:nvidia has:code after:2025-01-01",
        "Teaching Language Models to Reason with Tools",
        '"Do Anything Now": Characterizing and Evaluating In-The-Wild Jailbreak Prompts',
        " ".join(f'"p{i}" author:a{i}' for i in range(20)),  # dense syntax: meant
        "diffusion models. video generation",  # two sentences, but short
    ],
)
def test_typed_queries_keep_their_syntax(typed: str):
    assert not reads_as_text(typed)
    assert not parse_query(typed).as_text


@pytest.mark.parametrize(
    "prose",
    [
        "Background: sparse attention cuts the cost of long contexts in transformers a lot",
        "Transformers are slow on long inputs. We propose a sparse attention kernel for GPUs.",
        " ".join(["word"] * 30),
        ABSTRACT,
    ],
)
def test_prose_reads_as_text(prose: str):
    assert reads_as_text(prose)


def test_long_quoted_span_is_text_not_a_phrase():
    long = '"' + " ".join(f"w{i}" for i in range(MAX_PHRASE_WORDS + 1)) + '" diffusion'
    q = parse_query(long)
    assert q.keyword.phrases == []
    assert q.keyword.terms[0] == "w0" and q.keyword.terms[-1] == "diffusion"
    short = parse_query('"' + " ".join(["w"] * MAX_PHRASE_WORDS) + '"')
    assert len(short.keyword.phrases) == 1
