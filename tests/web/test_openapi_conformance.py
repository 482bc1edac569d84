"""The OpenAPI document tells the truth (issue 12 finding 7; issue 11's bad bytes).

* schemathesis generates requests for every operation from ``/openapi.json`` (bounded
  examples, a fixed seed), anonymous and signed in (session cookie + ``X-CSRF-Token``),
  and checks each answer: no server error, the body matches the documented schema, the
  status code is documented. Any failure fails the test.
* From the same document: a NUL byte in every string parameter and body field, and an
  integer past 2⁶³ in every integer parameter, answer 422/404 on every operation and on
  both stores — never a server error.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.community import CollectionCreate, UserCreate
from paperwire.services.community import community_of
from paperwire.services.ingest import ingest_records
from paperwire.web import create_app
from paperwire.web.auth import SESSION_COOKIE, csrf_for_session
from tests.community.conftest import FAST, PASSWORD, corpus
from tests.conftest import AppFactory, SmtpSink, _free_port

EXAMPLES = 40  # per operation and identity
CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance)
HUGE = 2**64 + 7  # past any BIGINT


@dataclass
class Site:
    pw: Paperwire
    app: FastAPI
    collection_id: int

    def signed_in(self) -> tuple[dict[str, str], dict[str, str]]:
        """Cookies and headers of a fresh session of the admin (a new one per request:
        a generated ``POST /api/auth/logout`` must not sign the rest of the run out)."""
        comm = community_of(self.pw)
        account = comm.users.by_email("admin@example.org")
        assert account is not None
        token = comm.start_session(account)
        return {SESSION_COOKIE: token}, {"X-CSRF-Token": csrf_for_session(self.pw, token)}


def build_site(pw: Paperwire) -> Site:
    """The crafted community corpus, an admin with a public collection of two papers."""
    assert ingest_records(pw, corpus(), "hf-daily").rejected == 0
    comm = community_of(pw)
    admin = comm.signup(
        UserCreate(email="admin@example.org", display_name="Admin", password=PASSWORD),
        is_admin=True,
    )
    made = comm.collections.create(admin.id, CollectionCreate(name="Reading", public=True))
    for aid in ("2511.00001", "2511.00002"):
        comm.collections.add(made.id, admin.id, aid)
    return Site(pw=pw, app=create_app(pw), collection_id=made.id)


def site_settings(home: Path, smtp_port: int) -> dict[str, Any]:
    return {
        **FAST,
        "home": home,
        "smtp_port": smtp_port,
        "smtp_timeout": 2,
        # submissions fetch from arXiv: a closed local port answers at once (503)
        "arxiv_api_url": f"http://127.0.0.1:{_free_port()}/api/query",
        "http_retries": 0,
    }


@pytest.fixture
def site(make_app: AppFactory, smtp_server: SmtpSink, tmp_path: Path) -> Site:
    """The site on the store under test (``make_app``: SQLite, or PostgreSQL + Milvus)."""
    settings_ = site_settings(tmp_path / "site", smtp_server.port)
    return build_site(make_app(**settings_))


@dataclass
class Report:
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)


def _cases(site: Site, identity: str, operation: Any, report: Report) -> Any:
    """A hypothesis test over ``operation``'s generated requests, recording failures."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed: the same requests every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def one(case: schemathesis.Case) -> None:
        cookies, headers = site.signed_in() if identity == "signed-in" else ({}, {})
        report.requests[identity] += 1
        try:
            response = case.call(cookies=cookies, headers=headers)
        except Exception as exc:  # the app raised: a server error
            report.failures.append(f"{identity} {operation.label}: {exc!r}")
            return
        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except (Exception, BaseExceptionGroup) as exc:
                first = str(exc).strip().splitlines()[:12]
                report.failures.append(
                    f"{identity} {operation.label} [{check.__name__}] "
                    f"{response.status_code}: {' | '.join(first)}"
                )

    return one


def run_schemathesis(site: Site, identity: str, report: Report) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app)
    for result in schema.get_all_operations():
        _cases(site, identity, result.ok(), report)()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    tmp_path: Path, smtp_server: SmtpSink
) -> None:
    pw = Paperwire(Settings(**site_settings(tmp_path / "home", smtp_server.port)))
    try:
        site = build_site(pw)
        report = Report()
        for identity in ("anonymous", "signed-in"):
            run_schemathesis(site, identity, report)
    finally:
        pw.close()
    counts = dict(report.requests)
    print(f"\nschemathesis requests: {counts}, failures: {len(report.failures)}")
    assert report.requests["anonymous"] > 500 and report.requests["signed-in"] > 500, counts
    assert not report.failures, f"{counts}\n" + "\n".join(sorted(set(report.failures))[:60])


# -- bad bytes and huge integers, every operation, from the same document -----------------


def _example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A plain valid-looking value for a parameter or body schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(spec["components"]["schemas"][name], spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], spec) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _example(sub, spec) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return dt.date(2025, 6, 10).isoformat()
    if schema.get("format") == "email" or "email" in str(schema.get("title", "")).lower():
        return "ada@example.org"
    return "2511.00001"


@dataclass
class Probe:
    method: str
    path: str
    params: dict[str, Any]
    body: Any
    where: str


def _probes(spec: dict[str, Any]) -> Iterator[Probe]:
    """For each operation: one request per string field with a NUL in it, and one per
    integer parameter past 2⁶³; everything else a plain value."""
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            base = {p["name"]: _example(p["schema"], spec) for p in params}
            body_schema = (
                op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ).get("schema")
            body = _example(body_schema, spec) if body_schema else None
            for p in params:
                value = base[p["name"]]
                if isinstance(value, str):
                    yield Probe(method, path, {**base, p["name"]: f"a\x00{value}"}, body, p["name"])
                if isinstance(value, int) and not isinstance(value, bool):
                    yield Probe(method, path, {**base, p["name"]: HUGE}, body, p["name"])
            for name, value in (body or {}).items():
                if isinstance(value, str):
                    bad = {**body, name: f"{value}\x00"}
                    yield Probe(method, path, base, bad, f"body.{name}")


def _send(client: TestClient, spec: dict[str, Any], probe: Probe, headers: dict[str, str]) -> int:
    op = spec["paths"][probe.path][probe.method]
    where = {p["name"]: p["in"] for p in op.get("parameters", [])}
    url = probe.path
    query = {}
    for name, value in probe.params.items():
        if where[name] == "path":
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        elif where[name] == "query":
            query[name] = str(value)
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if probe.body is not None:
        kwargs["content"] = json.dumps(probe.body)
        kwargs["headers"] = {**headers, "Content-Type": "application/json"}
    return client.request(probe.method.upper(), url, **kwargs).status_code


def test_nul_bytes_and_huge_integers_are_refused_on_every_operation(site: Site) -> None:
    spec = site.app.openapi()
    answers = {}
    for probe in _probes(spec):  # each as the signed-in admin, in a session of its own
        client = TestClient(site.app, raise_server_exceptions=False)
        cookies, headers = site.signed_in()
        client.cookies.update(cookies)
        answers[probe.method, probe.path, probe.where] = _send(client, spec, probe, headers)
    assert len(answers) > 60  # every operation's parameters and fields
    wrong = {k: v for k, v in answers.items() if v not in (404, 422)}
    assert not wrong, wrong


# -- what the document declares, and what the app does about it ----------------------------


def test_the_document_declares_constraints_and_one_422_shape(site: Site) -> None:
    spec = site.app.openapi()

    def param(path: str, name: str, method: str = "get") -> dict[str, Any]:
        found = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
        return found[0]["schema"]

    def plain(schema: dict[str, Any]) -> dict[str, Any]:
        """The non-null branch of an optional parameter's schema."""
        options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
        option = options[0]
        if "$ref" in option:
            return spec["components"]["schemas"][option["$ref"].rsplit("/", 1)[-1]]
        return option

    assert plain(param("/api/daily", "period"))["enum"] == ["day", "week", "month"]
    limit = plain(param("/api/daily", "limit"))
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 500)
    assert plain(param("/api/digest/preview", "frequency"))["enum"] == ["daily", "weekly"]
    assert plain(param("/api/search", "page"))["minimum"] == 1
    assert plain(param("/api/trending", "limit"))["maximum"] == 100
    assert plain(param("/api/orgs/{org}", "page"))["minimum"] == 1
    assert '"ge":' not in json.dumps(spec) and '"le":' not in json.dumps(spec)  # real keywords
    assert param("/api/collections/{collection_id}", "collection_id")["maximum"] == 2**63 - 1
    body = spec["components"]["schemas"]["CollectionCreate"]["properties"]["public"]
    assert body["type"] == "boolean"
    # one 422 shape everywhere; 404 wherever a path names something
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/InvalidRequest"), (method, path)
            if "{" in path:
                assert "404" in op["responses"], (method, path)


def test_malformed_json_strict_booleans_and_allowed_methods(site: Site) -> None:
    client = TestClient(site.app)
    cookies, headers = site.signed_in()
    client.cookies.update(cookies)
    # malformed JSON: the documented 422, in its documented shape
    r = client.post(
        "/api/collections",
        content=b'{"name": "x",',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert set(r.json()) == {"detail", "errors"} and r.json()["errors"][0]["type"] == "json_invalid"
    # booleans are booleans: 0 is not false
    for value in (0, 1, "true", "no"):
        r = client.post("/api/collections", json={"name": "x", "public": value}, headers=headers)
        assert r.status_code == 422, (value, r.text)
        assert r.json()["errors"][0]["loc"] == ["body", "public"]
    r = client.post("/api/collections", json={"name": "x", "public": False}, headers=headers)
    assert r.status_code == 201
    # OPTIONS and 405 name every method the path answers
    url = f"/api/collections/{site.collection_id}"
    r = client.options(url)
    assert r.status_code == 204
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    r = client.put(url, json={}, headers=headers)
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    r = client.head(url)  # answered wherever GET is, without the body
    assert r.status_code == 200 and r.content == b""
    r = client.options("/api/auth/login")
    assert r.status_code == 204 and r.headers["allow"] == "OPTIONS, POST"
    r = client.head("/api/auth/login")  # no GET there, so no HEAD either
    assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST"
