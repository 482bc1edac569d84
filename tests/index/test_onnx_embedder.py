"""The ONNX backend: a real export of the bundled model (once per session), compared
with the torch backend on real abstracts; backend selection and the torch fallback."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from paperwire.config import Settings
from paperwire.index.embedding.base import Embedder, document_text, resolve_model
from paperwire.index.embedding.loader import load_embedder
from paperwire.index.embedding.onnx import (
    OnnxEmbedder,
    _session,
    export_dir,
    export_state,
    model_slug,
    open_onnx_embedder,
)
from paperwire.index.embedding.onnx_export import (
    FP32_FILE,
    INT8_FILE,
    MANIFEST,
    RECIPE,
    export_onnx,
    fp32_nodes,
    read_manifest,
)
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from paperwire.index.threads import usable_cores
from tests.index.conftest import LISTING
from tests.index.models import copy_bundled

pytestmark = pytest.mark.slow

MODEL = "bundled:all-MiniLM-L6-v2"


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real export (fp32 + int8) of the bundled model into a temporary models dir."""
    root = tmp_path_factory.mktemp("models")
    source = Path(resolve_model(MODEL))
    result = export_onnx(MODEL, source, root / model_slug(MODEL), threads=2)
    assert not result.skipped
    return root


@pytest.fixture(scope="session")
def abstracts() -> list[str]:
    """20 real abstracts of varied length (title + abstract, as documents are embedded)."""
    with gzip.open(LISTING, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(400), fh, strict=False)]
    picked = rows[::20][:20]
    return [document_text(r["title"], r["summary"]) for r in picked]


def _onnx(models_root: Path, backend: str) -> OnnxEmbedder:
    settings = Settings(embedding_backend=backend, models_dir=models_root, embedding_threads=2)
    embedder = open_onnx_embedder(settings)
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="session")
def onnx_int8(models_root: Path) -> OnnxEmbedder:
    return _onnx(models_root, "onnx-int8")


@pytest.fixture(scope="session")
def onnx_fp32(models_root: Path) -> OnnxEmbedder:
    return _onnx(models_root, "onnx")


def test_export_files_and_manifest(models_root: Path) -> None:
    out = models_root / "all-MiniLM-L6-v2"
    assert (out / FP32_FILE).is_file() and (out / INT8_FILE).is_file()
    # int8 weights: about a quarter of the fp32 file
    assert (out / INT8_FILE).stat().st_size < 0.4 * (out / FP32_FILE).stat().st_size
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest["model"] == MODEL
    assert manifest["source"]["path"] == str(Path(resolve_model(MODEL)).resolve())
    weights = manifest["source"]["files"]["model.safetensors"]
    assert len(weights["sha256"]) == 64 and weights["bytes"] > 10_000_000
    assert manifest["versions"]["onnxruntime"]
    assert manifest["options"]["optimizer"]["num_heads"] == 12
    assert manifest["options"]["quantize"]["per_channel"] is True
    assert manifest["options"]["quantize"]["reduce_range"] is True  # 7-bit weights
    assert manifest["pooling"] == "mean" and manifest["normalize"] is True
    assert set(manifest["files"]) == {FP32_FILE, INT8_FILE}
    assert not [p for p in out.iterdir() if p.name.startswith(".export-")]  # no leftovers


@pytest.mark.parametrize("name", [FP32_FILE, INT8_FILE])
def test_residual_adds_stay_beside_their_layer_norm(
    models_root: Path, name: str, tmp_path: Path
) -> None:
    """Neither the export nor the session loading it fuses an add and its
    LayerNormalization into ONNX Runtime's SkipLayerNormalization, whose CPU kernel
    took 2.5x as long as the two (docs/benchmarks.md, "A LayerNormalization that is not
    fused"). A session without ``UNFUSED_AT_LOAD`` fuses the 12 again."""
    import onnx

    out = models_root / "all-MiniLM-L6-v2"
    manifest = read_manifest(out)
    assert manifest is not None and manifest["options"]["optimizer"]["skip_layer_norm"] is False
    run = tmp_path / "run.onnx"
    _session(out / name, 1, optimized_to=run)
    for graph in (onnx.load(str(out / name)).graph, onnx.load(str(run)).graph):
        ops = [node.op_type for node in graph.node]
        assert "SkipLayerNormalization" not in ops
        assert ops.count("LayerNormalization") == 12  # two a layer, six layers
        assert "Attention" in ops or "QAttention" in ops  # the other fusions stay
    # The control: ONNX Runtime's own passes, left on, fuse them again at load.
    opts = ort.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / "fused.onnx")
    ort.InferenceSession(str(out / name), sess_options=opts, providers=["CPUExecutionProvider"])
    fused = [node.op_type for node in onnx.load(str(tmp_path / "fused.onnx")).graph.node]
    assert fused.count("SkipLayerNormalization") == 12


def test_int8_weights_are_in_seven_bits(models_root: Path) -> None:
    """Every quantised weight of the int8 file is within ±64: on a CPU whose int8 products
    add byte pairs in saturating 16-bit lanes (AVX2 without VNNI), two activations at 255
    then sum to at most 2 x 255 x 64 = 32,640, inside the lane (8-bit weights, up to 127,
    were clipped). The two FFN products of ``fp32_nodes`` are not quantised."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(models_root / "all-MiniLM-L6-v2" / INT8_FILE)).graph
    weights = {init.name: init for init in graph.initializer}
    peaks = [
        int(np.abs(numpy_helper.to_array(weights[node.input[1]]).astype(np.int16)).max())
        for node in graph.node
        if node.op_type in ("MatMulInteger", "QAttention") and node.input[1] in weights
    ]
    # each layer's attention and three products, less the two kept in fp32
    kept = fp32_nodes(models_root / "all-MiniLM-L6-v2" / FP32_FILE)
    assert len(kept) == 2 and len(peaks) == 6 * 4 - len(kept)
    assert max(peaks) == 64


def test_onnx_matches_torch_on_real_abstracts(
    embedder: SentenceTransformerEmbedder,
    onnx_fp32: OnnxEmbedder,
    onnx_int8: OnnxEmbedder,
    abstracts: list[str],
) -> None:
    reference = embedder.encode_documents(abstracts)
    fp32 = (onnx_fp32.encode_documents(abstracts) * reference).sum(axis=1)
    int8 = (onnx_int8.encode_documents(abstracts) * reference).sum(axis=1)
    assert fp32.min() > 0.999, fp32
    assert int8.mean() >= 0.99, int8
    assert int8.min() >= 0.98, int8
    # Queries too (the query path tokenizes and pools separately).
    q = "retrieval-augmented generation for question answering"
    assert float(onnx_fp32.encode_query(q) @ embedder.encode_query(q)) > 0.999
    assert float(onnx_int8.encode_query(q) @ embedder.encode_query(q)) > 0.98


def test_shapes_dtypes_unit_norm(onnx_int8: OnnxEmbedder, abstracts: list[str]) -> None:
    assert isinstance(onnx_int8, Embedder)
    assert onnx_int8.dim == 384 and onnx_int8.name == MODEL and onnx_int8.max_tokens == 256
    texts = [*abstracts[:3], "", "A survey.", "long " * 1000]
    m = onnx_int8.encode_documents(texts)
    assert m.shape == (len(texts), 384) and m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    assert onnx_int8.token_counts(["long " * 1000])[0] == 256  # truncated
    empty = onnx_int8.encode_documents([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_length_sorted_batches_keep_the_callers_order(
    onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder, abstracts: list[str]
) -> None:
    texts = ["short one", *abstracts[:4], "a medium length title about graphs", abstracts[5]]
    # int8: activations are quantised with one scale per batch tensor, so a text's
    # vector moves a little with its batch mates (cosine > 0.99); a row in the wrong
    # place would be another text's vector (cosine < 0.9).
    for embedder, limit in ((onnx_fp32, 0.9999), (onnx_int8, 0.99)):
        batched = embedder.encode_documents(texts, batch_size=2)
        for text, row in zip(texts, batched, strict=True):
            single = embedder.encode_documents([text])[0]
            assert float(single @ row) > limit, (embedder.backend, text[:40])


def test_one_text_is_tokenised_as_in_a_batch(onnx_int8: OnnxEmbedder, abstracts: list[str]) -> None:
    """A query is tokenised alone, in this thread (``encode``), a batch by the tokenizer's
    pool (``encode_batch``): the same ids either way, truncation and prompt included."""
    texts = ["", "A survey.", "Über Graphen — naïve Bayes, 3D", abstracts[0], "long " * 1000]
    for prompt in ("", "query: "):
        batched = onnx_int8._tokenize([*texts, "another text"], prompt)
        for text, ids in zip(texts, batched, strict=False):
            assert onnx_int8._tokenize([text], prompt) == [ids], (prompt, text[:40])
    assert len(onnx_int8._tokenize(["long " * 1000], "")[0]) == onnx_int8.max_tokens  # alone too


def test_query_cache(onnx_int8: OnnxEmbedder) -> None:
    before = onnx_int8.query_cache_info()
    v1 = onnx_int8.encode_query("diffusion models for video generation")
    v2 = onnx_int8.encode_query("  diffusion   models for video generation\n")
    after = onnx_int8.query_cache_info()
    assert v1 is v2
    assert after.hits >= before.hits + 1
    assert not v1.flags.writeable
    with pytest.raises(ValueError):
        v1[0] = 1.0
    assert v1.shape == (384,) and v1.dtype == np.float32
    doc = onnx_int8.encode_documents(["diffusion models for video generation"])[0]
    assert float(doc @ v1) > 0.999  # same text, same batch of one: same vector


@pytest.mark.parametrize("model", ["onnx_int8", "onnx_fp32"])
def test_a_query_embedded_beside_another_search_takes_a_thread_fewer(
    model: str, request: pytest.FixtureRequest, abstracts: list[str]
) -> None:
    """``beside`` runs the query on a session of the same model with a thread fewer
    (made on first use, then kept), leaving a core to the search beside it; the vector
    is the same bit for bit, so one cache serves both: a query asked beside and then
    not is embedded once. Both exported models (int8, the default, and fp32)."""
    embedder: OnnxEmbedder = request.getfixturevalue(model)
    queries = [a[:120] for a in abstracts] + ["a", "graph neural networks", "x " * 300]
    runs: list[int] = []  # the intra-op threads of each session that ran a query
    real_run = embedder._run
    failing: list[bool] = []

    def run(batch: Any, session: Any = None, skip: int = 0) -> Any:
        runs.append((session or embedder._session).get_session_options().intra_op_num_threads)
        if failing:
            raise RuntimeError("the run failed")
        return real_run(batch, session, skip)

    embedder._cached_query.cache_clear()
    setattr(embedder, "_run", run)  # noqa: B010  (an instance attribute over the method)
    try:
        for q in queries:
            plain = embedder.encode_query(q)
            embedder._cached_query.cache_clear()
            beside = embedder.encode_query(q, beside=True)
            assert np.array_equal(plain, beside), q[:40]
            assert embedder.encode_query(q) is beside  # one cache for both
        assert runs == [2, 1] * len(queries)
        one = embedder._beside_session
        assert one is not None and embedder._session_beside() is one  # made once
        # the thread-local flag is off again, also where the embedding failed
        failing.append(True)
        with pytest.raises(RuntimeError, match="the run failed"):
            embedder.encode_query("a run that fails", beside=True)
        failing.clear()
        assert runs[-1] == 1 and getattr(embedder._beside, "on", False) is False
        embedder.encode_query("after a failure")
        assert runs[-1] == 2
    finally:
        del embedder._run  # type: ignore[method-assign]


def test_a_query_beside_keeps_the_model_s_session_where_no_second_one_is_right(
    models_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No second session where its file is not the one loaded (a new export since, or
    while the model was read: its vectors could differ from those the shared cache
    holds) or where it fails to load: the query runs on the model's own session, with a
    warning, once."""
    import paperwire.index.embedding.onnx as onnx_module

    source = Path(resolve_model(MODEL))
    copy = tmp_path / INT8_FILE
    shutil.copy(models_root / "all-MiniLM-L6-v2" / INT8_FILE, copy)
    query = "graph neural networks for molecules"

    rewritten = OnnxEmbedder(copy, source, name=MODEL, threads=2)
    expected = rewritten.encode_query(query)
    rewritten._cached_query.cache_clear()
    stamp = copy.stat()
    os.utime(copy, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        assert np.array_equal(rewritten.encode_query(query, beside=True), expected)
        rewritten._cached_query.cache_clear()
        rewritten.encode_query(query, beside=True)
    assert rewritten._beside_session is None
    assert [r.message for r in caplog.records].count(
        f"{copy} changed since it was loaded: queries keep its session"
    ) == 1
    caplog.clear()

    # Replaced while the model was being read: the stamp is the file's before it was
    # read, so the new file never passes for the one loaded.
    real_session = onnx_module._session

    def replaced_while_read(path: Path, threads: int) -> Any:
        session = real_session(path, threads)
        before = copy.stat()
        os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        return session

    with monkeypatch.context() as m:
        m.setattr(onnx_module, "_session", replaced_while_read)
        raced = OnnxEmbedder(copy, source, name=MODEL, threads=2)
    assert np.array_equal(raced.encode_query(query, beside=True), expected)
    assert raced._beside_session is None

    failing = OnnxEmbedder(copy, source, name=MODEL, threads=2)

    def no_session(path: Path, threads: int) -> Any:
        raise onnx_module.EmbedderError("out of memory")

    monkeypatch.setattr(onnx_module, "_session", no_session)
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        assert np.array_equal(failing.encode_query(query, beside=True), expected)
    assert failing._beside_session is None
    assert any("out of memory" in r.message for r in caplog.records)


def _idle_after(run: Callable[[], object]) -> float:
    """CPU time this process burns over the 100 ms of sleep after ``run()`` (least of
    three tries)."""
    burnt = []
    for _ in range(3):
        run()
        start = time.process_time()
        time.sleep(0.1)
        burnt.append(time.process_time() - start)
    return min(burnt)


def test_the_threads_spin_only_while_a_run_lasts(onnx_int8: OnnxEmbedder) -> None:
    """Two threads that slept between a query's steps were slower than one, and threads
    that spun on after a run took the cores from the vector scan that follows it
    (docs/benchmarks.md): they spin while a run lasts and stop as it returns, also
    after queries asked at once (ONNX Runtime stops them as the last overlapping run
    returns, so query runs take turns)."""
    opts = onnx_int8._session.get_session_options()
    assert opts.intra_op_num_threads == 2
    spins = "1" if usable_cores() >= 2 else "0"  # more threads than cores never spin
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == spins
    assert opts.get_session_config_entry("session.force_spinning_stop") == "1"

    session = onnx_int8._session
    running: list[int] = []
    overlapped: list[int] = []

    class Watched:
        def run(self, *args: Any, **kwargs: Any) -> Any:
            running.append(1)
            overlapped.append(len(running))
            try:
                return session.run(*args, **kwargs)
            finally:
                running.pop()

    def ask(worker: int) -> None:
        for i in range(10):
            onnx_int8.encode_query(f"queries asked at once {worker}.{i}: {uuid.uuid4()}")

    onnx_int8._session = Watched()  # type: ignore[assignment]
    try:
        askers = [threading.Thread(target=ask, args=(w,)) for w in range(3)]
        for t in askers:
            t.start()
        for t in askers:
            t.join(60)
    finally:
        onnx_int8._session = session
    assert len(overlapped) == 30 and max(overlapped) == 1, overlapped
    # stopped, ~0.1 ms of these 100 ms; a thread spinning on after the run, ~27
    assert _idle_after(lambda: onnx_int8.encode_query(f"one more: {uuid.uuid4()}")) < 0.01

    # the same session spinning on after its runs: the look above can tell
    control_opts = ort.SessionOptions()
    control_opts.intra_op_num_threads = 2
    control_opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    control = ort.InferenceSession(
        str(onnx_int8.path), sess_options=control_opts, providers=["CPUExecutionProvider"]
    )
    ids = np.asarray([[101, 7070, 2003, 1037, 3160, 102]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in {i.name for i in control.get_inputs()}:
        feed["token_type_ids"] = np.zeros_like(ids)
    if usable_cores() >= 2 and _idle_after(lambda: control.run(None, feed)) < 0.015:
        pytest.skip("this ONNX Runtime does not spin after a run: the look cannot tell")


def test_load_embedder_picks_the_backend(models_root: Path) -> None:
    int8 = load_embedder(Settings(models_dir=models_root))  # default backend: onnx-int8
    assert isinstance(int8, OnnxEmbedder) and int8.path.name == INT8_FILE
    assert load_embedder(Settings(models_dir=models_root)) is int8  # cached per settings
    fp32 = load_embedder(Settings(models_dir=models_root, embedding_backend="onnx"))
    assert isinstance(fp32, OnnxEmbedder) and fp32.path.name == FP32_FILE
    torch = load_embedder(Settings(models_dir=models_root, embedding_backend="torch"))
    assert isinstance(torch, SentenceTransformerEmbedder)


def test_missing_export_falls_back_to_torch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(models_dir=tmp_path / "nothing-here", embedding_max_tokens=200)
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        embedder = load_embedder(settings)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "missing" in caplog.text and "paperwire model export" in caplog.text
    assert "torch" in caplog.text
    assert not (tmp_path / "nothing-here").exists()  # nothing exported or downloaded


def test_an_older_export_loads_and_says_to_export_again(
    models_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export of an earlier recipe (before an upgrade's `paperwire model export`) still
    embeds, and both the log and `paperwire status` say to export again."""
    current = Settings(models_dir=models_root, embedding_threads=1)
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        assert isinstance(open_onnx_embedder(current), OnnxEmbedder)
    assert "earlier recipe" not in caplog.text
    assert export_state(current) == "current"

    older_root = tmp_path / "models"
    out = older_root / "all-MiniLM-L6-v2"
    out.mkdir(parents=True)
    for name in (MANIFEST, INT8_FILE):
        shutil.copy(models_root / "all-MiniLM-L6-v2" / name, out / name)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["recipe"] = RECIPE - 1
    (out / MANIFEST).write_text(json.dumps(manifest))
    older = Settings(models_dir=older_root, embedding_threads=1)
    assert export_state(older) == "older"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        embedder = open_onnx_embedder(older)
    assert isinstance(embedder, OnnxEmbedder) and embedder.recipe == RECIPE - 1
    assert f"earlier recipe ({RECIPE - 1}" in caplog.text
    assert "paperwire model export" in caplog.text
    # the fp32 file is not there: that backend has no export to read
    assert export_state(older.model_copy(update={"embedding_backend": "onnx"})) == "missing"
    assert export_state(Settings(models_dir=tmp_path / "nothing-here")) == "missing"
    assert export_state(current.model_copy(update={"embedding_backend": "torch"})) == "unused"
    assert export_state(current.model_copy(update={"semantic": False})) == "unused"


def test_stale_export_falls_back_to_torch(
    models_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stale_root = tmp_path / "models"
    shutil.copytree(models_root, stale_root)
    out = stale_root / "all-MiniLM-L6-v2"
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["source"]["files"]["config.json"]["sha256"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(manifest))
    settings = Settings(models_dir=stale_root)
    assert export_dir(settings) == out
    with caplog.at_level(logging.WARNING, logger="paperwire.embedder"):
        assert open_onnx_embedder(settings) is None
    assert "other model files" in caplog.text
    assert export_state(settings) == "missing"  # the status says what the loader does


def test_cli_export_is_skipped_when_up_to_date(
    models_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperwire.cli import app

    monkeypatch.setenv("PAPERWIRE_MODELS_DIR", str(models_root))
    result = CliRunner().invoke(app, ["model", "export"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["skipped"] is True
    assert report["out"] == str(models_root / "all-MiniLM-L6-v2")


def test_bench_embed_reads_the_configured_models_dir(
    models_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paperwire bench embed` without `--models-dir` benches the export that
    ``PAPERWIRE_MODELS_DIR`` names, as every other command embeds with (it used to pass
    None over the variable and bench the default folder's export)."""
    from paperwire.bench.embed import load_backend

    monkeypatch.setenv("PAPERWIRE_MODELS_DIR", str(models_root))
    kw: dict[str, Any] = {"threads": 1, "batch_size": 8, "max_tokens": 64}
    embedder = load_backend("onnx-int8", models_dir=None, **kw)
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.path == models_root / "all-MiniLM-L6-v2" / INT8_FILE
    elsewhere = load_backend("onnx", models_dir=models_root, **kw)
    assert isinstance(elsewhere, OnnxEmbedder)
    assert elsewhere.path == models_root / "all-MiniLM-L6-v2" / FP32_FILE


def test_cli_export_refuses_a_hub_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperwire.cli import app

    monkeypatch.setenv("PAPERWIRE_EMBEDDING_MODEL", "sentence-transformers/not-a-local-model")
    result = CliRunner().invoke(app, ["model", "export", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "never downloads" in result.output


def test_import_is_cheap() -> None:
    code = (
        "import sys, paperwire.index.embedding.onnx, paperwire.index.embedding.onnx_export;"
        "heavy = [m for m in ('torch', 'onnxruntime', 'onnx', 'tokenizers', 'transformers')"
        " if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _prompted_model(folder: Path, mode: str, include_prompt: bool) -> Path:
    """The bundled weights with an e5-style query and document prompt and a pooling
    config written by the installed sentence-transformers (``include_prompt`` as given)."""
    from sentence_transformers.sentence_transformer.modules import Pooling

    copy_bundled(folder)
    shutil.rmtree(folder / "1_Pooling")
    (folder / "1_Pooling").mkdir()
    Pooling(384, pooling_mode=mode, include_prompt=include_prompt).save(str(folder / "1_Pooling"))
    cfg_path = folder / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["prompts"] = {"query": "query: ", "document": "passage: "}
    cfg_path.write_text(json.dumps(cfg))
    return folder


@pytest.mark.parametrize("mode", ["mean", "cls"])
def test_a_prompt_the_model_leaves_out_of_its_pooling_is_left_out(
    models_root: Path,
    tmp_path: Path,
    abstracts: list[str],
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model whose pooling says ``include_prompt: false`` (instruction-tuned models
    save it so) pools the text's tokens alone: the ONNX embedder's vectors are the
    library's own (``encode_query``, ``encode_document``: the torch backend's calls) for
    queries and documents, and differ from those of the same model pooling its prompt
    (what the embedder made of it before: the prompt's tokens pooled with the text's)."""
    from sentence_transformers import SentenceTransformer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local folder: nothing to fetch
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    fp32 = models_root / model_slug(MODEL) / FP32_FILE
    queries = ["retrieval-augmented generation for question answering", "graph neural nets"]
    # short texts: a prompt's three tokens weigh little in a 200-token abstract's mean
    texts = [" ".join(a.split()[:12]) for a in abstracts[:6]]
    found: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    for include in (False, True):
        folder = _prompted_model(tmp_path / f"prompted-{include}", mode, include)
        library = SentenceTransformer(str(folder), device="cpu")
        ours = OnnxEmbedder(fp32, folder, name=MODEL, backend="onnx", threads=2, pooling=mode)
        docs = ours.encode_documents(texts)
        asked = np.stack([ours.encode_query(q) for q in queries])
        want_docs = library.encode_document(texts, normalize_embeddings=True)
        want_asked = library.encode_query(queries, normalize_embeddings=True)
        assert (docs * want_docs).sum(axis=1).min() > 0.99999, (include, mode)
        assert (asked * want_asked).sum(axis=1).min() > 0.99999, (include, mode)
        found[include] = (docs, asked)
    # The two poolings give other vectors: the comparison above tells them apart.
    for left_out, pooled in zip(found[False], found[True], strict=True):
        assert (left_out * pooled).sum(axis=1).max() < 0.999
