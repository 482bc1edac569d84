"""``paperwire users …`` and ``paperwire collections …``: accounts and collections from
the command line (the only way to create the first admin)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from paperwire.cli.common import HomeOpt, console, error, open_app, out
from paperwire.formats.export import bibtex, jsonl
from paperwire.models.community import ExportFormat, UserCreate
from paperwire.services.community import Community, community_of
from paperwire.store.collections import CollectionNotFound
from paperwire.store.users import AccountExists

users_app = typer.Typer(help="Accounts: create users and admins, list them.", no_args_is_help=True)
collections_app = typer.Typer(help="Collections: list and export them.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _open(home: Path | None) -> Community:
    return community_of(open_app(home))


def _default_name(email: str) -> str:
    local = re.sub(r"[^\w.\-]", "", email.split("@")[0])[:40] or "user"
    return local if len(local) >= 2 else f"{local}-user"


@users_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the account admin rights.")] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name (default: the email's local part).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from stdin (first line)."),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, password=password, display_name=name or _default_name(email))
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"])
            error(f"{field}: {str(err['msg']).removeprefix('Value error, ')}")
        raise typer.Exit(1) from None
    comm = _open(home)
    try:
        account = comm.signup(data, is_admin=admin)
    except AccountExists as exc:
        error(f"{exc}")
        raise typer.Exit(1) from None
    comm.audit.log(None, "user.create", "user", str(account.id), {"admin": admin, "via": "cli"})
    role = "admin" if admin else "user"
    console.print(
        f"created {role} #{account.id} {escape(account.email)} ({escape(account.display_name)})"
    )


@users_app.command("set-admin")
def set_admin(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take admin rights away.")] = False,
    home: HomeOpt = None,
) -> None:
    """Grant (or with --revoke take away) admin rights."""
    comm = _open(home)
    account = comm.users.by_email(email)
    if account is None:
        error(f"no account with the email {email}")
        raise typer.Exit(1)
    comm.users.set_admin(account.id, not revoke)
    comm.audit.log(
        None, "user.revoke_admin" if revoke else "user.grant_admin", "user", str(account.id)
    )
    console.print(f"{escape(account.email)} is {'no longer' if revoke else 'now'} an admin")


@users_app.command("delete")
def delete_user(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    home: HomeOpt = None,
) -> None:
    """Delete an account and everything it owns (see docs/data.md: removed or anonymised);
    `paperwire export takeout` first keeps a copy."""
    from paperwire.services.takeout import delete_account

    comm = _open(home)
    account = comm.users.by_email(email)
    if account is None:
        error(f"no account with the email {email}")
        raise typer.Exit(1)
    if not yes and not typer.confirm(f"Delete {account.email} and all its data?"):
        raise typer.Exit(1)
    done = delete_account(comm.pw, account.id)
    comm.audit.log(None, "user.delete", "user", str(account.id), {"via": "cli"})
    kinds = ", ".join(f"{k} {how}" for k, how in done.kinds.items())
    console.print(f"deleted {escape(account.email)}: {kinds}", soft_wrap=True)


@users_app.command("list")
def list_users(as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Every account: id, email, display name, admin, created."""
    comm = _open(home)
    accounts = [a.private() for a in comm.users.list_all()]
    if as_json:
        for a in accounts:
            sys.stdout.write(a.model_dump_json() + "\n")
        return
    table = Table(show_header=True)
    for col in ("id", "email", "name", "admin", "created"):
        table.add_column(col)
    for a in accounts:
        table.add_row(
            str(a.id),
            a.email,
            a.display_name,
            "yes" if a.is_admin else "",
            a.created_at.date().isoformat(),
        )
    out.print(table)


@collections_app.command("list")
def list_collections(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's (email).")] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Collections (all of them, or one user's), with owner, visibility and size."""
    comm = _open(home)
    if user:
        account = comm.users.by_email(user)
        if account is None:
            error(f"no account with the email {user}")
            raise typer.Exit(1)
        rows = comm.collections.list_for(account.id)
    else:
        rows = comm.collections.list_all()
    if as_json:
        for c in rows:
            sys.stdout.write(c.model_dump_json() + "\n")
        return
    table = Table(show_header=True)
    for col in ("id", "name", "owner", "visibility", "papers"):
        table.add_column(col)
    for c in rows:
        table.add_row(
            str(c.id), c.name, c.owner, "public" if c.public else "private", str(c.paper_count)
        )
    out.print(table)


@collections_app.command("export")
def export(
    collection_id: Annotated[int, typer.Argument(help="Collection id (see `collections list`).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="bibtex or jsonl.")] = (
        ExportFormat.bibtex
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Export one collection (private ones too: this is the operator's view)."""
    comm = _open(home)
    try:
        rows = comm.collections.export_rows(collection_id, None, any_owner=True)
    except CollectionNotFound:
        error(f"there is no collection {collection_id}")
        raise typer.Exit(1) from None
    text = bibtex(rows) if fmt == ExportFormat.bibtex else jsonl(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(rows)} papers to {escape(str(output))}")
