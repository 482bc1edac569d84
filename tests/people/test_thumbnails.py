"""Thumbnails: cached at ingest from a real (loopback) HTTP server, then shown with the
server gone; a placeholder when nothing is cached; unreachable hosts are skipped."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.services.thumbnails import cache_thumbnails
from paperwire.store.schema.people import Thumbnail
from paperwire.store.thumbnails import MAX_TRIES, ThumbnailStore
from tests.community.conftest import TODAY, Env, LoopbackServer, html
from tests.conftest import _free_port


def _jpeg(colour: str) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "camera secrets"  # ImageDescription
    Image.new("RGB", (1200, 630), colour).save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


class ImageServer(LoopbackServer):
    """Serves generated images: ``/ok/<name>`` a JPEG (with EXIF), ``/text`` a page,
    anything else 404."""

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path.startswith("/ok/"):
            return 200, "image/jpeg", _jpeg("navy")
        if path == "/text":
            return 200, "text/html", b"<html>not an image</html>"
        return 404, "text/plain", b"missing"

    @property
    def url(self) -> str:
        return self.root


@pytest.fixture
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    server.start()
    yield server
    server.close()


def _papers(env: Env, thumbs: dict[str, str]) -> None:
    records = [
        PaperRecord(
            arxiv_id=aid,
            source="hf-daily",
            title=f"Picture paper {aid}",
            authors=["Pic Author"],
            published_at=dt.datetime.combine(TODAY, dt.time(8), tzinfo=dt.UTC),
            featured_on=TODAY,
            thumbnail=url,
        )
        for aid, url in thumbs.items()
    ]
    assert ingest_records(env.pw, records, "hf-daily").added == len(records)


def test_thumbnails_cached_then_shown_offline(env: Env, images: ImageServer) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/gone.jpg"  # nothing listens there
    _papers(
        env,
        {
            "2512.00201": f"{images.url}/ok/a.jpg",
            "2512.00202": f"{images.url}/missing.jpg",
            "2512.00203": f"{images.url}/text",
            "2512.00204": dead,
            "2512.00205": "javascript:alert(1)",
        },
    )
    report = cache_thumbnails(env.pw)
    assert (report.cached, report.failed) == (1, 3)
    # later runs: the cached one is not fetched again; failures are tried up to MAX_TRIES;
    # the unreachable host is tried again each run without counting against its paper
    for _ in range(MAX_TRIES + 1):
        cache_thumbnails(env.pw)
    assert images.requests.count("/ok/a.jpg") == 1
    assert images.requests.count("/missing.jpg") == MAX_TRIES
    with env.pw.db.session() as s:
        rows = {r.source_url: r for r in s.scalars(select(Thumbnail)).all()}
    assert dead not in rows
    assert rows[f"{images.url}/missing.jpg"].error == "HTTP 404"
    images.close()  # offline from now on

    c = env.client()
    r = c.get("/thumbnails/2512.00201")
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (480, 252) and b"camera secrets" not in r.content
    for aid in ("2512.00202", "2512.00204", "2511.00001"):  # failed, unreachable, none
        r = c.get(f"/thumbnails/{aid}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    doc = html(c.get("/").text)
    assert doc.xpath("//article//img[@src='/thumbnails/2512.00201']")
    assert not doc.xpath(
        "//article[.//a[@href='/papers/2511.00001']]//img[contains(@src,'thumbnails')]"
    )
    assert all(src.startswith("/") for src in doc.xpath("//img/@src"))  # our origin only
    assert "img-src 'self' data:" in c.get("/").headers["content-security-policy"]


def test_cli_ingest_caches_thumbnails(images: ImageServer, tmp_path: Path) -> None:
    """``paperwire ingest hf-daily`` caches the day's thumbnails (real HF records, their
    URLs pointed at the loopback server); ``paperwire thumbnails`` reports the rest."""
    from typer.testing import CliRunner

    from paperwire.cli import app
    from paperwire.config import Settings
    from paperwire.core import Paperwire
    from tests.conftest import HF_DAILY

    items = json.loads((HF_DAILY / "2025-06-10.json").read_text())[:3]
    for n, item in enumerate(items):
        item["thumbnail"] = f"{images.url}/ok/{n}.png"
    src = tmp_path / "days"
    src.mkdir()
    (src / "2025-06-10.json").write_text(json.dumps(items))
    home = tmp_path / "home"
    env = {"PAPERWIRE_THUMBNAIL_CACHE": "true", "PAPERWIRE_SEMANTIC": "false"}
    runner = CliRunner()
    result = runner.invoke(
        app, ["ingest", "hf-daily", "--from", str(src), "--home", str(home)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "thumbnails: 3 cached, 0 failed" in result.output
    result = runner.invoke(app, ["thumbnails", "--home", str(home)], env=env)
    assert "thumbnails: 0 cached, 0 failed" in result.output
    pw = Paperwire(Settings(home=home, semantic=False))
    try:
        store = ThumbnailStore(pw.db)
        aid = items[0]["paper"]["id"]
        found = store.cached(aid)
        assert found is not None and found[1] == "image/webp"
        assert (pw.settings.media_root / found[0]).is_file()
    finally:
        pw.close()


def test_unknown_papers_and_organisations_have_no_pictures(env: Env) -> None:
    c = env.client()
    assert c.get("/thumbnails/2599.99999").status_code == 404
    assert c.get("/avatars/orgs/no-such-lab.svg").status_code == 404
    assert c.get("/avatars/orgs/Paperwire%20Lab.svg").status_code == 200  # the name works too
