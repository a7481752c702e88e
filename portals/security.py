"""Request guards: CSRF for cookie-authenticated writes, role gates on the Dash portals."""

from __future__ import annotations

from flask import Flask, Response, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from core.errors import Forbidden, Unauthenticated
from portals.auth import has_valid_bearer_token

csrf = CSRFProtect()

# Dash portals and the role each requires (SPEC §12 "Pages").
PORTALS = {"/doctor": "doctor", "/admin": "admin"}
# Stripe signs its webhook. The auth endpoints read no session and take JSON only, which a
# cross-site page cannot send without a CORS preflight that we never grant.
CSRF_EXEMPT_PATHS = {"/api/payment/webhook", "/api/auth/token", "/api/auth/signup", "/api/auth/forgot"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def portal_role(path: str) -> str | None:
    for prefix, role in PORTALS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return None


def is_background_request(path: str) -> bool:
    """Dash's own XHRs (layout, dependencies, callbacks): they want JSON, never a redirect."""
    return "/_dash-" in path or "/_reload-hash" in path


def guard_portals() -> Response | None:
    role = portal_role(request.path)
    if role is None:
        return None
    if not current_user.is_authenticated:
        if is_background_request(request.path):
            raise Unauthenticated()
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    if current_user.role != role:
        raise Forbidden(f"This area is for {role}s only.")
    return None


def protect_writes() -> None:
    """Cookie sessions need the CSRF token on every write; calls authenticated by a *valid* bearer
    token do not (a header alone proves nothing: a bogus one answers 401 or, next to a session
    cookie, still needs the token)."""
    if request.method not in UNSAFE_METHODS or request.path in CSRF_EXEMPT_PATHS:
        return
    if request.routing_exception is not None:
        return  # 404/405 answer anyway; nothing will be written
    if has_valid_bearer_token():
        return
    csrf.protect()


def share_csrf_with_dash(response: Response) -> Response:
    """Dash's renderer sends the `_csrf_token` cookie back as X-CSRFToken on every callback."""
    if portal_role(request.path) and current_user.is_authenticated and response.status_code == 200:
        portal_prefix = "/" + request.path.split("/")[1] + "/"
        response.set_cookie("_csrf_token", generate_csrf(), samesite="Strict", httponly=False,
                            secure=request.is_secure, path=portal_prefix)
    return response


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "geolocation=(), payment=(self)")
    if request.path.startswith("/api/") or portal_role(request.path):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # we decide per request, above
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)
    app.before_request(guard_portals)
    app.before_request(protect_writes)
    app.after_request(share_csrf_with_dash)
    app.after_request(set_security_headers)
