"""The export and the ONNX loader read a model's modules from its ``modules.json``, as
sentence-transformers does: the pooling config from the folder its ``Pooling`` module
names, and a model with a module the ONNX embedder does not run (a ``Dense`` projection
after the pooling, a transformer in a subfolder) refused by name, so torch embeds it.
Before, the pooling was read from ``1_Pooling`` whatever the model said (another folder:
mean pooling, silently), and a ``Dense`` layer was left out of the export: vectors of
another meaning and length than the torch backend's for the same model name."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index.embedding.base import EmbedderError
from paperwire.index.embedding.loader import load_embedder
from paperwire.index.embedding.onnx import OnnxEmbedder, export_state, open_onnx_embedder
from paperwire.index.embedding.onnx_export import (
    FP32_FILE,
    _pooling_mode,
    check_modules,
    declared_dim,
    export_onnx,
    read_manifest,
    source_fingerprint,
)
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from tests.index.models import BUNDLED, cls_in_a_folder_of_its_own, with_dense, write_modules


def test_the_bundled_model_runs_on_onnx() -> None:
    check_modules(BUNDLED)  # a transformer, its pooling and a normalisation


def test_a_dense_layer_is_refused_by_name_at_export(tmp_path: Path) -> None:
    folder = with_dense(tmp_path / "model")
    with pytest.raises(EmbedderError) as err:
        export_onnx("dense", folder, tmp_path / "out", quantize=False)
    assert "2_Dense (Dense)" in str(err.value)
    assert "PAPERWIRE_EMBEDDING_BACKEND=torch" in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(
    ("modules", "named"),
    [
        (
            (("Transformer", "0_Transformer"), ("Pooling", "1_Pooling")),
            "0_Transformer (Transformer)",
        ),
        ((("Transformer", ""), ("Normalize", "2_Normalize")), "modules.json (no Pooling module)"),
        (
            (("Transformer", ""), ("Pooling", "1_Pooling"), ("Router", "2_Router")),
            "2_Router (Router)",
        ),
    ],
)
def test_other_layouts_the_embedder_would_not_run_are_refused(
    tmp_path: Path, modules: tuple[tuple[str, str], ...], named: str
) -> None:
    write_modules(
        tmp_path, *((f"sentence_transformers.models.{kind}", path) for kind, path in modules)
    )
    with pytest.raises(EmbedderError, match=named.replace("(", r"\(").replace(")", r"\)")):
        check_modules(tmp_path)


def test_a_modules_file_that_is_not_a_list_is_refused_by_path(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text('{"0": "Transformer"}')
    with pytest.raises(EmbedderError, match=r"modules\.json is not a list of modules"):
        check_modules(tmp_path)


def test_the_pooling_is_read_from_the_folder_modules_json_names(tmp_path: Path) -> None:
    """Read as CLS (before: ``1_Pooling`` was missing, so mean), and its file is part
    of the source's fingerprint, so editing it makes the export stale."""
    folder = cls_in_a_folder_of_its_own(tmp_path / "model")
    assert _pooling_mode(folder) == "cls"
    assert "pooling/config.json" in source_fingerprint(folder, full=False)


def test_the_loader_refuses_an_export_of_such_a_model_and_status_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export made before the export refused a ``Dense`` model is not loaded: the
    loader's own checks (which ``paperwire status`` reads too) name the layer."""
    folder = with_dense(tmp_path / "model")
    settings = Settings(embedding_model=str(folder), models_dir=tmp_path / "models")
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        assert open_onnx_embedder(settings) is None
    assert "2_Dense (Dense)" in caplog.text and "falling back to the torch" in caplog.text
    assert export_state(settings) == "missing"


@pytest.mark.slow
def test_torch_embeds_a_dense_model_at_its_own_length(tmp_path: Path) -> None:
    """What the refusal leaves to torch: the model's whole pipeline, 256 numbers a
    vector (the ONNX export had given 384, the pooling's)."""
    folder = with_dense(tmp_path / "model")
    settings = Settings(embedding_model=str(folder), models_dir=tmp_path / "models")
    embedder = load_embedder(settings)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.encode_documents(["Sparse attention for long documents."]).shape == (1, 256)


@pytest.mark.slow
def test_a_pooling_folder_of_another_name_exports_and_embeds_as_torch(tmp_path: Path) -> None:
    """Exported and run: its vectors are sentence-transformers' own (CLS pooled)."""
    folder = cls_in_a_folder_of_its_own(tmp_path / "model")
    out = tmp_path / "export"
    export_onnx("cls", folder, out, quantize=False, threads=2)
    assert read_manifest(out)["pooling"] == "cls"
    texts = ["Sparse attention for long documents.", "A survey of graph neural networks."]
    onnx = OnnxEmbedder(out / FP32_FILE, folder, name="cls", backend="onnx", pooling="cls")
    settings = Settings(embedding_model=str(folder), embedding_backend="torch")
    torch = load_embedder(settings)
    assert isinstance(torch, SentenceTransformerEmbedder)
    got, want = onnx.encode_documents(texts), torch.encode_documents(texts)
    assert np.min(np.sum(got * want, axis=1)) > 0.9999


def test_the_length_a_model_declares_is_read_where_its_modules_allow(tmp_path: Path) -> None:
    """What a new Milvus collection is made with before any vector (no model loaded):
    the pooling's length, from the folder ``modules.json`` names; none where a module
    after the pooling may change it (the model is loaded to know)."""
    assert declared_dim(BUNDLED) == 384
    assert declared_dim(cls_in_a_folder_of_its_own(tmp_path / "cls")) == 384
    assert declared_dim(with_dense(tmp_path / "dense")) is None
    assert declared_dim(tmp_path / "not-a-model") is None
