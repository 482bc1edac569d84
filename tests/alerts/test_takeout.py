"""Alerts in the takeout: every kind is exported (never a webhook secret or a feed key),
search and follow alerts come back in another install, what cannot is listed; deleting
the account removes its alerts, their deliveries and its access tokens."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from paperwire.jobs.webhooks import plan_webhooks
from paperwire.models.alerts import AlertKind
from paperwire.models.community import UserCreate
from paperwire.services.alerts import alerts_of
from paperwire.services.community import community_of
from paperwire.services.takeout import delete_account, import_takeout, write_takeout
from paperwire.store.schema.alerts import Alert, PersonalToken
from paperwire.store.schema.subscriptions import DigestOutbox
from tests.alerts.conftest import FAST_RETRY, Receiver
from tests.community.conftest import FAST, make_env
from tests.conftest import AppFactory


def test_alerts_travel_in_the_takeout_and_leave_with_the_account(
    make_app: AppFactory, receiver: Receiver
) -> None:
    env = make_env(make_app, **FAST_RETRY)
    ada = env.account("ada@example.org", "Ada")
    ada_id = int(ada.me()["id"])  # type: ignore[index]
    cid = ada.api("POST", "/api/collections", json={"name": "Mine"}).json()["id"]
    for body in [
        {"q": "sparse attention"},
        {"kind": "follow", "target": "org:paperwire-lab", "email": False},
        {"kind": "collection", "target": str(cid), "email": False},
        {"q": "sparse attention", "name": "hook", "email": False, "webhook_url": receiver.url},
    ]:
        assert ada.api("POST", "/api/alerts", json=body).status_code == 201
    assert ada.api("POST", "/api/tokens", json={"name": "laptop"}).status_code == 201
    assert plan_webhooks(env.pw).queued == 1  # a delivery queued for the webhook

    sink = io.BytesIO()
    write_takeout(env.pw, ada_id, sink)
    with zipfile.ZipFile(io.BytesIO(sink.getvalue())) as z:
        exported = z.read("alerts.jsonl").decode()
        assert "tokens.jsonl" not in z.namelist()
    rows = [json.loads(line) for line in exported.splitlines()]
    assert [r["kind"] for r in rows] == ["search", "follow", "collection", "search"]
    assert rows[3]["webhook_url"] == receiver.url
    assert "whsec_" not in exported and "feed_key" not in exported

    other = make_app(**FAST)
    new = community_of(other).signup(
        UserCreate(email="ada@example.org", password="a long password", display_name="Ada")
    )
    report = import_takeout(other, new.id, "ada@example.org", io.BytesIO(sink.getvalue()))
    assert report.imported["alerts"] == 3
    assert any("make it again for the imported collection" in u for u in report.unmatched)
    assert any("set its webhook again" in u for u in report.unmatched)
    back = alerts_of(other).store.of_user(new.id)
    assert [(a.kind, a.name, a.target, a.email, a.webhook_url) for a in back] == [
        (AlertKind.search, "sparse attention", None, True, None),
        (AlertKind.follow, "paperwire-lab", "org:paperwire-lab", False, None),
        (AlertKind.search, "hook", None, False, None),
    ]

    delete_account(env.pw, ada_id)
    with env.pw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(PersonalToken)) == 0
        queued = select(func.count()).select_from(DigestOutbox)
        assert s.scalar(queued.where(DigestOutbox.alert_id.is_not(None))) == 0
