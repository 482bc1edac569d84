"""Export a sentence-transformers BERT model (the bundled all-MiniLM-L6-v2) to ONNX.

Runs at install/build time (``paperwire model export``, called by ``make install``), from
local weights only — never from the network — and writes into one directory::

    model.onnx           fp32, attention and GELU fused by onnxruntime's optimizer
    model-int8.onnx      the same graph, weights quantised int8 (dynamic, per channel)
    manifest.json        source model path + hashes, library versions, export options

Recipe (measured in ``shared/notes/measurements.md``): load with
``attn_implementation="eager"`` (SDPA attention is not fused), ``torch.onnx.export(...,
dynamo=False)``, ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`` with the
residual adds left beside their LayerNormalization (``SKIP_LAYER_NORM_FUSED``), then
``quantize_dynamic(per_channel=True)`` with weights in 7 bits (``REDUCE_RANGE``). The graph
outputs the last hidden state;
pooling and normalisation happen in :mod:`paperwire.index.embedding.onnx`.

Each file is written under a temporary name and moved into place with ``os.replace``,
the manifest last, so a reader never loads a half-written model. An export whose
manifest already matches the source and options is skipped unless ``force``.

This module imports torch, transformers and onnx lazily: importing it is cheap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from paperwire.index.embedding.base import EmbedderError

__all__ = [
    "FP32_FILE",
    "INT8_FILE",
    "MANIFEST",
    "MANIFEST_FORMAT",
    "ExportResult",
    "check_modules",
    "declared_dim",
    "export_onnx",
    "includes_prompt",
    "read_manifest",
    "source_fingerprint",
    "source_matches",
]

FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Bumped whenever the export recipe changes: an export made by another recipe is redone.
# 3: residual adds no longer fused into SkipLayerNormalization (SKIP_LAYER_NORM_FUSED).
# 4: int8 weights in 7 bits (REDUCE_RANGE).
RECIPE = 4
OPSET = 17
# Source files that define the model's output. Small ones are hashed at load time as
# well; the weights (large) are checked by size at load and by sha256 at export.
_SOURCE_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
_QUICK_HASH_MAX_BYTES = 4 << 20
# Quantised: the fused attention, the dense MatMuls and the embedding table (keeping the
# table fp32 costs 35 MB of memory for +0.0002 cosine); not the products of ``fp32_nodes``.
QUANTIZED_OPS = ("MatMul", "Attention", "EmbedLayerNormalization")
FP32_FFN_OUTPUT_LAYERS = 2
# Whether the optimizer fuses each residual add and its LayerNormalization into one
# ``SkipLayerNormalization``. It does not: ONNX Runtime's CPU kernel of that operator is
# slower than the two it replaces (40 us a node for a 15-token query, where an add and a
# plain LayerNormalization take ~16 together), and queries and documents both ran 8-10%
# faster without it (docs/benchmarks.md, "A LayerNormalization that is not fused").
# Sessions keep ONNX Runtime from fusing them again (``onnx.UNFUSED_AT_LOAD``).
SKIP_LAYER_NORM_FUSED = False
# Int8 weights in 7 bits (``quantize_dynamic(reduce_range=True)``), on every CPU. Why: where
# ONNX Runtime's int8 products run on AVX2 or AVX-512 without VNNI (this project's machines),
# ``VPMADDUBSW`` adds each pair of activation x weight byte products in a saturating 16-bit
# lane, and two activations near 255 beside 8-bit weights near ±127 were clipped; with
# weights up to 64 a pair stays inside (2 x 255 x 64 = 32,640). SciFact semantic nDCG@10
# 0.6427 -> 0.6525 there (the fp32 model: 0.6467). VNNI, AMX and Arm add in 32 bits, where
# 8 bits would round half as coarsely, but an export is often made on one machine (an image
# build, CI) and served on another, and computed without clipping (as those CPUs compute),
# recipe 3's 8-bit weights scored 0.6495 against the 7-bit ones' 0.6525 (hybrid 0.7406 and
# 0.7404): nothing measurable to gain (docs/benchmarks.md, "Int8 weights in seven bits").
REDUCE_RANGE = True

Log = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    files: list[Path]
    seconds: float
    skipped: bool  # True: an up-to-date export was already there


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_fingerprint(source: Path, *, full: bool) -> dict[str, dict[str, Any]]:
    """``{relative path: {"bytes": n, "sha256": hex}}`` for the model's defining files.

    ``full=False`` hashes only files up to 4 MiB (config, tokenizer, pooling) and
    records the size of the others — cheap enough for every model load.
    """
    out: dict[str, dict[str, Any]] = {}
    for rel in dict.fromkeys([*_SOURCE_FILES, _pooling_file(source)]):
        p = source / rel
        if not p.is_file():
            continue
        size = p.stat().st_size
        entry: dict[str, Any] = {"bytes": size}
        if full or size <= _QUICK_HASH_MAX_BYTES:
            entry["sha256"] = _sha256(p)
        out[rel] = entry
    return out


def source_matches(manifest: dict[str, Any], source: Path) -> bool:
    """Whether ``manifest`` was exported from the model files now in ``source``."""
    recorded = manifest.get("source", {}).get("files")
    if not isinstance(recorded, dict):
        return False
    current = source_fingerprint(source, full=False)
    if set(current) != set(recorded):
        return False
    for rel, entry in current.items():
        old = recorded[rel]
        if old.get("bytes") != entry["bytes"]:
            return False
        if "sha256" in entry and old.get("sha256") != entry["sha256"]:
            return False
    return True


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


# sentence-transformers before 6 wrote one flag per pooling mode; 6 writes
# ``"pooling_mode": "mean"`` (or a list of modes, concatenated) and reads both.
_LEGACY_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _pooling_modes(cfg: dict[str, Any]) -> list[str]:
    """The pooling modes a sentence-transformers pooling config names, in
    either of the library's formats (several modes: their outputs are concatenated)."""
    mode = cfg.get("pooling_mode")
    if isinstance(mode, str):
        return [mode]
    if isinstance(mode, list):
        return [str(m) for m in mode]
    return [name for flag, name in _LEGACY_POOLING_FLAGS.items() if cfg.get(flag)]


class _Module(NamedTuple):
    """One module of a sentence-transformers model (``modules.json``): its class name
    (``Pooling``, whichever package path the library version writes) and its folder."""

    kind: str
    path: str


# The modules the ONNX embedder runs: the transformer (the exported graph, from the
# model's own folder), the pooling after it (``onnx.OnnxEmbedder``) and a normalisation
# (every vector is normalised). Any other changes the vector: a ``Dense`` projection
# (its length too), a second transformer, a router between encoders.
_RUN_MODULES = frozenset({"Transformer", "Pooling", "Normalize"})


def _modules(source: Path) -> list[_Module] | None:
    """The model's modules, in order; None where it has no ``modules.json`` (a plain
    transformer, whose tokens sentence-transformers mean-pools)."""
    path = source / "modules.json"
    try:
        listed = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise EmbedderError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
        raise EmbedderError(f"{path} is not a list of modules")
    return [
        _Module(str(m.get("type", "")).rsplit(".", 1)[-1], str(m.get("path", ""))) for m in listed
    ]


def check_modules(source: Path) -> None:
    """Refuses a model whose modules the ONNX embedder would not run, naming them.

    Why: the export turns only the transformer into a graph, and the embedder pools and
    normalises after it. A model with a ``Dense`` layer after its pooling (common in
    distilled and multilingual models) was exported without it: vectors of another
    meaning, and another length, than the torch backend gives the same model, under the
    same model name. The torch backend runs every module."""
    modules = _modules(source)
    if modules is None:
        return
    others = [
        m
        for m in modules
        if m.kind not in _RUN_MODULES or (m.kind == "Transformer" and m.path not in ("", "."))
    ]
    if not any(m.kind == "Pooling" for m in modules):
        others.append(_Module("no Pooling module", "modules.json"))
    if others:
        named = ", ".join(f"{m.path or '.'} ({m.kind})" for m in others)
        raise EmbedderError(
            f"{source} cannot run on ONNX: the export runs the transformer in the model's "
            f"own folder, its pooling and a normalisation, and this model has {named}; "
            "set PAPERWIRE_EMBEDDING_BACKEND=torch for it"
        )


def declared_dim(source: Path) -> int | None:
    """The model's vector length as its files state it (no model loaded): its pooling's
    (``word_embedding_dimension`` before sentence-transformers 6, ``embedding_dimension``
    from it on), where it runs on ONNX (``check_modules``: a module after the pooling
    may change the length); None where they do not say."""
    try:
        check_modules(source)
        cfg = _pooling_config(source)[1] or {}
        length = cfg.get("embedding_dimension", cfg.get("word_embedding_dimension"))
        return None if length is None else int(length)
    except (EmbedderError, OSError, ValueError, TypeError):
        return None


def _pooling_file(source: Path) -> str:
    """Where the model's pooling config is, relative to ``source``: in the folder of its
    ``Pooling`` module (``modules.json``: ``1_Pooling`` where the transformer is the only
    module before it), else ``1_Pooling``."""
    found = next((m.path for m in _modules(source) or () if m.kind == "Pooling"), None)
    return f"{found or '1_Pooling'}/config.json"


def _pooling_config(source: Path) -> tuple[Path, dict[str, Any] | None]:
    """The path of the model's pooling config, and what it holds (None: no such file;
    an empty dict: not a JSON object)."""
    cfg_path = source / _pooling_file(source)
    if not cfg_path.is_file():
        return cfg_path, None
    cfg = json.loads(cfg_path.read_text())
    return cfg_path, cfg if isinstance(cfg, dict) else {}


def _pooling_mode(source: Path) -> str:
    """``mean`` or ``cls``: the pooling the ONNX embedder can do after the graph; any
    other (or several at once, which changes the dimension) is refused, naming it."""
    cfg_path, cfg = _pooling_config(source)
    if cfg is None:
        return "mean"  # sentence-transformers' default for a plain transformer
    modes = _pooling_modes(cfg)
    if modes in (["mean"], ["cls"]):
        return modes[0]
    named = " + ".join(modes) or "none named"
    raise EmbedderError(
        f"unsupported pooling in {cfg_path}: {named} (only mean or CLS pooling, alone)"
    )


def includes_prompt(source: Path) -> bool:
    """Whether the model pools its prompt's tokens with the text's: sentence-transformers'
    ``include_prompt`` in its pooling config (true where it is absent, as the
    library reads it). A model that sets it false pools the text's tokens alone, and
    ``OnnxEmbedder`` then leaves the prompt out (before this was read, it pooled the
    prompt with the text)."""
    cfg = _pooling_config(source)[1]
    return cfg is None or cfg.get("include_prompt", True) is not False


def _normalises(source: Path) -> bool:
    return any(m.kind == "Normalize" for m in _modules(source) or ())


def _options(
    quantize: bool, num_heads: int, hidden_size: int, exclude: list[str]
) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "opset": OPSET,
        "exporter": "torch.onnx.export(dynamo=False), attn_implementation=eager",
        "optimizer": {
            "model_type": "bert",
            "num_heads": num_heads,
            "hidden_size": hidden_size,
            "skip_layer_norm": SKIP_LAYER_NORM_FUSED,
        },
        "quantize": None,
    }
    if quantize:
        opts["quantize"] = {
            "method": "quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": True,
            "reduce_range": REDUCE_RANGE,
            "op_types": list(QUANTIZED_OPS),
            "fp32_nodes": exclude,
        }
    return opts


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """No hub access while exporting, whatever the environment says."""
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' expected chatter: tracer warnings (the traced graph is
    checked against torch by the tests), the quantizer's pre-processing hint on the root
    logger, the optimizer's fusion log and transformers' weight-loading progress bar."""
    import logging
    import warnings

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    hf_logging: Any = None
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
        if hf_logging is not None:
            hf_logging.enable_progress_bar()


def _export_graph(source: Path, path: Path, threads: int | None) -> tuple[int, int]:
    """The plain fp32 ONNX graph of ``source``'s transformer; returns (heads, hidden)."""
    import torch
    from transformers import AutoModel

    if threads:
        torch.set_num_threads(threads)
    with _offline(), _quiet():
        model = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    model.eval()
    cfg = model.config

    class LastHiddenState(torch.nn.Module):
        # Keyword arguments: BertModel.forward's positional order changes between
        # transformers versions.
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    num_heads, hidden = int(cfg.num_attention_heads), int(cfg.hidden_size)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    types = torch.zeros((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), _quiet():
        torch.onnx.export(
            LastHiddenState(),
            (ids, mask, types),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return num_heads, hidden


def _optimise(plain: Path, fused: Path, num_heads: int, hidden: int) -> None:
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    fusions = FusionOptions("bert")
    fusions.enable_skip_layer_norm = SKIP_LAYER_NORM_FUSED
    with _quiet():
        model = optimize_model(
            str(plain),
            model_type="bert",
            num_heads=num_heads,
            hidden_size=hidden,
            optimization_options=fusions,
        )
        model.save_model_to_file(str(fused))


def fp32_nodes(fused: Path, layers: int = FP32_FFN_OUTPUT_LAYERS) -> list[str]:
    """The MatMuls kept in fp32: the FFN output projections of the first ``layers``
    layers. Their inputs (GELU outputs) have the widest range, so one dynamic scale per
    tensor loses the most there; keeping them cost ~1% speed in document batches with the
    first recipe and lifted the mean cosine to torch from 0.993 to 0.995 (measured on 120
    abstracts). For a pasted title on one thread they are 10-15% of the run. Quantised too
    (7-bit weights), the bench's 100 queries took 3.05 ms p50 against 3.37, documents ran
    8% faster (38.0 abstracts/s against recipe 3's 35.2) and SciFact's nDCG@10 held
    (0.6519 against 0.6525 semantic), but the vectors drifted from fp32 (queries' cosine
    0.99161 against 0.99426, documents' 0.9933 against 0.9950; 1,000 abstracts' nearest
    10 shared 0.891 of torch's against 0.917): they stay (docs/benchmarks.md, "Int8
    weights in seven bits")."""
    import onnx

    graph = onnx.load(str(fused), load_external_data=False).graph
    pattern = re.compile(r"layers?\.(\d+)/output/dense/MatMul$")
    keep = []
    for node in graph.node:
        m = pattern.search(node.name) if node.op_type == "MatMul" else None
        if m and int(m.group(1)) < layers:
            keep.append(node.name)
    return keep


def _quantise(fused: Path, out: Path, exclude: list[str]) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            fused,
            out,
            op_types_to_quantize=list(QUANTIZED_OPS),
            nodes_to_exclude=exclude,
            per_channel=True,
            reduce_range=REDUCE_RANGE,
            weight_type=QuantType.QInt8,
            # Shape inference cannot type the outputs of the fused com.microsoft operators.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torch
    import transformers

    return {
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def export_onnx(
    model: str,
    source: Path,
    out_dir: Path,
    *,
    quantize: bool = True,
    force: bool = False,
    threads: int | None = None,
    log: Log | None = None,
) -> ExportResult:
    """Export ``source`` (a local sentence-transformers model directory) into ``out_dir``.

    ``model`` is the configured name (``bundled:all-MiniLM-L6-v2``), recorded in the
    manifest. Skips the work when ``out_dir`` already holds an export of the same source
    files with the same options (and the int8 file when ``quantize``).
    """
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    source = Path(source)
    check_modules(source)
    if not (source / "config.json").is_file():
        raise EmbedderError(
            f"cannot export {model!r}: {source} is not a local model directory "
            f"(the export never downloads; pass a bundled model or a local path)"
        )
    pooling = _pooling_mode(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = [FP32_FILE, INT8_FILE] if quantize else [FP32_FILE]

    existing = read_manifest(out_dir)
    if (
        not force
        and existing is not None
        and existing.get("format") == MANIFEST_FORMAT
        and existing.get("model") == model
        and existing.get("recipe") == RECIPE
        and all((out_dir / f).is_file() for f in wanted)
        and (not quantize or existing.get("options", {}).get("quantize"))
        and source_matches(existing, source)
    ):
        say(f"up to date: {out_dir} (use --force to export again)")
        return ExportResult(out_dir, [out_dir / f for f in wanted], 0.0, skipped=True)

    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as tmp_name:
        tmp = Path(tmp_name)
        say(f"exporting {source} to ONNX (opset {OPSET})")
        num_heads, hidden = _export_graph(source, tmp / "plain.onnx", threads)
        say(f"fusing attention (onnxruntime optimizer, {num_heads} heads, hidden {hidden})")
        _optimise(tmp / "plain.onnx", tmp / FP32_FILE, num_heads, hidden)
        exclude: list[str] = []
        if quantize:
            say("quantising weights to int8 (dynamic, per channel, 7 bits)")
            exclude = fp32_nodes(tmp / FP32_FILE)
            _quantise(tmp / FP32_FILE, tmp / INT8_FILE, exclude)
        files: dict[str, dict[str, Any]] = {
            name: {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
            for name in wanted
        }
        manifest = {
            "format": MANIFEST_FORMAT,
            "recipe": RECIPE,
            "model": model,
            "source": {
                "path": str(source.resolve()),
                "files": source_fingerprint(source, full=True),
            },
            "pooling": pooling,
            "normalize": _normalises(source),
            "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "output": "last_hidden_state",
            "options": _options(quantize, num_heads, hidden, exclude),
            "versions": _versions(),
            "files": files,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        # Models first, manifest last: a reader that sees the new manifest sees new files.
        for name in [*wanted, MANIFEST]:
            os.replace(tmp / name, out_dir / name)
        if not quantize:
            # An int8 file from an older export no longer matches this manifest.
            with contextlib.suppress(FileNotFoundError):
                (out_dir / INT8_FILE).unlink()
    seconds = time.perf_counter() - t0
    say(f"exported {', '.join(wanted)} to {out_dir} in {seconds:.1f} s")
    return ExportResult(out_dir, [out_dir / f for f in wanted], seconds, skipped=False)
