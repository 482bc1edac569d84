"""The ``paperwire`` command line: ingest, embed, index, search, show, status, serve, up.

Every command takes ``--home DIR`` (or ``PAPERWIRE_HOME``) for the data directory and
prints the same typed models the web API returns (``--json``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from paperwire.cli_bench import bench_app
from paperwire.cli_jobs import jobs_app
from paperwire.cli_model import model_app
from paperwire.cli_users import collections_app, users_app
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models import (
    IngestSummary,
    PaperRecord,
    Rejection,
    SearchFilters,
    SearchMode,
    SearchRequest,
    SortOrder,
)
from paperwire.search.matches import describe_match

app = typer.Typer(
    help="paperwire: gather papers, search them by keyword and meaning, serve a daily feed.",
    no_args_is_help=True,
    add_completion=False,
)
ingest_app = typer.Typer(
    help="Import papers from a source (idempotent; safe to rerun).", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(model_app, name="model")
app.add_typer(users_app, name="users")
app.add_typer(collections_app, name="collections")
app.add_typer(bench_app, name="bench")
app.add_typer(jobs_app)  # sync, worker, digest …

console = Console(stderr=True)
out = Console()

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $PAPERWIRE_HOME or ./.paperwire)."),
]
EmbedOpt = Annotated[
    bool, typer.Option("--embed/--no-embed", help="Compute embeddings after ingesting.")
]


def error(message: str) -> None:
    """Print an error (never interpreted as markup, never hard-wrapped)."""
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)


def settings_for(home: Path | None) -> Settings:
    return Settings(home=home) if home else Settings()


def open_app(home: Path | None) -> Paperwire:
    return Paperwire(settings_for(home))


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def _print_summary(summary: IngestSummary) -> None:
    t = Table(title=f"ingest {summary.source}", show_header=True)
    for col in ("added", "updated", "unchanged", "rejected", "seconds"):
        t.add_column(col, justify="right")
    t.add_row(
        *(
            str(getattr(summary, c))
            for c in ("added", "updated", "unchanged", "rejected", "seconds")
        )
    )
    console.print(t)
    for r in summary.rejections[:50]:
        console.print(f"[yellow]rejected[/] {escape(str(r))}", soft_wrap=True, highlight=False)
    if summary.rejected > 50:
        console.print(f"[yellow]… and {summary.rejected - 50} more rejections[/]")


def run_ingest(
    pw: Paperwire, items: Iterable[PaperRecord | Rejection], source: str, total: int | None = None
) -> IngestSummary:
    from paperwire.jobs.ingest import ingest_records

    with progress_bar() as bar:
        task = bar.add_task(f"ingest {source}", total=total)
        try:
            summary = ingest_records(pw, items, source, on_progress=lambda n: bar.advance(task, n))
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: finished batches are stored; rerun to resume[/]")
            raise typer.Exit(130) from None
    _print_summary(summary)
    return summary


def run_embed(pw: Paperwire, limit: int | None = None, stop: threading.Event | None = None) -> None:
    from paperwire.jobs.embed import embed_backlog

    backlog = pw.store.backlog_count(pw.model_name)
    if not backlog:
        console.print("embeddings: nothing to do")
        return
    total = min(backlog, limit) if limit else backlog
    with progress_bar() as bar:
        task = bar.add_task("embed", total=total)
        bar.update(task, description="loading model")
        pw.embedder()
        bar.update(task, description="embed")
        report = embed_backlog(
            pw, limit=limit, on_progress=lambda n: bar.advance(task, n), stop=stop
        )
    console.print(
        f"embedded {report.embedded} papers in {report.seconds:.1f} s "
        f"({report.docs_per_second:.1f} docs/s); {report.remaining} left"
    )


def _exit_for(summary: IngestSummary) -> None:
    # Exit 2 tells scripts that something was rejected while the rest landed.
    if summary.rejected:
        raise typer.Exit(2)


def _count_day_files(path: Path, since: dt.date | None, until: dt.date | None) -> int:
    n = 0
    for f in path.glob("*.json"):
        try:
            day = dt.date.fromisoformat(f.stem)
        except ValueError:
            continue
        if (since is None or day >= since) and (until is None or day <= until):
            try:
                n += len(json.loads(f.read_bytes()))
            except ValueError:
                n += 1  # reported as one rejection by the importer

    return n


@ingest_app.command("hf-daily")
def ingest_hf_daily(
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Folder of YYYY-MM-DD.json files (offline); omit to fetch the live API."
        ),
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="First day (default: 7 days ago for live fetches)."
        ),
    ] = None,
    until: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: today).")
    ] = None,
    embed: EmbedOpt = False,
    home: HomeOpt = None,
) -> None:
    """Hugging Face daily papers: live `/api/daily_papers` or a folder of day files."""
    from paperwire.sources.http import SourceError

    pw = open_app(home)
    d_since = since.date() if since else None
    d_until = until.date() if until else None
    try:
        summary = _ingest_hf(pw, from_dir, d_since, d_until)
    except SourceError as e:
        # Days fetched before the failure are stored; the next run fetches the rest.
        # (`paperwire up` catches this itself to fall back to --offline-dir.)
        error(f"{e}")
        raise typer.Exit(1) from None
    if embed:
        run_embed(pw)
    _exit_for(summary)


def _ingest_hf(
    pw: Paperwire, from_dir: Path | None, since: dt.date | None, until: dt.date | None
) -> IngestSummary:
    from paperwire.sources import hf_daily
    from paperwire.sources.http import make_client

    if from_dir is not None:
        if not from_dir.is_dir():
            error(f"--from {from_dir}: not a directory")
            raise typer.Exit(1)
        total = _count_day_files(from_dir, since, until)
        return run_ingest(pw, hf_daily.read_hf_daily_dir(from_dir, since, until), "hf-daily", total)
    today = dt.datetime.now(dt.UTC).date()
    since = since or today - dt.timedelta(days=7)
    until = until or today
    s = pw.settings
    with make_client(s.http_timeout) as client:
        items = hf_daily.fetch_hf_daily(client, s.hf_api_url, since, until, s.http_retries)
        summary = run_ingest(pw, items, "hf-daily")
    pw.store.set_meta("hf-daily:last_day", until.isoformat())
    return summary


@ingest_app.command("arxiv-listings")
def ingest_arxiv_listings(
    path: Annotated[
        Path, typer.Argument(help="A .jsonl(.gz) file or a folder of them.", exists=True)
    ],
    embed: EmbedOpt = False,
    home: HomeOpt = None,
) -> None:
    """arXiv listing rows (id, title, authors, categories, comment, summary, listing_date)."""
    from paperwire.sources.arxiv_listings import read_arxiv_listings

    pw = open_app(home)
    summary = run_ingest(pw, read_arxiv_listings(path), "arxiv-listings")
    if embed:
        run_embed(pw)
    _exit_for(summary)


@ingest_app.command("arxiv")
def ingest_arxiv(
    category: Annotated[
        str, typer.Option(help="arXiv category (API) or set (OAI), e.g. cs.CL or cs.")
    ] = "cs.CL",
    since: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    until: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    oai: Annotated[
        bool,
        typer.Option(
            "--oai",
            help="Bulk harvest via OAI-PMH (arXiv metadata format) instead of the search API.",
        ),
    ] = False,
    embed: EmbedOpt = False,
    home: HomeOpt = None,
) -> None:
    """The live arXiv API (Atom) by category and submission date, or OAI-PMH for bulk."""
    from paperwire.sources import arxiv_api
    from paperwire.sources.http import SourceError, make_client

    pw = open_app(home)
    s = pw.settings
    today = dt.datetime.now(dt.UTC).date()
    d_until = until.date() if until else today
    d_since = since.date() if since else d_until - dt.timedelta(days=2)
    with make_client(s.http_timeout) as client:
        if oai:
            items = arxiv_api.fetch_arxiv_oai(
                client, s.arxiv_oai_url, category, d_since, d_until, retries=s.http_retries
            )
        else:
            items = arxiv_api.fetch_arxiv_api(
                client, s.arxiv_api_url, category, d_since, d_until, retries=s.http_retries
            )
        try:
            summary = run_ingest(pw, items, "arxiv")
        except SourceError as e:
            error(f"{e}")
            raise typer.Exit(1) from None
    if embed:
        run_embed(pw)
    _exit_for(summary)


@ingest_app.command("table")
def ingest_table(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV, TSV, JSON, JSONL(.gz) or Parquet file.", exists=True, dir_okay=False
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, repeatable, e.g. --map abstract=paper_abstract."),
    ] = None,
    embed: EmbedOpt = False,
    home: HomeOpt = None,
) -> None:
    """Any table of papers; columns are matched by name or mapped with --map."""
    from paperwire.sources.table import parse_mapping, read_table

    try:
        mapping = parse_mapping(map_ or [])
        items: Iterator[PaperRecord | Rejection] = read_table(path, mapping or None)
        pw = open_app(home)
        summary = run_ingest(pw, items, "table")
    except ValueError as e:
        error(f"{e}")
        raise typer.Exit(1) from None
    if embed:
        run_embed(pw)
    _exit_for(summary)


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


@app.command()
def search(
    query: Annotated[
        str | None,
        typer.Argument(
            help='Words, "quoted phrases", author:"Name", arXiv ids (see README, Query '
            "syntax). Long prose (a pasted abstract) is searched as plain text."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Search by example: the text of this file (an abstract, a draft, `-` for "
            "stdin), as plain text (no query syntax).",
        ),
    ] = None,
    date_from: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="Published on or after."),
    ] = None,
    date_to: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Published on or before."),
    ] = None,
    category: Annotated[str | None, typer.Option(help="arXiv category, e.g. cs.CL.")] = None,
    org: Annotated[str | None, typer.Option(help="Organisation (name or slug).")] = None,
    has_code: Annotated[
        bool | None,
        typer.Option(
            "--has-code/--no-code", help="Only papers with (or without) a code repository."
        ),
    ] = None,
    sort: Annotated[
        SortOrder,
        typer.Option(help="relevance, or newest / upvotes: every match, sorted."),
    ] = SortOrder.relevance,
    mode: Annotated[SearchMode, typer.Option(help="hybrid, keyword or semantic.")] = (
        SearchMode.hybrid
    ),
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    offset: Annotated[int, typer.Option(min=0, max=1000, help="Skip this many results.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the SearchResponse as JSON.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Search papers (hybrid keyword + semantic by default)."""
    if (query is None) == (file is None):
        error("give a query or --file, not both")
        raise typer.Exit(2)
    if file is not None:
        try:
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            error(f"cannot read {file}: {e}")
            raise typer.Exit(1) from None
        if not text.strip():
            error(f"{file} is empty")
            raise typer.Exit(1)
    else:
        text = query or ""
    pw = open_app(home)
    req = SearchRequest(
        q=text,
        filters=SearchFilters(
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            category=category,
            organization=org,
            has_code=has_code,
        ),
        sort=sort,
        mode=mode,
        limit=limit,
        offset=offset,
        as_text=file is not None,
    )
    res = pw.search.search(req)
    if as_json:
        sys.stdout.write(res.model_dump_json(indent=2) + "\n")
        return
    if not res.hits:
        out.print(
            "no results: no paper holds these words or is close in meaning"
            if res.semantic_used
            else "no results"
        )
    for n, hit in enumerate(res.hits, offset + 1):
        p = hit.paper
        title = "".join(f"[bold yellow]{x.text}[/]" if x.hit else x.text for x in hit.title_parts)
        snippet = "".join(f"[yellow]{x.text}[/]" if x.hit else x.text for x in hit.snippet)
        date = p.published_at.date().isoformat() if p.published_at else "?"
        who = p.organization or f"{p.author_count} authors"
        out.print(f"[bold]{n}.[/] {title}", highlight=False)
        why = describe_match(hit.matched_by, hit.matched_terms)
        out.print(
            f"   {p.arxiv_id} · {date} · {who} · ▲ {p.upvotes} · {why}",
            highlight=False,
            style="dim",
        )
        out.print(f"   {snippet}", highlight=False)
    note = (
        ""
        if res.semantic_used or mode == SearchMode.keyword
        else " (keyword only: no embeddings yet — run `paperwire embed`)"
    )
    plain = " (searched as plain text)" if res.as_text and file is None else ""
    console.print(f"{res.total} results in {res.took_ms:.1f} ms{note}{plain}")


@app.command()
def show(
    arxiv_id: Annotated[str, typer.Argument(help="arXiv id or URL.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Print one paper with its similar papers."""
    from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id

    pw = open_app(home)
    try:
        aid = normalize_arxiv_id(arxiv_id)
    except InvalidArxivId as e:
        error(f"{e}")
        raise typer.Exit(1) from None
    paper = pw.store.get(aid)
    if paper is None:
        error(f"paper {aid} is not in this paperwire (ingest it first)")
        raise typer.Exit(1)
    page = pw.search.similar_page(aid, SearchFilters(), 6)
    if page is not None:
        paper.similar = [h.paper for h in page.hits]
        paper.similar_method = page.method
        paper.similar_terms = {h.paper.arxiv_id: h.shared_terms for h in page.hits}
    if as_json:
        sys.stdout.write(paper.model_dump_json(indent=2) + "\n")
        return
    out.print(f"[bold]{paper.title}[/]", highlight=False)
    out.print(", ".join(paper.authors), style="dim", highlight=False)
    out.print(f"{paper.links.arxiv} · ▲ {paper.upvotes}", highlight=False)
    out.print(paper.abstract, highlight=False)
    if paper.similar:
        out.print(f"\n[bold]Similar papers[/] ({paper.similar_method}):")
        for c in paper.similar:
            out.print(f"  {c.arxiv_id}  {c.title}", highlight=False)
            shared = paper.similar_terms.get(c.arxiv_id)
            if shared:
                out.print(f"      shares: {', '.join(shared)}", style="dim", highlight=False)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Counts: papers, embeddings done and pending, index documents."""
    st = open_app(home).status()
    if as_json:
        sys.stdout.write(st.model_dump_json(indent=2) + "\n")
        return
    for k, v in st.model_dump().items():
        out.print(f"{k:>20}: {v}", highlight=False)


@contextmanager
def _server(pw: Paperwire, host: str, port: int) -> Iterator[threading.Thread]:
    import uvicorn

    from paperwire.web.app import create_app

    config = uvicorn.Config(create_app(pw), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    home: HomeOpt = None,
) -> None:
    """Serve the web UI and JSON API."""
    import uvicorn

    from paperwire.web.app import create_app

    pw = open_app(home)
    h, p = host or pw.settings.host, port or pw.settings.port
    console.print(f"paperwire serving http://{h}:{p}  (API docs: http://{h}:{p}/docs)")
    uvicorn.run(create_app(pw), host=h, port=p, log_level="info")


@app.command()
def up(
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Ingest this folder of HF daily JSON files instead of the live API."
        ),
    ] = None,
    offline_dir: Annotated[
        Path | None,
        typer.Option(help="Folder to fall back to when the live API cannot be reached."),
    ] = None,
    days: Annotated[int, typer.Option(help="Live: how many recent days to fetch.")] = 14,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    home: HomeOpt = None,
) -> None:
    """Ingest papers, serve the site at once, and embed in the background."""
    from paperwire.sources.http import SourceError

    pw = open_app(home)
    today = dt.datetime.now(dt.UTC).date()
    if from_dir is not None:
        _ingest_hf(pw, from_dir, None, None)
    else:
        try:
            _ingest_hf(pw, None, today - dt.timedelta(days=days), today)
        except (SourceError, OSError) as e:
            if offline_dir is None:
                error(
                    f"live Hugging Face API unreachable ({e}); "
                    "pass --from DIR to ingest a local folder"
                )
                raise typer.Exit(1) from None
            console.print(f"[yellow]live API unreachable ({e}); using {offline_dir}[/]")
            _ingest_hf(pw, offline_dir, None, None)
    h, p = host or pw.settings.host, port or pw.settings.port
    stop = threading.Event()
    with _server(pw, h, p) as thread:
        console.print(
            f"[bold green]paperwire is up:[/] http://{h}:{p}  (status: http://{h}:{p}/status)"
        )
        try:
            if pw.settings.semantic:
                run_embed(pw, stop=stop)
                console.print("semantic search ready; Ctrl-C to stop")
            while thread.is_alive():
                thread.join(timeout=1)
        except KeyboardInterrupt:
            stop.set()
            console.print("stopping (embedding progress is saved)")


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
