"""``paperwire export corpus`` and the admins' streamed downloads: the corpus as a dataset.

A directory export is atomic: shards and the card are written into a hidden sibling
(``.DIR.partial-…``) that is renamed onto ``DIR`` only when everything is written, so a
reader (or a sync to the Hub) never sees half a dataset, and a killed export leaves
nothing at ``DIR`` (rerun it; the next run removes the leftover ``.partial`` folder of a
process that is gone). Shards are named once the total is known (``train-00000-of-00003``): rows are
counted before writing and papers added meanwhile are left out (``CorpusReader.upto``).

Memory is bounded by one batch (``batch_size`` rows, a Parquet row group each), whatever
the corpus size; ``bench`` numbers for 74.7k papers are in the README's closing note.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperwire.core import Paperwire
from paperwire.formats.dataset import (
    COLUMNS,
    BatchWriter,
    ByteBuffer,
    Config,
    DatasetFormat,
    ParquetBatches,
    card,
    embedding_columns,
    json_line,
    open_writer,
    shard_name,
)
from paperwire.models.search import SearchFilters
from paperwire.store.corpus import CorpusReader

DEFAULT_SHARD_ROWS = 250_000
DEFAULT_BATCH = 5000


class ExportError(ValueError):
    """The export cannot start (target not empty, no embeddings for the model …)."""


@dataclass
class CorpusExport:
    """What an export wrote: rows, shards, seconds, and where."""

    path: Path
    format: DatasetFormat
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    embeddings: int = 0
    embedding_model: str | None = None
    seconds: float = 0.0

    @property
    def papers_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def describe_filters(filters: SearchFilters) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.model_dump(exclude_none=True).items())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prepare_target(out: Path) -> None:
    """Refuse a target that holds anything; remove the work folders of killed exports
    (named ``.NAME.partial-PID-…``; a running export's folder is left alone)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty directory; choose a new one")
    for stale in out.parent.glob(f".{out.name}.partial-*"):
        pid = stale.name.removeprefix(f".{out.name}.partial-").split("-", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def export_corpus(
    pw: Paperwire,
    out: Path,
    fmt: DatasetFormat = DatasetFormat.parquet,
    filters: SearchFilters | None = None,
    *,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    batch_size: int = DEFAULT_BATCH,
    embeddings: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CorpusExport:
    """Write the corpus (papers matching ``filters``) under ``out`` in the Hub's layout."""
    started = time.perf_counter()
    filters = filters or SearchFilters()
    out = out.absolute()
    _prepare_target(out)
    reader = CorpusReader(pw.db, filters)
    total = reader.count()
    model = pw.model_name if embeddings else None
    dim = reader.embedding_dim(model) if model else None
    if model and dim is None:
        raise ExportError(f"no embeddings of {model} are stored; run `paperwire embed` first")
    if on_start:
        on_start(total)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    result = CorpusExport(path=out, format=fmt, embedding_model=model)
    try:
        n_shards = max(1, math.ceil(total / shard_rows))
        names = [shard_name("train", i, n_shards, fmt) for i in range(n_shards)]
        (work / "data").mkdir()
        if model:
            (work / "embeddings").mkdir()
        writer: BatchWriter | None = None
        vectors: BatchWriter | None = None
        shard = -1
        in_shard = 0
        for batch in reader.batches(min(batch_size, shard_rows)):
            pos = 0
            while pos < len(batch):
                if writer is None or in_shard >= shard_rows:
                    for w in (writer, vectors):
                        if w is not None:
                            w.close()
                    shard += 1
                    if shard >= n_shards:  # more rows than counted cannot happen (upto)
                        raise ExportError("the corpus changed during the export; rerun it")
                    writer = open_writer(work / "data" / names[shard], fmt, COLUMNS)
                    if model and dim:
                        vectors = open_writer(
                            work / "embeddings" / names[shard], fmt, embedding_columns(dim)
                        )
                    in_shard = 0
                part = batch[pos : pos + shard_rows - in_shard]
                writer.write(part)
                if vectors is not None and model:
                    rows = reader.embeddings(model, [r["arxiv_id"] for r in part])
                    vectors.write(rows)
                    result.embeddings += len(rows)
                pos += len(part)
                in_shard += len(part)
                result.rows += len(part)
                if on_progress:
                    on_progress(len(part))
        for w in (writer, vectors):
            if w is not None:
                w.close()
        # Every named shard exists, also when the selection is empty or papers were
        # hidden meanwhile: the card's file names must all be there.
        for name in names[shard + 1 :]:
            open_writer(work / "data" / name, fmt, COLUMNS).close()
            if model and dim:
                open_writer(work / "embeddings" / name, fmt, embedding_columns(dim)).close()
        result.shards = [f"data/{n}" for n in names]
        configs = [
            Config(
                "default", f"data/train-*.{fmt.value}", COLUMNS, result.rows, _size(work / "data")
            )
        ]
        if model and dim:
            configs.append(
                Config(
                    "embeddings",
                    f"embeddings/train-*.{fmt.value}",
                    embedding_columns(dim),
                    result.embeddings,
                    _size(work / "embeddings"),
                )
            )
        (work / "README.md").write_text(
            card(
                title="paperwire corpus",
                configs=configs,
                fmt=fmt,
                generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                filters=describe_filters(filters),
                embedding_model=model,
            ),
            encoding="utf-8",
        )
        if out.exists():
            out.rmdir()  # empty (checked): the rename needs the name free
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result.seconds = time.perf_counter() - started
    return result


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


# -- streamed downloads ------------------------------------------------------------------


def stream_parquet(
    pw: Paperwire, filters: SearchFilters | None = None, batch_size: int = DEFAULT_BATCH
) -> Iterator[bytes]:
    """The corpus as one Parquet file, yielded a row group at a time."""
    sink = ByteBuffer()
    writer = ParquetBatches(sink, COLUMNS)
    for batch in CorpusReader(pw.db, filters).batches(batch_size):
        writer.write(batch)
        yield sink.take()
    writer.close()
    yield sink.take()


def stream_jsonl(
    pw: Paperwire, filters: SearchFilters | None = None, batch_size: int = DEFAULT_BATCH
) -> Iterator[bytes]:
    """The corpus as JSON lines, yielded a batch at a time."""
    for batch in CorpusReader(pw.db, filters).batches(batch_size):
        yield "".join(json_line(r) for r in batch).encode()
