"""``paperwire map build``: recompute the map of the field (``/map``)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from paperwire.cli.common import HomeOpt, console, open_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The map of the field.")


@app.command("build")
def build(
    home: HomeOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the build record as JSON.")
    ] = False,
) -> None:
    """Lay out every embedded paper in 2-D with labelled clusters (what ``/map`` shows)
    and write its picture; the worker does it on ``PAPERWIRE_MAP_CRON``."""
    from paperwire.services.fieldmap import build_map

    pw = open_app(home)
    built = build_map(pw)
    r = built.record
    if as_json:
        data = {"points": r.points, "method": r.method, "seconds": r.seconds,
                "json": str(built.json_path), "png": str(built.png_path)}  # fmt: skip
        sys.stdout.write(json.dumps(data) + "\n")
        return
    console.print(
        f"map: {r.points} papers laid out ({r.method}) in {r.seconds:.1f} s; "
        f"picture: {built.png_path}"
    )
