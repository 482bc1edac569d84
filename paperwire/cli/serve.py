"""``paperwire serve`` and ``paperwire up`` (ingest, serve at once, embed meanwhile).

Both run an ``IndexFollower``: papers that other processes store (a cron ingest, the
worker, ``paperwire ingest`` in a terminal) become searchable within seconds.
``serve --workers N`` runs N uvicorn worker processes (``web.asgi``) beside it."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from paperwire.cli.common import HomeOpt, console, error, open_app, run_embed, stop_on_sigterm
from paperwire.cli.papers import ingest_hf
from paperwire.core import Paperwire
from paperwire.index.threads import usable_cores
from paperwire.services.indexer import IndexFollower
from paperwire.store.resident import ResidentFiles, ResidentState

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app


@contextmanager
def _server(pw: Paperwire, host: str, port: int) -> Iterator[threading.Thread]:
    import uvicorn

    from paperwire.web.app import create_app
    from paperwire.web.heap import tuned_for_serving

    app = tuned_for_serving(create_app(pw))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def _resident(pw: Paperwire) -> Iterator[None]:
    """The files kept in memory while serving (``PAPERWIRE_RESIDENT_MB``; off by
    default), held by a helper of this process for every worker (locked pages of the page
    cache are shared by every process that reads the file). The first pass runs in the
    background: the site is up at once; a line says what is held once it is, and again
    whenever that changes shape (a file over the limit, a refused lock)."""

    def told(state: ResidentState) -> None:
        console.print(f"files resident: {state.describe()}", highlight=False)

    kept = pw.kept_resident(wait=False, on_change=told)
    if isinstance(kept, ResidentFiles):
        console.print(
            f"holding up to {pw.settings.resident_mb:,} MB of the database and index files "
            "in memory (PAPERWIRE_RESIDENT_MB)",
            highlight=False,
        )
    with kept:
        yield


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (about one per CPU core). They share the database; "
            "this process applies the index journal for all of them.",
        ),
    ] = 1,
    home: HomeOpt = None,
) -> None:
    """Serve the web UI and JSON API."""
    import uvicorn

    from paperwire.web.app import create_app
    from paperwire.web.heap import tuned_for_serving

    pw = open_app(home)
    h, p = host or pw.settings.host, port or pw.settings.port
    shown = f"{workers} workers, " if workers > 1 else ""
    console.print(f"paperwire serving http://{h}:{p}  ({shown}API docs: http://{h}:{p}/docs)")
    with IndexFollower(pw), _resident(pw):
        if workers == 1:
            uvicorn.run(
                tuned_for_serving(create_app(pw)),
                host=h,
                port=p,
                log_level="info",
                access_log=pw.settings.access_log,
            )
            return
        # Each worker builds its app from the environment (``web.asgi``): the same home,
        # and the same secret key (a generated one too), so tokens hold across workers.
        os.environ["PAPERWIRE_HOME"] = str(pw.settings.home.resolve())
        # Workers answer requests side by side: the cores are shared among them, not
        # each given every core for its query embedding and vector math (oversubscribed
        # threads spin against each other).
        share = str(max(1, usable_cores() // workers))
        os.environ.setdefault("PAPERWIRE_EMBEDDING_THREADS", share)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, share)
        os.environ["PAPERWIRE_SECRET_KEY"] = pw.settings.secret_key
        if pw.settings.database_url:
            os.environ["PAPERWIRE_DATABASE_URL"] = pw.settings.database_url
        uvicorn.run(
            "paperwire.web.asgi:worker_app",
            factory=True,
            workers=workers,
            host=h,
            port=p,
            log_level="info",
            access_log=pw.settings.access_log,
        )


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
    """Ingest papers, serve the site at once, and embed in the background.

    Ctrl-C (or SIGTERM) stops after the batch being embedded, which is saved.
    Press it again to stop at once. Rerunning resumes."""
    from paperwire.sources.http import SourceError

    pw = open_app(home)
    today = dt.datetime.now(dt.UTC).date()
    if from_dir is not None:
        ingest_hf(pw, from_dir, None, None)
    else:
        # With a folder to fall back to, an offline machine should not wait ~15 s of
        # backoff for the live API: one retry, then the folder.
        retries = min(pw.settings.http_retries, 1) if offline_dir is not None else None
        try:
            ingest_hf(pw, None, today - dt.timedelta(days=days), today, retries)
        except (SourceError, OSError) as e:
            if offline_dir is None:
                error(
                    f"live Hugging Face API unreachable ({e}); "
                    "pass --from DIR to ingest a local folder"
                )
                raise typer.Exit(1) from None
            console.print(f"[yellow]live API unreachable ({e}); using {offline_dir}[/]")
            ingest_hf(pw, offline_dir, None, None)
    h, p = host or pw.settings.host, port or pw.settings.port
    with (
        stop_on_sigterm(interrupt=True) as stop,
        IndexFollower(pw),
        _resident(pw),
        _server(pw, h, p) as thread,
    ):
        console.print(
            f"[bold green]paperwire is up:[/] http://{h}:{p}  (status: http://{h}:{p}/status)"
        )
        try:
            if pw.settings.semantic:
                run_embed(pw, stop=stop)
                if not stop.is_set():
                    console.print("semantic search ready; Ctrl-C to stop")
            while thread.is_alive() and not stop.is_set():
                thread.join(timeout=1)
        except KeyboardInterrupt:
            stop.set()
        console.print("stopping (embedding progress is saved)")
