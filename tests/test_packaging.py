"""The package metadata as setuptools reads it on every ``pip install``."""

from __future__ import annotations

import tomllib
import warnings

from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

from paperwire.index.milvus import _index_stemmer
from tests.conftest import REPO


def test_pyproject_reads_without_deprecation_warnings() -> None:
    """``license = {text = …}`` printed three setuptools deprecation warnings per install;
    the SPDX string and ``license-files`` are what current setuptools wants."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert dist.metadata.license_expression == "Apache-2.0"
    assert dist.metadata.license_files == ["LICENSE"]
    assert "Apache License" in (REPO / "LICENSE").read_text()


def test_the_dev_install_brings_the_stemmer_the_milvus_warm_up_counts_with() -> None:
    """Without ``py-rust-stemmers`` the Milvus warm-up silently falls back to a sample;
    the test install (``.[dev]``) must carry every package of the ``milvus`` extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert set(extras["milvus"]) <= set(extras["dev"])
    stem = _index_stemmer()
    assert stem is not None and stem(["universities"]) == ["univers"]
