"""The upcoming list (SPEC §9): status chips, the pulsing Join live, and the refund sentence (SPEC §5)."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.booking.doctor_agenda import UpcomingItem
from core.booking.policy import NO_REFUND, RefundOutcome
from portals.doctor import upcoming_view as uv

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 13, 57, tzinfo=PARIS)


def item(**overrides) -> UpcomingItem:
    start = datetime(2026, 3, 2, 14, tzinfo=PARIS)
    values = dict(id=uuid.uuid4(), patient_name="Noor Haddad", patient_user_id=uuid.uuid4(), start=start,
                  end=start + timedelta(minutes=30), status="confirmed", paid_cents=3500, join_open=True,
                  join_refusal=None, join_opens_at=start - timedelta(minutes=5),
                  join_closes_at=start + timedelta(minutes=30),
                  completion_refusal="A consultation can be marked completed once it has started.", can_cancel=True,
                  refund=RefundOutcome("card", 3500))
    values.update(overrides)
    return UpcomingItem(**values)


def props(component) -> dict:
    return component.to_plotly_json()["props"]


def test_join_live_pulses_in_the_window_and_links_to_the_visit():
    found = item()
    link = uv.join_control(found, PARIS, NOW)
    assert link.children == "Join live" and link.href == f"/visit/{found.id}"
    assert "is-live" in link.className
    assert props(link)["aria-label"] == "Join live: consultation with Noor Haddad at 14:00"


def test_in_the_window_without_a_device_test_the_button_leads_to_the_test():
    link = uv.join_control(item(join_refusal="Run the device test first."), PARIS, NOW)
    assert link.children == "Test devices to join" and link.href == f"/visit/{link_id(link)}"


def test_before_the_window_it_says_when_it_opens():
    early = item(join_open=False, start=NOW + timedelta(hours=2), join_opens_at=NOW + timedelta(hours=2, minutes=-5))
    later = uv.join_control(early, PARIS, NOW)
    assert later.children == "Join from 15:52" and later.href == f"/visit/{early.id}"  # the waiting room
    assert uv.join_control(item(join_open=False, status="pending"), PARIS, NOW) is None


def test_each_row_has_status_chip_and_labelled_actions():
    listing = uv.upcoming_list([item()], PARIS, NOW)
    row = listing.children[0]
    info, actions = row.children
    assert info.children[0].children == "Today, 14:00"
    assert info.children[2].className == "dk-chip dk-chip--confirmed"
    complete, cancel, documents = actions.children[1:]
    assert complete.disabled is True and cancel.disabled is False
    # Notes and documents during the visit: open once the join window is (SPEC §18).
    assert documents.id["type"] == "doctor-docs-open" and documents.disabled is False
    assert props(cancel)["aria-label"] == "Cancel: consultation with Noor Haddad at 14:00"
    assert complete.id == {"type": uv.COMPLETE, "id": str(row.children[1].children[1].id["id"])}


def test_refund_sentences():
    assert uv.refund_sentence("Noor", RefundOutcome("card", 3500)) == "Noor gets a full refund: €35 back to their card."
    assert uv.refund_sentence("Noor", RefundOutcome("card", 3500, 0, 1000)).endswith(
        "Because you cancel less than 60 minutes before the start, they also get a €10 credit.")
    assert uv.refund_sentence("Noor", RefundOutcome("credit", 0, 3500)) == \
        "Noor gets a full refund: €35 back as Doktu credit."
    assert uv.refund_sentence("Noor", NO_REFUND).startswith("Nothing was paid for this booking")


def test_signature_ignores_nothing_that_is_shown():
    items = [item()]
    assert uv.item_signature(items, NOW) == uv.item_signature(list(items), NOW)
    assert uv.item_signature(items, NOW) != uv.item_signature([item(id=items[0].id, status="completed")], NOW)


def link_id(link) -> str:
    return link.href.rsplit("/", 1)[1]


def test_the_patient_waiting_shows_since_when_and_their_device_state():
    waiting = item(patient_presence="waiting", patient_since=NOW - timedelta(minutes=3), patient_readiness="ready")
    assert uv.presence_label(waiting, PARIS) == "waiting since 13:54 · devices ready"
    audio = item(patient_presence="in_room", patient_since=NOW, patient_readiness="audio_only")
    assert uv.presence_label(audio, PARIS) == "in the room since 13:57 · audio only"
    untested = item(patient_presence="waiting", patient_since=NOW, patient_readiness="not_tested")
    assert uv.presence_label(untested, PARIS) == "waiting since 13:57 · not tested"
    assert uv.presence_label(item(), PARIS) is None
    assert uv.item_signature([waiting], NOW) != uv.item_signature([untested], NOW)  # the list refreshes
