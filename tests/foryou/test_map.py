"""The map of the field: ``paperwire map build`` (and the worker job) lays out every
embedded paper; ``/map``, ``/api/map``, ``/map/points.json`` and ``/map.png`` serve it."""

from __future__ import annotations

import threading

import numpy as np
from typer.testing import CliRunner

from paperwire.cli import app as cli
from paperwire.jobs.worker import default_jobs
from paperwire.search.fieldmap import layout
from paperwire.services.fieldmap import build_map
from tests.community.conftest import Env
from tests.conftest import backend_env
from tests.foryou.conftest import TopicCorpus


def test_no_map_yet_says_so(topic_env: Env) -> None:
    c = topic_env.client()
    assert c.get("/api/map").json()["points"] == 0
    assert c.get("/map/points.json").status_code == 404
    assert c.get("/map.png").status_code == 404
    assert "No map yet" in c.get("/map").text


def test_build_serves_points_picture_and_labels(topic_env: Env, topic_corpus: TopicCorpus) -> None:
    built = build_map(topic_env.pw)
    n = len(topic_corpus.records)
    assert built.record.points == n
    c = topic_env.client()
    info = c.get("/api/map").json()
    assert info["points"] == n and info["stale"] is False and info["method"]
    data = c.get("/map/points.json").json()
    assert sorted(data["ids"]) == sorted(r.arxiv_id for r in topic_corpus.records)
    assert len(data["x"]) == len(data["y"]) == len(data["titles"]) == n
    assert all(0 <= v <= 10_000 for v in data["x"] + data["y"])
    assert data["clusters"] and all(cl["label"] for cl in data["clusters"])
    png = c.get("/map.png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    page = c.get("/map").text
    assert 'src="/static/map.js"' in page and "<canvas" in page and "cdn" not in page.lower()


def test_related_papers_land_near_each_other(topic_env: Env, topic_corpus: TopicCorpus) -> None:
    build_map(topic_env.pw)
    data = topic_env.client().get("/map/points.json").json()
    xy = np.array([data["x"], data["y"]], dtype=float).T
    topic = [topic_corpus.topic_of(a) for a in data["ids"]]
    same, other = [], []
    for i in range(len(xy)):
        for j in range(i + 1, len(xy)):
            d = float(np.hypot(*(xy[i] - xy[j])))
            (same if topic[i] == topic[j] else other).append(d)
    assert np.mean(same) < 0.75 * np.mean(other), (np.mean(same), np.mean(other))


def test_stale_after_new_embeddings_and_the_worker_rebuilds(
    topic_env: Env, topic_corpus: TopicCorpus
) -> None:
    pw = topic_env.pw
    build_map(pw)
    topic_env.account("mod@example.org", "mod", admin=True)
    admin = topic_env.comm.users.by_email("mod@example.org")
    assert admin is not None
    topic_env.comm.hide_papers(admin, [topic_corpus.records[0].arxiv_id], "test")
    assert topic_env.client().get("/api/map").json()["stale"] is True
    job = next(j for j in default_jobs(pw) if j.name == "map")
    assert "map of" in job.action(threading.Event())
    info = topic_env.client().get("/api/map").json()
    assert info["stale"] is False and info["points"] == len(topic_corpus.records) - 1
    assert job.action(threading.Event()) == "map is up to date"


def test_cli_map_build(topic_env: Env) -> None:
    env = backend_env(topic_env.pw.settings)
    r = CliRunner().invoke(
        cli, ["map", "build", "--home", str(topic_env.pw.settings.home), "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    assert '"points": 24' in r.output


def test_layout_handles_tiny_inputs() -> None:
    one = layout(np.ones((1, 4), dtype=np.float32), ["Only paper"])
    assert one.xy.shape == (1, 2) and len(one.labels) == 1
    assert layout(np.zeros((0, 4), dtype=np.float32), []).xy.shape == (0, 2)


def test_my_papers_for_the_highlight(topic_env: Env, topic_corpus: TopicCorpus) -> None:
    assert topic_env.client().get("/api/map/mine").status_code == 401
    reader = topic_env.account("ada@example.org", "ada")
    liked = topic_corpus.by_topic["speech"][0]
    reader.api("POST", f"/api/papers/{liked}/vote")
    assert reader.c.get("/api/map/mine").json() == [liked]
    build_map(topic_env.pw)
    assert 'data-mine="/api/map/mine"' in reader.c.get("/map").text


def test_points_go_gzipped_to_clients_that_take_it(topic_env: Env) -> None:
    """The points file is the largest answer paperwire sends (~9 MB at 74.7k papers):
    gzipped for a client that accepts it, as is for one that does not, same JSON."""
    import gzip

    build_map(topic_env.pw)
    c = topic_env.client()
    plain = c.get("/map/points.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    packed = c.get("/map/points.json", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()  # httpx unpacks it
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    refused = c.get("/map/points.json", headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "content-encoding" not in refused.headers
    assert refused.content == plain.content
    built = topic_env.pw.settings.home / "map"
    (packed_file,) = built.glob("map-*.json.gz")
    assert gzip.decompress(packed_file.read_bytes()) == plain.content
    packed_file.unlink()  # a build from before gzipped copies: made on first use
    again = c.get("/map/points.json", headers={"Accept-Encoding": "gzip"})
    assert again.headers["content-encoding"] == "gzip" and again.json() == plain.json()
    assert packed_file.is_file()
