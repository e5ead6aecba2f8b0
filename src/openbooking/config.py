from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Every setting can be set as an environment variable `OPENBOOKING_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="OPENBOOKING_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'openbooking.db'}",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    var_dir: Path = Field(
        default=DEFAULT_VAR_DIR, description="Runtime files (demo token, outbox)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    default_dialect: Literal["altegio", "yclients"] = Field(
        default="altegio",
        description="Dialect used when the Accept header names neither vendor media type.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    log_level: str = "INFO"
    db_echo: bool = False
