"""What every command shares: the consoles, ``--home``, opening a ``Paperwire``,
progress bars, error lines and ``run_embed`` (embedding with a progress bar, used by
``embed``, ``ingest --embed``, ``sync --embed`` and ``up``)."""

from __future__ import annotations

import threading
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

from paperwire.config import Settings
from paperwire.core import Paperwire

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
    """The settings of ``--home`` (or of ``$PAPERWIRE_HOME`` / ``./.paperwire``)."""
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
    """Embed the backlog (at most ``limit``) with a progress bar; ``stop`` ends it early."""
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
