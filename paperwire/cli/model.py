"""``paperwire model …``: build-time model files (the ONNX export of the embedding model)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from paperwire.cli.common import console, error, settings_for

app = typer.Typer(
    help="Embedding model files: export the bundled model to ONNX (run by `make install`).",
    no_args_is_help=True,
)


@app.command("export")
def export(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for model.onnx, model-int8.onnx and manifest.json "
            "(default: $PAPERWIRE_MODELS_DIR or ~/.cache/paperwire/models, then the model name).",
        ),
    ] = None,
    quantize: Annotated[
        bool, typer.Option("--quantize/--no-quantize", help="Also write the int8 model.")
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Export even when an up-to-date export exists.")
    ] = False,
) -> None:
    """Export the configured embedding model (local weights only) to ONNX."""
    from paperwire.index.embedding.base import EmbedderError, resolve_model
    from paperwire.index.embedding.onnx import export_dir
    from paperwire.index.embedding.onnx_export import export_onnx

    settings = settings_for(None)
    target = out or export_dir(settings)
    try:
        source = Path(resolve_model(settings.embedding_model))
        result = export_onnx(
            settings.embedding_model,
            source,
            target,
            quantize=quantize,
            force=force,
            threads=settings.embedding_threads,
            log=lambda msg: console.print(escape(msg), soft_wrap=True, highlight=False),
        )
    except EmbedderError as exc:
        error(str(exc))
        raise typer.Exit(1) from None
    sys.stdout.write(
        json.dumps(
            {
                "out": str(result.out_dir),
                "files": [str(f) for f in result.files],
                "seconds": round(result.seconds, 1),
                "skipped": result.skipped,
            }
        )
        + "\n"
    )
