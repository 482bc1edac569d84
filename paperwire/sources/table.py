"""Any table of papers someone already has: CSV, TSV, JSON, JSON lines or Parquet.

Columns are matched to ``PaperRecord`` fields by common names, or by an explicit
``field=column`` mapping. The columns of a JSON or JSON-lines file are the union of the
keys of all its objects (a key missing from the first line still counts). Rows without a
title are allowed here only: a table such as ``arxiv_id, abstract`` enriches papers the
store already knows, and the store decides.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources import _common as f

SOURCE = "table"
# Every field of a record a table may set: not ``source`` (the importer's) nor the fields
# that are never serialised (``location``: where the importer found the record).
FIELDS = tuple(
    name for name, info in PaperRecord.model_fields.items() if name != "source" and not info.exclude
)
FORMATS = (".csv", ".tsv", ".json", ".jsonl", ".jsonl.gz", ".parquet")

# Extra column names recognised for a field (besides the field's own name), in order.
ALIASES: dict[str, tuple[str, ...]] = {
    "arxiv_id": ("arxiv", "arxivid", "id", "paper_id"),
    "title": ("paper_title",),
    "abstract": ("summary",),
    "authors": ("author",),
    "categories": ("category",),
    "comment": ("comments",),
    "published_at": ("published", "publishedat", "date"),
    "num_comments": ("numcomments",),
    "organization": ("org",),
    "github_repo": ("github", "githubrepo"),
    "github_stars": ("githubstars",),
    "project_page": ("projectpage",),
    "keywords": ("ai_keywords",),
}

Row = dict[str, object]
Rows = Iterator[tuple[str, Row | f.LineError]]


def parse_mapping(spec: Iterable[str]) -> dict[str, str]:
    """``["title=paper_title", ...]`` → ``{"title": "paper_title"}``, fields checked."""
    mapping: dict[str, str] = {}
    for item in spec:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise ValueError(f"expected FIELD=COLUMN, got {item!r}")
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r}; fields are: {', '.join(FIELDS)}")
        mapping[field] = column
    return mapping


def resolve_columns(columns: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """Field → column: explicit mapping first, then the first recognised name per field."""
    mapping = dict(mapping or {})
    for field, column in mapping.items():
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r}; fields are: {', '.join(FIELDS)}")
        if column not in columns:
            raise ValueError(
                f"column {column!r} (for {field}) is not in the table; "
                f"available columns: {', '.join(columns) or '(none)'}"
            )
    taken = set(mapping.values())
    by_lower = {c.lower(): c for c in reversed(columns)}
    for field in FIELDS:
        if field in mapping:
            continue
        for name in (field, *ALIASES.get(field, ())):
            found = by_lower.get(name)
            if found is not None and found not in taken:
                mapping[field] = found
                taken.add(found)
                break
    if "arxiv_id" not in mapping:
        raise ValueError(
            "no arXiv id column found; map one with arxiv_id=COLUMN; "
            f"available columns: {', '.join(columns) or '(none)'}"
        )
    return mapping


# --- values -----------------------------------------------------------------------------


def _json_list(value: object) -> object:
    """A cell holding a JSON array (how CSV exports write lists) as the list."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _names(value: object, field: str) -> list[str]:
    value = _json_list(value)
    if isinstance(value, str):
        return f.split_names(value)
    return f.str_list(value, field)


def _terms(value: object, field: str) -> list[str]:
    value = _json_list(value)
    if isinstance(value, str):
        return [t for t in value.replace(";", ",").replace(",", " ").split() if t]
    return f.str_list(value, field)


def _keywords(value: object, field: str) -> list[str]:
    value = _json_list(value)
    if isinstance(value, str):
        return [k for k in (f.text(p, field) for p in value.replace(";", ",").split(",")) if k]
    return f.str_list(value, field)


def _int(value: object, field: str) -> int | None:
    return f.count(value, field, from_text=True)


_CONVERT: dict[str, Callable[[object, str], object]] = {
    "arxiv_id": f.arxiv_id,
    "authors": _names,
    "categories": _terms,
    "keywords": _keywords,
    "published_at": f.datetime_value,
    "featured_on": f.date_value,
    "upvotes": _int,
    "num_comments": _int,
    "github_stars": _int,
}


def _record(row: Row, columns: dict[str, str], location: str) -> PaperRecord | None:
    values = {field: row.get(column) for field, column in columns.items()}
    if all(v is None or v == "" for v in values.values()):
        return None  # blank row
    fields: dict[str, object] = {"source": SOURCE}
    for field, value in values.items():
        fields[field] = _CONVERT.get(field, f.text)(value, field)
    return f.build(fields, location)


# --- formats ----------------------------------------------------------------------------


def _fmt(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    raise ValueError(f"{path}: unsupported table format; use one of {', '.join(FORMATS)}")


def _csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [c.strip() for c in next(csv.reader(fh, delimiter=delimiter), [])]


def _csv_rows(path: Path, delimiter: str) -> Rows:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header: list[str] = []
        last = 0
        while True:
            start = last + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                last = reader.line_num
                yield f"{path}:{start}", f.LineError(f"bad CSV row: {exc}")
                continue
            last = reader.line_num
            if not cells:
                continue  # blank line
            if not header:
                header = [c.strip() for c in cells]
                continue
            if len(cells) != len(header):
                reason = f"row has {len(cells)} cells, the header has {len(header)}"
                yield f"{path}:{start}", f.LineError(reason, f.raw_json(cells))
                continue
            yield f"{path}:{start}", dict(zip(header, cells, strict=True))


def _not_object(value: object) -> f.LineError:
    return f.LineError(f"expected a JSON object, got {type(value).__name__}", f.raw_json(value))


def _jsonl_rows(path: Path) -> Rows:
    for line, value in f.jsonl_lines(path):
        location = f"{path}:{line}"
        if isinstance(value, f.LineError | dict):
            yield location, value
        else:
            yield location, _not_object(value)


def _jsonl_header(path: Path) -> list[str]:
    """Every key of every object in the file, in order of first appearance (one pass
    before the import: rows are free to leave out keys, e.g. an empty ``github_repo``)."""
    names: dict[str, None] = {}
    for _line, value in f.jsonl_lines(path):
        if isinstance(value, dict):
            names.update(dict.fromkeys(str(k) for k in value))
    return list(names)


def _list_rows(path: Path, data: list[object]) -> Rows:
    for n, value in enumerate(data, start=1):
        location = f"{path}: record {n}"
        if isinstance(value, dict):
            yield location, value
        else:
            yield location, _not_object(value)


def _parquet_rows(table: pq.ParquetFile, path: Path, columns: list[str]) -> Rows:
    n = 0
    try:
        for batch in table.iter_batches(batch_size=2048, columns=columns):
            for row in batch.to_pylist():
                n += 1
                yield f"{path}: row {n}", row
    except pa.ArrowException as exc:  # a damaged row group ends the file
        yield f"{path}: row {n + 1}", f.LineError(f"cannot read Parquet data: {exc}")


def _open(path: Path) -> tuple[list[str], Callable[[list[str]], Rows]]:
    """The table's column names and a function streaming its rows (given needed columns)."""
    fmt = _fmt(path)
    if fmt in (".csv", ".tsv"):
        delimiter = "\t" if fmt == ".tsv" else ","
        return _csv_header(path, delimiter), lambda _cols: _csv_rows(path, delimiter)
    if fmt in (".jsonl", ".jsonl.gz"):
        return _jsonl_header(path), lambda _cols: _jsonl_rows(path)
    if fmt == ".json":
        data = json.loads(path.read_bytes())
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of objects")
        names = dict.fromkeys(str(k) for row in data if isinstance(row, dict) for k in row)
        return list(names), lambda _cols: _list_rows(path, data)
    table = pq.ParquetFile(path)
    return list(table.schema_arrow.names), lambda cols: _parquet_rows(table, path, cols)


def read_table(
    path: Path, mapping: dict[str, str] | None = None
) -> Iterator[PaperRecord | Rejection]:
    """Stream records from a table file.

    Raises ``ValueError`` at once (before any row) for an unsupported format, an
    unreadable file, or a mapping naming a field or column that does not exist.
    """
    try:
        columns, rows = _open(path)
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read table: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    resolved = resolve_columns(columns, mapping)
    return _records(rows(list(dict.fromkeys(resolved.values()))), resolved)


def _records(rows: Rows, columns: dict[str, str]) -> Iterator[PaperRecord | Rejection]:
    id_column = columns["arxiv_id"]
    for location, row in rows:
        if isinstance(row, f.LineError):
            yield Rejection(location=location, reason=str(row), raw=row.raw)
            continue
        try:
            record = _record(row, columns, location)
        except f.FieldError as exc:
            yield f.rejection(location, row.get(id_column), exc, row)
            continue
        if record is not None:
            yield record
