"""The export reads a model's pooling in both formats sentence-transformers writes: one
flag per mode (before version 6, the bundled model's file) and ``"pooling_mode"`` (6 on).
A model fine-tuned and saved by the installed library was refused before this
("unsupported pooling"), though it pools exactly as the bundled model does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers.sentence_transformer.modules import Pooling

from paperwire.index.embedding.base import EmbedderError
from paperwire.index.embedding.onnx import OnnxEmbedder
from paperwire.index.embedding.onnx_export import (
    FP32_FILE,
    _pooling_mode,
    export_onnx,
    includes_prompt,
    read_manifest,
)
from tests.index.models import BUNDLED, copy_bundled


def _model_pooling(tmp_path: Path, mode: str | tuple[str, ...]) -> Path:
    """A model folder whose pooling config the installed sentence-transformers wrote."""
    (tmp_path / "1_Pooling").mkdir()
    Pooling(384, pooling_mode=mode).save(str(tmp_path / "1_Pooling"))
    return tmp_path


def test_the_bundled_models_flags_read_as_mean() -> None:
    assert "pooling_mode_mean_tokens" in (BUNDLED / "1_Pooling" / "config.json").read_text()
    assert _pooling_mode(BUNDLED) == "mean"


@pytest.mark.parametrize("mode", ["mean", "cls"])
def test_the_installed_librarys_format_reads_as_its_mode(tmp_path: Path, mode: str) -> None:
    folder = _model_pooling(tmp_path, mode)
    assert "pooling_mode_mean_tokens" not in (folder / "1_Pooling" / "config.json").read_text()
    assert _pooling_mode(folder) == mode


@pytest.mark.parametrize(("mode", "named"), [("max", "max"), (("mean", "max"), "mean + max")])
def test_a_pooling_the_embedder_cannot_do_is_refused_by_name(
    tmp_path: Path, mode: str | tuple[str, ...], named: str
) -> None:
    folder = _model_pooling(tmp_path, mode)
    with pytest.raises(EmbedderError) as err:
        _pooling_mode(folder)
    assert f": {named} (only mean or CLS pooling, alone)" in str(err.value)
    assert str(folder / "1_Pooling" / "config.json") in str(err.value)


def test_several_legacy_flags_at_once_are_refused(tmp_path: Path) -> None:
    """Mean and max concatenated make a 768-wide vector: exporting it as mean pooling
    would give vectors of another length and meaning."""
    (tmp_path / "1_Pooling").mkdir()
    cfg = json.loads((BUNDLED / "1_Pooling" / "config.json").read_text())
    cfg["pooling_mode_max_tokens"] = True
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(EmbedderError, match=r": max \+ mean \("):
        _pooling_mode(tmp_path)


def test_no_pooling_folder_means_mean(tmp_path: Path) -> None:
    assert _pooling_mode(tmp_path) == "mean"


@pytest.mark.slow
def test_a_model_saved_by_the_installed_library_exports_and_embeds_as_the_bundled_one(
    tmp_path: Path,
) -> None:
    """The bundled model with its pooling config rewritten by today's library: the
    export goes through and its vectors are the bundled export's, bit for bit."""
    saved = tmp_path / "saved"
    copy_bundled(saved)
    shutil.rmtree(saved / "1_Pooling")
    _model_pooling(saved, "mean")
    vectors = []
    for name, source in (("bundled", BUNDLED), ("saved", saved)):
        out = tmp_path / f"export-{name}"
        export_onnx(name, source, out, quantize=False, threads=2)
        assert read_manifest(out)["pooling"] == "mean"
        embedder = OnnxEmbedder(out / FP32_FILE, source, name=name, backend="onnx", threads=2)
        vectors.append(embedder.encode_documents(["Sparse attention for long documents."]))
    np.testing.assert_array_equal(vectors[0], vectors[1])


def test_a_pooling_that_leaves_its_prompt_out_says_so(tmp_path: Path) -> None:
    """``include_prompt`` as the library writes it: absent (the bundled model's older
    file, or no pooling folder) and true pool the prompt; false leaves it out."""
    assert includes_prompt(BUNDLED)
    assert includes_prompt(tmp_path)
    for include in (True, False):
        folder = tmp_path / str(include)
        (folder / "1_Pooling").mkdir(parents=True)
        Pooling(384, pooling_mode="mean", include_prompt=include).save(str(folder / "1_Pooling"))
        assert includes_prompt(folder) is include
