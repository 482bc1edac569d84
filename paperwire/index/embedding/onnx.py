"""``OnnxEmbedder``: the embedding model on ONNX Runtime (default backend).

Same contract and same vectors as ``SentenceTransformerEmbedder`` (the model's pooling,
mean over the attention mask or its CLS token, a prompt left out of it where the model
says so; then L2 normalisation, 256-token truncation), without torch at run
time: 1.4–1.6× the documents per second on CPU with the int8 model, a fraction of the
memory, and a fast start. The ONNX files are made at install time by ``paperwire model
export`` (``make install`` runs it) from the bundled weights; nothing is downloaded.

Where the files live: ``PAPERWIRE_MODELS_DIR`` when set, else a per-user cache shared by
every paperwire home on the machine, ``$XDG_CACHE_HOME/paperwire/models`` (default
``~/.cache/paperwire/models``), one sub-directory per model (``all-MiniLM-L6-v2``). A
model is exported once per machine, not once per data directory.

Backends (``PAPERWIRE_EMBEDDING_BACKEND``): ``onnx-int8`` (default: ``model-int8.onnx``,
weights quantised per channel, mean cosine 0.995 to torch), ``onnx`` (``model.onnx``,
fused fp32, cosine 1.000) and ``torch`` (sentence-transformers). When the requested
ONNX file is missing or was exported from other model files, :func:`open_onnx_embedder`
logs a warning and returns None, and ``load_embedder`` uses torch.

Stored embeddings are keyed by the model name only, not by the backend: int8, fp32 and
torch vectors of the same weights agree to cosine ≥ 0.99 and retrieve the same
neighbours (``paperwire bench embed``), so switching backends — or the fallback to torch
when an export is missing — keeps the stored vectors instead of re-embedding the corpus.

Importing this module is cheap; onnxruntime and tokenizers load with the model.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from paperwire.index.base import Vector, file_stamp
from paperwire.index.embedding.base import (
    BUNDLED_PREFIX,
    Embedder,
    EmbedderError,
    l2_normalise,
    normalise_query,
    resolve_model,
)
from paperwire.index.embedding.onnx_export import (
    FP32_FILE,
    INT8_FILE,
    MANIFEST_FORMAT,
    RECIPE,
    check_modules,
    includes_prompt,
    read_manifest,
    source_matches,
)
from paperwire.index.threads import usable_cores
from paperwire.models.status import ExportState

if TYPE_CHECKING:
    from paperwire.config import Settings

__all__ = [
    "OnnxEmbedder",
    "default_models_dir",
    "export_dir",
    "export_state",
    "model_slug",
    "onnx_file_for",
    "open_onnx_embedder",
]

log = logging.getLogger("paperwire.embedder")

IntMatrix = npt.NDArray[np.int64]


def default_models_dir() -> Path:
    """``$XDG_CACHE_HOME/paperwire/models`` (``~/.cache/paperwire/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperwire" / "models"


def model_slug(model: str) -> str:
    """A directory name for ``model``: ``bundled:all-MiniLM-L6-v2`` → ``all-MiniLM-L6-v2``;
    a local path → its folder name plus a short hash of the absolute path."""
    if model.startswith(BUNDLED_PREFIX):
        name = model[len(BUNDLED_PREFIX) :]
    else:
        import hashlib

        path = Path(model).expanduser()
        digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()
        name = f"{path.name or 'model'}-{digest[:8]}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def export_dir(settings: Settings) -> Path:
    """Where the ONNX export of ``settings.embedding_model`` is (or will be) written."""
    root = settings.models_dir or default_models_dir()
    return Path(root).expanduser() / model_slug(settings.embedding_model)


def _recipe_of(manifest: dict[str, Any]) -> int | None:
    """The export recipe a manifest records (None: one from before recipes were kept)."""
    recipe = manifest.get("recipe")
    return recipe if isinstance(recipe, int) and not isinstance(recipe, bool) else None


class _Export(NamedTuple):
    """An export the loader can read: its file, the model's own directory (tokenizer,
    pooling), its manifest and the recipe that made it."""

    path: Path
    source: Path
    manifest: dict[str, Any]
    recipe: int | None

    @property
    def older(self) -> bool:
        """Made by an earlier recipe than this paperwire's (it loads; `paperwire model
        export` makes this release's)."""
        return self.recipe is None or self.recipe < RECIPE


def _find_export(settings: Settings) -> _Export | str:
    """The export of ``settings``' model and ONNX backend that ``open_onnx_embedder`` loads,
    or why there is none it can (a sentence saying what to run). One set of checks for
    the loader and for the status (``export_state``)."""
    backend, model = settings.embedding_backend, settings.embedding_model
    out = export_dir(settings)
    path = out / onnx_file_for(backend)
    source = Path(resolve_model(model))
    if not source.is_dir():
        return f"embedding backend {backend} needs a local model directory, {model!r} is not one"
    try:
        check_modules(source)  # an export made before the export refused such models
    except EmbedderError as exc:
        return str(exc)
    if not path.is_file():
        return f"ONNX model {path} is missing (run `paperwire model export`)"
    manifest = read_manifest(out)
    if (
        manifest is None
        or manifest.get("format") != MANIFEST_FORMAT
        or manifest.get("model") != model
        or not source_matches(manifest, source)
    ):
        return (
            f"ONNX model in {out} was exported from other model files than {source} "
            f"(run `paperwire model export --force`)"
        )
    return _Export(path, source, manifest, _recipe_of(manifest))


def export_state(settings: Settings) -> ExportState:
    """The ONNX export a process started now would embed with, by the loader's own
    checks (``_find_export``): ``current`` (this release's recipe), ``older`` (an
    earlier recipe: it loads, and `paperwire model export` makes the current one: recipe
    3 embeds faster, recipe 4 clips no int8 product on AVX2 CPUs: docs/benchmarks.md, "A
    LayerNormalization that is not fused" and "Int8 weights in seven bits"),
    ``missing`` (no usable export: torch embeds instead, slower and twice the memory) or
    ``unused`` (semantic search off, or the torch backend asked for). A running process
    loaded its model once: one started before a new export runs the older one until it
    restarts. Reads the manifest and hashes the model's small files (~1 MB)."""
    if not settings.semantic or settings.embedding_backend == "torch":
        return "unused"
    try:
        found = _find_export(settings)
    except (OSError, ValueError, EmbedderError):  # unreadable here: the loader fails too
        return "missing"
    if isinstance(found, str):
        return "missing"
    return "older" if found.older else "current"


def onnx_file_for(backend: str) -> str:
    if backend == "onnx-int8":
        return INT8_FILE
    if backend == "onnx":
        return FP32_FILE
    raise ValueError(f"not an ONNX backend: {backend!r}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


# ONNX Runtime's own graph passes that would undo the export's choices: the residual adds
# the export leaves beside their LayerNormalization (``SKIP_LAYER_NORM_FUSED``) would be
# fused again into the slower SkipLayerNormalization when the session loads.
UNFUSED_AT_LOAD = ("SkipLayerNormFusion",)


def _prompt_tokens(tokenizer: Any, prompt: str) -> int:
    """The tokens ``prompt`` puts before a text: those of the prompt tokenised alone, less
    a special token that ends it (BERT's [SEP]), so the start token counts (BERT's [CLS]).
    The library measures a prompt that way to leave it out of the pooling."""
    if not prompt:
        return 0
    found = tokenizer.encode(prompt)
    ends_special = bool(found.special_tokens_mask) and found.special_tokens_mask[-1] == 1
    return len(found.ids) - int(ends_special)


def _session(onnx_path: Path, threads: int, *, optimized_to: Path | None = None) -> Any:
    """An ONNX Runtime session of ``onnx_path`` on ``threads`` intra-op threads;
    ``optimized_to``: where ONNX Runtime also writes the graph it runs (to check it)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # The threads spin while a run lasts and stop as it returns (as the last of
    # overlapping runs returns: queries run one at a time, ``_query_runs``). Sleeping
    # between a run's steps (the int8 graph has 140 operators before fusion) made two
    # threads slower than one; spinning on after the run took the cores from the
    # vector scan that follows it. More threads than cores never spin: one would
    # spin on the core the run needs. docs/benchmarks.md, "A query embedding that
    # spins only while it runs".
    spin = threads <= usable_cores()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    if optimized_to is not None:
        opts.optimized_model_filepath = str(optimized_to)
    try:
        return ort.InferenceSession(
            str(onnx_path),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(UNFUSED_AT_LOAD),
        )
    except Exception as exc:  # onnxruntime raises its own exception types
        raise EmbedderError(f"cannot load ONNX model {onnx_path}: {exc}") from exc


class OnnxEmbedder:
    """An ``Embedder`` running an exported model file with ONNX Runtime on the CPU.

    ``source`` is the original model directory (tokenizer, pooling config);
    ``threads`` sets the session's intra-op thread count (None: one per core this
    process may run on: ONNX Runtime's own default counts every core of the machine, so a
    process pinned to fewer, e.g. by ``taskset``, would run more threads than cores).
    """

    def __init__(
        self,
        onnx_path: Path,
        source: Path,
        *,
        name: str,
        backend: str = "onnx-int8",
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
        query_cache_size: int = 1024,
        pooling: str = "mean",
        recipe: int | None = None,
    ) -> None:
        try:
            import onnxruntime  # noqa: F401  (missing: the error below, not at the first run)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderError(f"onnxruntime/tokenizers not installed: {exc}") from exc
        if pooling not in ("mean", "cls"):
            raise EmbedderError(f"unsupported pooling {pooling!r}")
        source = Path(source)
        tok_file = source / "tokenizer.json"
        if not tok_file.is_file():
            raise EmbedderError(f"no fast tokenizer (tokenizer.json) in {source}")

        # The same cap as sentence-transformers: the tokenizer's and the model's limits.
        tok_cfg = _read_json(source / "tokenizer_config.json")
        model_cfg = _read_json(source / "config.json")
        for limit in (tok_cfg.get("model_max_length"), model_cfg.get("max_position_embeddings")):
            if isinstance(limit, int) and 0 < limit < max_tokens:
                max_tokens = limit
        tokenizer = Tokenizer.from_file(str(tok_file))
        # tokenizer.json carries its own truncation/padding (128 for MiniLM): override.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        pad_token = str(tok_cfg.get("pad_token") or "[PAD]")
        pad_id = tokenizer.token_to_id(pad_token)

        st_cfg = _read_json(source / "config_sentence_transformers.json")
        prompts = st_cfg.get("prompts") if isinstance(st_cfg.get("prompts"), dict) else {}
        assert isinstance(prompts, dict)

        threads = threads or usable_cores()
        # stamped before it is read: a file replaced meanwhile then never matches it
        loaded = file_stamp(Path(onnx_path))
        session = _session(onnx_path, threads)
        inputs = {i.name for i in session.get_inputs()}
        out = session.get_outputs()[0]
        dim = out.shape[-1] if isinstance(out.shape[-1], int) else model_cfg.get("hidden_size")
        if not isinstance(dim, int) or dim <= 0:
            raise EmbedderError(f"cannot tell the output dimension of {onnx_path}")

        self.name = name
        self.backend = backend
        self.dim = int(dim)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.path = Path(onnx_path)
        self.pooling = pooling
        # the export recipe (``onnx_export.RECIPE``) of the file, where its manifest says:
        # the same weights run faster or slower by recipe (the bench's host probe says which)
        self.recipe = recipe
        self._session = session
        self._threads = threads
        # A query embedded beside another search of this process (``encode_query``'s
        # ``beside``) runs on a thread fewer, in a session made on first use (~25 MB);
        # from the file as loaded here (``_loaded``), else the model's own session.
        self._loaded = loaded
        self._beside_session: Any | None = None
        self._beside_tried = False
        self._beside_made = threading.Lock()
        self._beside = threading.local()
        self._inputs = inputs
        self._output = out.name
        self._tokenizer = tokenizer
        self._pad_id = int(pad_id) if pad_id is not None else 0
        # The prompts sentence-transformers 6's ``encode_query`` and ``encode_document``
        # (the torch backend's calls) use: it always has both names (empty where the model
        # saved none), so its older fallbacks ("passage", "corpus", the default prompt)
        # are never reached.
        self._query_prompt = str(prompts.get("query") or "")
        self._document_prompt = str(prompts.get("document") or "")
        # Tokens a prompt puts before the text, left out of the pooling where the model
        # says so (``include_prompt`` false), as sentence-transformers leaves them out.
        pools_prompt = includes_prompt(source)
        self._query_skip = 0 if pools_prompt else _prompt_tokens(tokenizer, self._query_prompt)
        self._document_skip = (
            0 if pools_prompt else _prompt_tokens(tokenizer, self._document_prompt)
        )
        # One query run at a time: each takes every thread of the session, and overlapping
        # runs would keep the threads spinning from the first start to the last return
        # (through other searches' vector scans). Document batches (jobs) do not wait.
        self._query_runs = threading.Lock()
        self._cached_query = functools.lru_cache(maxsize=query_cache_size)(self._encode_query)

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, backend={self.backend!r}, dim={self.dim})"

    # ------------------------------------------------------------------ encoding

    def _tokenize(self, texts: Sequence[str], prompt: str) -> list[list[int]]:
        if prompt:
            texts = [prompt + t for t in texts]
        if len(texts) == 1:
            # One text (a query) in this thread: ``encode_batch`` hands even one text to
            # the tokenizer's thread pool, whose wake-up waited on the cores a hybrid
            # search's BM25 held (0.42 -> 0.15 ms p50 inside hybrid searches at 74.7k;
            # the same ids: docs/benchmarks.md, forty-sixth session).
            return [self._tokenizer.encode(texts[0]).ids]
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per document text after truncation (special tokens included)."""
        return [len(ids) for ids in self._tokenize(texts, self._document_prompt)]

    def _run(self, batch: Sequence[list[int]], session: Any = None, skip: int = 0) -> Vector:
        """Embeddings of one batch of token id lists (padded here to the longest), by
        ``session`` (default: the model's own, on every thread it was given), each
        pooled without its first ``skip`` tokens (a prompt the model leaves out)."""
        width = max(len(ids) for ids in batch)
        input_ids: IntMatrix = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask: IntMatrix = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed: dict[str, IntMatrix] = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        (hidden,) = (session or self._session).run([self._output], feed)
        hidden = np.asarray(hidden, dtype=np.float32)
        weights = mask.astype(np.float32)
        weights[:, :skip] = 0.0
        if self.pooling == "cls":
            # The first token pooled: the CLS token, or the first after a prompt left
            # out (the first of all where nothing follows the prompt), as
            # sentence-transformers 6 does (before 6 it took the CLS token regardless).
            pooled = hidden[np.arange(len(batch)), weights.argmax(axis=1)]
        else:
            summed = np.einsum("bld,bl->bd", hidden, weights)
            pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        return l2_normalise(pooled)

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> Vector:
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        bs = batch_size or self.batch_size
        tokens = self._tokenize(texts, self._document_prompt)
        # Longest first by token count: each batch pads to similar lengths, and a batch
        # that would run out of memory fails at once; rows go back to the caller's order.
        order = sorted(range(n), key=lambda i: -len(tokens[i]))
        result = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, bs):
            rows = order[start : start + bs]
            batch = [tokens[i] for i in rows]
            result[np.asarray(rows, dtype=np.intp)] = self._run(batch, skip=self._document_skip)
        return result

    def _encode_query(self, normalised: str) -> Vector:
        tokens = self._tokenize([normalised], self._query_prompt)
        session = self._session_beside() if getattr(self._beside, "on", False) else None
        with self._query_runs:
            vector: Vector = self._run(tokens, session, self._query_skip)[0].copy()
        vector.flags.writeable = False
        return vector

    def _session_beside(self) -> Any:
        """The model on a thread fewer than its own session, made on first use; None
        (the model's own session then runs the query) where that has one thread, where
        the file changed since the model was loaded (a new export: its vectors could
        differ from those the shared cache holds) or where the session failed to load
        (logged once)."""
        if self._threads <= 1:
            return None
        with self._beside_made:
            if not self._beside_tried:
                self._beside_tried = True
                try:
                    if file_stamp(self.path) != self._loaded:
                        log.warning(
                            "%s changed since it was loaded: queries keep its session", self.path
                        )
                    else:
                        self._beside_session = _session(self.path, self._threads - 1)
                except (OSError, EmbedderError) as exc:
                    log.warning(
                        "no second session of %s (%s): queries keep its own", self.path, exc
                    )
            return self._beside_session

    def encode_query(self, text: str, *, beside: bool = False) -> Vector:
        """Cached by whitespace-normalised text; the returned array is read-only.

        ``beside``: on a thread fewer than the model's own session, leaving a core to a
        search that runs beside the embedding (a hybrid search's BM25): with the
        model's two threads and BM25's one on two cores, the three took turns; on one,
        hybrid p95 at 74.7k papers was 0.5-1.6 ms lower with no filter or a category,
        the same with a date range (three in-process runs on 2 cores; docs/benchmarks.md,
        "A query embedding that leaves BM25 a core"). The vector is the same bit for bit
        (each output is worked out by one thread either way; checked in the tests), so
        one cache serves both."""
        self._beside.on = beside
        try:
            vector: Vector = self._cached_query(normalise_query(text))
        finally:
            self._beside.on = False
        return vector

    def query_cache_info(self) -> functools._CacheInfo:
        return self._cached_query.cache_info()


def open_onnx_embedder(settings: Settings) -> Embedder | None:
    """The ONNX embedder ``settings`` ask for, or None (with a logged warning) when its
    exported file is missing or stale — the caller then falls back to torch."""
    backend = settings.embedding_backend
    if backend == "torch":
        return None
    fallback = "falling back to the torch (sentence-transformers) backend"
    found = _find_export(settings)
    if isinstance(found, str):
        log.warning("%s; %s", found, fallback)
        return None
    if found.older:
        log.warning(
            "ONNX model in %s was exported by an earlier recipe (%s; this paperwire makes "
            "%d): run `paperwire model export` to make it again, then restart the processes "
            "that embed",
            found.path.parent,
            found.recipe if found.recipe is not None else "unrecorded",
            RECIPE,
        )
    try:
        return OnnxEmbedder(
            found.path,
            found.source,
            name=settings.embedding_model,
            backend=backend,
            max_tokens=settings.embedding_max_tokens,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
            pooling=str(found.manifest.get("pooling", "mean")),
            recipe=found.recipe,
        )
    except EmbedderError as exc:
        log.warning("%s; %s", exc, fallback)
        return None
