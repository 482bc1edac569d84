"""The map of the field, built and served: ``paperwire map build`` (and the worker's
``map`` job) lays out every embedded paper (``search.fieldmap``), writes the result under
``<home>/map/`` and records the build in ``map_builds``; the ``/map`` page reads it back.

Files of one build (derived data: delete them and rebuild at will):

* ``map-<id>.json``: the points, column-wise (ids, titles, x and y as 0…10000 integers,
  cluster, publication day as an ordinal, category index) and the labelled clusters;
* ``map-<id>.png``: the picture (README, digests), 900 × 900.

A build is *stale* when the set of embedded papers changed since (a different
fingerprint); the worker rebuilds on its schedule, the page says how old the map is.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.core import Paperwire
from paperwire.search.fieldmap import METHOD, Layout, layout, render_png
from paperwire.store.recommend import MapRecord, RecStore
from paperwire.store.users import utcnow

SCALE = 10_000  # coordinates travel as integers 0…SCALE


@dataclass(frozen=True)
class BuiltMap:
    record: MapRecord
    json_path: Path
    png_path: Path


def map_dir(pw: Paperwire) -> Path:
    return pw.settings.home / "map"


def _fingerprint(ids: list[str], model: str) -> str:
    return hashlib.sha256(("\n".join([model, *sorted(ids)])).encode()).hexdigest()


def points_json(
    ids: list[str],
    titles: list[str],
    days: list[int],
    categories: list[str],
    lay: Layout,
) -> dict[str, Any]:
    """The page's data, column-wise (small, quick to parse)."""
    names = sorted(set(categories))
    code = {c: i for i, c in enumerate(names)}
    return {
        "ids": ids,
        "titles": titles,
        "x": [round(float(v) * SCALE) for v in lay.xy[:, 0]] if len(ids) else [],
        "y": [round(float(v) * SCALE) for v in lay.xy[:, 1]] if len(ids) else [],
        "cluster": [int(c) for c in lay.cluster],
        "day": days,
        "category": [code[c] for c in categories],
        "categories": names,
        "clusters": [
            {
                "label": label,
                "size": size,
                "x": round(float(lay.centres[j, 0]) * SCALE),
                "y": round(float(lay.centres[j, 1]) * SCALE),
            }
            for j, (label, size) in enumerate(zip(lay.labels, lay.sizes, strict=True))
        ],
    }


def build_map(pw: Paperwire) -> BuiltMap:
    """Lay out every embedded paper now, write the files, record the build."""
    t0 = time.perf_counter()
    store = RecStore(pw.store.db)
    ids, titles, published, categories, blobs = store.map_rows(pw.model_name)
    vectors = (
        np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
        if blobs
        else np.zeros((0, 1), dtype=np.float32)
    )
    lay = layout(vectors, titles)
    days = [p.date().toordinal() if p else 0 for p in published]
    data = points_json(ids, titles, days, categories, lay)
    folder = map_dir(pw)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{int(time.time() * 1000)}"
    json_path, png_path = folder / f"map-{stamp}.json", folder / f"map-{stamp}.png"
    tmp = json_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    tmp.replace(json_path)
    png_path.write_bytes(render_png(lay))
    gzipped(json_path)
    record = MapRecord(
        built_at=utcnow(),
        model=pw.model_name,
        points=len(ids),
        method=METHOD,
        fingerprint=_fingerprint(ids, pw.model_name),
        path=json_path.name,
        seconds=round(time.perf_counter() - t0, 3),
    )
    store.record_map(record)
    # keep this build and the one before it (a page being served may still read it)
    stems = sorted({p.stem for p in folder.glob("map-*.json")})
    for stem in stems[:-2]:
        for old in folder.glob(f"{stem}.*"):
            old.unlink(missing_ok=True)
    return BuiltMap(record, json_path, png_path)


def gzipped(path: Path) -> Path:
    """``path`` compressed beside it (``<name>.gz``), written once, atomically: the
    points of 74.7k papers are ~9 MB of JSON, ~3 MB gzipped, and a server without
    nginx in front sends them as they are. Builds from before it get theirs on first use."""
    packed = path.with_name(path.name + ".gz")
    if not packed.is_file():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.gz.tmp")
        with path.open("rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        tmp.replace(packed)
    return packed


def current_map(pw: Paperwire) -> BuiltMap | None:
    """The latest build whose files are still there."""
    record = RecStore(pw.store.db).latest_map()
    if record is None:
        return None
    json_path = map_dir(pw) / record.path
    if not json_path.is_file():
        return None
    return BuiltMap(record, json_path, json_path.with_suffix(".png"))


def is_stale(pw: Paperwire, built: BuiltMap) -> bool:
    ids = RecStore(pw.store.db).map_ids(pw.model_name)
    return _fingerprint(ids, pw.model_name) != built.record.fingerprint
