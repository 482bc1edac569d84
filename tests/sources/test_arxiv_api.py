"""arXiv Atom API and OAI-PMH: recorded responses, and the fetchers against a local server."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources.arxiv_api import (
    fetch_arxiv_api,
    fetch_arxiv_ids,
    fetch_arxiv_oai,
    parse_atom_feed,
    parse_oai_page,
)
from paperwire.sources.http import SourceError, make_client

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def test_atom_feed(fixtures):
    items, total = parse_atom_feed((fixtures / "api_id_list.xml").read_bytes(), "feed.xml")
    assert total == 3
    assert all(isinstance(i, PaperRecord) and i.source == "arxiv" for i in items)
    first, second, old = items
    assert [i.arxiv_id for i in items] == ["2506.00637", "2506.00483", "hep-th/9901001"]
    assert first.title == (
        "Improving the Calibration of Confidence Scores in Text Generation Using the Output "
        "Distribution's Characteristics"
    )
    assert first.authors == ["Lorenzo Jaime Yu Flores", "Ori Ernst", "Jackie Chi Kit Cheung"]
    assert first.categories == ["cs.CL", "cs.AI"]
    assert first.comment == "ACL 2025 Main Conference"
    assert first.published_at == dt.datetime(2025, 5, 31, 17, 33, 47, tzinfo=dt.UTC)
    assert first.abstract.startswith("Well-calibrated model confidence scores can improve")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert "solve rate from 18.45\\% (baseline) to 23.63~$\\pm$~0.7\\% (3 runs)" in second.abstract
    assert second.authors[-1] == "Omar Abo Mokh"
    assert old.categories == ["hep-th", "gr-qc"]  # primary first, though listed second
    assert old.title.endswith("Backgrounds and the Holographic Bound")
    assert "$AdS_5 \\times S^5$" in old.abstract
    assert old.published_at == dt.datetime(1999, 1, 4, 10, 12, 33, tzinfo=dt.UTC)


def test_atom_error_feed_raises_with_arxiv_message(fixtures):
    with pytest.raises(SourceError, match=r"incorrect id format for 2406\.075"):
        parse_atom_feed((fixtures / "api_error.xml").read_bytes(), "error.xml")


def test_atom_empty_feed(fixtures):
    assert parse_atom_feed((fixtures / "api_empty.xml").read_bytes(), "empty.xml") == ([], 0)


def test_atom_bad_entry_is_rejected_not_fatal(fixtures):
    xml = (fixtures / "api_id_list.xml").read_bytes()
    xml = xml.replace(
        b"<title>Auto-Patching: Enhancing Multi-Hop Reasoning in Language Models</title>", b""
    )
    xml = xml.replace(b"<id>http://arxiv.org/abs/2506.00637v1</id>", b"<id>http://x/abs/1</id>")
    items, total = parse_atom_feed(xml, "feed.xml")
    assert total == 3
    bad_id, no_title, ok = items
    assert isinstance(bad_id, Rejection) and bad_id.field == "arxiv_id"
    assert bad_id.location == "feed.xml: entry 1"
    assert isinstance(no_title, Rejection) and no_title.field == "title"
    assert no_title.record == "http://arxiv.org/abs/2506.00483v1"
    assert isinstance(ok, PaperRecord) and ok.arxiv_id == "hep-th/9901001"


def test_not_xml_is_a_source_error():
    with pytest.raises(SourceError, match="not valid XML"):
        parse_atom_feed(b"<html><body>Rate exceeded", "u")


def test_oai_pages(fixtures):
    items, token = parse_oai_page((fixtures / "oai_page1.xml").read_bytes(), "p1")
    assert token == "7219356|1001"
    assert [i.arxiv_id for i in items] == ["2506.01172", "2506.00628"]
    first, second = items
    assert first.authors == ["Byung-Doh Oh", "Hongao Zhu", "William Schuler"]
    assert first.title == (
        "The Inverse Scaling Effect of Pre-Trained Language Model Surprisal Is Not Due to Data "
        "Leakage"
    )
    assert first.comment == (
        "ACL Findings 2025; results with Natural Stories alignment issue corrected (commit 4700daa)"
    )
    assert "token $n$-gram overlap" in first.abstract
    assert first.published_at == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert second.categories == ["cs.CL", "cs.SD", "eess.AS"]

    items, token = parse_oai_page((fixtures / "oai_page2.xml").read_bytes(), "p2")
    assert token is None  # empty token on the last page
    assert [i.arxiv_id for i in items] == ["2506.02378"]  # the deleted record is skipped
    assert items[0].authors == ["Ukyo Honda", "Tatsushi Oka"]


def test_oai_no_records_and_errors(fixtures):
    assert parse_oai_page((fixtures / "oai_no_records.xml").read_bytes(), "x") == ([], None)
    bad = (
        (fixtures / "oai_no_records.xml")
        .read_bytes()
        .replace(
            b'code="noRecordsMatch">The combination', b'code="badResumptionToken">The combination'
        )
    )
    with pytest.raises(SourceError, match="badResumptionToken"):
        parse_oai_page(bad, "x")


def test_oai_arxiv_raw_and_single_name_authors():
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header><identifier>oai:arXiv.org:hep-th/9901001</identifier></header><metadata>
<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>hep-th/9901001</id>
<version version="v1"><date>Mon, 4 Jan 1999 10:12:33 GMT</date><size>24kb</size></version>
<version version="v2"><date>Wed, 10 Feb 1999 14:21:05 GMT</date><size>25kb</size></version>
<title>A title</title><authors>J. Smith, K. Tanaka and L. Rossi</authors>
<categories>hep-th gr-qc</categories><abstract>Text.</abstract></arXivRaw></metadata></record>
<record><header><identifier>oai:arXiv.org:2506.00001</identifier></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2506.00001</id><created>2025-05-30</created>
<authors><author><keyname>ATLAS Collaboration</keyname></author>
<author><keyname>Doe</keyname><forenames>Jane</forenames><suffix>Jr</suffix></author></authors>
<title>Another</title><categories>hep-ex</categories></arXiv></metadata></record>
<record><header><identifier>oai:arXiv.org:2506.00002</identifier></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2506.00002</id><title>  </title></arXiv>
</metadata></record>
</ListRecords></OAI-PMH>"""
    (raw, modern, bad), token = parse_oai_page(xml, "inline")
    assert token is None
    assert raw.arxiv_id == "hep-th/9901001"
    assert raw.authors == ["J. Smith", "K. Tanaka", "L. Rossi"]
    assert raw.published_at == dt.datetime(1999, 1, 4, 10, 12, 33, tzinfo=dt.UTC)
    assert modern.authors == ["ATLAS Collaboration", "Jane Doe Jr"]
    assert isinstance(bad, Rejection)
    assert (bad.location, bad.record, bad.field) == ("inline: record 3", "2506.00002", "title")


def _atom_pages(fixtures):
    """Serve the recorded feed sliced by ``start``/``max_results``, as the API pages."""
    source = (fixtures / "api_id_list.xml").read_bytes()

    def handler(path, query):
        root = etree.fromstring(source)
        entries = root.findall(f"{ATOM}entry")
        start, size = int(query.get("start", 0)), int(query.get("max_results", 10))
        for i, entry in enumerate(entries):
            if not start <= i < start + size:
                root.remove(entry)
        root.find(f"{OPENSEARCH}startIndex").text = str(start)
        root.find(f"{OPENSEARCH}itemsPerPage").text = str(size)
        return 200, {"Content-Type": "application/atom+xml"}, etree.tostring(root)

    return handler


def test_fetch_arxiv_api_pages_politely(serve, fixtures, sleeps):
    server = serve(_atom_pages(fixtures))
    with make_client(5) as client:
        items = list(
            fetch_arxiv_api(
                client,
                server.url + "/api/query",
                "cs.CL",
                dt.date(2025, 5, 31),
                dt.date(2025, 6, 1),
                page_size=2,
                sleep=sleeps,
            )
        )
    assert [i.arxiv_id for i in items] == ["2506.00637", "2506.00483", "hep-th/9901001"]
    assert [r.query["start"] for r in server.requests] == ["0", "2"]
    query = server.requests[0].query
    assert query["search_query"] == "cat:cs.CL AND submittedDate:[202505310000 TO 202506012359]"
    assert (query["max_results"], query["sortBy"], query["sortOrder"]) == (
        "2",
        "submittedDate",
        "ascending",
    )
    assert sleeps.calls == [3.0]  # one polite pause between the two pages


def test_fetch_arxiv_api_reports_error_feed(serve, fixtures, sleeps):
    body = (fixtures / "api_error.xml").read_bytes()
    server = serve(lambda path, query: (400, {}, body))
    with make_client(5) as client, pytest.raises(SourceError, match="incorrect id format"):
        list(
            fetch_arxiv_api(
                client, server.url, "cs.CL", dt.date(2025, 6, 1), dt.date(2025, 6, 1), sleep=sleeps
            )
        )
    assert len(server.requests) == 1  # a 400 is not retried


def test_fetch_arxiv_api_400_without_error_feed(serve, sleeps):
    server = serve(lambda path, query: (400, {}, b"Bad Request"))
    with make_client(5) as client, pytest.raises(SourceError, match="HTTP 400") as err:
        list(fetch_arxiv_ids(client, server.url, ["2506.00637"], sleep=sleeps))
    assert err.value.status == 400


def test_fetch_arxiv_api_gives_up_on_repeated_empty_pages(serve, fixtures, sleeps):
    feed = (
        (fixtures / "api_empty.xml")
        .read_bytes()
        .replace(b">0</opensearch:totalResults", b">250</opensearch:totalResults")
    )
    server = serve(lambda path, query: (200, {}, feed))
    with make_client(5) as client:
        items = list(
            fetch_arxiv_api(
                client,
                server.url,
                "cs.CL",
                dt.date(2025, 6, 1),
                dt.date(2025, 6, 1),
                retries=2,
                sleep=sleeps,
            )
        )
    assert len(server.requests) == 3
    (gap,) = items
    assert isinstance(gap, Rejection) and "stopped before 250" in gap.reason


def test_fetch_arxiv_ids(serve, fixtures, sleeps):
    body = (fixtures / "api_id_list.xml").read_bytes()
    server = serve(lambda path, query: (200, {}, body))
    ids = [
        "2506.00637v1",
        "arXiv:2506.00483",
        "hep-th/9901001v2",
        "not-an-id",
        "2506.99999",
        "2506.00637",
    ]
    with make_client(5) as client:
        items = list(fetch_arxiv_ids(client, server.url, ids, sleep=sleeps))
    (sent,) = server.requests
    assert sent.query["id_list"] == "2506.00637,2506.00483,hep-th/9901001,2506.99999"
    assert sent.query["max_results"] == "4"
    records = [i for i in items if isinstance(i, PaperRecord)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert [r.arxiv_id for r in records] == ["2506.00637", "2506.00483", "hep-th/9901001"]
    assert [(r.record, r.field) for r in rejections] == [
        ("not-an-id", "arxiv_id"),
        ("2506.99999", "arxiv_id"),
    ]
    assert rejections[1].reason == "not on arXiv"


def test_fetch_arxiv_oai_follows_resumption_tokens(serve, fixtures, sleeps):
    pages = {
        None: (fixtures / "oai_page1.xml").read_bytes(),
        "7219356|1001": (fixtures / "oai_page2.xml").read_bytes(),
    }
    state = {"busy": True}

    def handler(path, query):
        if state["busy"]:  # arXiv's OAI flow control
            state["busy"] = False
            return 503, {"Retry-After": "5"}, b"Retry later"
        return 200, {"Content-Type": "text/xml"}, pages[query.get("resumptionToken")]

    server = serve(handler)
    with make_client(5) as client:
        items = list(
            fetch_arxiv_oai(
                client,
                server.url + "/oai",
                "cs",
                dt.date(2025, 6, 3),
                dt.date(2025, 6, 4),
                sleep=sleeps,
            )
        )
    assert [i.arxiv_id for i in items] == ["2506.01172", "2506.00628", "2506.02378"]
    queries = [r.query for r in server.requests]
    first = {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2025-06-03",
        "until": "2025-06-04",
    }
    assert queries == [first, first, {"verb": "ListRecords", "resumptionToken": "7219356|1001"}]
    assert sleeps.calls == [5.0, 3.0]


def test_fetch_arxiv_oai_empty_day(serve, fixtures, sleeps):
    body = (fixtures / "oai_no_records.xml").read_bytes()
    server = serve(lambda path, query: (200, {}, body))
    with make_client(5) as client:
        items = list(
            fetch_arxiv_oai(
                client, server.url, "cs", dt.date(2025, 6, 7), dt.date(2025, 6, 7), sleep=sleeps
            )
        )
    assert items == []
    assert len(server.requests) == 1
