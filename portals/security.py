"""Request guards: CSRF for cookie-authenticated writes, role gates on the Dash portals."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from core import runtime
from core.config import Settings
from core.errors import Forbidden, Unauthenticated
from core.i18n import N_
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
        raise Forbidden(N_("This area is for %(role)ss only."), params={"role": role})
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


# The one inline script of the Jinja pages (base.html): it marks the page as scripted before the
# first paint. Allowed by its hash, like Dash's renderer, so no other inline script can run.
PAGE_INLINE_SCRIPT = 'document.documentElement.className = "js";'
RECAPTCHA_SCRIPTS = ("https://www.google.com/recaptcha/", "https://www.gstatic.com/recaptcha/")
RECAPTCHA_FRAMES = ("https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/")
STRIPE_CHECKOUT = "https://checkout.stripe.com"
ZOOM_CONNECT = ("https://*.zoom.us", "wss://*.zoom.us")
HSTS = "max-age=63072000; includeSubDomains"  # two years; production is served over HTTPS only


def script_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def content_security_policy(settings: Settings, inline_script_hashes: Iterable[str] = ()) -> str:
    """The one policy of every response (issue 23 §11). Scripts from our origin and the hashed
    inline scripts only (Dash's renderer, the page's class switch); styles allow inline because
    React, Dash components and plotly write style attributes. Third-party origins are listed only
    when their integration is configured: reCAPTCHA (script + frame), Stripe Checkout (the form
    that redirects there), Zoom's Video SDK (script, its servers, blob workers)."""
    scripts = ["'self'", *dict.fromkeys([script_hash(PAGE_INLINE_SCRIPT), *inline_script_hashes])]
    connect, frames, forms = ["'self'"], ["'none'"], ["'self'"]
    workers, media = ["'self'"], ["'self'", "blob:"]
    if settings.recaptcha_secret_key and settings.recaptcha_site_key:
        scripts += RECAPTCHA_SCRIPTS
        frames = list(RECAPTCHA_FRAMES)
    if settings.stripe_secret_key:
        forms.append(STRIPE_CHECKOUT)
    if settings.zoom_sdk_key and settings.zoom_sdk_secret:
        parts = urlsplit(settings.zoom_sdk_script_url)
        if parts.scheme and parts.netloc:
            scripts.append(f"{parts.scheme}://{parts.netloc}")
        connect += ZOOM_CONNECT
        workers.append("blob:")
    directives = {
        "default-src": ["'self'"], "script-src": scripts, "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"], "font-src": ["'self'", "data:"], "connect-src": connect,
        "media-src": media, "worker-src": workers, "frame-src": frames, "object-src": ["'none'"],
        "base-uri": ["'self'"], "form-action": forms, "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def init_content_security_policy(app: Flask, dash_apps: Iterable) -> None:
    """Build the policy once, after both Dash portals exist: their inline scripts (the renderer,
    inline clientside callbacks) are allowed by hash (`Dash.csp_hashes`)."""
    hashes = [h for dash_app in dash_apps for h in dash_app.csp_hashes()]
    app.extensions["doktu_csp"] = content_security_policy(runtime.current().settings, hashes)


_FIXED_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
                  ("X-Frame-Options", "DENY"), ("Permissions-Policy", "geolocation=(), payment=(self)"))
NO_STORE = ("cache-control", "Cache-Control", "no-store")
# (settings, policy) -> the headers they give, as (lower-case name, name, value): built once per
# settings object (frozen; a test swaps the whole object), not re-read on every response.
_headers_for: list[tuple[object, object, tuple[tuple[str, str, str], ...]]] = []


def security_headers(settings: Settings, policy: str | None) -> tuple[tuple[str, str, str], ...]:
    for known_settings, known_policy, headers in _headers_for:
        if known_settings is settings and known_policy == policy:
            return headers
    pairs = list(_FIXED_HEADERS)
    if policy:
        header = "Content-Security-Policy-Report-Only" if settings.csp_report_only else "Content-Security-Policy"
        pairs.append((header, policy))
    if settings.is_production:
        pairs.append(("Strict-Transport-Security", HSTS))
    headers = tuple((name.lower(), name, value) for name, value in pairs)
    _headers_for[:] = [(settings, policy, headers)]
    return headers


def set_security_headers(response: Response) -> Response:
    """The same headers on every response, each unless the view set its own (one pass over the
    response's headers instead of a lookup per header: issue 21)."""
    headers = security_headers(runtime.current().settings, current_app.extensions.get("doktu_csp"))
    present = {name.lower() for name, _ in response.headers}
    path = request.path
    if path.startswith("/api/") or portal_role(path):
        headers = (*headers, NO_STORE)
    add = response.headers.add
    for lower, name, value in headers:
        if lower not in present:
            add(name, value)
    return response


def init_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # we decide per request, above
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)
    app.before_request(guard_portals)
    app.before_request(protect_writes)
    app.after_request(share_csrf_with_dash)
    app.after_request(set_security_headers)
