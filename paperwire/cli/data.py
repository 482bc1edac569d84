"""``paperwire export …`` and ``paperwire import …``: the corpus as a dataset, a user's
takeout, and imports of libraries (BibTeX, RIS, CSL-JSON) and takeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from paperwire.cli.common import (
    CategoryOpt,
    DateFromOpt,
    DateToOpt,
    HasCodeOpt,
    HomeOpt,
    OrgOpt,
    console,
    error,
    filters_of,
    open_app,
    progress_bar,
)
from paperwire.formats.dataset import DatasetFormat

export_app = typer.Typer(
    help="Export data: the corpus as a dataset, a user's takeout.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Import data: a library into a collection, a takeout archive.", no_args_is_help=True
)


@export_app.command("corpus")
def export_corpus(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New (or empty) directory to write.")
    ],
    fmt: Annotated[
        DatasetFormat, typer.Option("--format", help="parquet, jsonl or csv.")
    ] = DatasetFormat.parquet,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    category: CategoryOpt = None,
    org: OrgOpt = None,
    has_code: HasCodeOpt = None,
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings", help="Also write the stored embeddings (config `embeddings`)."
        ),
    ] = False,
    shard_rows: Annotated[
        int, typer.Option(min=1, help="Rows per shard file (data/train-0000N-of-…).")
    ] = 250_000,
    home: HomeOpt = None,
) -> None:
    """Every visible paper (or those matching the filters) as a Hugging Face dataset:
    shards under data/, a dataset card README.md; written atomically."""
    from paperwire.services.corpus_export import ExportError
    from paperwire.services.corpus_export import export_corpus as run

    pw = open_app(home)
    filters = filters_of(date_from, date_to, category, org, has_code)
    with progress_bar() as bar:
        task = bar.add_task("export", total=None)
        try:
            done = run(
                pw,
                output,
                fmt,
                filters,
                shard_rows=shard_rows,
                embeddings=embeddings,
                on_start=lambda n: bar.update(task, total=n),
                on_progress=lambda n: bar.advance(task, n),
            )
        except ExportError as e:
            error(f"{e}")
            raise typer.Exit(1) from None
    vectors = f", {done.embeddings} embeddings ({done.embedding_model})" if embeddings else ""
    console.print(
        f"wrote {done.rows} papers{vectors} in {len(done.shards)} shard(s) to "
        f"{escape(str(done.path))} in {done.seconds:.1f} s "
        f"({done.papers_per_second:,.0f} papers/s)",
        soft_wrap=True,
        highlight=False,
    )
