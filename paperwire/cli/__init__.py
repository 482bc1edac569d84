"""The ``paperwire`` command line (run by ``paperwire.__main__``), one module per group.

``papers`` (ingest, search, show, status), ``index`` (embed, index, migrate), ``serve``
(serve, up), ``jobs`` (sync, worker, digest), ``model``, ``users`` (users, collections),
``data`` (export, import), ``fieldmap`` (map build) and ``bench``; ``common`` holds what
they share. Every command
takes ``--home DIR`` (or ``PAPERWIRE_HOME``) for the data directory and prints the same
typed models the web API returns (``--json``).
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from paperwire.cli import alerts, bench, data, fieldmap, index, jobs, model, papers, serve, users
from paperwire.cli.common import error
from paperwire.config import Settings, invalid_settings


class _Commands(TyperGroup):
    """The root command group: every command's ``Settings()`` refusing the environment
    (``PAPERWIRE_…`` or ``.env``) is an error naming the setting (exit 2), not a traceback,
    wherever in the command the settings are read."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context is private
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            if exc.title != Settings.__name__:
                raise
            error(invalid_settings(exc))
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Commands,
    help="paperwire: gather papers, search them by keyword and meaning, serve a daily feed.",
    no_args_is_help=True,
    add_completion=False,
)
# Registration order is the order of `paperwire --help`.
app.add_typer(index.app)  # embed, index, migrate
app.add_typer(papers.app)  # search, show, status
app.add_typer(serve.app)  # serve, up
app.add_typer(papers.ingest_app, name="ingest")
app.add_typer(model.app, name="model")
app.add_typer(users.users_app, name="users")
app.add_typer(users.collections_app, name="collections")
app.add_typer(data.export_app, name="export")
app.add_typer(data.import_app, name="import")
app.add_typer(fieldmap.app, name="map")
app.add_typer(bench.app, name="bench")
app.add_typer(jobs.app)  # sync, worker, digest …
app.add_typer(alerts.app)  # mcp, tokens …, webhooks


def main() -> None:  # pragma: no cover - ``python -m paperwire.cli``
    app()
