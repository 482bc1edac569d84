"""``paperwire embed``, ``paperwire index`` and ``paperwire migrate``: the derived data
(embeddings, the search index) and moving the store to another database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from paperwire.cli.common import HomeOpt, console, error, open_app, out, progress_bar, run_embed
from paperwire.core import Paperwire

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app


@app.command()
def embed(
    limit: Annotated[int | None, typer.Option(help="Embed at most N papers.")] = None,
    home: HomeOpt = None,
) -> None:
    """Compute missing embeddings (resumable; newest papers first)."""
    pw = open_app(home)
    try:
        run_embed(pw, limit)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished chunks are stored; rerun to resume[/]")
        raise typer.Exit(130) from None


@app.command()
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recreate the index from the store.")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="With --rebuild: build this index backend (embedded, milvus) instead of "
            "the configured one, then compare the two.",
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Show index counts, or rebuild the index from the database with --rebuild."""
    pw = open_app(home)
    if backend is not None and backend != pw.settings.index:
        if not rebuild:
            error("--backend needs --rebuild")
            raise typer.Exit(2)
        _rebuild_into_backend(pw, backend)
        return
    if rebuild:
        from paperwire.jobs.reindex import rebuild_index

        with progress_bar() as bar:
            task = bar.add_task("reindex", total=pw.store.count())
            n = rebuild_index(pw, on_progress=lambda k: bar.advance(task, k))
        console.print(f"indexed {n} papers")
    out.print(f"keyword documents: {pw.index.keyword_count()}")
    out.print(f"vector documents:  {pw.index.vector_count()}")


def _rebuild_into_backend(pw: Paperwire, backend: str) -> None:
    from paperwire.index.factory import INDEX_BACKENDS, open_index
    from paperwire.jobs.migrate import (
        compare_indexes,
        rebuild_into,
        sample_queries,
        settings_with_index,
    )

    if backend not in INDEX_BACKENDS:
        error(f"unknown index backend {backend!r}; known: {', '.join(sorted(INDEX_BACKENDS))}")
        raise typer.Exit(2)
    new = open_index(settings_with_index(pw.settings, backend))
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"reindex into {backend}", total=pw.store.count())
            n = rebuild_into(pw, new, on_progress=lambda k: bar.advance(task, k))
        console.print(f"indexed {n} papers into {backend}")
        cmp = compare_indexes(pw.index, new, sample_queries(pw, 20))
    finally:
        new.close()
    t = Table(title=f"{cmp.old_backend} (configured) vs {cmp.new_backend} (rebuilt)")
    for col in ("", cmp.old_backend, cmp.new_backend):
        t.add_column(col, justify="right")
    t.add_row("keyword documents", str(cmp.old_keyword), str(cmp.new_keyword))
    t.add_row("vector documents", str(cmp.old_vectors), str(cmp.new_vectors))
    out.print(t)
    out.print(
        f"top-10 overlap of {len(cmp.overlaps)} title queries: mean {cmp.mean_overlap:.2f}, "
        f"min {min(cmp.overlaps, default=0.0):.2f}"
    )
    out.print(f"switch with PAPERWIRE_INDEX={backend}")


@app.command()
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to", help="Target database URL, e.g. postgresql+psycopg://user:pw@host/paperwire"
        ),
    ],
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue into a non-empty target (upsert by key)."),
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 1000,
    home: HomeOpt = None,
) -> None:
    """Copy every table of the current store into another database; compare row counts."""
    from paperwire.jobs.migrate import MigrateError, migrate_store

    pw = open_app(home)
    try:
        with progress_bar() as bar:
            task = bar.add_task("migrate", total=None)

            def on_table(name: str, rows: int) -> None:
                bar.reset(task, total=rows, description=f"migrate {name}")

            report = migrate_store(
                pw.db,
                to,
                resume=resume,
                batch_size=batch_size,
                on_table=on_table,
                on_progress=lambda k: bar.advance(task, k),
            )
    except MigrateError as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    finally:
        pw.close()
    t = Table(title=f"{report.source} → {report.target} ({report.seconds:.1f} s)")
    for col in ("table", "source rows", "target rows", ""):
        t.add_column(col, justify="left" if col == "table" else "right")
    for c in report.tables:
        t.add_row(c.table, str(c.source), str(c.target), "ok" if c.ok else "[red]differs[/]")
    out.print(t)
    if not report.ok:
        error("row counts differ (did something write to the source meanwhile?)")
        raise typer.Exit(1)
    out.print("set PAPERWIRE_DATABASE_URL to the target URL to use the new database")
