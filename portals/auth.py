"""Flask-Login wiring: session users, bearer tokens on /api, and role checks for pages."""

from __future__ import annotations

import uuid
from functools import wraps

from flask import Flask, current_app, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user

from core import runtime
from core.accounts.authentication import AuthenticatedUser, load_user, token_actor, user_from_token
from core.actor import ANONYMOUS, Actor
from core.errors import TOKEN_REFUSED, Forbidden, Unauthenticated


class _LoginManager(LoginManager):
    def _session_protection_failed(self) -> bool:
        """Flask-Login hashes the client's address and user agent on every request before it looks
        at the session; an empty session (every anonymous visitor) can never fail the check, so
        it is not hashed for them (issue 21). Otherwise unchanged."""
        if not session:
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()
login_manager.login_view = "public.login"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "basic"


class SessionUser(UserMixin):
    """The signed-in user as Flask-Login sees them. The session id embeds the session version,
    so changing the password (which bumps it) signs out every other session."""

    def __init__(self, user: AuthenticatedUser, via_token: bool = False):
        self.user = user
        self.via_token = via_token

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"

    @property
    def id(self) -> uuid.UUID:
        return self.actor.user_id

    @property
    def role(self) -> str:
        return self.actor.role

    def confirm(self) -> None:
        """Raise Unauthenticated unless the session is still on: it was, when the user was read."""

    @property
    def display_name(self) -> str:
        return self.user.full_name or self.user.email

    @property
    def actor(self) -> Actor:
        return self.user.actor

    @property
    def locale(self) -> str | None:
        """The language saved on the account (SPEC §20), which `portals.i18n` serves pages in."""
        return self.user.locale


class TokenSessionUser(SessionUser):
    """A bearer token's user on a route whose service confirms the token's session itself, in the
    first round trip of its unit of work (`api_route(confirms_token=True)`: the hold, issue 21).
    Who and which role come from the verified, signed claims, with no read; the account (name,
    language, zones) is read — and a session that is over refused — only if something asks for it,
    and before any error is answered (`confirm`)."""

    def __init__(self, actor: Actor):
        self._actor = actor
        self._user: AuthenticatedUser | None = None
        self.via_token = True

    @property
    def user(self) -> AuthenticatedUser:
        if self._user is None:
            loaded = load_user(self._actor.user_id, self._actor.unconfirmed_session)
            if loaded is None or loaded.role != self._actor.role:
                raise Unauthenticated(TOKEN_REFUSED)
            self._user = loaded
        return self._user

    def confirm(self) -> None:
        """Raise Unauthenticated unless the token's session is still on."""
        _ = self.user

    def get_id(self) -> str:
        return f"{self._actor.user_id}:{self._actor.unconfirmed_session}"

    @property
    def actor(self) -> Actor:
        return self._actor if self._user is None else self._user.actor


@login_manager.user_loader
def _load_session_user(session_id: str) -> SessionUser | None:
    try:
        raw_id, raw_version = session_id.split(":")
        user = load_user(uuid.UUID(raw_id), int(raw_version))
    except ValueError:
        return None
    return SessionUser(user) if user else None


@login_manager.request_loader
def _load_bearer_user(req) -> SessionUser | None:
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token, secret = header[7:].strip(), runtime.current().settings.secret_key
    if getattr(current_app.view_functions.get(req.endpoint), "confirms_token", False):
        return TokenSessionUser(token_actor(token, secret=secret))
    return SessionUser(user_from_token(token, secret=secret), via_token=True)


@login_manager.unauthorized_handler
def _unauthorized():
    raise Unauthenticated()


def has_bearer_token() -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def has_valid_bearer_token() -> bool:
    """The request carries a bearer token that verifies (signature, expiry, audience, session
    version — on a `confirms_token` route the session version is confirmed by the service's unit
    of work before it reads or writes anything, and the request then acts as the token's own user
    only). Only that switches CSRF off: a cross-site page cannot attach a valid token, but it can
    attach a bogus `Authorization: Bearer x` next to the victim's session cookie (Flask-Login
    reads the session first, so such a header never reaches the token check on its own)."""
    if not has_bearer_token():
        return False
    if current_user.is_authenticated and getattr(current_user, "via_token", False):
        return True  # the request loader has verified it already
    try:
        user_from_token(request.headers["Authorization"][7:].strip(), secret=runtime.current().settings.secret_key)
    except Unauthenticated:
        return False
    return True


def current_actor() -> Actor:
    return current_user.actor if current_user.is_authenticated else ANONYMOUS


def require_role(*roles: str):
    """Views: the caller must be signed in with one of these roles (the service checks again)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthenticated()
            if current_user.role not in roles:
                current_user.confirm()  # a token whose session is over hears 401, not 403
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)


def sign_in(user) -> None:
    """Start a signed-in session for `user` (a fresh session id at every sign-in)."""
    session.clear()
    login_user(SessionUser(user))
