"""Model folders for tests: the bundled model's files, with modules as the installed
sentence-transformers writes them (a ``Dense`` layer after the pooling, a pooling folder
of another name). Real weights, no download."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sentence_transformers.base.modules import Dense, Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

from paperwire.index.embedding.base import resolve_model

BUNDLED = Path(resolve_model("bundled:all-MiniLM-L6-v2"))


def type_name(module: type) -> str:
    """A module's ``type`` as the installed library writes it in ``modules.json``."""
    return f"{module.__module__}.{module.__name__}"


def copy_bundled(folder: Path) -> Path:
    """The bundled model's files in ``folder`` (made here)."""
    shutil.copytree(BUNDLED, folder)
    return folder


def write_modules(folder: Path, *modules: tuple[str, str]) -> None:
    """``modules.json`` listing ``(type, path)`` in order, as the library writes it."""
    listed = [
        {"idx": i, "name": str(i), "path": path, "type": kind}
        for i, (kind, path) in enumerate(modules)
    ]
    (folder / "modules.json").write_text(json.dumps(listed, indent=2))


def with_dense(folder: Path, out: int = 256) -> Path:
    """The bundled model with a 384 → ``out`` ``Dense`` layer after its pooling, saved
    by the installed library (a distilled or multilingual model's layout): its vectors
    have ``out`` numbers."""
    copy_bundled(folder)
    (folder / "2_Dense").mkdir()
    Dense(384, out).save(str(folder / "2_Dense"))
    write_modules(
        folder,
        (type_name(Transformer), ""),
        (type_name(Pooling), "1_Pooling"),
        (type_name(Dense), "2_Dense"),
        (type_name(Normalize), "3_Normalize"),
    )
    return folder


def cls_in_a_folder_of_its_own(folder: Path) -> Path:
    """The bundled model with CLS pooling in a folder named ``pooling`` (the folder is
    the model's to name; the library loads what ``modules.json`` says)."""
    copy_bundled(folder)
    shutil.rmtree(folder / "1_Pooling")
    (folder / "pooling").mkdir()
    Pooling(384, pooling_mode="cls").save(str(folder / "pooling"))
    write_modules(
        folder,
        (type_name(Transformer), ""),
        (type_name(Pooling), "pooling"),
        (type_name(Normalize), "2_Normalize"),
    )
    return folder
