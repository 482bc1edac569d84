"""What every command shares: the consoles, ``--home``, opening a ``Paperwire``,
progress bars, error lines, ``stop_on_sigterm`` (long commands stop after their current
batch) and ``run_embed`` (embedding with a progress bar, used by ``embed``, ``ingest
--embed``, ``sync --embed`` and ``up``)."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.search import SearchFilters

if TYPE_CHECKING:
    from paperwire.services.indexer import CompactReport

console = Console(stderr=True)
out = Console()

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $PAPERWIRE_HOME or ./.paperwire)."),
]
EmbedOpt = Annotated[
    bool, typer.Option("--embed/--no-embed", help="Compute embeddings after ingesting.")
]

# The search filters, shared by `search` and `export corpus` (see ``filters_of``).
DateFromOpt = Annotated[
    dt.datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="Published on or after."),
]
DateToOpt = Annotated[
    dt.datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="Published on or before."),
]
CategoryOpt = Annotated[str | None, typer.Option(help="arXiv category, e.g. cs.CL.")]
OrgOpt = Annotated[str | None, typer.Option(help="Organisation (name or slug).")]
HasCodeOpt = Annotated[
    bool | None,
    typer.Option("--has-code/--no-code", help="Only papers with (or without) a code repository."),
]


def filters_of(
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    category: str | None,
    org: str | None,
    has_code: bool | None,
) -> SearchFilters:
    return SearchFilters(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        category=category,
        organization=org,
        has_code=has_code,
    )


# Exit status of a command stopped by SIGTERM after its current batch (128 + 15).
EXIT_SIGTERM = 143


@contextmanager
def stop_on_sigterm(*, interrupt: bool = False) -> Iterator[threading.Event]:
    """While inside, SIGTERM (systemd, docker, ``kill``) sets the yielded event: a long
    command finishes its current batch, applies the index and exits ``EXIT_SIGTERM``.
    A second SIGTERM stops at once, like Ctrl-C (what is stored is never lost: the
    index journal catches the index up on the next run).

    ``interrupt``: Ctrl-C (SIGINT) does the same, for a command whose batches run beside
    a server (``up``). A ``KeyboardInterrupt`` raised inside a database read makes
    SQLAlchemy drop the connection and then log "Error closing cursor" with two
    tracebacks: a new user's first Ctrl-C of ``make up`` showed them when it came during
    the background embedding (twenty-ninth session)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        said = (
            "Ctrl-C: stopping after the current batch (Ctrl-C again to stop at once)"
            if signum == signal.SIGINT
            else "SIGTERM: stopping after the current batch"
        )
        console.print(f"[yellow]{said}[/]")
        stop.set()

    handled = [signal.SIGTERM, *([signal.SIGINT] if interrupt else [])]
    previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def compact_bulk_load(
    pw: Paperwire, written: int, stop: threading.Event, bar: Progress
) -> CompactReport | None:
    """After an ingest or rebuild that wrote ``written`` papers: the keyword index
    compacted where it was a bulk load (``indexer.bulk_load_to_compact``), its progress
    on ``bar``. None where nothing was done (or another process was applying changes);
    a report with ``documents`` None where ``stop`` came first. Raises
    ``KeyboardInterrupt`` (every document is then still indexed, in the old segments or
    the new one: ``compaction_interrupted``) and ``KeywordIndexError``."""
    from paperwire.services.indexer import bulk_load_to_compact

    if stop.is_set() or not bulk_load_to_compact(pw, written):
        return None
    return compact_with_progress(pw, stop, bar)


def segments_hint(n: int) -> str:
    """A keyword segment count, and what to do where there are several (`index`,
    `doctor`, an interrupted compaction)."""
    return f"{n} (`paperwire index --compact` makes one)" if n > 1 else str(n)


def compaction_interrupted(pw: Paperwire) -> str:
    """What a Ctrl-C during a keyword compaction left, for the command to print.

    Before the compaction's commit the old segments stand, after it the new one: either
    way every document is there, and only the segment count says which (a Ctrl-C can
    land anywhere, the commit's last steps included; a SIGTERM is read before the
    commit, so a stop leaves the old segments)."""
    from paperwire.services.indexer import keyword_half

    keyword = keyword_half(pw)
    if keyword is None:
        return "no document was lost"
    keyword.refresh()
    return f"no document was lost; keyword segments: {segments_hint(keyword.segments())}"


def compact_with_progress(
    pw: Paperwire, stop: threading.Event, bar: Progress
) -> CompactReport | None:
    """``indexer.compact_keyword_index``, its progress on ``bar`` (`paperwire index
    --compact`, and ``compact_bulk_load``)."""
    from paperwire.services.indexer import compact_keyword_index

    task = bar.add_task("compact keyword index", total=pw.store.count())
    return compact_keyword_index(pw, stop=stop, on_progress=lambda k: bar.advance(task, k))


def report_index(pending: int, problem: str | None = None) -> None:
    """Say when changes are still queued for the search index (never an error: the
    store has them, and the next process that applies the queue indexes them)."""
    if problem:
        console.print(f"[yellow]search index not updated:[/] {escape(problem)}", soft_wrap=True)
    if pending:
        who = (
            "they stay queued until that is mended (then the next process that applies "
            "the queue, or `paperwire doctor --repair`, writes them)"
            if problem
            else "another process is applying them (a running server or worker finishes "
            "them; otherwise run `paperwire doctor --repair`)"
        )
        console.print(
            f"[yellow]{pending} changes are queued for the search index:[/] {who}",
            soft_wrap=True,
        )


def error(message: str) -> None:
    """Print an error (never interpreted as markup, never hard-wrapped)."""
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)


def settings_for(home: Path | None) -> Settings:
    """The settings of ``--home`` (or of ``$PAPERWIRE_HOME`` / ``./.paperwire``). Values
    the settings refuse stop the command with an error naming them (``paperwire.cli``)."""
    return Settings(home=home) if home else Settings()


def open_app(home: Path | None) -> Paperwire:
    """The ``Paperwire`` of ``--home``, migrated and ready."""
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


def run_embed(pw: Paperwire, limit: int | None = None, stop: threading.Event | None = None) -> None:
    """Embed the backlog (at most ``limit``) with a progress bar; ``stop`` ends it after
    the current chunk."""
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
    report_index(report.index_pending, report.index_error)
