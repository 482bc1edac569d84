"""Judged test collections for the relevance benchmark, and the id mapping they need.

Two formats are read:

* **BEIR** folders (SciFact and any other BEIR dataset): ``corpus.jsonl`` (``_id``,
  ``title``, ``text``), queries in ``queries_<split>.jsonl`` or ``queries.jsonl`` (``_id``,
  ``text``), judgments in ``qrels_<split>.tsv`` or ``qrels/<split>.tsv`` (header
  ``query-id corpus-id score``). Only queries with at least one positive judgment are kept.
* **CACM** in its original SMART format: ``cacm.all`` (records ``.I n`` with ``.T`` title,
  ``.W`` abstract, ``.A`` authors one per line, and ``.B .N .X .K .C`` fields that are
  ignored), ``query.text`` (``.I n`` + ``.W`` text; ``.A``/``.N`` ignored) and
  ``qrels.text`` (``qid docid 0 0`` per line). Only the 52 judged queries are kept.

paperwire's store and index key papers by arXiv id and validate it
(``normalize_arxiv_id``), so collection documents get **synthetic arXiv ids**:
document *n* (0-based, in corpus order) gets the prefix ``p = n // 99999`` written as
``YYMM`` with ``YY = p // 12`` and ``MM = p % 12 + 1``, and the suffix ``n % 99999 + 1``:
``0001.00001``, ``0001.00002``, …, ``0001.99999``, then ``0002.00001`` … (years 00–06,
up to ~8.4 million documents). These are valid new-style ids (the month is 01–12) that
no real paper has: new-style ids began in April 2007 (``0704``).
``IdMap`` holds both directions, so rankings are translated back to the collection's
own ids before scoring.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUILTIN",
    "Collection",
    "Document",
    "IdMap",
    "default_data_dir",
    "load_beir",
    "load_cacm",
    "load_collection",
    "parse_smart",
    "synthetic_arxiv_id",
]

BUILTIN = {"scifact": "beir", "cacm": "cacm"}
"""Collections known by name; they live under ``default_data_dir()``."""

_PER_PREFIX = 99_999  # suffixes 00001 … 99999
_PREFIXES = 7 * 12  # YYMM from 0001 to 0612


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    authors: tuple[str, ...] = ()


@dataclass
class Collection:
    """A corpus, its judged queries and the judgments (``qrels[qid][docid] = grade``)."""

    name: str
    docs: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    split: str | None = None


class CollectionError(ValueError):
    """A collection folder is missing files or holds unreadable data."""


# --- synthetic ids ----------------------------------------------------------------------


def synthetic_arxiv_id(n: int) -> str:
    """The synthetic arXiv id of document ``n`` (0-based); see the module docstring."""
    if not 0 <= n < _PREFIXES * _PER_PREFIX:
        raise ValueError(f"document number out of range: {n}")
    year, month = divmod(n // _PER_PREFIX, 12)
    return f"{year:02d}{month + 1:02d}.{n % _PER_PREFIX + 1:05d}"


class IdMap:
    """Collection doc ids ↔ synthetic arXiv ids, in corpus order."""

    def __init__(self, doc_ids: Sequence[str]) -> None:
        self.to_arxiv: dict[str, str] = {}
        self.to_doc: dict[str, str] = {}
        for n, doc_id in enumerate(doc_ids):
            if doc_id in self.to_arxiv:
                raise CollectionError(f"duplicate document id {doc_id!r}")
            aid = synthetic_arxiv_id(n)
            self.to_arxiv[doc_id] = aid
            self.to_doc[aid] = doc_id

    def __len__(self) -> int:
        return len(self.to_arxiv)

    def arxiv_id(self, doc_id: str) -> str:
        return self.to_arxiv[doc_id]

    def doc_id(self, arxiv_id: str) -> str:
        return self.to_doc[arxiv_id]


# --- BEIR -------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise CollectionError(f"{path}:{lineno}: not JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise CollectionError(f"{path}:{lineno}: expected a JSON object")
            yield row


def _first_existing(paths: Sequence[Path], what: str) -> Path:
    for p in paths:
        if p.is_file():
            return p
    names = ", ".join(str(p) for p in paths)
    raise CollectionError(f"no {what} file: looked for {names}")


def load_beir(folder: Path, split: str = "test", name: str | None = None) -> Collection:
    """A BEIR-format folder (see the module docstring for the accepted layouts)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CollectionError(f"{folder}: not a directory")
    corpus = _first_existing([folder / "corpus.jsonl"], "corpus")
    queries_path = _first_existing(
        [folder / f"queries_{split}.jsonl", folder / "queries.jsonl"], "queries"
    )
    qrels_path = _first_existing(
        [folder / f"qrels_{split}.tsv", folder / "qrels" / f"{split}.tsv"], f"{split} qrels"
    )
    docs = [
        Document(
            id=str(row["_id"]),
            title=str(row.get("title") or ""),
            text=str(row.get("text") or ""),
        )
        for row in _read_jsonl(corpus)
    ]
    known_docs = {d.id for d in docs}
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or (lineno == 1 and not row[-1].strip().lstrip("-").isdigit()):
                continue  # blank line or the header
            if len(row) < 3:
                raise CollectionError(f"{qrels_path}:{lineno}: expected 3 columns")
            qid, docid, grade = row[0].strip(), row[1].strip(), int(row[2])
            if grade > 0 and docid in known_docs:
                qrels.setdefault(qid, {})[docid] = grade
    all_queries = {str(r["_id"]): str(r.get("text") or "") for r in _read_jsonl(queries_path)}
    queries = {qid: all_queries[qid] for qid in qrels if qid in all_queries}
    qrels = {qid: rel for qid, rel in qrels.items() if qid in queries}
    return Collection(
        name=name or folder.name, docs=docs, queries=queries, qrels=qrels, split=split
    )


# --- CACM (SMART) -----------------------------------------------------------------------

_FIELD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def parse_smart(text: str) -> list[dict[str, list[str]]]:
    """Records of a SMART file: ``{"I": [id], "T": [lines], "W": [lines], …}``.

    A record starts at ``.I <id>``; each ``.X`` marker starts field ``X`` whose lines
    run to the next marker. Lines right after ``.I`` continue the id: CACM's
    ``cacm.all`` has document 2856 written as ``.I 28`` + a line ``56``.
    """
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    key: str | None = None
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m:
            key = m.group(1)
            if key == "I":
                current = {"I": [(m.group(2) or "").strip()]}
                records.append(current)
            elif current is not None:
                current.setdefault(key, [])
            continue
        if current is not None and key is not None:
            current[key].append(line)
    return records


def _joined(lines: list[str] | None) -> str:
    return " ".join(" ".join(lines or []).split())


def _record_id(record: dict[str, list[str]]) -> str:
    return str(int("".join("".join(record["I"]).split())))


def load_cacm(folder: Path, name: str = "cacm") -> Collection:
    """CACM's ``cacm.all`` / ``query.text`` / ``qrels.text`` (SMART format)."""
    folder = Path(folder)
    files = {f: folder / f for f in ("cacm.all", "query.text", "qrels.text")}
    for path in files.values():
        if not path.is_file():
            raise CollectionError(f"CACM file missing: {path}")
    docs = [
        Document(
            id=_record_id(r),
            title=_joined(r.get("T")),
            text=_joined(r.get("W")),
            authors=tuple(a.strip() for a in r.get("A", []) if a.strip()),
        )
        for r in parse_smart(files["cacm.all"].read_text(encoding="latin-1"))
    ]
    all_queries = {
        _record_id(r): _joined(r.get("W"))
        for r in parse_smart(files["query.text"].read_text(encoding="latin-1"))
    }
    known_docs = {d.id for d in docs}
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(files["qrels.text"].read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise CollectionError(f"{files['qrels.text']}:{lineno}: expected `qid docid 0 0`")
        qid, docid = str(int(parts[0])), str(int(parts[1]))
        if docid in known_docs and qid in all_queries:
            qrels.setdefault(qid, {})[docid] = 1
    queries = {qid: all_queries[qid] for qid in sorted(qrels, key=int)}
    return Collection(name=name, docs=docs, queries=queries, qrels=qrels)


# --- by name or path --------------------------------------------------------------------


def default_data_dir() -> Path:
    """Where ``scifact`` and ``cacm`` are found: ``$PAPERWIRE_BENCH_DATA``, else
    ``../shared/data/relevance`` beside the working directory or beside the source tree."""
    env = os.environ.get("PAPERWIRE_BENCH_DATA")
    if env:
        return Path(env)
    candidates = [
        Path.cwd().parent / "shared" / "data" / "relevance",
        Path(__file__).resolve().parents[2].parent / "shared" / "data" / "relevance",
    ]
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[-1]


def load_collection(spec: str, split: str = "test", data_dir: Path | None = None) -> Collection:
    """``scifact`` / ``cacm`` by name, or a path to a BEIR folder (or a CACM folder)."""
    if spec in BUILTIN:
        folder = (data_dir or default_data_dir()) / spec
        if BUILTIN[spec] == "cacm":
            return load_cacm(folder, name=spec)
        return load_beir(folder, split, name=spec)
    folder = Path(spec).expanduser()
    if (folder / "cacm.all").is_file():
        return load_cacm(folder, name=folder.name)
    return load_beir(folder, split)
