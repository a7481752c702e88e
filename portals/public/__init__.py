"""Public site: home, sign-in, health checks and the public API (SPEC §7, §12, §13)."""

from flask import Blueprint

public = Blueprint("public", __name__)

from portals.public import accounts, api, booking, content, dev, doctors, language, pages, support, verify, webhooks  # noqa: E402, F401  (routes register on import)
