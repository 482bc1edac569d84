"""``paperwire mcp`` (the MCP server), ``paperwire tokens …`` (personal access tokens)
and ``paperwire webhooks`` (queue and deliver alert webhooks, for cron)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperwire.cli.common import HomeOpt, console, error, open_app
from paperwire.core import Paperwire

app = typer.Typer(add_completion=False)  # merged into the top-level `paperwire` app
tokens_app = typer.Typer(
    help="Personal access tokens (MCP clients): create, list, revoke.", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def _account_id(pw: Paperwire, email: str) -> int:
    from paperwire.services.community import community_of

    account = community_of(pw).users.by_email(email.strip().lower())
    if account is None:
        error(f"no account with the email {email}")
        raise typer.Exit(1)
    return account.id


@app.command("mcp")
def mcp(
    transport: Annotated[
        Transport, typer.Option(help="stdio (a client starts it) or http (streamable HTTP).")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="http: bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port (endpoint: /mcp).")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            help="stdio: your personal access token, for your collections "
            "(default: PAPERWIRE_MCP_TOKEN). Over HTTP each client sends its own "
            "`Authorization: Bearer …`.",
            show_default=False,
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Serve the papers as MCP tools: search, papers, similar, feeds, your collections."""
    import anyio

    from paperwire.index.threads import single_thread_blas
    from paperwire.services.indexer import IndexFollower
    from paperwire.web.mcp import build_server, http_app

    pw = open_app(home)
    single_thread_blas()  # a serving process: see ``web.heap.tuned_for_serving``
    with IndexFollower(pw):
        if transport == Transport.stdio:
            server = build_server(pw, token or pw.settings.mcp_token)
            anyio.run(server.run_stdio_async)
            return
        import uvicorn

        console.print(f"paperwire MCP server on http://{host}:{port}/mcp")
        uvicorn.run(http_app(pw, host), host=host, port=port, log_level="warning")


@tokens_app.command("create")
def create_token(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "MCP client",
    home: HomeOpt = None,
) -> None:
    """Create a token for an account and print it (once: only its hash is stored)."""
    from paperwire.services.alerts import alerts_of

    pw = open_app(home)
    created = alerts_of(pw).new_token(_account_id(pw, email), name)
    console.print(f"token {created.info.id} “{escape(created.info.name)}” (copy it now):")
    sys.stdout.write(created.token + "\n")


@tokens_app.command("list")
def list_tokens(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: HomeOpt = None,
) -> None:
    """An account's tokens: id, name, prefix, when made, last used, revoked."""
    from paperwire.services.alerts import alerts_of

    pw = open_app(home)
    tokens = alerts_of(pw).tokens.of_user(_account_id(pw, email))
    if as_json:
        sys.stdout.write(json.dumps([t.model_dump(mode="json") for t in tokens], indent=2) + "\n")
        return
    table = Table("id", "name", "prefix", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(
            str(t.id),
            escape(t.name),
            t.prefix,
            t.created_at.strftime("%Y-%m-%d"),
            t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "",
            t.revoked_at.strftime("%Y-%m-%d") if t.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    token_id: Annotated[int, typer.Argument(help="The token's id (`paperwire tokens list`).")],
    home: HomeOpt = None,
) -> None:
    """Revoke one of an account's tokens: it stops working at once."""
    from paperwire.services.alerts import alerts_of

    pw = open_app(home)
    if not alerts_of(pw).tokens.revoke(token_id, _account_id(pw, email)):
        error(f"{email} has no live token {token_id}")
        raise typer.Exit(1)
    console.print(f"token {token_id} revoked")


@app.command("webhooks")
def webhooks(home: HomeOpt = None) -> None:
    """Queue alerts' new papers for their webhooks and deliver the due ones (as the worker)."""
    from paperwire.jobs.webhooks import plan_webhooks, send_webhooks

    pw = open_app(home)
    report = send_webhooks(pw, report=plan_webhooks(pw))
    console.print(report.summary())
