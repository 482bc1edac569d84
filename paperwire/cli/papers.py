"""``paperwire ingest …``, ``paperwire search``, ``paperwire show``, ``paperwire status``:
papers in (every source, idempotent) and papers out (the same models the web API returns)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperwire.cli.common import (
    EXIT_SIGTERM,
    CategoryOpt,
    DateFromOpt,
    DateToOpt,
    EmbedOpt,
    HasCodeOpt,
    HomeOpt,
    OrgOpt,
    compact_bulk_load,
    compaction_interrupted,
    console,
    error,
    filters_of,
    open_app,
    out,
    progress_bar,
    report_index,
    run_embed,
    stop_on_sigterm,
)
from paperwire.config import MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET
from paperwire.core import Paperwire
from paperwire.models.papers import IngestSummary, PaperRecord, Rejection
from paperwire.models.search import (
    SearchMode,
    SearchRequest,
    SearchResponse,
    SortOrder,
)
from paperwire.search.matches import describe_match
from paperwire.services.clock import clocked_status
from paperwire.web.formatting import plural

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app
ingest_app = typer.Typer(
    help="Import papers from a source (idempotent; safe to rerun).", no_args_is_help=True
)


SHOWN_REJECTIONS = 20


def _print_summary(summary: IngestSummary, rejects: Path | None = None) -> None:
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
    for r in summary.rejections[:SHOWN_REJECTIONS]:
        console.print(f"[yellow]rejected[/] {escape(str(r))}", soft_wrap=True, highlight=False)
    if summary.rejected > SHOWN_REJECTIONS:
        console.print(f"[yellow]… and {summary.rejected - SHOWN_REJECTIONS} more rejections[/]")
    if summary.index_segments is not None:
        before, after = summary.index_segments
        console.print(f"keyword index compacted after a bulk load: {before} segments -> {after}")
    if rejects is not None and summary.rejected:
        console.print(
            f"every rejection (file, line, field, reason, raw record): {escape(str(rejects))}",
            soft_wrap=True,
            highlight=False,
        )


def run_ingest(
    pw: Paperwire, items: Iterable[PaperRecord | Rejection], source: str, total: int | None = None
) -> IngestSummary:
    from paperwire.index.keyword import KeywordIndexError
    from paperwire.services.ingest import ingest_records
    from paperwire.services.rejects import RejectsFile, rejects_path

    with (
        stop_on_sigterm() as stop,
        progress_bar() as bar,
        RejectsFile(rejects_path(pw.settings.home, source)) as rejects,
    ):
        task = bar.add_task(f"ingest {source}", total=total)
        summary: IngestSummary | None = None
        compacting = False
        try:
            summary = ingest_records(
                pw,
                items,
                source,
                on_progress=lambda n: bar.advance(task, n),
                on_rejection=rejects.add,
                stop=stop,
                compact=False,  # here, with its progress shown
            )
            if not (summary.stopped or summary.index_pending or summary.index_error):
                compacting = True
                compacted = compact_bulk_load(pw, summary.added, stop, bar)
                summary.index_segments = None if compacted is None else compacted.segments
        except KeyboardInterrupt:
            if not compacting:
                console.print(
                    "[yellow]interrupted: finished batches are stored; rerun to resume[/]"
                )
            else:
                console.print(
                    "[yellow]interrupted while compacting: every paper is stored and "
                    f"indexed; {compaction_interrupted(pw)}[/]"
                )
            if rejects.count:
                console.print(f"rejections so far: {escape(str(rejects.path))}")
            raise typer.Exit(130) from None
        except KeywordIndexError as exc:  # stored and indexed; only not compacted
            console.print(f"[yellow]keyword index not compacted:[/] {escape(str(exc))}")
    assert summary is not None  # the ingest returned (its interruptions exit above)
    _print_summary(summary, rejects.path)
    report_index(summary.index_pending, summary.index_error)
    if summary.stopped:
        console.print("[yellow]stopped: finished batches are stored; rerun to resume[/]")
        raise typer.Exit(EXIT_SIGTERM)
    if pw.settings.thumbnail_cache and summary.added + summary.updated:
        _cache_thumbnails(pw, THUMBNAILS_AT_INGEST)
    return summary


THUMBNAILS_AT_INGEST = 2000


def _cache_thumbnails(pw: Paperwire, limit: int) -> None:
    from paperwire.services.thumbnails import cache_thumbnails

    with stop_on_sigterm() as stop:
        report = cache_thumbnails(pw, limit, stop=stop)
    line = f"thumbnails: {report.cached} cached, {report.failed} failed"
    if report.unreachable_hosts:
        line += f"; unreachable now: {', '.join(report.unreachable_hosts)} (rerun later)"
    console.print(escape(line), highlight=False)


@app.command("thumbnails")
def thumbnails(
    limit: Annotated[int, typer.Option(min=1, help="At most this many papers.")] = 5000,
    home: HomeOpt = None,
) -> None:
    """Cache papers' thumbnails locally (newest first; those not cached yet), so pages
    show them without loading images from other sites. `paperwire ingest` does this
    too unless PAPERWIRE_THUMBNAIL_CACHE=false."""
    _cache_thumbnails(open_app(home), limit)


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
        summary = ingest_hf(pw, from_dir, d_since, d_until)
    except SourceError as e:
        # Days fetched before the failure are stored; the next run fetches the rest.
        # (`paperwire up` catches this itself to fall back to --offline-dir.)
        error(f"{e}")
        raise typer.Exit(1) from None
    if embed:
        run_embed(pw)
    _exit_for(summary)


def ingest_hf(
    pw: Paperwire,
    from_dir: Path | None,
    since: dt.date | None,
    until: dt.date | None,
    retries: int | None = None,
) -> IngestSummary:
    """HF daily papers from a folder of day files, or live (also ``paperwire up``) with
    ``retries`` extra tries per request (default ``PAPERWIRE_HTTP_RETRIES``)."""
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
        tries = s.http_retries if retries is None else retries
        items = hf_daily.fetch_hf_daily(client, s.hf_api_url, since, until, tries)
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
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    category: CategoryOpt = None,
    org: OrgOpt = None,
    has_code: HasCodeOpt = None,
    sort: Annotated[
        SortOrder,
        typer.Option(help="relevance, or newest / upvotes: every match, sorted."),
    ] = SortOrder.relevance,
    mode: Annotated[SearchMode, typer.Option(help="hybrid, keyword or semantic.")] = (
        SearchMode.hybrid
    ),
    limit: Annotated[int, typer.Option(min=1, max=MAX_SEARCH_LIMIT)] = 10,
    offset: Annotated[
        int, typer.Option(min=0, max=MAX_SEARCH_OFFSET, help="Skip this many results.")
    ] = 0,
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
        filters=filters_of(date_from, date_to, category, org, has_code),
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
    plain = " (searched as plain text)" if res.as_text and file is None else ""
    note = _keyword_only(pw, res)
    found = plural(res.total, "result", at_least=res.total_relation == "gte")
    console.print(f"{found} in {res.took_ms:.1f} ms{note}{plain}")


def _keyword_only(pw: Paperwire, res: SearchResponse) -> str:
    """Why a search that wanted meaning matched by keywords only, when that is why: no
    vectors yet, or semantic search off. Nothing when meaning had no part to play (an
    arXiv id looked up, keyword mode) or was used."""
    if res.semantic_used or res.mode == SearchMode.keyword or not res.hits:
        return ""
    if all(hit.matched_by == ["id"] for hit in res.hits):
        return ""
    if not pw.settings.semantic:
        return " (keyword only: semantic search is off, PAPERWIRE_SEMANTIC=false)"
    if pw.index.vector_count() == 0:
        return " (keyword only: no embeddings yet — run `paperwire embed`)"
    return ""


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
    from paperwire.services.papers import paper as paper_with_similar

    paper = paper_with_similar(pw, aid)
    if paper is None:
        error(f"paper {aid} is not in this paperwire (ingest it first)")
        raise typer.Exit(1)
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
    pw = open_app(home)
    st = clocked_status(pw)
    if as_json:
        sys.stdout.write(st.model_dump_json(indent=2) + "\n")
        return
    for k, v in st.model_dump(exclude={"doctor", "clock"}).items():
        out.print(f"{k:>20}: {v}", highlight=False)
    clock = st.clock
    if clock is not None:
        shown = clock.note or "live"
        out.print(f"{'clock':>20}: {shown}: {clock.reason}", highlight=False)
