"""Kept rankings across community writes: ``python -m paperwire.bench.kept_rankings HOME
ROUNDS`` (writes accounts, follows and comments into ``HOME``: give it a copy).

Ranks five relevance queries once (keyword mode, kept at once), then runs ``ROUNDS``
rounds of a signup, a follow and a comment through the services (each committed), each
round followed by the same searches, and counts the searches answered from the kept
ranking (``search.results``: the kept entry was not replaced) and their milliseconds.
Why: a community write reads none of what a ranking is computed from, so it should not
end the kept rankings (``store.papers.SEARCH_READS``); this shows whether it does.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.community import UserCreate
from paperwire.models.discussions import CommentCreate
from paperwire.models.people import FollowKind
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperwire.services.community import community_of
from paperwire.services.discussions import discussions_of
from paperwire.services.people import people_of

QUERIES = (
    "graph neural networks",
    "sparse attention",
    "diffusion models for video",
    "reinforcement learning from human feedback",
    "retrieval augmented generation",
)


def _summary(name: str, times: list[float]) -> str:
    if not times:
        return f"  {name}: none"
    return (
        f"  {name}: median {statistics.median(times):.2f} ms, "
        f"mean {statistics.mean(times):.2f} ms, sum {sum(times):.0f} ms"
    )


def run(home: Path, rounds: int) -> list[str]:
    """The report's lines (see the module doc)."""
    pw = Paperwire(Settings(home=home, semantic=False))
    try:
        pw.keep_rankings()
        pw.search.results.settle = 0.0  # keep at once (a server waits ~3 s after a change)
        pw.search.results.seconds = 3600.0
        requests = [SearchRequest(q=q, mode=SearchMode.keyword) for q in QUERIES]
        keys = ["search " + r.model_dump_json() for r in requests]  # as SearchService keys
        for request in requests:
            pw.search.search(request)
        papers = [c.arxiv_id for c in pw.store.browse(SearchFilters(), SortOrder.newest, 50, 0)[1]]
        community, talk, people = community_of(pw), discussions_of(pw), people_of(pw)
        kept: list[float] = []
        ranked: list[float] = []
        start = pw.db.data_version()[0]
        for i in range(rounds):
            name = f"Bench {i}"
            account = community.signup(
                UserCreate(email=f"bench{i}@example.org", display_name=name, password="p" * 16)
            )
            people.follow(account, FollowKind.category, "cs.LG")
            talk.post(account, papers[i % len(papers)], CommentCreate(body=f"Comment {i}."))
            for request, key in zip(requests, keys, strict=True):
                before = pw.search.results._kept.get(key)
                t0 = time.perf_counter()
                pw.search.search(request)
                ms = (time.perf_counter() - t0) * 1000
                same = before is not None and pw.search.results._kept.get(key) is before
                (kept if same else ranked).append(ms)
        versions = pw.db.data_version()[0] - start
    finally:
        pw.close()
    total = len(kept) + len(ranked)
    return [
        f"rounds={rounds} versions={versions} searches={total} from_kept={len(kept)} "
        f"ranked_again={len(ranked)}",
        _summary("kept", kept),
        _summary("ranked", ranked),
        f"  all searches: {sum(kept) + sum(ranked):.0f} ms",
    ]


def main(argv: list[str]) -> None:
    home, rounds = Path(argv[0]), int(argv[1]) if len(argv) > 1 else 20
    print("\n".join(run(home, rounds)))


if __name__ == "__main__":
    main(sys.argv[1:])
