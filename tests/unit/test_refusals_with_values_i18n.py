"""Refusals that carry values (a limit, a status, a plan's name) are catalog templates with params
(issue 18): the English envelope is unchanged, and French and German readers get whole sentences,
the values that are labels themselves translated too (`portals.api.localized_message`)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from core.accounts.policy import check_password
from core.booking import lifecycle, policy
from core.errors import DomainError, ValidationFailed
from portals.api import localized_message

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def test_a_status_refusal_names_the_status_and_the_move_in_each_language():
    error = refusal(lambda: lifecycle.check_transition(SimpleNamespace(status="completed", cancelled_by=None),
                                                       "cancelled"))
    assert error.message == "A completed appointment cannot be cancelled."
    assert localized_message(error, "en") == error.message
    assert localized_message(error, "fr") == "Cette consultation (terminée) ne peut pas être annulée."
    assert localized_message(error, "de") == "Ein Termin im Status „abgeschlossen“ kann nicht abgesagt werden."


def test_the_reschedule_limit_says_its_number_in_french_and_german():
    error = refusal(lambda: policy.check_reschedule(actor_role="patient", now=NOW, start=NOW + timedelta(days=2),
                                                    reschedule_count=policy.MAX_RESCHEDULES))
    assert error.message == "An appointment can be rescheduled at most 2 times."
    assert localized_message(error, "fr") == "Une consultation peut être déplacée au plus 2 fois."
    assert localized_message(error, "de") == "Ein Termin kann höchstens 2-mal verschoben werden."


def test_the_password_rules_are_joined_sentence_by_sentence():
    error = ValidationFailed(parts=check_password("abcdefghijkl").parts)
    assert error.message == "Add an upper-case letter. Add a digit. Add a symbol, such as ! ? # or -."
    assert localized_message(error, "de") == ("Fügen Sie einen Großbuchstaben hinzu. Fügen Sie eine Ziffer hinzu. "
                                              "Fügen Sie ein Sonderzeichen hinzu, etwa ! ? # oder -.")


def test_a_value_that_is_no_catalog_label_is_kept_as_given():
    error = ValidationFailed("Use at most %(count)d characters.", params={"count": 120})
    assert localized_message(error, "fr") == "Utilisez au plus 120 caractères."


def test_a_support_message_refused_in_german_keeps_the_english_field_detail():
    from core.support import inbox

    error = refusal(lambda: inbox._clean("x" * (inbox.MAX_SUBJECT + 1), "Hello"))
    assert localized_message(error, "de") == f"Der Betreff darf höchstens {inbox.MAX_SUBJECT} Zeichen lang sein."
    assert error.details["fields"][0]["message"] == f"The subject can be at most {inbox.MAX_SUBJECT} characters."


@pytest.mark.parametrize(("language", "title"), [("en", "Video consultation with Dr Weiß"),
                                                 ("fr", "Consultation vidéo avec Dr Weiß"),
                                                 ("de", "Videosprechstunde mit Dr Weiß")])
def test_the_calendar_invitation_title_is_in_the_recipients_language(language, title):
    from core.notify import appointments

    assert appointments._summary(language, "Dr Weiß") == title
