"""Bad records cost only themselves: NUL and other control characters, missing titles and
keys missing from the first JSON line, on SQLite and PostgreSQL, with every rejection in
the rejects file (file, line, field, reason, raw record)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.sources.table import read_table
from tests.conftest import AppFactory

runner = CliRunner()


def paper(n: int, **extra: object) -> dict[str, object]:
    return {"arxiv_id": f"2501.{n:05d}", "title": f"Paper number {n}", **extra}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_nul_byte_rejects_its_record_only_on_every_store(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """Issue 11: one NUL in the 10th title of 20 aborted a whole PostgreSQL import."""
    rows = [paper(n) for n in range(1, 21)]
    rows[9]["title"] = "Poisoned\u0000title"
    rows[14]["abstract"] = "bell \u0007 in the abstract"
    rows[16]["authors"] = ["Ada Lovelace", "Esc\u001bape"]
    path = write_jsonl(tmp_path / "twenty.jsonl", rows)
    pw = make_app(semantic=False)
    summary = ingest_records(pw, read_table(path), "table")
    assert (summary.added, summary.rejected) == (17, 3)
    got = [(r.location, r.record, r.field, r.reason) for r in summary.rejections]
    why = "contains the control character"
    assert got == [
        (f"{path}:10", "2501.00010", "title", f"{why} U+0000 at position 8"),
        (f"{path}:15", "2501.00015", "abstract", f"{why} U+0007 at position 5"),
        (f"{path}:17", "2501.00017", "authors", f"{why} U+001B at position 3"),
    ]
    assert json.loads(summary.rejections[0].raw or "")["title"] == "Poisoned\u0000title"
    assert pw.store.get("2501.00009") is not None and pw.store.get("2501.00010") is None
    assert pw.store.count() == 17


def test_jsonl_columns_are_the_union_over_the_file(make_app: AppFactory, tmp_path: Path) -> None:
    """Issue 12 finding 4: keys missing from line 1 were dropped for every line."""
    path = write_jsonl(
        tmp_path / "union.jsonl",
        [
            paper(1),
            paper(2, github_repo="https://github.com/example/two", upvotes=7, organization="Lab"),
        ],
    )
    pw = make_app(semantic=False)
    summary = ingest_records(pw, read_table(path), "table")
    assert summary.added == 2 and summary.rejected == 0
    two = pw.store.get("2501.00002")
    assert two is not None
    assert two.github_repo == "https://github.com/example/two"
    assert two.upvotes == 7 and two.organization == "Lab"


def test_every_rejection_goes_to_the_rejects_file(tmp_path: Path) -> None:
    """Issue 12 finding 5: the summary cut rejections at 50 and named a missing title
    `table record #319`; now all of them, with file and line, are in the rejects file."""
    rows: list[object] = [paper(n) for n in range(1, 201)]
    for n in range(0, 200, 3):  # 67 rows without a title (unknown papers: rejected)
        del rows[n]["title"]  # type: ignore[attr-defined]
    rows[1]["title"] = "nul\u0000"  # type: ignore[index]
    rows.append(["not", "an", "object"])
    path = tmp_path / "many.jsonl"
    write_jsonl(path, rows)
    with (tmp_path / "many.jsonl").open("a") as fh:
        fh.write("{broken json\n")
    home = tmp_path / "home"
    result = runner.invoke(
        app, ["ingest", "table", str(path), "--home", str(home)], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    [rejects] = (home / "rejects").glob("table-*.jsonl")
    assert str(rejects) in result.output  # the summary says where they all are
    assert "… and 50 more rejections" in result.output  # 20 shown of 70
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert len(lines) == 67 + 1 + 2
    by_line = {x["line"]: x for x in lines}
    assert set(by_line) == {*range(1, 201, 3), 2, 201, 202}
    missing = by_line[4]
    assert missing["file"] == str(path) and missing["field"] == "title"
    assert missing["record"] == "2501.00004" and "missing" in missing["reason"]
    assert json.loads(missing["raw"])["arxiv_id"] == "2501.00004"
    assert by_line[2]["field"] == "title" and "U+0000" in by_line[2]["reason"]
    assert json.loads(by_line[2]["raw"])["title"] == "nul\u0000"
    assert by_line[201]["raw"] == '["not", "an", "object"]'
    assert by_line[202]["raw"] == "{broken json" and "not valid JSON" in by_line[202]["reason"]
    assert "table record #" not in result.output


def test_a_record_made_in_code_is_stored_or_refused_as_an_import_of_it(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """Code that builds ``PaperRecord``s for ``ingest_records`` (no importer between)
    gets what an import of the same fields gets: text and names spaced, a title of
    spaces refused as missing, the control characters that ``str.isspace`` counts
    (U+001C here) spaced, any other refused at its position in the spaced text."""
    rows: list[dict[str, object]] = [
        {
            "arxiv_id": "2501.00001",
            "title": "  Deep\n   learning\tfor cats ",
            "abstract": "First line\r\nsecond   line.\n",
            "authors": [" Ada   Lovelace ", "   ", "Alan\nTuring"],
            "keywords": ["graph  learning"],
            "categories": [" cs.LG\n"],
            "organization_id": " nvidia ",
            "comment": "  ",
        },
        {"arxiv_id": "2501.00002", "title": " \n\t "},
        {"arxiv_id": "2501.00003", "title": "Deep\n  \u001clearning"},
    ]
    poisoned = {"arxiv_id": "2501.00004", "title": "Deep\n  \u0001x"}
    why = "contains the control character U+0001 at position 5"

    imported = make_app(semantic=False)
    path = write_jsonl(tmp_path / "rows.jsonl", [*rows, poisoned])
    summary = ingest_records(imported, read_table(path), "table")
    assert (summary.added, summary.rejected) == (2, 2)
    refused = {r.record: (r.field, r.reason) for r in summary.rejections}
    assert refused["2501.00004"] == ("title", why)
    assert refused["2501.00002"][0] == "title" and refused["2501.00002"][1].startswith("missing")

    built = make_app(semantic=False)
    with pytest.raises(ValidationError, match=re.escape(why)):
        PaperRecord(source="table", **poisoned)  # type: ignore[arg-type]
    summary = ingest_records(built, [PaperRecord(source="table", **r) for r in rows], "table")  # type: ignore[arg-type]
    assert (summary.added, summary.rejected) == (2, 1)
    (rejected,) = summary.rejections
    assert (rejected.record, rejected.field) == ("2501.00002", "title")
    assert rejected.reason.startswith("missing")

    for pw in (imported, built):
        stored = pw.store.get("2501.00001")
        assert stored is not None
        assert stored.title == "Deep learning for cats"
        assert stored.abstract == "First line second line."
        assert stored.authors == ["Ada Lovelace", "Alan Turing"]
        assert stored.keywords == ["graph learning"]
        assert stored.categories == ["cs.LG"]
        assert stored.organization_id == "nvidia"
        assert stored.comment is None
        third = pw.store.get("2501.00003")
        assert third is not None and third.title == "Deep learning"
