"""API plumbing: pydantic models documented by spectree, and the one place errors become responses.

spectree was chosen after a spike: it validates with pydantic v2 on plain Flask blueprints (no
custom Flask subclass, so the two Dash apps mount on the same server untouched), generates the
OpenAPI 3.1 document from the same models, and lets one hook rewrite its validation errors into
our SPEC §12 envelope. Its UI pages load scripts from a CDN, so they are switched off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel
from redis.exceptions import RedisError
from spectree import SpecTree
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from core import i18n
from core.errors import (
    CsrfRejected,
    DomainError,
    Forbidden,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from core.i18n import N_
from portals.i18n import LANGUAGE_COOKIE, current_language
from portals.observability import request_id

log = logging.getLogger(__name__)


class ApiModel(BaseModel):
    """camelCase on the wire (SPEC §12), snake_case in Python. A response model whose fields are
    named like a core view's attributes is built from it with `Model.model_validate(view)`
    (`from_attributes`), not copied field by field."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", from_attributes=True)


class ErrorBody(ApiModel):
    code: str
    message: str
    request_id: str | None = None
    details: Any = None


class ErrorEnvelope(ApiModel):
    error: ErrorBody


# pydantic's messages by error type, in words we translate (SPEC §20: the envelope's `message` in
# the request's language, its `code` never changes). `{name}` placeholders come from the error's
# `ctx`; a type missing here keeps pydantic's English, a custom validator's message (value_error) is
# looked up in the catalogs as written.
PYDANTIC_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "too_short": N_("List should have at least {min_length} items"),
    "too_long": N_("List should have at most {max_length} items"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "uuid_type": N_("UUID input should be a string, bytes or UUID object"),
    "uuid_parsing": N_("Input should be a valid UUID"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date"),
    "date_from_datetime_parsing": N_("Input should be a valid date"),
    "time_parsing": N_("Input should be in a valid time format"),
    "timezone_aware": N_("Input should have timezone info"),
    "model_type": N_("Input should be an object"),
    "model_attributes_type": N_("Input should be an object"),
    "dict_type": N_("Input should be a valid dictionary"),
    "list_type": N_("Input should be a valid list"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_type": N_("Input should be a valid decimal"),
    "json_invalid": N_("Invalid JSON"),
}


def _pydantic_message(error: dict, language: str) -> str:
    kind, context = error.get("type"), error.get("ctx") or {}
    english = str(error.get("msg", "invalid"))
    if kind == "value_error" or kind == "assertion_error" or kind not in PYDANTIC_MESSAGES:
        # A validator of ours: its message is a catalog entry (or stays as written).
        return i18n.translate(language, english.removeprefix("Value error, ").removeprefix("Assertion failed, "))
    template = i18n.translate(language, PYDANTIC_MESSAGES[kind])
    try:
        return template.format(**{k: v for k, v in context.items() if isinstance(v, str | int | float)})
    except (KeyError, IndexError, ValueError):
        return english


def _describe_validation(err: Exception, language: str = i18n.DEFAULT_LANGUAGE) -> list[dict]:
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return []
    return [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": _pydantic_message(e, language)}
        for e in errors(include_url=False, include_input=False)
    ]


def _validation_failure(err: Exception) -> ValidationFailed:
    """A pydantic validation error as our 422: the first field in the message, every field in
    `details`, in the request's language."""
    details = _describe_validation(err, error_language())
    first = details[0] if details else None
    message = f"{first['field'] or 'body'}: {first['message']}" if first else ValidationFailed.default_message
    return ValidationFailed(message, details={"fields": details})


def _validation_hook(_req, resp, err, _instance, *_args) -> None:
    """spectree calls this before answering a validation failure: give it our envelope."""
    if err is None or resp is None:
        return
    resp.set_data(envelope_json(_validation_failure(err)))
    resp.mimetype = "application/json"


def validated_json(model: type[BaseModel]) -> Any:
    """The JSON body as `model`, for a route declared with `skip_validation=True` (the hold, issue
    21): spectree's request validation read the query, headers and cookies of every call too.
    The same body (`{}` when there is none), the same 422 envelope as `_validation_hook`."""
    try:
        return model.model_validate(request.get_json(silent=True) or {})
    except PydanticValidationError as err:
        raise _validation_failure(err) from None


# spectree leaves out every route under its own doc path, so its path is not /api: we serve the
# document at /api/openapi.json ourselves. Strict mode documents only the validated API routes.
class _FlaskPlugin(FlaskPlugin):
    """spectree's Flask plugin, which in production trusts our own responses: re-validating every
    answer against its model cost 2.2 % of an availability call (issue 21). Development and tests
    keep checking them, so a response that drifts from its documented model fails there."""

    check_responses = True

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        if not self.check_responses and isinstance(resp, Response):
            # Unchecked, spectree would copy the finished response into a new one (body, status,
            # headers): hand it on as it is (issue 21).
            return resp, None
        return super().validate_response(resp, resp_model if self.check_responses else None,
                                         skip_validation, force_resp_serialize)

    def request_validation(self, request, query, json, form, headers, cookies):
        """spectree's, without copying every header and cookie into dicts when no model reads
        them (none of our routes validates headers or cookies): that was most of its cost on a
        GET (issue 21)."""
        if headers is not None or cookies is not None:
            return super().request_validation(request, query, json, form, headers, cookies)
        has_data = request.method not in ("GET", "DELETE")
        use_json = json and has_data and request.mimetype not in self.FORM_MIMETYPE
        use_form = form and has_data and request.mimetype in self.FORM_MIMETYPE
        adapter = self.model_adapter
        request.context = Context(
            adapter.validate_obj(query, get_multidict_items(request.args, query)) if query else None,
            adapter.validate_obj(json, request.get_json(silent=True) or {}) if use_json else None,
            adapter.validate_obj(form, self.fill_form(request)) if use_form else None,
            None,
            None,
        )


api_spec = SpecTree(
    "flask", backend=_FlaskPlugin, title="Doktu API", version="1.0.0", path="apidoc", page_templates={}, mode="strict",
    before=_validation_hook, validation_error_status=422, annotations=False,
    description="Tele-consultation booking. Errors: {\"error\": {\"code\", \"message\"}} (SPEC §12).",
)


def api_route(route: Callable, *, role: str | tuple[str, ...] | None = None, guards: Sequence[Callable] = (),
              confirms_token: bool = False, **validate: Any) -> Callable:
    """One decorator for a JSON endpoint, in place of the stack every endpoint repeated:

        @api_route(patient.post("/api/slots/hold"), role="patient", guards=[slot_holds],
                   json=HoldRequest, resp=Response(HTTP_201=HoldOut, ...), tags=["slots"])

    is `route`, then `require_role(role)` (401/403 before anything else), then each guard in order
    (rate limits), then spectree's validation and documentation with `validate`'s arguments.

    `confirms_token`: a bearer token is taken on its verified claims, without reading the account,
    because every path of the view's service acts in a unit of work that confirms the token's
    session in its first round trip (`core.actor.Actor.unconfirmed_session`; issue 21)."""
    from portals.auth import require_role  # portals.auth answers with this module's errors

    def decorate(view: Callable) -> Callable:
        wrapped = api_spec.validate(**validate)(view)
        for guard in reversed(guards):
            wrapped = guard(wrapped)
        if role is not None:
            wrapped = require_role(*((role,) if isinstance(role, str) else role))(wrapped)
        wrapped.confirms_token = confirms_token
        return route(wrapped)

    return decorate


def to_json(model: ApiModel, status: int = 200) -> tuple[Response, int]:
    return jsonify(model.model_dump(mode="json", by_alias=True)), status


def raw_json(body: object, status: int = 200) -> Response:
    """A body already in its wire shape (camelCase, strings for times): for hot paths where
    building a model per item cost more than the work (issue 21). The route still declares its
    model for the OpenAPI document; outside production spectree checks the body against it, except
    on a route that skips its validation (the hold), whose tests compare the shape with the model's."""
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")


def error_language() -> str:
    """The request's language for an error. Choosing it may load the signed-in user, and that is
    what failed when a bearer token is bad (401): then the cookie and Accept-Language decide."""
    try:
        return current_language()
    except DomainError:
        cookie = request.cookies.get(LANGUAGE_COOKIE)
        if cookie and i18n.language_of(cookie) == cookie:
            return cookie
        return i18n.negotiate(request.headers.get("Accept-Language")) or i18n.DEFAULT_LANGUAGE


def localized_message(error: DomainError, language: str | None = None) -> str:
    """The error's message in the request's language (user's setting → `doktu_lang` cookie →
    Accept-Language → English), looked up in the catalogs as written: every default message is
    marked `N_`, so is what a handler here says; a message a catalog does not hold stays English.
    One place for every endpoint, the Dash portals' JSON errors included; codes never change."""
    return i18n.translate_refusal(language or error_language(), error)


def envelope(error: DomainError) -> dict:
    body: dict[str, Any] = {"code": error.code, "message": localized_message(error), "requestId": request_id()}
    if error.details:
        body["details"] = error.details
    return {"error": body}


def envelope_json(error: DomainError) -> bytes:
    return json.dumps(envelope(error)).encode()


def wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path == "/api" or "/_dash-" in path


HTTP_ERRORS: dict[int, type[DomainError]] = {
    400: MalformedRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound,
    405: MethodNotAllowed, 413: PayloadTooLarge, 415: ValidationFailed, 429: RateLimited,
}


def _session_checked(error: DomainError) -> DomainError:
    """A bearer token taken on its claims (`api_route(confirms_token=True)`) whose request was
    refused before its unit of work confirmed the session: confirm it now, so a token that is
    signed out hears 401 here as everywhere, not what its request would have met."""
    confirm = getattr(g.get("_login_user"), "confirm", None)
    if confirm is None or isinstance(error, Unauthenticated):
        return error
    try:
        confirm()
    except Unauthenticated as refused:
        return refused
    except Exception:  # the account could not be read (database down): answer what was refused
        log.warning("token session not confirmed before an error", exc_info=True)
    return error


def respond_with_error(error: DomainError):
    error = _session_checked(error)
    if isinstance(error, Unauthenticated) and not wants_json():
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    if error.status >= 500:
        log.error("request failed", extra={"code": error.code})
    if wants_json():
        response = jsonify(envelope(error))
        response.status_code = error.status
    else:
        response = Response(
            render_template("errors/error.html", error=error, request_id=request_id()),
            status=error.status,
        )
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, ServiceUnavailable):
        response.headers["Retry-After"] = "5"
    return response


def _http_error(exc: HTTPException):
    error_type = HTTP_ERRORS.get(exc.code or 500)
    if error_type is None:
        return exc
    if error_type is RateLimited:  # the limiter's description names its internal limits
        retry = exc.get_response().headers.get("Retry-After") if hasattr(exc, "get_response") else None
        return respond_with_error(RateLimited(retry_after=int(retry) if retry and retry.isdigit() else 60))
    # Werkzeug's own descriptions are English prose about HTTP; ours are the error's (translated)
    # default. A description given on purpose (`abort(400, "…")`) is kept and looked up.
    generic = exc.description == type(exc).description
    message = None if error_type in (NotFound, MethodNotAllowed) or generic else exc.description
    response = respond_with_error(error_type(message))
    if "Allow" in (headers := dict(exc.get_headers())):  # a 405 says which methods would do
        response.headers["Allow"] = headers["Allow"]
    return response


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error")
    error = DomainError(N_("An unexpected error occurred. Our team has been told; quote the request id."))
    return respond_with_error(error)


def _database_down(exc: OperationalError):
    log.warning("database unavailable", extra={"error": type(exc.orig).__name__})
    return respond_with_error(ServiceUnavailable())


def _redis_down(exc: RedisError):
    """Redis failing under something that cannot work without it: 503 + Retry-After in the
    envelope, never a 500. Sign-in, sign-up, forgot, rate limits, holds and the figures degrade
    instead (issue 23 §4), so this is the last line."""
    log.warning("redis unavailable", extra={"error": type(exc).__name__})
    return respond_with_error(ServiceUnavailable())


# The webhook's signature covers the raw bytes: it decides (400), whatever the content type says.
# The video upload probe takes any bytes (it only counts them).
RAW_BODY_PATHS = {"/api/payment/webhook", "/api/video-test/upload"}


def require_json_bodies() -> None:
    """API writes with a body speak JSON; anything else is a clear 422, not a crash later."""
    if (request.path.startswith("/api/") and request.method in {"POST", "PUT", "PATCH"}
            and request.content_length and not request.is_json and request.path not in RAW_BODY_PATHS):
        raise ValidationFailed(N_("Send the body as JSON (Content-Type: application/json)."))


def init_api(app: Flask) -> None:
    from portals.hygiene import init_hygiene

    init_hygiene(app)
    app.before_request(require_json_bodies)
    app.register_error_handler(DomainError, respond_with_error)
    app.register_error_handler(CSRFError, lambda exc: respond_with_error(CsrfRejected()))
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(RedisError, _redis_down)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def register_openapi(app: Flask, *, check_responses: bool = True) -> None:
    """Call after every blueprint is registered: spectree documents the routes it can see."""
    api_spec.backend.check_responses = check_responses
    api_spec.register(app)

    @app.get("/api/openapi.json")
    def openapi_document():
        return jsonify(api_spec.spec)
