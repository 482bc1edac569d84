"""Reference-manager files in and out: BibTeX, RIS and CSL-JSON (what Zotero, Mendeley,
JabRef and EndNote export and import).

Reading uses maintained parsers (``bibtexparser`` 2, ``rispy``; CSL-JSON is JSON): each
entry becomes a ``Reference`` with what can identify the paper (arXiv id hints, DOI,
title), and each entry the parser could not read becomes a ``Problem`` naming where it
was, so one broken entry never costs the others. Writing CSL-JSON and RIS complements
``formats.export`` (BibTeX, JSONL) for collections and takeouts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import rispy
from bibtexparser.entrypoint import parse_string as parse_bibtex
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors

from paperwire.models.community import CollectionExportRow

MAX_ENTRIES = 10_000


class ReferenceFormat(StrEnum):
    bibtex = "bibtex"
    ris = "ris"
    csl_json = "csl-json"


@dataclass
class Reference:
    """One entry of a library file: where it was and what may identify its paper."""

    location: str
    title: str | None = None
    doi: str | None = None
    hints: list[str] = field(default_factory=list)  # text that may hold an arXiv id
    authors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    location: str
    reason: str


def guess_format(name: str, text: str) -> ReferenceFormat:
    """By the file name's extension, else by the first characters."""
    lower = name.lower()
    if lower.endswith((".bib", ".bibtex")):
        return ReferenceFormat.bibtex
    if lower.endswith(".ris"):
        return ReferenceFormat.ris
    if lower.endswith(".json"):
        return ReferenceFormat.csl_json
    head = text.lstrip("\ufeff \t\r\n")[:10]
    if head.startswith(("[", "{")):
        return ReferenceFormat.csl_json
    if re.match(r"TY {2}- ", head):
        return ReferenceFormat.ris
    return ReferenceFormat.bibtex


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("{", "").replace("}", "").split())
    return text or None


def read_references(
    text: str, name: str, fmt: ReferenceFormat | None = None
) -> tuple[list[Reference], list[Problem]]:
    """Every entry of ``text`` (a file called ``name``), and what could not be read."""
    fmt = fmt or guess_format(name, text)
    if fmt == ReferenceFormat.ris:
        return _ris(text, name)
    if fmt == ReferenceFormat.csl_json:
        return _csl(text, name)
    return _bibtex(text, name)


# -- BibTeX --------------------------------------------------------------------------------

_BIBTEX_HINTS = ("eprint", "arxivid", "arxiv", "url", "journal", "note", "howpublished", "doi")


def _bibtex(text: str, name: str) -> tuple[list[Reference], list[Problem]]:
    parser_log = logging.getLogger("bibtexparser")
    level = parser_log.level
    parser_log.setLevel(logging.CRITICAL)  # its failures are returned as problems instead
    try:
        library = parse_bibtex(
            text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()]
        )
    finally:
        parser_log.setLevel(level)
    refs: list[Reference] = []
    for entry in library.entries:
        values = {k.lower(): f.value for k, f in entry.fields_dict.items()}
        authors = values.get("author")
        refs.append(
            Reference(
                location=f"{name}: entry {entry.key} (line {(entry.start_line or 0) + 1})",
                title=_clean(values.get("title")),
                doi=_clean(values.get("doi")),
                hints=[str(values[k]) for k in _BIBTEX_HINTS if isinstance(values.get(k), str)],
                authors=[a for a in (_clean(x) for x in authors or []) if a]
                if isinstance(authors, list)
                else [],
            )
        )
    problems = [
        Problem(f"{name}: line {(block.start_line or 0) + 1}", f"unreadable BibTeX: {block.error}")
        for block in library.failed_blocks
    ]
    return refs, problems


# -- RIS -----------------------------------------------------------------------------------


def _ris_entries(text: str) -> list[tuple[int, list[str]]]:
    """The file's entries as (first line number, lines); ``ER`` ends one."""
    out: list[tuple[int, list[str]]] = []
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if not lines and not line.strip():
            continue
        if not lines:
            start = number
        lines.append(line)
        if line.startswith("ER  -"):
            out.append((start, lines))
            lines = []
    if lines:
        out.append((start, lines))
    return out


def _ris(text: str, name: str) -> tuple[list[Reference], list[Problem]]:
    refs: list[Reference] = []
    problems: list[Problem] = []
    for n, (line, lines) in enumerate(_ris_entries(text), start=1):
        location = f"{name}: entry {n} (line {line})"
        if not lines[-1].startswith("ER  -"):
            problems.append(Problem(location, "unreadable RIS: no `ER  -` line ends the entry"))
            continue
        try:
            entries = rispy.loads("\n".join(lines) + "\n")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            problems.append(Problem(location, f"unreadable RIS: {exc}"))
            continue
        for e in entries:
            hints = [str(u) for u in e.get("urls", [])]
            hints += [str(e[k]) for k in ("journal_name", "note") if k in e]
            hints += [str(x) for x in e.get("notes", [])]
            refs.append(
                Reference(
                    location=location,
                    title=_clean(e.get("title") or e.get("primary_title")),
                    doi=_clean(e.get("doi")),
                    hints=hints,
                    authors=[str(a) for a in e.get("authors", []) or e.get("first_authors", [])],
                )
            )
    return refs, problems


# -- CSL-JSON ------------------------------------------------------------------------------


def _csl_name(person: object) -> str | None:
    if not isinstance(person, dict):
        return None
    if isinstance(person.get("literal"), str):
        return _clean(person["literal"])
    parts = [person.get("given"), person.get("family")]
    return _clean(" ".join(p for p in parts if isinstance(p, str)))


def _csl(text: str, name: str) -> tuple[list[Reference], list[Problem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Problem(f"{name}: line {exc.lineno}", f"not valid JSON: {exc.msg}")]
    items = data.get("items", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], [Problem(name, "expected a CSL-JSON list of items")]
    refs: list[Reference] = []
    problems: list[Problem] = []
    for n, item in enumerate(items, start=1):
        location = f"{name}: item {n}"
        if not isinstance(item, dict):
            problems.append(Problem(location, f"expected an object, got {type(item).__name__}"))
            continue
        if isinstance(item.get("id"), str | int):
            location += f" ({item['id']})"
        hints = [str(item[k]) for k in ("URL", "number", "archive_location", "note") if item.get(k)]
        authors = [a for a in (_csl_name(p) for p in item.get("author") or []) if a]
        refs.append(
            Reference(
                location=location,
                title=_clean(item.get("title")),
                doi=_clean(item.get("DOI")),
                hints=hints,
                authors=authors,
            )
        )
    return refs, problems


# -- writing -------------------------------------------------------------------------------


def _given_family(name: str) -> dict[str, str]:
    parts = name.split()
    if len(parts) < 2:
        return {"literal": name}
    return {"given": " ".join(parts[:-1]), "family": parts[-1]}


def _doi(arxiv_id: str) -> str:
    """arXiv's DataCite DOI for the paper (every arXiv paper has one)."""
    return f"10.48550/arXiv.{arxiv_id}"


def csl_json(rows: Sequence[CollectionExportRow]) -> str:
    """The rows as CSL-JSON items (Zotero's and pandoc's format)."""
    items: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {
            "id": f"arXiv:{row.arxiv_id}",
            "type": "article",
            "title": row.title,
            "author": [_given_family(a) for a in row.authors],
            "abstract": row.abstract,
            "publisher": "arXiv",
            "number": f"arXiv:{row.arxiv_id}",
            "DOI": _doi(row.arxiv_id),
            "URL": row.links.arxiv,
        }
        if row.published_at:
            d = row.published_at
            item["issued"] = {"date-parts": [[d.year, d.month, d.day]]}
        if row.categories:
            item["keyword"] = ", ".join(row.categories)
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def ris(rows: Sequence[CollectionExportRow]) -> str:
    """The rows as RIS records (EndNote, Zotero, Mendeley)."""
    entries: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = {
            "type_of_reference": "GEN",
            "title": " ".join(row.title.split()),
            "authors": list(row.authors),
            "abstract": " ".join(row.abstract.split()),
            "publisher": "arXiv",
            "doi": _doi(row.arxiv_id),
            "urls": [row.links.arxiv],
            "note": f"arXiv:{row.arxiv_id}",
        }
        if row.published_at:
            entry["year"] = str(row.published_at.year)
            entry["date"] = row.published_at.strftime("%Y/%m/%d")
        if row.categories:
            entry["keywords"] = list(row.categories)
        entries.append(entry)
    return str(rispy.dumps(entries))
