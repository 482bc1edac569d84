"""The relevance benchmark: collection loaders on the real files, ranx scoring, synthetic
ids, and a small end-to-end run of ``paperwire bench relevance`` through the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperwire.bench.collections import (
    IdMap,
    load_beir,
    load_cacm,
    load_collection,
    parse_smart,
    synthetic_arxiv_id,
)
from paperwire.bench.relevance import METRICS, evaluate, records_of, run_relevance
from paperwire.index.embedding.onnx_export import RECIPE
from paperwire.sources.normalize import normalize_arxiv_id
from tests.conftest import SHARED_DATA

RELEVANCE = SHARED_DATA / "relevance"


# --- loaders on the real files ------------------------------------------------------------


def test_scifact_test_split() -> None:
    c = load_beir(RELEVANCE / "scifact", "test")
    assert (len(c.docs), len(c.queries)) == (5183, 300)
    assert sum(len(r) for r in c.qrels.values()) == 339
    assert set(c.qrels) == set(c.queries)
    assert c.queries["1"] == "0-dimensional biomaterials show inductive properties."
    assert c.qrels["1"] == {"31715818": 1}
    doc = next(d for d in c.docs if d.id == "4983")
    assert doc.title.startswith("Microstructural development of human newborn cerebral")


def test_scifact_train_split_by_name() -> None:
    c = load_collection("scifact", "train", RELEVANCE)
    assert (len(c.docs), len(c.queries), c.split) == (5183, 809, "train")


def test_cacm() -> None:
    c = load_cacm(RELEVANCE / "cacm")
    assert len(c.docs) == 3204
    assert sorted(int(d.id) for d in c.docs) == list(range(1, 3205))
    assert len(c.queries) == 52  # of 64: only the judged ones
    assert sum(len(r) for r in c.qrels.values()) == 796
    assert c.queries["1"].startswith("What articles exist which deal with TSS")
    by_id = {d.id: d for d in c.docs}
    # ".I 28" + a line "56" in cacm.all is document 2856.
    assert by_id["2856"].title == "The Synthetic Approach to Decision Table Conversion"
    assert by_id["1"].authors == ("Perlis, A. J.", "Samelson,K.")
    assert by_id["1"].text == ""  # many CACM articles have no abstract
    assert by_id["3193"].title == ""  # and one has no title


def test_parse_smart() -> None:
    text = ".I 1\n.T\nA title\n.W\n line one\nline two\n.X\n1 5 1\n.I 2\n.T\nOther\n"
    records = parse_smart(text)
    assert records == [
        {"I": ["1"], "T": ["A title"], "W": [" line one", "line two"], "X": ["1 5 1"]},
        {"I": ["2"], "T": ["Other"]},
    ]


def test_beir_alternative_layout_and_zero_grades(tmp_path: Path) -> None:
    folder = tmp_path / "mini"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "T1", "text": "x"}, {"_id": "d2", "title": "", "text": "y"}]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    queries = [{"_id": "q1", "text": "one"}, {"_id": "q2", "text": "two"}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td2\t0\n"
    )
    c = load_beir(folder, "dev")
    assert c.name == "mini"
    assert c.queries == {"q1": "one"}  # q2 has no positive judgment
    assert c.qrels == {"q1": {"d1": 2}}


# --- ranx scoring -------------------------------------------------------------------------


def test_metrics_on_a_hand_made_run() -> None:
    qrels = {"q1": {"d1": 1, "d3": 1}, "q2": {"d2": 1}, "q3": {"d9": 1}}
    run = {
        "q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0},  # relevant at ranks 1 and 3
        "q2": {"d1": 2.0, "d2": 1.0},  # relevant at rank 2
        # q3: no results at all → 0 everywhere
    }
    m = evaluate(qrels, run)
    ndcg_q1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_q2 = (1 / math.log2(3)) / 1
    assert m["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3, abs=1e-9)
    assert m["recall@100"] == pytest.approx(2 / 3, abs=1e-9)
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-9)
    assert list(m) == list(METRICS)


def test_metrics_cutoffs() -> None:
    qrels = {"q": {"rel": 1}}
    run = {"q": {f"d{i}": float(100 - i) for i in range(10)} | {"rel": 89.5}}  # rank 11
    m = evaluate(qrels, run)
    assert m["ndcg@10"] == 0.0 and m["mrr@10"] == 0.0
    assert m["recall@100"] == 1.0


# --- synthetic ids ------------------------------------------------------------------------


def test_synthetic_ids_are_valid_and_round_trip() -> None:
    assert synthetic_arxiv_id(0) == "0001.00001"
    assert synthetic_arxiv_id(99_998) == "0001.99999"
    assert synthetic_arxiv_id(99_999) == "0002.00001"
    assert synthetic_arxiv_id(12 * 99_999) == "0101.00001"
    assert synthetic_arxiv_id(84 * 99_999 - 1) == "0612.99999"
    with pytest.raises(ValueError):
        synthetic_arxiv_id(84 * 99_999)
    doc_ids = [f"doc-{i}" for i in range(250_000)]
    ids = IdMap(doc_ids)
    assert len(ids) == len(doc_ids) == len(set(ids.to_doc))
    for doc_id in [*doc_ids[:3], *doc_ids[99_997:100_002], doc_ids[-1]]:
        aid = ids.arxiv_id(doc_id)
        assert normalize_arxiv_id(aid) == aid
        assert ids.doc_id(aid) == doc_id
    with pytest.raises(ValueError):
        IdMap(["a", "b", "a"])


def test_records_of_keeps_text_and_fills_a_missing_title() -> None:
    c = load_cacm(RELEVANCE / "cacm")
    ids = IdMap([d.id for d in c.docs])
    recs = {r.arxiv_id: r for r in records_of(c, ids)}
    untitled = recs[ids.arxiv_id("3193")]
    assert untitled.title and untitled.title.startswith("Work is in progress on a formula")
    assert untitled.abstract is None
    first = recs[ids.arxiv_id("1")]
    assert first.title == "Preliminary Report-International Algebraic Language"
    assert first.authors == ["Perlis, A. J.", "Samelson,K."]


# --- end to end ---------------------------------------------------------------------------

DOCS = [
    ("a", "Protein folding with deep learning", "We predict protein structures from sequences."),
    ("b", "Graph neural networks for molecules", "Message passing on molecular graphs."),
    ("c", "Solar cell efficiency", "Perovskite solar cells reach record efficiency."),
    ("d", "Malaria vaccine trial", "A randomized trial of a malaria vaccine in children."),
    ("e", "Coral reef bleaching", "Ocean warming bleaches coral reefs worldwide."),
    ("f", "Sleep and memory", "Sleep consolidates memory in the hippocampus."),
    ("g", "Quantum error correction", "Surface codes protect logical qubits."),
    ("h", "Gut microbiome and obesity", "Gut bacteria differ in obese mice."),
    ("i", "Battery anodes", "Silicon anodes swell during lithium cycling."),
    ("j", "Language models", "Transformers trained on text predict the next word."),
]
QUERIES = {
    "q1": "vaccine against malaria in children",
    "q2": "coral reefs bleach when oceans warm",
    "q3": "silicon anode lithium battery",
}
QRELS = {"q1": {"d": 1}, "q2": {"e": 1}, "q3": {"i": 1}}


def write_beir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as fh:
        for doc_id, title, text in DOCS:
            fh.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries_test.jsonl").open("w") as fh:
        for qid, text in QUERIES.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    lines = [f"{q}\t{d}\t{g}" for q, rel in QRELS.items() for d, g in rel.items()]
    (folder / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(lines))
    return folder


@pytest.mark.slow
def test_bench_relevance_cli_json(tmp_path: Path) -> None:
    from paperwire.cli import app

    folder = write_beir(tmp_path / "tiny")
    cache = tmp_path / "cache"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "relevance",
            "--collection",
            str(folder),
            "--json",
            "--fusion",
            "rrf",
            "--cache-dir",
            str(cache),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["ranking"] for r in rows] == ["keyword", "semantic", "hybrid", "hybrid:rrf"]
    for r in rows:
        assert {"ranking", "ndcg@10", "recall@100", "mrr@10"} <= set(r)
        assert r["queries"] == 3 and r["documents"] == 10
        for m in METRICS:
            assert 0.0 <= r[m] <= 1.0
    # Each query names its document's words: every ranking puts it first.
    assert all(r["ndcg@10"] == 1.0 and r["mrr@10"] == 1.0 for r in rows)
    (kept,) = cache.glob("tiny-*.npz")

    # A rerun embeds nothing: every document vector comes from the cache.
    again = run_relevance(load_collection(str(folder)), cache_dir=cache)
    assert (again.cache_hits, again.cache_misses) == (10, 0)
    # kept by the export that embedded them (``vectors_made_by``): its recipe with the
    # int8 backend that ran (the default, where the install made its export), none with torch
    made_by = {"(onnx-int8,": f"onnx-int8-r{RECIPE}", "(torch,": "torch"}
    (ran,) = [said for said in made_by if said in again.embedding]
    assert kept.name.endswith(f"-{made_by[ran]}-256.npz"), kept.name
    assert [r.metrics for r in again.rankings] == [{m: r[m] for m in METRICS} for r in rows[:3]]


def test_bench_relevance_cli_errors(tmp_path: Path) -> None:
    from paperwire.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["bench", "relevance", "--collection", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    folder = write_beir(tmp_path / "tiny")
    bad = runner.invoke(
        app, ["bench", "relevance", "--collection", str(folder), "--fusion", "borda"]
    )
    assert bad.exit_code == 2
