"""Static assets from our own origin (SPEC §0): cache-busted by content hash, cached for a year,
compressed (brotli or gzip) along with the pages."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, request
from flask_compress import Compress

STATIC = Path(__file__).with_name("static")
YEAR = 365 * 24 * 3600
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/csv", "application/javascript",
                    "text/javascript", "application/json", "image/svg+xml"]


@lru_cache(maxsize=256)
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """`/static/css/doktu.css?v=<hash>`: a new file gets a new URL, so browsers may cache forever."""
    return f"/static/{filename}?v={_digest(filename)}"


def _cache_versioned(response: Response) -> Response:
    if request.path.startswith("/static/") and request.args.get("v") and response.status_code == 200:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response


def init_assets(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Static files are streamed; Flask-Compress leaves gzip out of its streaming list by default.
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", 512)
    Compress(app)
    app.after_request(_cache_versioned)
    app.add_template_global(asset_url)
