"""What "now" is for this install's data: the clock every time-based feature reads.

Trending, the trending feeds, digests and their preview, the "new" of saved-search
alerts and the home feed's default day all ask ``data_clock(pw)`` instead of reading
the wall clock. The rule:

* **live** — while the sources are current (a source featured papers within the last
  ``clock_stale_days`` days, default 3: the Hugging Face feed has papers every weekday),
  "now" is the wall clock;
* **as of the data** — otherwise (an offline install, a sync that stopped) "now" is the
  end of the newest day a source featured a paper (23:59:59 UTC), and the pages say so:
  "as of Aug 21, 2026, the latest papers here". Trending ranks the papers of that day
  and the days before it, a digest holds them, an alert's "new" means new then.

Papers submitted on this site do not count as a source: one submission to a stale install
must not turn the clock live and empty trending. A site without featured days (arXiv
imports only) uses its newest publication day. Delivery stays on the wall clock: a digest
is still sent once per real day or week (``period_key``); only what it holds follows the
data.
"""

from __future__ import annotations

import datetime as dt

from paperwire.core import Paperwire
from paperwire.models.common import DataClock
from paperwire.models.status import StatusPublic
from paperwire.store.submissions import SOURCE as SUBMISSION_SOURCE

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_label(day: dt.date) -> str:
    """``Aug 21, 2026``: how services name a day in what they say to people."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def data_clock(pw: Paperwire, wall: dt.datetime | None = None) -> DataClock:
    """The clock for ``pw``'s data at wall-clock time ``wall`` (default: now, UTC)."""
    wall = (wall or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    latest = pw.store.latest_source_day(exclude=[SUBMISSION_SOURCE])
    stale = pw.settings.clock_stale_days
    if latest is None:
        return DataClock(now=wall, live=True, latest_day=None, reason="no papers yet")
    behind = (wall.date() - latest).days
    if behind <= stale:
        reason = (
            f"the sources are current: the newest papers are from {day_label(latest)} "
            f"(within {stale} days)"
        )
        return DataClock(now=wall, live=True, latest_day=latest, reason=reason)
    end_of_day = dt.datetime.combine(latest, dt.time(23, 59, 59), tzinfo=dt.UTC)
    return DataClock(
        now=end_of_day,
        live=False,
        latest_day=latest,
        note=f"as of {day_label(latest)}, the latest papers here",
        reason=f"nothing newer than {day_label(latest)} came from the sources ({behind} days ago, "
        f"more than PAPERWIRE_CLOCK_STALE_DAYS={stale}): time is measured from that day",
    )


def clocked_status(pw: Paperwire) -> StatusPublic:
    """What ``/status``, ``/api/status`` and ``paperwire status`` report: the install's
    counts (``Paperwire.status``, the one definition) with the clock above, which core
    cannot import. The page built its own copy before, which counted papers waiting for
    an embedding where semantic search is off and loaded the model to say whether it was
    ready."""
    return pw.status().model_copy(update={"clock": data_clock(pw)})
