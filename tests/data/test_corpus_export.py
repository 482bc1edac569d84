"""``paperwire export corpus``: the Hub's layout, a card that matches the files, and the
round trip through ``paperwire ingest table`` into a fresh home (on both stores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.core import Paperwire
from paperwire.formats.dataset import COLUMNS, DatasetFormat, embedding_columns, schema
from paperwire.models.papers import PaperPublic
from paperwire.models.search import SearchFilters, SortOrder
from paperwire.services.corpus_export import ExportError, describe_filters, export_corpus
from paperwire.services.ingest import ingest_records
from paperwire.sources.table import read_table
from paperwire.store.schema.papers import Paper
from tests.conftest import AppFactory, backend_env

# What a paper keeps through export and re-import (the rest is this site's own: sources,
# similar papers, every featured day but the newest, which a table row holds one of).
STABLE = (
    "arxiv_id",
    "title",
    "abstract",
    "authors",
    "organization",
    "organization_id",
    "categories",
    "comment",
    "published_at",
    "featured_on",
    "upvotes",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "keywords",
    "ai_summary",
)


def front_matter(readme: Path) -> dict[str, Any]:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    data = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(data, dict)
    return data


def all_papers(pw: Paperwire) -> dict[str, dict[str, Any]]:
    with pw.db.session() as s:
        ids = list(s.scalars(Paper.__table__.select().with_only_columns(Paper.arxiv_id)))
    out = {}
    for aid in ids:
        paper = pw.store.get(aid)
        assert isinstance(paper, PaperPublic)
        out[aid] = paper.model_dump(include=set(STABLE))
    return out


_ARROW_OF_FEATURE = {
    "string": pa.string(),
    "int64": pa.int64(),
    "date32": pa.date32(),
    "float32": pa.float32(),
    "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
}


def arrow_of(feature: dict[str, Any]) -> pa.DataType:
    """The Arrow type the ``datasets`` library makes of a card feature."""
    if "sequence" in feature:
        return pa.list_(_ARROW_OF_FEATURE[feature["sequence"]], feature.get("length", -1))
    return _ARROW_OF_FEATURE[feature["dtype"]]


@pytest.mark.parametrize("fmt", list(DatasetFormat))
def test_round_trip_through_ingest_table(
    filled: Paperwire, make_app: AppFactory, tmp_path: Path, fmt: DatasetFormat
) -> None:
    out = tmp_path / f"corpus-{fmt.value}"
    done = export_corpus(filled, out, fmt, shard_rows=120, batch_size=50)
    visible = filled.store.count()
    assert done.rows == visible > 240  # three shards of at most 120 rows
    files = sorted(p.name for p in (out / "data").iterdir())
    assert files == [f"train-{i:05d}-of-00003.{fmt.value}" for i in range(3)]
    card = front_matter(out / "README.md")
    assert card["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": f"data/train-*.{fmt.value}"}],
        }
    ]
    assert card["dataset_info"][0]["splits"][0]["num_examples"] == visible
    assert not list(tmp_path.glob(".*partial*"))  # the work folder was renamed into place

    fresh = make_app(semantic=False)
    for shard in sorted((out / "data").iterdir()):
        summary = ingest_records(fresh, read_table(shard), "table")
        assert summary.rejected == 0, summary.rejections[:3]
    before, after = all_papers(filled), all_papers(fresh)
    assert after.keys() == before.keys()
    differing = [aid for aid in before if before[aid] != after[aid]]
    assert not differing, (before[differing[0]], after[differing[0]])
    # The feed's extras made it through (not only empty columns compared equal).
    assert any(p["ai_summary"] for p in after.values())
    assert any(p["keywords"] for p in after.values())
    assert any(p["github_repo"] for p in after.values())


def test_parquet_loads_with_pyarrow_and_matches_the_card(filled: Paperwire, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    export_corpus(filled, out, DatasetFormat.parquet, shard_rows=1000)
    table = pq.read_table(out / "data")
    assert table.schema.equals(schema(), check_metadata=False)
    features = front_matter(out / "README.md")["dataset_info"][0]["features"]
    assert [f["name"] for f in features] == table.schema.names
    for f in features:
        assert arrow_of(f) == table.schema.field(f["name"]).type, f
    assert table.num_rows == filled.store.count()
    row = next(r for r in table.to_pylist() if r["ai_summary"] and r["github_repo"])
    paper = filled.store.get(row["arxiv_id"])
    assert paper is not None
    assert (row["title"], row["authors"], row["upvotes"]) == (
        paper.title,
        paper.authors,
        paper.upvotes,
    )
    assert row["featured_days"] == paper.featured_days
    readme = (out / "README.md").read_text()
    for col in COLUMNS:
        assert f"| `{col.name}` |" in readme


@pytest.mark.parametrize(
    ("filters", "holds"),
    [
        (SearchFilters(category="cs.CV"), lambda r: "cs.CV" in r["categories"]),
        (SearchFilters(has_code=True), lambda r: bool(r["github_repo"])),
    ],
)
def test_filters_as_in_search(
    filled: Paperwire, tmp_path: Path, filters: SearchFilters, holds: Any
) -> None:
    done = export_corpus(filled, tmp_path / "part", DatasetFormat.jsonl, filters)
    shard = next((tmp_path / "part" / "data").glob("*.jsonl"))
    rows = [json.loads(line) for line in shard.open()]
    total, _ = filled.store.browse(filters, SortOrder.newest, limit=1, offset=0)
    assert len(rows) == done.rows == total
    assert 0 < total < filled.store.count()
    assert all(holds(r) for r in rows)
    assert describe_filters(filters) in (tmp_path / "part" / "README.md").read_text()


def test_hidden_papers_stay_out_and_target_must_be_new(filled: Paperwire, tmp_path: Path) -> None:
    from sqlalchemy import update

    victim = next(iter(all_papers(filled)))
    with filled.db.session() as s:
        s.execute(update(Paper).where(Paper.arxiv_id == victim).values(hidden=True))
    out = tmp_path / "corpus"
    export_corpus(filled, out, DatasetFormat.jsonl)
    text = "".join(p.read_text() for p in (out / "data").iterdir())
    assert f'"arxiv_id": "{victim}"' not in text
    with pytest.raises(ExportError, match="not an empty directory"):
        export_corpus(filled, out, DatasetFormat.jsonl)
    with pytest.raises(ExportError, match="no embeddings"):
        export_corpus(filled, tmp_path / "vectors", embeddings=True)
    assert not (tmp_path / "vectors").exists()


def test_embeddings_are_a_second_config_with_the_model(
    make_app: AppFactory, tmp_path: Path
) -> None:
    import numpy as np

    from tests.data.conftest import fill

    pw = make_app(semantic=False)
    fill(pw, listing_rows=20)
    backlog = pw.store.embedding_backlog(pw.model_name, 10_000)
    rng = np.random.default_rng(1)
    pw.store.save_embeddings(
        pw.model_name,
        [(pk, h, rng.standard_normal(8).astype(np.float32)) for pk, _aid, _text, h in backlog],
    )
    out = tmp_path / "corpus"
    done = export_corpus(pw, out, embeddings=True, shard_rows=100)
    assert done.embeddings == done.rows == pw.store.count()
    card = front_matter(out / "README.md")
    assert [c["config_name"] for c in card["configs"]] == ["default", "embeddings"]
    vectors = pq.read_table(out / "embeddings")
    assert vectors.schema.equals(schema(embedding_columns(8)), check_metadata=False)
    assert pw.model_name in (out / "README.md").read_text()
    assert sorted(vectors.column("arxiv_id").to_pylist()) == sorted(
        pq.read_table(out / "data").column("arxiv_id").to_pylist()
    )


def test_cli_export_corpus(filled: Paperwire, tmp_path: Path) -> None:
    out = tmp_path / "cli-corpus"
    result = CliRunner().invoke(
        app,
        ["export", "corpus", "-o", str(out), "--format", "csv", "--category", "cs.CL"],
        env={**backend_env(filled.settings), "PAPERWIRE_HOME": str(filled.settings.home)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "papers/s" in result.output
    assert (out / "data" / "train-00000-of-00001.csv").is_file()
    again = CliRunner().invoke(
        app,
        ["export", "corpus", "-o", str(out)],
        env={**backend_env(filled.settings), "PAPERWIRE_HOME": str(filled.settings.home)},
    )
    assert again.exit_code == 1 and "not an empty directory" in again.output


def test_docs_name_every_column() -> None:
    from tests.conftest import REPO

    text = (REPO / "docs" / "data.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    for col in COLUMNS:
        assert any(f"`{col.name}`" in line for line in table), col.name


def test_a_killed_exports_work_folder_goes_a_running_ones_stays(
    filled: Paperwire, tmp_path: Path
) -> None:
    import os

    dead = tmp_path / f".corpus.partial-{_ended_pid()}-x"  # its process has ended
    dead.mkdir()
    live = tmp_path / f".corpus.partial-{os.getpid()}-y"
    live.mkdir()
    export_corpus(filled, tmp_path / "corpus", DatasetFormat.jsonl)
    assert not dead.exists() and live.exists()


def _ended_pid() -> int:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
