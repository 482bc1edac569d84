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


def test_browser_tests_drive_chromium_one_way() -> None:
    """Every browser test launches Chromium and opens its pages through tests/browser.py,
    so one timeout (sized for CI's two shared cores) holds for all of them: a module with
    its own 10 s limit failed CI once."""
    own = re.compile(
        r"\.(?:launch|launch_persistent_context|new_context|new_page|set_default_timeout"
        r"|set_default_navigation_timeout)\("
    )
    helper = REPO / "tests" / "browser.py"
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path != helper
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if own.search(line)
    ]
    assert not offenders, offenders
