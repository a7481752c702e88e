"""Follow-up suggestions (SPEC §18) and the doctor's Patient records telling namesakes apart; the
admin console's review decisions and the doctor portal's documents dialog as plain functions."""

from datetime import date

import pytest

from core.doctors.patient_records import list_patients
from core.documents import follow_ups, issuing
from core.documents.follow_ups import follow_up_window
from core.errors import ValidationFailed
from core.ratings import reviews
from portals.admin import reviews_panel
from portals.doctor import documents_panel, panels
from tests.integration.scheduling.conftest import PARIS, paris


@pytest.mark.parametrize(("days", "today", "book_by", "open_from"), [
    (14, date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 10)),  # the week that ends on the last day
    (3, date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 2)),  # never before today
    (14, date(2026, 3, 15), date(2026, 3, 16), date(2026, 3, 15)),
])
def test_the_booking_card_opens_on_the_week_that_ends_on_the_suggested_day(days, today, book_by, open_from):
    assert follow_up_window(date(2026, 3, 2), days, today) == (book_by, open_from)


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (60, True), (61, False), (None, False)])
def test_follow_up_days_at_their_edges(visit, days, ok):
    v = visit()
    if ok:
        assert follow_ups.suggest_follow_up(v.doctor.actor, v.appointment_id, days) == days
    else:
        with pytest.raises(ValidationFailed):
            follow_ups.suggest_follow_up(v.doctor.actor, v.appointment_id, days)


def test_the_patient_gets_a_button_to_that_doctors_booking_card_on_the_right_week(visit, client, login):
    v = visit("completed")
    follow_ups.suggest_follow_up(v.doctor.actor, v.appointment_id, 14)
    [suggestion] = follow_ups.patient_follow_ups(v.patient.actor)
    assert suggestion.booking_url == f"/doctors/{v.doctor.doctor.id}?from=2026-03-10#booking"
    login(v.patient.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Book again with Dr. Camille Martin" in page
    assert f"/doctors/{v.doctor.doctor.id}?from=2026-03-10#booking" in page
    card = client.get(f"/doctors/{v.doctor.doctor.id}?from=2026-03-10").get_data(as_text=True)
    assert 'datetime="2026-03-10' in card or "2026-03-10" in card


def test_an_expired_suggestion_is_no_longer_shown(visit, clock_at):
    v = visit("completed")
    follow_ups.suggest_follow_up(v.doctor.actor, v.appointment_id, 3)
    clock_at(paris(6, 9))
    assert follow_ups.patient_follow_ups(v.patient.actor) == []


def test_patient_records_tell_namesakes_apart(visit, make_user):
    doctor = make_user("doctor", full_name="Dr. Camille Martin")
    for born in (date(1990, 1, 2), date(1985, 6, 7)):
        namesake = make_user("patient", full_name="Chloé Bernard", date_of_birth=born)
        visit("completed", doctor=doctor, patient=namesake)
    rows = list_patients(doctor.actor)
    assert [(r.name, r.date_of_birth) for r in rows] == [("Chloé Bernard", date(1985, 6, 7)),
                                                        ("Chloé Bernard", date(1990, 1, 2))]
    assert len({r.email for r in rows}) == 2
    table = str(panels.records_table(rows, PARIS, date(2026, 3, 2)).to_plotly_json())
    assert "07/06/1985 (40)" in table and "02/01/1990 (36)" in table and rows[0].email in table


def test_the_documents_dialog_issues_a_prescription_and_keeps_the_note(visit):
    v = visit()
    opened = documents_panel.open_dialog(v.doctor.actor, str(v.appointment_id))
    assert opened[0] is True and opened[1].startswith("Chloé Bernard · Mon 02 Mar 2026, 09:00")
    values = {documents_panel.rx_id(f, 0): x for f, x in zip(
        ("medicine", "dose", "frequency", "duration", "instructions"),
        ("Ibuprofen 400 mg", "1 tablet", "3 times a day", "5 days", "After meals"), strict=True)}
    feedback, issued = documents_panel.act(v.doctor.actor, "doctor-rx-issue", str(v.appointment_id), values)
    assert "Prescription issued" in str(feedback.children)
    [document] = issuing.list_documents(v.patient.actor)
    assert document.kind == "prescription" and f"/documents/{document.id}.pdf" in str(issued.to_plotly_json())
    feedback, _ = documents_panel.act(v.doctor.actor, "doctor-rx-issue", str(v.appointment_id), {})
    assert "Add at least one medicine" in str(feedback.children)
    documents_panel.act(v.doctor.actor, "doctor-note-save", str(v.appointment_id), {"note": "Private."})
    assert documents_panel.open_dialog(v.doctor.actor, str(v.appointment_id))[2] == "Private."


def test_the_console_approves_a_review_with_a_reason(visit, make_user):
    v = visit("completed")
    given = reviews.rate_consultation(v.patient.actor, v.appointment_id, 4, "Helpful.")
    admin = make_user("admin")
    cards = str(reviews_panel.review_cards(reviews.moderation_queue(admin.actor)).to_plotly_json())
    assert "Helpful." in cards and "Reason for your decision (required)" in cards
    trigger = {"type": reviews_panel.APPROVE, "id": str(given.id)}
    refused, _ = reviews_panel.decide(admin.actor, trigger, {})
    assert "Give a reason" in str(refused.children)
    done, remaining = reviews_panel.decide(admin.actor, trigger, {str(given.id): "Polite and relevant"})
    assert "Published" in str(done.children) and "No comment is waiting" in str(remaining.to_plotly_json())
    assert [r.comment for r in reviews.doctor_reviews(v.doctor.doctor.id)] == ["Helpful."]


