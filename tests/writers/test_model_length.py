"""A home whose embedding model changes to one of another length (its vectors had 384
numbers, the new model's have 256): search keeps working on keyword matches, the
commands that write vectors say what to run, ``paperwire doctor`` names the clash and
``--repair`` writes every paper again, after which search by meaning works with the
new model. Before, every hybrid or semantic search raised ("query vector has 256
dimensions, the index has 384"), and ``paperwire embed`` said another process was
applying its vectors while the index refused them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.index.embedding.base import document_text
from paperwire.index.embedding.loader import load_embedder
from paperwire.jobs.doctor import diagnose, repair
from paperwire.jobs.embed import embed_backlog
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.models.status import VectorLengths
from tests.conftest import AppFactory
from tests.index.models import cls_in_a_folder_of_its_own, copy_bundled, with_dense
from tests.writers.children import run, settings_env
from tests.writers.test_doctor import ingest_day


def test_a_model_of_another_length_searches_by_keyword_until_the_index_is_written_again(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    before = make_app(database_url=database_url)
    ids = ingest_day(before)
    assert embed_backlog(before).embedded == len(ids)
    assert before.index.vector_dim() == 384
    title = before.store.cards([ids[0]])[ids[0]].title
    home = before.settings.home
    before.close()

    dense = with_dense(tmp_path / "dense-model")  # torch embeds it (the ONNX export refuses)
    pw = make_app(home=home, database_url=database_url, embedding_model=str(dense))
    for mode in (SearchMode.hybrid, SearchMode.semantic):
        found = pw.search.search(SearchRequest(q=title, mode=mode))
        assert not found.semantic_used
        assert [h.paper.arxiv_id for h in found.hits[:1]] == (
            [ids[0]] if mode.value == "hybrid" else []
        )
    assert not pw.search.semantic_ready()
    assert not pw.status().semantic_ready  # /status says search by meaning is not on

    report = embed_backlog(pw)
    assert report.embedded == len(ids)
    assert report.index_error is not None and "--rebuild --clear" in report.index_error
    assert pw.index.vector_dim() == 384  # the index took none of them

    found = diagnose(pw)
    assert found.vector_lengths == VectorLengths(index=384, store=[256]) and not found.in_step
    env = settings_env(pw.settings, PAPERWIRE_EMBEDDING_MODEL=str(dense))
    result = CliRunner().invoke(app, ["doctor"], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert "vectors of another length" in result.output and "384" in result.output

    fixed = repair(pw)
    assert fixed.in_step and fixed.vector_lengths is None, fixed
    assert fixed.vectors.documents == len(ids) and fixed.repaired == len(ids)
    assert pw.index.vector_dim() == 256
    found_now = pw.search.search(SearchRequest(q=title, mode=SearchMode.semantic))
    assert found_now.semantic_used and found_now.hits[0].paper.arxiv_id == ids[0]
    assert pw.status().semantic_ready


def _embed(env: dict[str, str], *args: str) -> str:
    """``paperwire embed ARGS`` in a process of its own, as an operator runs it: it loads
    the model as its folder is now (a process keeps the one it loaded)."""
    code, output = run(["embed", *args], env)
    assert code == 0, output
    return output


def test_embed_again_replaces_the_vectors_of_a_model_changed_in_its_folder(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    """The model's folder gets CLS pooling in place of mean (same name, same length):
    `paperwire embed` has nothing to do, `--again` embeds every paper again, and the
    index then holds the changed model's vectors, old ones serving until replaced."""
    folder = copy_bundled(tmp_path / "model")
    pw = make_app(database_url=database_url, embedding_model=str(folder))
    ids = ingest_day(pw)
    assert embed_backlog(pw).embedded == len(ids)
    before = np.stack([np.asarray(pw.index.vector_of(i), dtype=np.float32) for i in ids])
    shutil.rmtree(folder)
    cls_in_a_folder_of_its_own(folder)  # the same name, CLS pooled now
    env = settings_env(pw.settings, PAPERWIRE_EMBEDDING_MODEL=str(folder))
    assert "nothing to do" in _embed(env)

    partly = _embed(env, "--again", "--limit", "10")
    assert f"{len(ids)} stored vectors" in partly and f"{len(ids) - 10} left" in partly
    pw.index.refresh()
    assert pw.index.vector_count() == len(ids)  # the old ones still serve
    rest = _embed(env)
    assert f"embedded {len(ids) - 10} papers" in rest and "0 left" in rest

    # the changed folder, loaded afresh (this process keeps the model it loaded first)
    changed = load_embedder(pw.settings.model_copy(update={"embedding_backend": "torch"}))
    docs = {d.arxiv_id: d for part in pw.store.iter_index_docs(pw.model_name, ids) for d in part}
    want = changed.encode_documents([document_text(docs[i].title, docs[i].abstract) for i in ids])
    pw.index.refresh()
    got = np.stack([np.asarray(pw.index.vector_of(i), dtype=np.float32) for i in ids])
    assert np.min(np.sum(got * want, axis=1)) > 0.999  # the index holds the CLS model's
    assert np.max(np.sum(before * want, axis=1)) < 0.99  # which the mean-pooled were not
    assert diagnose(pw).in_step


def test_a_length_changed_in_place_is_written_once_every_paper_is_embedded_again(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    """A ``Dense`` layer added to the model's folder: ``embed --again`` stores vectors
    of the new length, which the index cannot take beside the old; ``doctor --repair``
    waits until all are embedded again, then writes every paper with them."""
    folder = copy_bundled(tmp_path / "model")
    pw = make_app(database_url=database_url, embedding_model=str(folder))
    ids = ingest_day(pw)
    assert embed_backlog(pw).embedded == len(ids)
    shutil.rmtree(folder)
    with_dense(folder)  # the same name, 256 numbers a vector now
    env = settings_env(pw.settings, PAPERWIRE_EMBEDDING_MODEL=str(folder))

    half = _embed(env, "--again", "--limit", "10")
    assert "--rebuild --clear" in half  # the index did not take them
    assert diagnose(pw).vector_lengths == VectorLengths(index=384, store=[384, 256])
    waited = repair(pw)
    assert not waited.in_step and pw.index.vector_dim() == 384  # nothing written

    _embed(env)
    fixed = repair(pw)
    assert fixed.in_step and fixed.vectors.documents == len(ids), fixed
    assert pw.index.vector_dim() == 256
