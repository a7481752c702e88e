"""Domain errors: one type per broken rule, each with a stable code and HTTP status (SPEC §12)."""

from __future__ import annotations

from core.i18n import N_


class DomainError(Exception):
    code = "ERR_INTERNAL"
    status = 500
    default_message = N_("Something went wrong.")

    def __init__(self, message: str | None = None, *, details: dict | None = None, params: dict | None = None,
                 parts: list[tuple[str, dict]] | None = None):
        # `message` is an English catalog msgid (marked `N_`); with `params` it holds `%(name)s`
        # placeholders, so a portal can show it in the viewer's language (`template` % translated
        # params) while `message` — what the API envelope and the logs carry — stays English.
        # `parts`: several such sentences refused at once (the password policy's rules), each
        # translated on its own and joined.
        self.parts = parts or []
        if self.parts:
            message = " ".join(part % values if values else part for part, values in self.parts)
        template = message or self.default_message
        self.template = template
        self.params = params or {}
        self.message = template % self.params if self.params else template
        super().__init__(self.message)
        self.details = details or {}


class ValidationFailed(DomainError):
    code, status = "ERR_VALIDATION", 422
    default_message = N_("The request is not valid.")


class Unauthenticated(DomainError):
    code, status = "ERR_UNAUTHENTICATED", 401
    default_message = N_("Please sign in.")


# What a refused bearer token is told, wherever it is refused (its check, or the unit of work that
# confirms its session: `core.actor.Actor.unconfirmed_session`).
TOKEN_REFUSED = N_("The access token is invalid or has expired.")


class Forbidden(DomainError):
    code, status = "ERR_FORBIDDEN", 403
    default_message = N_("You are not allowed to do this.")


class NotFound(DomainError):
    code, status = "ERR_NOT_FOUND", 404
    default_message = N_("Not found.")


class SlotConflict(DomainError):
    code, status = "ERR_SLOT_CONFLICT", 409
    default_message = N_("This time is no longer available.")


class DuplicateEmail(DomainError):
    code, status = "ERR_DUP_EMAIL", 409
    default_message = N_("An account with this email already exists.")


class DuplicateRpps(DomainError):
    code, status = "ERR_DUP_RPPS", 409
    default_message = N_("This RPPS number is already registered with another doctor.")


class TimeWindow(DomainError):
    code, status = "ERR_TIME_WINDOW", 422
    default_message = N_("This is not possible at this time.")


class InvalidTransition(DomainError):
    """The appointment's state does not allow this move (cancelling a cancelled one, …)."""

    code, status = "ERR_INVALID_STATE", 409
    default_message = N_("This appointment can no longer be changed this way.")


class MaxReschedules(DomainError):
    code, status = "ERR_MAX_RESCHEDULES", 422
    default_message = N_("This appointment cannot be rescheduled again.")


class ProfileIncomplete(DomainError):
    code, status = "ERR_PROFILE_INCOMPLETE", 422
    default_message = N_("Please complete your health profile first.")


class NoDoctorAvailable(DomainError):
    """"See a doctor now" pressed when no doctor is taking consultations and free (SPEC §17)."""

    code, status = "ERR_NO_DOCTOR_AVAILABLE", 409
    default_message = N_("No doctor is taking consultations right now. Please book a time instead.")


class DoctorBusy(DomainError):
    """A doctor with a consultation within 45 minutes cannot accept a walk-in (SPEC §17, §3)."""

    code, status = "ERR_DOCTOR_BUSY", 409
    default_message = N_("You have a consultation within 45 minutes, so you cannot take a patient now.")


class PaymentFailed(DomainError):
    code, status = "ERR_PAYMENT_FAILED", 402
    default_message = N_("The payment did not go through.")


class VideoTestRequired(DomainError):
    code, status = "ERR_VIDEO_TEST_REQUIRED", 409
    default_message = N_("Please run the device test first.")


class RateLimited(DomainError):
    code, status = "ERR_RATE_LIMITED", 429
    default_message = N_("Too many attempts. Please wait and try again.")

    def __init__(self, message: str | None = None, *, retry_after: int = 60, params: dict | None = None):
        super().__init__(message, params=params)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    code, status = "ERR_UNAVAILABLE", 503
    default_message = N_("The service is briefly unavailable. Please retry.")


def all_error_types() -> list[type[DomainError]]:
    """Every DomainError subclass, so a test can compare the codes with the committed list."""
    found, todo = [], [DomainError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


class CsrfRejected(DomainError):
    code, status = "ERR_CSRF", 400
    default_message = N_("Your session form expired. Please reload the page and try again.")


class MethodNotAllowed(DomainError):
    code, status = "ERR_METHOD_NOT_ALLOWED", 405
    default_message = N_("This method is not allowed here.")


class PayloadTooLarge(DomainError):
    code, status = "ERR_PAYLOAD_TOO_LARGE", 413
    default_message = N_("The request is too large.")


class LinkExpired(DomainError):
    code, status = "ERR_LINK_EXPIRED", 410
    default_message = N_("This link has expired or was already used. Ask for a new one.")


class ChallengeRequired(DomainError):
    code, status = "ERR_CHALLENGE_REQUIRED", 403
    default_message = N_("Please answer the security question to continue.")


class WebhookRejected(DomainError):
    code, status = "ERR_WEBHOOK_SIGNATURE", 400
    default_message = N_("The webhook signature is not valid.")


class WebhookEarly(DomainError):
    """Non-2xx on purpose: Stripe delivers the event again later, when what it refers to is known."""

    code, status = "ERR_WEBHOOK_EARLY", 409
    default_message = N_("This event refers to a payment not known yet; please deliver it again later.")


class RoomTakenOver(DomainError):
    code, status = "ERR_ROOM_TAKEN_OVER", 409
    default_message = N_("You joined this consultation from another tab or device; this one has stepped aside.")


class SignalLimit(DomainError):
    code, status = "ERR_SIGNAL_LIMIT", 429
    default_message = N_("Too many signalling messages for this consultation.")


class ExportInProgress(DomainError):
    code, status = "ERR_EXPORT_IN_PROGRESS", 409
    default_message = N_("Your data export is already being prepared. We will email you the link when it is ready.")


class MalformedRequest(DomainError):
    """The request cannot even be read: unparseable or too deeply nested JSON, a Dash callback body
    of the wrong shape. (A readable request with wrong values is ERR_VALIDATION, 422.)"""

    code, status = "ERR_BAD_REQUEST", 400
    default_message = N_("The request could not be read.")
