"""``paperwire embed``, ``paperwire index``, ``paperwire doctor`` and ``paperwire
migrate``: the derived data (embeddings, the search index), checking it against the
store, and moving the store to another database."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperwire.cli.common import (
    EXIT_SIGTERM,
    HomeOpt,
    compact_bulk_load,
    compact_with_progress,
    compaction_interrupted,
    console,
    error,
    open_app,
    out,
    progress_bar,
    report_index,
    run_embed,
    segments_hint,
    stop_on_sigterm,
)
from paperwire.core import Paperwire
from paperwire.models.status import DoctorReport

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app


@app.command()
def embed(
    limit: Annotated[int | None, typer.Option(help="Embed at most N papers.")] = None,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Embed every paper again with the configured model, as if its vectors "
            "were missing: after the model's files or pooling changed under the same name. "
            "Each old vector serves searches until it is replaced; stopped, a rerun "
            "without --again (or the worker) goes on.",
        ),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Compute missing embeddings (resumable; newest papers first; SIGTERM stops it
    after the current chunk)."""
    pw = open_app(home)
    if again:
        if not pw.settings.semantic:
            error("semantic search is off (PAPERWIRE_SEMANTIC=false): nothing to embed")
            raise typer.Exit(1)
        marked = pw.store.embed_again(pw.model_name)
        console.print(f"{marked} stored vectors of {escape(pw.model_name)} to be embedded again")
    try:
        with stop_on_sigterm() as stop:
            run_embed(pw, limit, stop=stop)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished chunks are stored; rerun to resume[/]")
        raise typer.Exit(130) from None
    if stop.is_set():
        console.print("[yellow]stopped: finished chunks are stored; rerun to resume[/]")
        raise typer.Exit(EXIT_SIGTERM)


@app.command()
def index(
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Write every paper's documents again from the store (resumable: an "
            "interrupted rebuild is finished by the next run or a running server).",
        ),
    ] = False,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="With --rebuild: empty the index first (after changing the embedding "
            "model's dimension); search fills up again as batches land.",
        ),
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="With --rebuild: build this index backend (embedded, milvus) instead of "
            "the configured one, then compare the two.",
        ),
    ] = None,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Write the embedded keyword index again in one segment, from the store "
            "(searches get faster; ~11 s at 75k papers, ~2 min at 1M). An ingest that "
            "adds 5,000+ papers and a finished --rebuild of as many do this themselves. "
            "Interrupted: the index stays as it was.",
        ),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Show index counts, rebuild the index from the database with --rebuild, or compact
    the keyword index with --compact."""
    pw = open_app(home)
    if clear and not rebuild:
        error("--clear needs --rebuild")
        raise typer.Exit(2)
    if compact:
        if rebuild or backend is not None:
            error("--compact goes alone (not with --rebuild or --backend)")
            raise typer.Exit(2)
        _compact(pw)
        return
    if backend is not None and backend != pw.settings.index:
        if not rebuild:
            error("--backend needs --rebuild")
            raise typer.Exit(2)
        _rebuild_into_backend(pw, backend)
        return
    if rebuild:
        from paperwire.jobs.reindex import rebuild_index

        compacted = None
        compacting = False
        try:
            with stop_on_sigterm() as stop, progress_bar() as bar:
                task = bar.add_task("reindex", total=pw.store.count())
                report = rebuild_index(
                    pw,
                    on_progress=lambda k: bar.advance(task, k),
                    clear=clear,
                    stop=stop,
                    compact=False,
                )
                if not (report.pending or report.error):
                    # every document written again, batch by batch: a bulk load
                    compacting = True
                    compacted = compact_bulk_load(pw, report.written, stop, bar)
        except KeyboardInterrupt:
            if compacting:
                console.print(
                    "[yellow]interrupted while compacting: every paper is indexed; "
                    f"{compaction_interrupted(pw)}[/]"
                )
            else:
                console.print("[yellow]interrupted: rerun to finish (the rest is queued)[/]")
            raise typer.Exit(130) from None
        console.print(
            f"indexed {report.written} papers, removed {report.removed} "
            f"({report.strays} the store does not show)"
        )
        if compacted is not None and compacted.documents is not None:
            console.print(compacted.describe())
        report_index(report.pending, report.error)
        if report.error:
            raise typer.Exit(1)
        if stop.is_set():
            if report.pending:
                console.print("[yellow]stopped: rerun to finish (the rest is queued)[/]")
            else:
                console.print(
                    "[yellow]stopped while compacting: the keyword index is as it was "
                    "(`paperwire index --compact` compacts it)[/]"
                )
            raise typer.Exit(EXIT_SIGTERM)
    out.print(f"keyword documents: {pw.index.keyword_count()}")
    out.print(f"vector documents:  {pw.index.vector_count()}")
    from paperwire.services.indexer import keyword_half

    keyword = keyword_half(pw)
    if keyword is not None:
        out.print(f"keyword segments:  {segments_hint(keyword.segments())}")


def _compact(pw: Paperwire) -> None:
    from paperwire.index.keyword import KeywordIndexError
    from paperwire.services.indexer import keyword_half

    keyword = keyword_half(pw)
    if keyword is None:
        error(f"the {pw.settings.index} index compacts its own segments")
        raise typer.Exit(2)
    try:
        with stop_on_sigterm() as stop, progress_bar() as bar:
            report = compact_with_progress(pw, stop, bar)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: {compaction_interrupted(pw)}[/]")
        raise typer.Exit(130) from None
    except KeywordIndexError as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    if report is None:
        error(
            "another process is applying index changes (a server, an ingest): "
            "try again when it is done"
        )
        raise typer.Exit(1)
    if report.documents is None:
        console.print("[yellow]stopped: the keyword index is as it was[/]")
        raise typer.Exit(EXIT_SIGTERM)
    out.print(report.describe())


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
def doctor(
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Re-apply the papers that differ, then check again."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    home: HomeOpt = None,
) -> None:
    """Compare the store with the search index: counts, missing, extra and stale
    documents, queued changes. Exit status 1 when they differ (after --repair: when
    they still differ)."""
    from paperwire.jobs.doctor import diagnose
    from paperwire.jobs.doctor import repair as repair_index

    pw = open_app(home)
    report = repair_index(pw) if repair else diagnose(pw)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        _print_doctor(report)
    if not report.in_step:
        raise typer.Exit(1)


def _print_doctor(report: DoctorReport) -> None:
    t = Table(title=f"store ({report.papers} visible papers) vs search index")
    for col in ("", "expected", "indexed", "missing", "extra", "stale"):
        t.add_column(col, justify="left" if not col else "right")
    for name, part in (("keyword documents", report.keyword), ("vectors", report.vectors)):
        t.add_row(
            name,
            *(str(v) for v in (part.expected, part.documents, part.missing, part.extra)),
            str(part.stale) if report.checked_stale else "-",
        )
    out.print(t)
    out.print(f"changes queued for the index: {report.pending}")
    if report.keyword_segments is not None:
        out.print(f"keyword index segments: {segments_hint(report.keyword_segments)}")
    examples = [*report.keyword.examples, *report.vectors.examples]
    if examples:
        out.print(f"for example: {escape(', '.join(dict.fromkeys(examples)))}", soft_wrap=True)
    lengths = report.vector_lengths
    if lengths is not None:
        stored = " and ".join(str(n) for n in lengths.store)
        what = (
            "`paperwire embed` is not done embedding them again; `--repair` after it"
            if len(lengths.store) > 1
            else "`--repair` empties the index and writes every paper again"
        )
        out.print(
            f"[red]vectors of another length:[/] the index holds vectors of {lengths.index} "
            f"numbers, the store has the embedding model's of {stored}: {what}",
            soft_wrap=True,
        )
    if report.repaired is not None:
        out.print(f"repaired: {report.repaired} papers re-applied")
    if report.in_step:
        out.print("[green]in step:[/] the index matches the store")
    elif report.repaired is None:
        out.print("[red]drift:[/] run `paperwire doctor --repair`")
    else:
        out.print("[red]still differs[/] (is another process writing meanwhile?)")


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
