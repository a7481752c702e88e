"""The support inbox (issue 25): "Contact us" for patients, doctors and guests; a Premium member's
conversation is due within 4 working hours and comes first in the admin Inbox; health details typed
by patients are hidden from admins until revealed with a reason (audited); answers go by email
with a link back; anything overdue raises the `support_overdue` alert."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core import clock
from core.actor import SYSTEM, Actor
from core.db import unit_of_work
from core.errors import Forbidden, NotFound, ValidationFailed
from core.metrics.alerts import evaluate, gather_facts
from core.models import AuditEvent, OutboxMessage, Subscription, SupportHealthBody
from core.support import inbox
from tests.integration.scheduling.conftest import paris

SYMPTOM = "Since my last consultation my chest hurts at night."


@pytest.fixture
def people(make_user, clock_at):
    clock_at(paris(3, 10))  # Tuesday 3 March 2026, 10:00 in Paris
    premium, basic = make_user("patient", full_name="Pia Premium"), make_user("patient", full_name="Bob Basic")
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(Subscription(user_id=premium.user.id, plan="premium", status="active", credits_per_period=3,
                                     current_period_end=clock.now() + timedelta(days=20)))
    return {"premium": premium, "basic": basic, "doctor": make_user("doctor", full_name="Dr Who"),
            "admin": make_user("admin", full_name="Ada Admin")}


def test_a_premium_members_message_comes_first_in_the_inbox_with_its_due_time(people, clock_at):
    basic = inbox.start_conversation(people["basic"].actor, "Invoice", "Where is my receipt?")
    clock_at(paris(3, 10, 30))
    doctor = inbox.start_conversation(people["doctor"].actor, "Calendar", "My Google calendar does not sync.")
    clock_at(paris(3, 11))
    premium = inbox.start_conversation(people["premium"].actor, "Pain", SYMPTOM)
    rows = inbox.inbox(people["admin"].actor)
    assert [r.id for r in rows] == [premium, basic, doctor]  # by due time: Premium first although written last
    assert [(r.due_at, r.priority, r.status_label) for r in rows] == [
        (paris(3, 15), True, "Waiting on us"), (paris(5, 10), False, "Waiting on us"),
        (paris(5, 10, 30), False, "Waiting on us")]
    assert [r.who for r in rows] == ["Pia Premium", "Bob Basic", "Dr Who"]
    assert not any(r.overdue for r in rows)


def test_health_details_are_hidden_from_admins_until_revealed_with_a_reason(people):
    admin, pia = people["admin"].actor, people["premium"]
    conversation = inbox.start_conversation(pia.actor, "Pain", SYMPTOM)
    mine = inbox.my_conversation(pia.actor, conversation)
    assert [(m.body, m.health) for m in mine.messages] == [(SYMPTOM, True)]  # the patient reads their words
    seen = inbox.admin_conversation(admin, conversation)
    [message] = seen.messages
    assert (message.body, message.health) == (None, True)
    with unit_of_work(admin) as uow:  # row-level security: not even a direct query shows it to an admin
        assert uow.session.scalars(select(SupportHealthBody.body)).all() == []
    with pytest.raises(ValidationFailed):
        inbox.reveal_health_details(admin, message.id, "curious")
    with pytest.raises(Forbidden):
        inbox.reveal_health_details(people["doctor"].actor, message.id, "I am a doctor after all")
    assert inbox.reveal_health_details(admin, message.id, "Patient asks whether to book urgently") == SYMPTOM
    with unit_of_work(SYSTEM) as uow:
        audits = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == inbox.REVEALED)).all()
    assert [(a.actor_id, a.subject_id, a.details["reason"]) for a in audits] == [
        (people["admin"].user.id, str(message.id), "Patient asks whether to book urgently")]


def test_users_see_only_their_own_conversations(people):
    conversation = inbox.start_conversation(people["premium"].actor, "Pain", SYMPTOM)
    with pytest.raises(NotFound):
        inbox.my_conversation(people["basic"].actor, conversation)
    with pytest.raises(NotFound):
        inbox.reply_as_user(people["basic"].actor, conversation, "me too")
    assert inbox.my_conversations(people["basic"].actor) == []
    with pytest.raises(Forbidden):
        inbox.inbox(people["premium"].actor)
    with unit_of_work(people["basic"].actor) as uow:  # RLS, whatever the query
        assert uow.session.execute(text("SELECT count(*) FROM support_conversations")).scalar() == 0
        assert uow.session.execute(text("SELECT count(*) FROM support_messages")).scalar() == 0


def test_an_answer_is_emailed_with_a_link_back_and_the_user_writing_again_reopens(people, clock_at):
    bob = people["basic"]
    conversation = inbox.start_conversation(bob.actor, "Invoice", "Where is my receipt?")
    clock_at(paris(3, 10, 20))
    message_id = inbox.reply_as_admin(people["admin"].actor, conversation, "It is in Billing, under Receipts.")
    view = inbox.my_conversation(bob.actor, conversation)
    assert (view.status, view.due_at) == ("waiting_on_you", None)
    assert [(m.from_team, m.body) for m in view.messages][-1] == (True, "It is in Billing, under Receipts.")
    with unit_of_work(SYSTEM) as uow:
        [mail] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"support-reply:{message_id}")).all()
        assert mail.recipient == bob.email and "It is in Billing" in mail.body_text
        assert f"/support/{conversation}" in mail.body_text
    clock_at(paris(3, 17))
    inbox.reply_as_user(bob.actor, conversation, "Found it, thanks — one more question.")
    view = inbox.my_conversation(bob.actor, conversation)
    assert (view.status, view.due_at) == ("waiting_on_us", paris(5, 17))  # 2 working days from now


def test_a_guest_writes_through_the_public_form_and_is_answered_by_email(people):
    conversation = inbox.start_guest_conversation("Gina", "Gina@Example.org", "Do you take AXA?", "Question!")
    [row] = inbox.inbox(people["admin"].actor)
    assert (row.id, row.who, row.role, row.priority) == (conversation, "Gina (guest)", "guest", False)
    with pytest.raises(ValidationFailed):
        inbox.start_guest_conversation("X", "not-an-address", "Hi", "Hello")
    message_id = inbox.reply_as_admin(people["admin"].actor, conversation, "Yes, we do.", close=True)
    with unit_of_work(SYSTEM) as uow:
        [mail] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"support-reply:{message_id}")).all()
    assert mail.recipient == "gina@example.org" and "/contact" in mail.body_text
    assert inbox.inbox(people["admin"].actor) == []  # closed ones are not in the default view


def test_an_overdue_conversation_is_flagged_and_raises_the_alert(people, clock_at):
    admin = people["admin"].actor
    premium = inbox.start_conversation(people["premium"].actor, "Pain", SYMPTOM)
    inbox.start_conversation(people["basic"].actor, "Invoice", "Where is my receipt?")
    assert "support_overdue" not in [a.code for a in evaluate(gather_facts(admin, now=clock.now()))]
    clock_at(paris(3, 15, 1))  # one minute past the Premium member's 4 working hours
    rows = inbox.inbox(admin)
    assert [(r.id == premium, r.overdue) for r in rows] == [(True, True), (False, False)]
    [alert] = [a for a in evaluate(gather_facts(admin, now=clock.now())) if a.code == "support_overdue"]
    assert (alert.severity, alert.title, alert.action_href) == ("warning", "1 support conversation overdue",
                                                                 "/admin/inbox")
    inbox.reply_as_admin(admin, premium, "Please book a consultation today; if it is severe call 15.")
    assert "support_overdue" not in [a.code for a in evaluate(gather_facts(admin, now=clock.now()))]


def test_admins_cannot_open_conversations_and_bad_input_is_refused(people):
    with pytest.raises(Forbidden):
        inbox.start_conversation(people["admin"].actor, "Hi", "Hello")
    with pytest.raises(Forbidden):
        inbox.start_conversation(Actor(None, "anonymous"), "Hi", "Hello")
    with pytest.raises(ValidationFailed):
        inbox.start_conversation(people["basic"].actor, "", "Hello")
    with pytest.raises(ValidationFailed):
        inbox.start_conversation(people["basic"].actor, "Hi", "x" * 5001)


def test_the_console_inbox_lists_premium_first_with_overdue_in_red_and_words(people, clock_at):
    from portals.admin import inbox_panel

    admin = people["admin"].actor
    basic = inbox.start_conversation(people["basic"].actor, "Invoice", "Where is my receipt?")
    clock_at(paris(3, 11))
    inbox.start_conversation(people["premium"].actor, "Pain", SYMPTOM)
    clock_at(paris(3, 16, 5))  # the Premium one was due at 15:00
    table = str(inbox_panel.inbox_table(inbox.inbox(admin), clock.now()).to_plotly_json())
    assert table.index("Pia Premium") < table.index("Bob Basic")
    assert "Overdue by 1 h 05 min" in table and table.count("admin-overdue") == 1
    assert "Premium" in table and SYMPTOM not in table
    card = str(inbox_panel.conversation_card(inbox.admin_conversation(admin, basic)).to_plotly_json())
    assert "Where is my receipt?" not in card and "Health details, hidden" in card and "Reveal" in card
    doctor = inbox.start_conversation(people["doctor"].actor, "Calendar", "My calendar does not sync.")
    card = str(inbox_panel.conversation_card(inbox.admin_conversation(admin, doctor)).to_plotly_json())
    assert "My calendar does not sync." in card and "Health details" not in card  # a doctor's words are plain
