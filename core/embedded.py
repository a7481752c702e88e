"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is set (SPEC §1)."""

from __future__ import annotations

import logging
from pathlib import Path

from core.config import sqlalchemy_url

log = logging.getLogger(__name__)


def start_embedded_postgres(instance_path: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) a PostgreSQL in `instance/pgdata` and return its owner URL."""
    import pgserver  # only the embedded mode needs it

    data = instance_path / "pgdata"
    data.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data), cleanup_mode=cleanup_mode)
    log.info("embedded postgresql ready", extra={"data": str(data)})
    return sqlalchemy_url(server.get_uri())
