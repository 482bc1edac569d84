"""``paperwire bench latency``'s kept builds and title vectors: reused only where the
embedder that ran now made their vectors (``common.vectors_made_by``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from paperwire.bench.latency import (
    BuildInfo,
    TitleVectors,
    _kept_build,
    _params,
    _text_key,
    embedder_made_by,
)
from paperwire.config import Settings
from paperwire.index.base import IndexDoc
from paperwire.index.embedded import VECTORS_DIR
from paperwire.index.embedding.onnx_export import RECIPE
from paperwire.index.vectors import NumpyVectorIndex


def _say(_message: str) -> None:
    """Progress, not looked at."""


def _index(home: Path) -> NumpyVectorIndex:
    return NumpyVectorIndex(Settings(home=home).index_dir / VECTORS_DIR)


def _written(marker: Path, home: Path, params: dict[str, object]) -> None:
    """A kept build of 3 papers whose 3 vectors its index holds."""
    home.mkdir()
    vectors = _index(home)
    rng = np.random.default_rng(0)
    vectors.upsert(
        [
            IndexDoc(f"2606.0000{i}", "t", "a", [], [], None, None, False, rng.random(8))
            for i in range(3)
        ]
    )
    vectors.commit()
    build = BuildInfo(
        size="74k",
        papers=3,
        ingest_seconds=1.0,
        ingest_papers_per_s=3.0,
        vector_seconds=1.0,
        embedded_titles=3,
        vectors=3,
        vector_note="",
        date_from="2026-06-16",
        date_to="2026-07-01",
        date_fraction=0.5,
        category_filter={"category": "cs.cl"},
        category_fraction=0.5,
        disk_mb={},
        built_at="2026-12-06T10:40:00+00:00",
        params=params,
    )
    marker.write_text(json.dumps(dataclasses.asdict(build)))


def test_a_build_is_kept_only_for_the_vectors_maker_it_was_made_with(tmp_path: Path) -> None:
    """A build whose vectors an older export made is built anew, not searched with the
    queries of today's (its title vectors sit in a cache of another name too)."""
    marker, home = tmp_path / "74k.build.json", tmp_path / "74k"
    _written(marker, home, _params("74k", 5000, "onnx-int8", "onnx-int8-r3"))

    kept = _kept_build(marker, home, _params("74k", 5000, "onnx-int8", "onnx-int8-r3"), _say)
    assert kept is not None and kept.reused and kept.papers == 3
    r4 = _params("74k", 5000, "onnx-int8", "onnx-int8-r4")
    assert _kept_build(marker, home, r4, _say) is None
    # where the export is missing, ONNX falls back to torch: torch made the vectors
    assert _kept_build(marker, home, _params("74k", 5000, "onnx-int8", "torch"), _say) is None
    gone = tmp_path / "gone"
    assert _kept_build(marker, gone, _params("74k", 5000, "onnx-int8", "r3"), _say) is None


def test_a_build_whose_index_lost_vectors_is_built_again(tmp_path: Path) -> None:
    """A process opened on a kept home (``paperwire serve``) makes its index follow the
    store, which holds none of the build's vectors (written to the index alone): the
    bench then searched an index without vectors (semantic searches in 0.15 ms)."""
    marker, home = tmp_path / "74k.build.json", tmp_path / "74k"
    params = _params("74k", 5000, "onnx-int8", "onnx-int8-r4")
    _written(marker, home, params)
    vectors = _index(home)
    vectors.delete(["2606.00001"])
    vectors.commit()
    said: list[str] = []
    assert _kept_build(marker, home, params, said.append) is None
    assert said == [
        f"[74k] the kept build's index holds 2 vectors where it wrote 3 (a process opened "
        f"on {home} changed it): building it again"
    ]


@pytest.mark.slow
def test_the_maker_is_the_backend_that_ran() -> None:
    """Torch asked for is torch; an ONNX export asked for is named with its recipe where
    the install made one (``make install``), torch where it fell back."""
    assert embedder_made_by("torch", None) == "torch"
    assert embedder_made_by("onnx-int8", None) in {f"onnx-int8-r{RECIPE}", "torch"}


@pytest.mark.slow
def test_title_vectors_refuse_another_makers_embedder(tmp_path: Path) -> None:
    """The cache is named after its maker; an embedder of another (an export made while
    the bench ran) must not add its vectors to it."""
    cache = TitleVectors(tmp_path / "titles-torch.npz")
    said: list[str] = []
    with pytest.raises(RuntimeError, match="holds vectors of onnx-int8-r3, but torch loaded"):
        cache.embed(["Attention is all you need"], "torch", None, "onnx-int8-r3", said.append)
    assert cache.vectors == {} and not cache.path.exists()

    assert cache.embed(["Attention is all you need"], "torch", None, "torch", said.append) == 1
    again = TitleVectors(cache.path)
    (vector,) = again.vectors.values()
    assert list(again.vectors) == [_text_key("Attention is all you need")]
    assert vector.shape == (384,) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-4)
