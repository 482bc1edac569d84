"""Hugging Face Daily Papers: real day files, broken input, a live fetch from a local server."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources.hf_daily import fetch_hf_daily, parse_daily_payload, read_hf_daily_dir
from paperwire.sources.http import SourceError, make_client

UTC = dt.UTC


def _split(items):
    records = [i for i in items if isinstance(i, PaperRecord)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert len(records) + len(rejections) == len(items)
    return records, rejections


def _day_entries(shared_data, day: str) -> list[dict]:
    return json.loads((shared_data / "hf-daily-papers" / f"{day}.json").read_text())


def test_real_day_file_first_entry(shared_data):
    path = shared_data / "hf-daily-papers" / "2025-06-10.json"
    records, rejections = _split(list(read_hf_daily_dir(path)))
    assert rejections == []
    assert len(records) == 36
    rec = records[0]
    assert rec.arxiv_id == "2506.08007"
    assert rec.source == "hf-daily"
    assert rec.title == "Reinforcement Pre-Training"
    assert rec.upvotes == 130
    assert rec.num_comments == 3
    assert rec.featured_on == dt.date(2025, 6, 10)
    assert rec.published_at == dt.datetime(2025, 6, 9, 17, 59, 53, tzinfo=UTC)
    assert "\n" not in rec.abstract
    assert rec.abstract.startswith("In this work, we introduce Reinforcement Pre-Training (RPT)")
    assert "as a new scaling paradigm for large language models" in rec.abstract  # joined break
    assert rec.authors == [
        "Qingxiu Dong", "Li Dong", "Yao Tang", "Tianzhu Ye", "Yutao Sun", "Zhifang Sui", "Furu Wei",
    ]  # fmt: skip
    assert rec.keywords[:2] == ["Reinforcement Pre-Training (RPT)", "next-token prediction"]
    assert rec.ai_summary.startswith("Reinforcement Pre-Training (RPT) improves")
    assert rec.thumbnail.endswith("/papers/2506.08007.png")
    assert rec.submitted_by == "Li Dong"
    assert rec.organization is None and rec.organization_id is None
    assert rec.github_repo is None and rec.github_stars is None


def test_real_entry_with_organisation_and_code(shared_data):
    records, _ = _split(
        list(read_hf_daily_dir(shared_data / "hf-daily-papers" / "2025-10-03.json"))
    )
    rec = records[0]
    assert rec.arxiv_id == "2510.00446"
    assert rec.title == "LongCodeZip: Compress Long Context for Code Language Models"
    assert rec.organization == "Stanford University"
    assert rec.organization_id == "Stanford-University"
    assert rec.github_repo == "https://github.com/YerbaPage/LongCodeZip"
    assert rec.github_stars == 42
    assert (rec.upvotes, rec.num_comments) == (64, 4)
    assert rec.authors[0] == "Yuling Shi"


def test_hard_wrapped_title_is_joined(shared_data):
    records, _ = _split(
        list(read_hf_daily_dir(shared_data / "hf-daily-papers" / "2025-11-14.json"))
    )
    rec = next(r for r in records if r.arxiv_id == "2511.01918")
    assert rec.title == (
        "Superpositional Gradient Descent: Harnessing Quantum Principles for Model Training"
    )


def test_whole_directory(shared_data):
    directory = shared_data / "hf-daily-papers"
    days = {dt.date.fromisoformat(p.stem) for p in directory.glob("*.json")}
    records, rejections = _split(list(read_hf_daily_dir(directory)))
    assert rejections == []
    assert len(records) >= 10_000
    assert len({r.arxiv_id for r in records}) >= 10_000
    assert {r.featured_on for r in records} <= days
    assert all(r.source == "hf-daily" and r.title and "\n" not in r.title for r in records)
    assert all(r.upvotes is not None and r.upvotes >= 0 for r in records)
    featured = [r.featured_on for r in records]
    assert featured == sorted(featured)  # oldest day first


def test_since_until_filter(shared_data):
    items = list(
        read_hf_daily_dir(
            shared_data / "hf-daily-papers", since=dt.date(2025, 6, 10), until=dt.date(2025, 6, 11)
        )
    )
    records, _ = _split(items)
    assert {r.featured_on for r in records} == {dt.date(2025, 6, 10), dt.date(2025, 6, 11)}
    assert len(records) == len(_day_entries(shared_data, "2025-06-10")) + len(
        _day_entries(shared_data, "2025-06-11")
    )


def test_malformed_directory(shared_data, tmp_path):
    entries = _day_entries(shared_data, "2025-06-10")[:4]
    no_id = copy.deepcopy(entries[1])
    del no_id["paper"]["id"]
    bad_upvotes = copy.deepcopy(entries[2])
    bad_upvotes["paper"]["upvotes"] = "abc"
    (tmp_path / "2025-01-01.json").write_text('[{"paper": {"id": "2501.00001"')  # truncated
    (tmp_path / "2025-01-02.json").write_text(
        json.dumps([entries[0], no_id, bad_upvotes, entries[3]])
    )
    (tmp_path / "notes.json").write_text("[]")

    records, rejections = _split(list(read_hf_daily_dir(tmp_path)))

    assert [r.arxiv_id for r in records] == [entries[0]["paper"]["id"], entries[3]["paper"]["id"]]
    assert all(r.featured_on == dt.date(2025, 1, 2) for r in records)
    by_location = {r.location.rsplit("/", 1)[-1]: r for r in rejections}
    assert set(by_location) == {
        "2025-01-01.json",
        "2025-01-02.json: record 2",
        "2025-01-02.json: record 3",
        "notes.json",
    }
    assert "not valid JSON" in by_location["2025-01-01.json"].reason
    missing = by_location["2025-01-02.json: record 2"]
    assert missing.field == "arxiv_id" and missing.record is None
    upvotes = by_location["2025-01-02.json: record 3"]
    assert upvotes.field == "upvotes"
    assert upvotes.record == entries[2]["paper"]["id"]
    assert "'abc'" in upvotes.reason
    assert str(upvotes).endswith(f"record {upvotes.record}: field 'upvotes': {upvotes.reason}")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("paper", "upvotes"), -1, "upvotes"),
        (("paper", "upvotes"), True, "upvotes"),
        (("numComments",), "3", "num_comments"),
        (("paper", "githubStars"), 4.5, "github_stars"),
        (("paper", "title"), "   ", "title"),
        (("paper", "id"), "not-an-id", "arxiv_id"),
        (("paper", "authors"), "Li Dong", "authors"),
        (("paper", "ai_keywords"), [1, 2], "keywords"),
        (("paper", "publishedAt"), "yesterday", "published_at"),
        (("paper", "organization"), "nvidia", "organization"),
    ],
)
def test_field_validation(shared_data, path, value, field):
    entry = copy.deepcopy(_day_entries(shared_data, "2025-06-10")[0])
    target = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    if path == ("paper", "title"):
        entry["title"] = ""
    (item,) = parse_daily_payload([entry], "day.json", dt.date(2025, 6, 10))
    assert isinstance(item, Rejection)
    assert item.field == field
    assert item.location == "day.json: record 1"


def test_payload_that_is_not_a_list():
    (item,) = parse_daily_payload({"error": "Invalid date"}, "u", None)
    assert isinstance(item, Rejection)
    assert "JSON list" in item.reason


def test_featured_on_from_submission_time_when_not_given(shared_data):
    entry = _day_entries(shared_data, "2025-06-10")[0]
    (rec,) = parse_daily_payload([entry], "live", None)
    assert rec.featured_on == dt.date(2025, 6, 10)  # paper.submittedOnDailyAt


def _hf_server(serve, shared_data, flaky_day: str, edits=None):
    served = {"flaky": 0}

    def handler(path, query):
        day = query.get("date", "")
        file = shared_data / "hf-daily-papers" / f"{day}.json"
        if day == flaky_day and served["flaky"] == 0:
            served["flaky"] += 1
            return 503, {"Retry-After": "2"}, b"Service Unavailable"
        if not file.is_file():
            return 404, {"Content-Type": "application/json"}, b'{"error":"Not Found"}'
        body = file.read_bytes()
        if edits and day in edits:
            body = json.dumps(edits[day](json.loads(body))).encode()
        return 200, {"Content-Type": "application/json"}, body

    return serve(handler)


def test_fetch_from_a_live_server(serve, shared_data, sleeps):
    # 2025-06-14/15 are a weekend without a file: the server answers 404 for them.
    server = _hf_server(serve, shared_data, flaky_day="2025-06-13")
    with make_client(5) as client:
        items = list(
            fetch_hf_daily(
                client,
                server.url + "/api/daily_papers",
                dt.date(2025, 6, 12),
                dt.date(2025, 6, 16),
                retries=2,
                sleep=sleeps,
            )
        )
    records, rejections = _split(items)
    assert rejections == []
    asked = [r.query["date"] for r in server.requests]
    assert asked == [
        "2025-06-12",
        "2025-06-13",
        "2025-06-13",
        "2025-06-14",
        "2025-06-15",
        "2025-06-16",
    ]
    assert all(r.path == "/api/daily_papers" for r in server.requests)
    assert server.requests[0].headers["User-Agent"].startswith("paperwire/")
    assert 2.0 in sleeps.calls  # Retry-After honoured
    assert sleeps.calls.count(0.5) == 4  # polite delay between the 5 days
    expected = {
        day: [e["paper"]["id"] for e in _day_entries(shared_data, day)]
        for day in ("2025-06-12", "2025-06-13", "2025-06-16")
    }
    assert [r.arxiv_id for r in records] == [i for ids in expected.values() for i in ids]
    by_day = {
        d: [r for r in records if r.featured_on == dt.date.fromisoformat(d)] for d in expected
    }
    assert {d: len(v) for d, v in by_day.items()} == {d: len(v) for d, v in expected.items()}


def test_fetch_uses_requested_day_without_submission_time(serve, shared_data, sleeps):
    def strip_submission_time(payload):
        for entry in payload:
            entry["paper"].pop("submittedOnDailyAt", None)
        return payload

    server = _hf_server(
        serve, shared_data, flaky_day="", edits={"2025-06-10": strip_submission_time}
    )
    with make_client(5) as client:
        items = list(
            fetch_hf_daily(
                client, server.url, dt.date(2025, 6, 10), dt.date(2025, 6, 10), sleep=sleeps
            )
        )
    assert len(items) == 36
    assert {i.featured_on for i in items} == {dt.date(2025, 6, 10)}


def test_fetch_raises_source_error_when_server_keeps_failing(serve, sleeps):
    server = serve(lambda path, query: (502, {}, b"Bad Gateway"))
    with make_client(5) as client, pytest.raises(SourceError, match="HTTP 502"):
        list(
            fetch_hf_daily(
                client, server.url, dt.date(2025, 6, 10), dt.date(2025, 6, 10), 1, sleeps
            )
        )
    assert len(server.requests) == 2
