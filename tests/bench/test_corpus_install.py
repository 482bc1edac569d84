"""The bench's corpus installs (``bench.corpus``): opened as they are only where their
data, version and vectors' maker are today's."""

from __future__ import annotations

import json
from pathlib import Path

from paperwire.bench.corpus import install_usable

PARAMS: dict[str, object] = {"version": 2, "data": [["2025-06-09.json", 1234]]}


def _marker(tmp_path: Path, **data: object) -> Path:
    marker = tmp_path / "bench-corpus.json"
    marker.write_text(json.dumps({"params": PARAMS, "papers": 3, **data}))
    return marker


def test_an_install_embedded_by_another_export_is_built_again(tmp_path: Path) -> None:
    """Vectors made by recipe 3's export are not searched with recipe 4's queries."""
    marker = _marker(tmp_path, vectors="onnx-int8-r3")
    assert install_usable(marker, PARAMS, "onnx-int8-r3")
    assert not install_usable(marker, PARAMS, "onnx-int8-r4")
    # where the export is missing, ONNX falls back to torch: torch would embed the queries
    assert not install_usable(marker, PARAMS, "torch")
    # keyword-only work (no vectors wanted) opens it as it is
    assert install_usable(marker, PARAMS, None)


def test_an_install_not_embedded_yet_is_embedded_by_whoever_asks(tmp_path: Path) -> None:
    marker = _marker(tmp_path)  # built with embed=False: no vectors, no maker
    assert install_usable(marker, PARAMS, "onnx-int8-r4")
    assert install_usable(marker, PARAMS, None)


def test_other_data_or_version_or_no_marker_builds_again(tmp_path: Path) -> None:
    marker = _marker(tmp_path, vectors="onnx-int8-r4")
    assert not install_usable(marker, {**PARAMS, "version": 1}, "onnx-int8-r4")
    assert not install_usable(marker, {**PARAMS, "data": [["2025-06-09.json", 99]]}, None)
    assert not install_usable(tmp_path / "missing.json", PARAMS, None)
