"""``paperwire serve`` and ``paperwire up`` (ingest, serve at once, embed meanwhile)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from paperwire.cli.common import HomeOpt, console, error, open_app, run_embed
from paperwire.cli.papers import ingest_hf
from paperwire.core import Paperwire

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app


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
        ingest_hf(pw, from_dir, None, None)
    else:
        try:
            ingest_hf(pw, None, today - dt.timedelta(days=days), today)
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
