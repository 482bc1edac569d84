"""arXiv new-submission listings saved as JSON lines (``YYYY-MM.jsonl.gz``).

These are bulk archives, not a feed anyone featured papers on, so ``featured_on`` stays
empty; the listing day is the best date they carry and becomes ``published_at``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources import _common as f

SOURCE = "arxiv-listings"


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    return [path]


def _record(row: object) -> PaperRecord:
    if not isinstance(row, dict):
        raise f.FieldError("record", f"expected a JSON object, got {type(row).__name__}")
    published = f.datetime_value(row.get("published"), "published_at")
    if published is None:  # midnight UTC of the announcement day
        published = f.datetime_value(row.get("listing_date"), "published_at")
    return f.build(
        {
            "arxiv_id": f.arxiv_id(row.get("id")),
            "source": SOURCE,
            "title": f.title(row.get("title")),
            "abstract": f.text(row.get("summary"), "abstract"),
            "authors": f.str_list(row.get("authors"), "authors"),
            "categories": f.str_list(row.get("categories"), "categories"),
            "comment": f.text(row.get("comment"), "comment"),
            "published_at": published,
        }
    )


def read_arxiv_listings(path: Path) -> Iterator[PaperRecord | Rejection]:
    """One ``.jsonl``/``.jsonl.gz`` file, or every such file in a directory (sorted)."""
    for file in _files(path):
        for line, row in f.jsonl_lines(file):
            location = f"{file}:{line}"
            if isinstance(row, f.LineError):
                yield Rejection(location=location, reason=str(row))
                continue
            try:
                yield _record(row)
            except f.FieldError as exc:
                record = row.get("id") if isinstance(row, dict) else None
                yield f.rejection(location, record, exc)
