"""The language switch (SPEC §20): a small POST form in every page's header (and footer on mobile)
and in both portals' headers. It works without JavaScript (a submit button); site.js submits it as
soon as another language is chosen. The choice goes into the `doktu_lang` cookie and, for a signed-in
user, onto the account (`users.locale`), which their emails, SMS and documents follow too."""

from __future__ import annotations

from flask import redirect, request
from flask_login import current_user

from core.accounts.settings import check_language, set_language
from portals.i18n import COOKIE_MAX_AGE, LANGUAGE_COOKIE
from portals.public import public
from portals.public.pages import safe_next


@public.post("/language")
def switch_language():
    """Form fields: `language` (en, fr, de), `next` (the page to go back to). An unknown language is
    a 422 ERR_VALIDATION in the error envelope, like any other bad form value."""
    language = check_language(request.form.get("language"))
    if current_user.is_authenticated:
        set_language(current_user.actor, language)
    response = redirect(safe_next(request.form.get("next")) or "/", code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure)
    return response
