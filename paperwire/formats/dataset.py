"""The corpus as a dataset: one schema, three file formats, and a Hugging Face dataset card.

``COLUMNS`` is the single definition of what a corpus row holds; the Arrow schema, the
card's ``dataset_info.features`` and the CSV header all come from it, so the files and
the card cannot disagree. Writers take batches of rows (dicts keyed by column name) and
never hold more than one batch: a shard of Parquet gets one row group per batch, JSONL
and CSV one line per row. The layout is the one the ``datasets`` library and the dataset
viewer read: ``data/train-00000-of-00003.parquet`` … and a ``README.md`` whose YAML front
matter names the files (``configs``) and the features, and counts the rows (``splits``).

CSV cells of list columns hold JSON arrays (``["cs.CL", "cs.LG"]``): a list of authors or
keywords may contain commas, and ``paperwire ingest table`` reads JSON arrays back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

Row = dict[str, Any]


class DatasetFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    feature: dict[str, Any]  # the card's ``features`` entry, less the name
    description: str


def _string(name: str, description: str) -> Column:
    return Column(name, pa.string(), {"dtype": "string"}, description)


def _strings(name: str, description: str) -> Column:
    return Column(name, pa.list_(pa.string()), {"sequence": "string"}, description)


def _int(name: str, description: str) -> Column:
    return Column(name, pa.int64(), {"dtype": "int64"}, description)


COLUMNS: tuple[Column, ...] = (
    _string("arxiv_id", "arXiv identifier without version, e.g. `2406.09415`."),
    _string("title", "Title, whitespace collapsed (LaTeX kept as written)."),
    _string("abstract", "Abstract, whitespace collapsed."),
    _strings("authors", "Author names in order."),
    _string("organization", "Organisation the paper was claimed by (display name)."),
    _string("organization_id", "Organisation slug."),
    _strings("categories", "arXiv categories, primary first."),
    _string("comment", "The authors' arXiv comment."),
    Column(
        "published_at",
        pa.timestamp("us", tz="UTC"),
        {"dtype": "timestamp[us, tz=UTC]"},
        "First publication (UTC).",
    ),
    Column("featured_on", pa.date32(), {"dtype": "date32"}, "Newest day it was featured."),
    Column(
        "featured_days",
        pa.list_(pa.date32()),
        {"sequence": "date32"},
        "Every day it was featured in a daily feed.",
    ),
    _int("upvotes", "Upvotes: the source's count plus this site's votes."),
    _int("num_comments", "Comments counted by the source."),
    _string("github_repo", "Code repository URL."),
    Column("github_stars", pa.int64(), {"dtype": "int64"}, "Stars of the repository."),
    _string("project_page", "Project page URL."),
    _strings("keywords", "Keywords (the source's AI keywords)."),
    _string("ai_summary", "One-sentence AI summary, when the source had one."),
    _string("thumbnail", "Thumbnail image URL."),
    _string("arxiv_url", "https://arxiv.org/abs/ID."),
    _string("pdf_url", "https://arxiv.org/pdf/ID."),
)
NAMES = tuple(c.name for c in COLUMNS)
LIST_COLUMNS = frozenset(c.name for c in COLUMNS if pa.types.is_list(c.type))


def schema(columns: Sequence[Column] = COLUMNS) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in columns])


def embedding_columns(dim: int) -> tuple[Column, ...]:
    """The embeddings file: one fixed-size float32 vector per paper."""
    return (
        _string("arxiv_id", "The paper (see the `default` config)."),
        Column(
            "embedding",
            pa.list_(pa.float32(), dim),
            {"sequence": "float32", "length": dim},
            f"Normalised document embedding ({dim} floats).",
        ),
    )


def shard_name(split: str, index: int, total: int, fmt: DatasetFormat) -> str:
    """``train-00000-of-00003.parquet``: the file names the Hub's converter writes."""
    return f"{split}-{index:05d}-of-{total:05d}.{fmt.value}"


# -- writers ----------------------------------------------------------------------------------


class BatchWriter(Protocol):
    def write(self, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def json_line(row: Row) -> str:
    return json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) + "\n"


class ParquetBatches:
    """Rows → one Parquet file (a row group per batch) on a path or a binary sink."""

    def __init__(self, sink: Path | io.RawIOBase, columns: Sequence[Column]) -> None:
        self.schema = schema(columns)
        sink_arg: Any = str(sink) if isinstance(sink, Path) else sink
        self._writer = pq.ParquetWriter(sink_arg, self.schema, compression="zstd")

    def write(self, rows: Sequence[Row]) -> None:
        if rows:
            self._writer.write_table(pa.Table.from_pylist(list(rows), schema=self.schema))

    def close(self) -> None:
        self._writer.close()


class JsonlBatches:
    def __init__(self, sink: IO[str]) -> None:
        self._sink = sink

    def write(self, rows: Sequence[Row]) -> None:
        self._sink.write("".join(json_line(r) for r in rows))

    def close(self) -> None:
        self._sink.close()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(_json_value(value), ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return "" if value is None else value


class CsvBatches:
    def __init__(self, sink: IO[str], names: Sequence[str]) -> None:
        self._sink = sink
        self._names = list(names)
        self._csv = csv.writer(sink)
        self._csv.writerow(self._names)

    def write(self, rows: Sequence[Row]) -> None:
        self._csv.writerows([_csv_value(r.get(n)) for n in self._names] for r in rows)

    def close(self) -> None:
        self._sink.close()


def open_writer(path: Path, fmt: DatasetFormat, columns: Sequence[Column]) -> BatchWriter:
    if fmt == DatasetFormat.parquet:
        return ParquetBatches(path, columns)
    text = path.open("w", encoding="utf-8", newline="")
    if fmt == DatasetFormat.jsonl:
        return JsonlBatches(text)
    return CsvBatches(text, [c.name for c in columns])


class ByteBuffer(io.RawIOBase):
    """A write-only binary sink whose bytes are taken out as they come (``take``): a
    Parquet file streamed over HTTP one row group at a time, never held whole."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


# -- the dataset card -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One configuration of the dataset: its files, columns, rows and bytes."""

    name: str
    pattern: str  # e.g. ``data/train-*.parquet``
    columns: Sequence[Column]
    rows: int
    num_bytes: int


def _yaml(value: Any) -> str:
    """A YAML scalar: JSON strings and numbers are valid YAML."""
    return json.dumps(value, ensure_ascii=False)


def _features(columns: Iterable[Column], indent: str) -> list[str]:
    lines = []
    for c in columns:
        lines.append(f"{indent}- name: {c.name}")
        for key, value in c.feature.items():
            lines.append(f"{indent}  {key}: {_yaml(value)}")
    return lines


def card(
    *,
    title: str,
    configs: Sequence[Config],
    fmt: DatasetFormat,
    generated_at: dt.datetime,
    filters: str,
    embedding_model: str | None = None,
) -> str:
    """``README.md``: YAML front matter (``configs``, ``dataset_info``) the Hub reads, then
    the schema as a table and the counts."""
    front = ["---", f"pretty_name: {_yaml(title)}", "language:", "- en", "configs:"]
    for c in configs:
        front += [
            f"- config_name: {c.name}",
            "  data_files:",
            "  - split: train",
            f"    path: {_yaml(c.pattern)}",
        ]
    front.append("dataset_info:")
    for c in configs:
        front.append(f"- config_name: {c.name}")
        front.append("  features:")
        front += _features(c.columns, "  ")
        front += [
            "  splits:",
            "  - name: train",
            f"    num_bytes: {c.num_bytes}",
            f"    num_examples: {c.rows}",
        ]
    front.append("---")
    main = configs[0]
    body = [
        "",
        f"# {title}",
        "",
        f"{main.rows} papers exported by paperwire on {generated_at.isoformat()} "
        f"as {fmt.value} ({main.pattern}).",
        f"Filters: {filters or 'none (every visible paper)'}.",
        "",
        "## Schema",
        "",
        "| column | type | description |",
        "|---|---|---|",
    ]
    for col in main.columns:
        body.append(f"| `{col.name}` | {_type_name(col)} | {col.description} |")
    for c in configs[1:]:
        body += [
            "",
            f"## Config `{c.name}`",
            "",
            f"{c.rows} rows in `{c.pattern}`"
            + (f", computed with the model `{embedding_model}`." if embedding_model else "."),
        ]
    body += [
        "",
        "Load it with `datasets.load_dataset(PATH)` (or `pyarrow.parquet.read_table`); "
        "import it into another paperwire with `paperwire ingest table FILE`.",
        "",
    ]
    return "\n".join(front + body)


def _type_name(col: Column) -> str:
    if "sequence" in col.feature:
        return f"list of {col.feature['sequence']}"
    return str(col.feature["dtype"])
