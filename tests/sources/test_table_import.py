"""Tables of papers: CSV, TSV, JSON lines, JSON and Parquet, with and without a mapping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources.table import parse_mapping, read_table

ID_LINE = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")


def _split(items):
    items = list(items)
    return (
        [i for i in items if isinstance(i, PaperRecord)],
        [i for i in items if isinstance(i, Rejection)],
    )


def _hf_rows(shared_data, n: int = 3) -> list[dict]:
    entries = json.loads((shared_data / "hf-daily-papers" / "2025-06-10.json").read_text())
    return [
        {
            "paper": e["paper"]["id"],
            "paper_title": e["paper"]["title"],
            "summary": e["paper"]["summary"],  # keeps arXiv's hard line breaks
            "authors": ", ".join(a["name"] for a in e["paper"]["authors"]),
            "upvotes": str(e["paper"]["upvotes"]),
            "date": e["paper"]["publishedAt"],
        }
        for e in entries[:n]
    ]


def test_csv_with_mapping_and_line_numbers(shared_data, tmp_path):
    rows = _hf_rows(shared_data)
    rows.insert(1, {**rows[0], "paper": "2506.080"})  # bad id, after a multi-line row
    rows.append({**rows[0], "paper": "2506.08007v2", "upvotes": "many"})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    starts = []
    for row in rows:
        starts.append(buf.getvalue().count("\n") + 1)
        writer.writerow(row)
    path = tmp_path / "papers.csv"
    path.write_text(buf.getvalue())

    records, rejections = _split(read_table(path, {"arxiv_id": "paper", "title": "paper_title"}))

    assert [r.arxiv_id for r in records] == ["2506.08007", "2506.07044", "2506.07900"]
    rec = records[0]
    assert rec.source == "table"
    assert rec.title == "Reinforcement Pre-Training"
    assert rec.abstract.startswith("In this work, we introduce Reinforcement Pre-Training")
    assert "\n" not in rec.abstract
    assert rec.authors[:3] == ["Qingxiu Dong", "Li Dong", "Yao Tang"] and len(rec.authors) == 7
    assert rec.upvotes == 130
    assert rec.published_at == dt.datetime(2025, 6, 9, 17, 59, 53, tzinfo=dt.UTC)
    assert starts[1] > 3  # the first row's abstract spans many physical lines
    assert [(r.location, r.record, r.field) for r in rejections] == [
        (f"{path}:{starts[1]}", "2506.080", "arxiv_id"),
        (f"{path}:{starts[-1]}", "2506.08007v2", "upvotes"),
    ]


def test_tsv_with_default_columns(tmp_path):
    path = tmp_path / "papers.tsv"
    path.write_text(
        "ID\tTitle\tAbstract\tAuthors\tCategories\tPublished\tGitHub\n"
        "arXiv:2506.00637v1\tImproving the Calibration\tWell-calibrated  scores.\t"
        "Ori Ernst; Jackie Chi Kit Cheung\tcs.CL cs.AI\t2025-05-31\thttps://github.com/x/y\n"
        "\n"
        "2506.00483\tAuto-Patching\t\tAviv Jan and Dean Tahory\tcs.CL, cs.LG\t\t\n"
        "2506.00484\ttoo few cells\n"
    )
    records, rejections = _split(read_table(path))
    first, second = records
    assert first.arxiv_id == "2506.00637"
    assert first.abstract == "Well-calibrated scores."
    assert first.authors == ["Ori Ernst", "Jackie Chi Kit Cheung"]
    assert first.categories == ["cs.CL", "cs.AI"]
    assert first.published_at == dt.datetime(2025, 5, 31, tzinfo=dt.UTC)
    assert first.github_repo == "https://github.com/x/y"
    assert second.authors == ["Aviv Jan", "Dean Tahory"]
    assert second.categories == ["cs.CL", "cs.LG"]
    assert second.abstract is None and second.published_at is None
    (short,) = rejections
    assert short.location == f"{path}:5" and "2 cells" in short.reason


def test_jsonl_gz_with_mapping_and_broken_line(shared_data, tmp_path):
    import gzip

    rows = _hf_rows(shared_data, 2)
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(rows[0]) + "\n{oops\n" + json.dumps(rows[1]) + "\n")
    records, rejections = _split(
        read_table(path, {"arxiv_id": "paper", "title": "paper_title", "published_at": "date"})
    )
    assert [r.arxiv_id for r in records] == ["2506.08007", "2506.07044"]
    assert [r.location for r in rejections] == [f"{path}:2"]


def test_json_list(tmp_path):
    path = tmp_path / "papers.json"
    path.write_text(
        json.dumps(
            [
                {"paper_id": "2506.00637", "title": "T", "upvotes": 4, "keywords": "a, b;c"},
                "not an object",
                {"paper_id": "2506.00483", "title": "U", "upvotes": -2},
            ]
        )
    )
    records, rejections = _split(read_table(path))
    assert [(r.arxiv_id, r.upvotes, r.keywords) for r in records] == [
        ("2506.00637", 4, ["a", "b", "c"])
    ]
    assert [(r.location, r.field) for r in rejections] == [
        (f"{path}: record 2", None),
        (f"{path}: record 3", "upvotes"),
    ]


def test_parquet_from_real_listing_rows(shared_data, tmp_path):
    import gzip

    with gzip.open(shared_data / "arxiv-listings" / "2025-06.jsonl.gz", "rt") as fh:
        rows = [json.loads(next(fh)) for _ in range(50)]
    table = pa.table(
        {
            "arxiv": [r["id"] + "v1" for r in rows],
            "name": [r["title"] for r in rows],
            "summary": [r["summary"] for r in rows],
            "authors": [r["authors"] for r in rows],
            "categories": [r["categories"] for r in rows],
            "listing_date": [dt.date.fromisoformat(r["listing_date"]) for r in rows],
            "stars": pa.array([None, *range(49)], pa.int64()),
        }
    )
    path = tmp_path / "papers.parquet"
    pq.write_table(table, path, row_group_size=16)
    mapping = parse_mapping(["title=name", "published_at=listing_date", "github_stars=stars"])
    records, rejections = _split(read_table(path, mapping))
    assert rejections == []
    assert [r.arxiv_id for r in records] == [r["id"] for r in rows]
    first = records[0]
    assert first.title == rows[0]["title"]
    assert first.authors == rows[0]["authors"]
    assert first.categories == rows[0]["categories"]
    assert first.published_at == dt.datetime.fromisoformat(rows[0]["listing_date"] + "T00:00+00:00")
    assert first.github_stars is None and records[-1].github_stars == 48
    assert "\n" not in first.abstract


def test_two_column_seed_table(shared_seeds, tmp_path):
    # seeds/003 is a dataset viewer capture: an id line, then its abstract (maybe several lines).
    (seed,) = shared_seeds.glob("003_*")
    lines = seed.read_text().splitlines()
    pairs: list[list[str]] = []
    for line in lines[lines.index("13.8k") + 1 :]:
        if ID_LINE.match(line.strip()):
            pairs.append([line.strip(), ""])
        elif pairs and line.strip():
            pairs[-1][1] = (pairs[-1][1] + "\n" + line).strip()
    assert len(pairs) > 50
    path = tmp_path / "seed.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arxiv_id", "abstract"])
        writer.writerows(pairs)
    records, rejections = _split(read_table(path))
    assert rejections == []
    assert len(records) == len(pairs)
    by_id = {r.arxiv_id: r for r in records}
    samba = by_id["2406.07522"]  # written as 2406.07522v1
    assert samba.title is None
    assert samba.abstract.startswith("Efficiently modeling sequences with infinite context length")
    assert all(not re.search(r"v\d+$", r.arxiv_id) for r in records)
    assert all(r.title is None and r.abstract for r in records)


def test_unknown_mapped_column_fails_before_any_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arxiv_id,abstract\n2406.07522v1,Text\n")
    with pytest.raises(ValueError, match=r"'paper_title'.*available columns: arxiv_id, abstract"):
        read_table(path, {"title": "paper_title"})  # raises at the call, not on iteration
    with pytest.raises(ValueError, match="unknown field 'name'"):
        read_table(path, {"name": "abstract"})
    path.write_text("paper,abstract\n2406.07522v1,Text\n")
    with pytest.raises(ValueError, match=r"no arXiv id column.*available columns: paper, abstract"):
        read_table(path)
    with pytest.raises(ValueError, match="unsupported table format"):
        read_table(tmp_path / "t.xlsx")


def test_parse_mapping():
    assert parse_mapping(["title=paper_title", " abstract = text "]) == {
        "title": "paper_title",
        "abstract": "text",
    }
    with pytest.raises(ValueError, match="expected FIELD=COLUMN"):
        parse_mapping(["title"])
    with pytest.raises(ValueError, match="unknown field 'headline'"):
        parse_mapping(["headline=title"])
    with pytest.raises(ValueError, match="unknown field 'source'"):
        parse_mapping(["source=origin"])
