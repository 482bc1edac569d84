"""arXiv listings archives: a real month, and files with broken lines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources.arxiv_listings import read_arxiv_listings

VERSIONLESS = re.compile(r"^\d{4}\.\d{4,5}$")


def _split(items):
    return (
        [i for i in items if isinstance(i, PaperRecord)],
        [i for i in items if isinstance(i, Rejection)],
    )


def test_real_month_file(shared_data):
    path = shared_data / "arxiv-listings" / "2025-03.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        lines = sum(1 for line in fh if line.strip())
    records, rejections = _split(list(read_arxiv_listings(path)))
    assert rejections == []
    assert len(records) == lines == 2327
    assert all(VERSIONLESS.match(r.arxiv_id) for r in records)
    assert all(isinstance(r.categories, list) and r.categories for r in records)
    assert all(r.featured_on is None and r.source == "arxiv-listings" for r in records)
    assert all(r.abstract and "\n" not in r.abstract for r in records)
    first, second = records[:2]
    assert first.arxiv_id == "2503.11731"
    assert first.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert first.authors[:2] == ["Xianming Zeng", "Sicong Du"] and len(first.authors) == 16
    assert first.categories == ["cs.CV", "cs.RO"]
    assert first.comment is None
    assert first.published_at == dt.datetime(2025, 3, 18, tzinfo=dt.UTC)
    assert first.abstract.startswith("Sensor simulation is pivotal for scalable validation of")
    assert "autonomous driving systems, yet" in first.abstract  # hard break joined
    assert second.arxiv_id == "2503.11742"
    assert second.comment == "Work in progress"


def _row(i: int, **over) -> dict:
    row = {
        "id": f"2506.0{i:04d}v2",
        "title": f"Paper {i}\n  continued",
        "authors": ["A. One", "B. Two"],
        "categories": ["cs.CL", "cs.AI"],
        "comment": None,
        "summary": "Line one\nline two with $\\alpha$.",
        "listing_date": "2025-06-03",
    }
    row.update(over)
    return row


def test_broken_lines_are_reported_and_skipped(tmp_path):
    path = tmp_path / "2025-06.jsonl"
    lines = [
        json.dumps(_row(1)),
        json.dumps(_row(2)),
        '{"id": "2506.00003", "title": "cut off',  # line 3: not JSON
        "",  # blank line: ignored
        json.dumps(_row(5, title=None)),  # line 5: no title
        json.dumps(_row(6, id="not-an-id")),  # line 6
        json.dumps(_row(7, authors="A. One")),  # line 7: authors not a list
        "[1, 2]",  # line 8: not an object
        json.dumps(_row(9, id="hep-th/9901001v3")),
    ]
    path.write_text("\n".join(lines) + "\n")
    records, rejections = _split(list(read_arxiv_listings(path)))
    assert [r.arxiv_id for r in records] == ["2506.00001", "2506.00002", "hep-th/9901001"]
    assert records[0].title == "Paper 1 continued"
    assert records[0].abstract == "Line one line two with $\\alpha$."
    got = [(r.location, r.field, r.record) for r in rejections]
    assert got == [
        (f"{path}:3", None, None),
        (f"{path}:5", "title", "2506.00005v2"),
        (f"{path}:6", "arxiv_id", "not-an-id"),
        (f"{path}:7", "authors", "2506.00007v2"),
        (f"{path}:8", "record", None),
    ]
    assert "not valid JSON" in rejections[0].reason


def test_directory_of_files_in_order(tmp_path):
    (tmp_path / "2025-07.jsonl").write_text(json.dumps(_row(3)) + "\n")
    with gzip.open(tmp_path / "2025-06.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(_row(1)) + "\n" + json.dumps(_row(2)) + "\n")
    (tmp_path / "README.md").write_text("not data")
    records, rejections = _split(list(read_arxiv_listings(tmp_path)))
    assert rejections == []
    assert [r.arxiv_id for r in records] == ["2506.00001", "2506.00002", "2506.00003"]


def test_truncated_gzip_keeps_what_was_readable(tmp_path):
    rows = "".join(json.dumps(_row(i)) + "\n" for i in range(1, 400))
    data = gzip.compress(rows.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    records, rejections = _split(list(read_arxiv_listings(path)))
    assert 0 < len(records) < 399
    assert len(rejections) == 1 and "cannot read file" in rejections[0].reason
    assert rejections[0].location.startswith(f"{path}:")


def test_invalid_utf8_line_costs_only_that_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        json.dumps(_row(1)).encode()
        + b"\n"
        + b'{"id": "\xff\xfe"}\n'
        + json.dumps(_row(3)).encode()
    )
    records, rejections = _split(list(read_arxiv_listings(path)))
    assert [r.arxiv_id for r in records] == ["2506.00001", "2506.00003"]
    assert [r.location for r in rejections] == [f"{path}:2"]
