"""The layout holds: the import rules of pyproject.toml (``[tool.importlinter]``: layers,
the index contract, no web/CLI framework below web, no cycles) pass, and DEVELOPERS.md's
map names every package those rules place."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_developers_map_names_every_layer() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c.get("id") == "layers")["layers"]
    names = {n.strip() for layer in layers for n in re.split(r"[|:]", layer)} - {"__main__"}
    text = (REPO / "DEVELOPERS.md").read_text(encoding="utf-8")
    missing = [n for n in sorted(names) if f"`{n}/`" not in text and f"`{n}.py`" not in text]
    assert not missing, f"DEVELOPERS.md's map lacks {missing}"
