"""``paperwire export …`` and ``paperwire import …``: the corpus as a dataset, a user's
takeout, and imports of libraries (BibTeX, RIS, CSL-JSON) and takeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from paperwire.cli.common import (
    CategoryOpt,
    DateFromOpt,
    DateToOpt,
    HasCodeOpt,
    HomeOpt,
    OrgOpt,
    console,
    error,
    filters_of,
    open_app,
    progress_bar,
)
from paperwire.core import Paperwire
from paperwire.formats.dataset import DatasetFormat
from paperwire.formats.references import ReferenceFormat

export_app = typer.Typer(
    help="Export data: the corpus as a dataset, a user's takeout.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Import data: a library into a collection, a takeout archive.", no_args_is_help=True
)


@export_app.command("corpus")
def export_corpus(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New (or empty) directory to write.")
    ],
    fmt: Annotated[
        DatasetFormat, typer.Option("--format", help="parquet, jsonl or csv.")
    ] = DatasetFormat.parquet,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    category: CategoryOpt = None,
    org: OrgOpt = None,
    has_code: HasCodeOpt = None,
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings", help="Also write the stored embeddings (config `embeddings`)."
        ),
    ] = False,
    shard_rows: Annotated[
        int, typer.Option(min=1, help="Rows per shard file (data/train-0000N-of-…).")
    ] = 250_000,
    home: HomeOpt = None,
) -> None:
    """Every visible paper (or those matching the filters) as a Hugging Face dataset:
    shards under data/, a dataset card README.md; written atomically."""
    from paperwire.services.corpus_export import ExportError
    from paperwire.services.corpus_export import export_corpus as run

    pw = open_app(home)
    filters = filters_of(date_from, date_to, category, org, has_code)
    with progress_bar() as bar:
        task = bar.add_task("export", total=None)
        try:
            done = run(
                pw,
                output,
                fmt,
                filters,
                shard_rows=shard_rows,
                embeddings=embeddings,
                on_start=lambda n: bar.update(task, total=n),
                on_progress=lambda n: bar.advance(task, n),
            )
        except ExportError as e:
            error(f"{e}")
            raise typer.Exit(1) from None
    vectors = f", {done.embeddings} embeddings ({done.embedding_model})" if embeddings else ""
    console.print(
        f"wrote {done.rows} papers{vectors} in {len(done.shards)} shard(s) to "
        f"{escape(str(done.path))} in {done.seconds:.1f} s "
        f"({done.papers_per_second:,.0f} papers/s)",
        soft_wrap=True,
        highlight=False,
    )


def _account_id(pw: Paperwire, email: str) -> tuple[int, str]:
    from paperwire.services.community import community_of

    account = community_of(pw).users.by_email(email)
    if account is None:
        error(f"no account with the email {email} (create it: paperwire users create EMAIL)")
        raise typer.Exit(1)
    return account.id, account.email


@export_app.command("takeout")
def export_takeout(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .zip file to write.")],
    home: HomeOpt = None,
) -> None:
    """Everything an account owns as one zip archive (what /api/me/takeout downloads)."""
    from paperwire.services.takeout import write_takeout

    pw = open_app(home)
    user_id, _ = _account_id(pw, email)
    partial = output.with_name(f".{output.name}.partial")
    with partial.open("wb") as sink:
        manifest = write_takeout(pw, user_id, sink)
    partial.replace(output)
    kinds = ", ".join(f"{n} {k}" for k, n in manifest.kinds.items())
    console.print(f"wrote {escape(str(output))}: {kinds}", soft_wrap=True, highlight=False)


@import_app.command("collection")
def import_collection(
    path: Annotated[
        Path,
        typer.Argument(help="BibTeX, RIS or CSL-JSON file (e.g. a Zotero export).", exists=True),
    ],
    email: Annotated[str, typer.Option("--user", help="The owner's email address.")],
    name: Annotated[
        str | None, typer.Option(help="The new collection's name (default: the file's).")
    ] = None,
    fmt: Annotated[
        ReferenceFormat | None,
        typer.Option("--format", help="bibtex, ris or csl-json (default: by extension)."),
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="Make the collection public.")] = False,
    home: HomeOpt = None,
) -> None:
    """A library file as a new collection: papers matched by arXiv id, DOI or title; every
    entry that matched no paper is listed (exit 2 when there are any)."""
    from paperwire.services.library import import_library

    pw = open_app(home)
    user_id, _ = _account_id(pw, email)
    try:
        text = path.read_text(encoding="utf-8-sig")
        report = import_library(
            pw, user_id, text, path.name, name=name or path.stem, fmt=fmt, public=public
        )
    except (OSError, UnicodeDecodeError, ValueError) as e:
        error(f"{path}: {e}")
        raise typer.Exit(1) from None
    how = ", ".join(f"{n} by {k}" for k, n in report.matched.items()) or "none"
    console.print(
        f"collection #{report.collection_id} {escape(report.collection)}: {report.added} papers "
        f"added of {report.entries} entries (matched: {how}; duplicates: {report.duplicates})",
        soft_wrap=True,
        highlight=False,
    )
    for miss in report.unmatched:
        what = f" {miss.title!r}" if miss.title else ""
        console.print(
            f"[yellow]unmatched[/] {escape(miss.location)}{escape(what)}: {escape(miss.reason)}",
            soft_wrap=True,
            highlight=False,
        )
    if report.unmatched:
        raise typer.Exit(2)


@import_app.command("takeout")
def import_takeout(
    path: Annotated[
        Path, typer.Argument(help="A takeout .zip from any paperwire.", exists=True, dir_okay=False)
    ],
    email: Annotated[str, typer.Option("--user", help="The account to import into (email).")],
    home: HomeOpt = None,
) -> None:
    """A takeout archive into an account here: collections, alerts, votes, follows …
    (subscriptions wait for their confirmation link)."""
    from paperwire.services.takeout import TakeoutError
    from paperwire.services.takeout import import_takeout as run

    pw = open_app(home)
    user_id, address = _account_id(pw, email)
    try:
        with path.open("rb") as source:
            report = run(pw, user_id, address, source)
    except TakeoutError as e:
        error(f"{path}: {e}")
        raise typer.Exit(1) from None
    kinds = ", ".join(f"{n} {k}" for k, n in report.imported.items())
    console.print(f"imported {kinds}", soft_wrap=True, highlight=False)
    if report.skipped:
        console.print(f"kept for the record only: {', '.join(report.skipped)}")
    for line in report.unmatched:
        console.print(f"[yellow]not on this site[/] {escape(line)}", soft_wrap=True)
