"""Contact us pages (issue 25): signed-in patients and doctors write from /support; guests use
/contact, protected like sign-up (rate limit, human check) — every form with CSRF."""

import re

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import SupportConversation
from core.support import inbox

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
QUESTION = re.compile(r"What is (\d+) plus (\d+)\?")
CHALLENGE = re.compile(r'name="challenge_token" value="([^"]+)"')


def token(client, path) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def conversations() -> list[SupportConversation]:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(SupportConversation)).all()
        for row in rows:
            uow.session.expunge(row)
        return rows


def test_a_patient_writes_from_the_dashboard_and_reads_the_answer(client, login, make_user, clock_at):
    patient = make_user("patient", full_name="Pia Patient")
    login(patient.email)
    assert 'href="/support"' in client.get("/dashboard").get_data(as_text=True)
    page = client.get("/support").get_data(as_text=True)
    assert "within 4 working hours for Premium members" in page
    refused = client.post("/support", data={"csrf_token": token(client, "/support"), "subject": "", "body": "x"})
    assert refused.status_code == 422 and conversations() == []
    sent = client.post("/support", data={"csrf_token": token(client, "/support"), "subject": "Receipt",
                                         "body": "I cannot find my receipt."})
    assert sent.status_code == 303
    [c] = conversations()
    assert sent.headers["Location"].endswith(f"/support/{c.id}") and c.status == "waiting_on_us"
    inbox.reply_as_admin(make_user("admin").actor, c.id, "It is under Billing.")
    thread = client.get(f"/support/{c.id}").get_data(as_text=True)
    assert "I cannot find my receipt." in thread and "It is under Billing." in thread and "Waiting on you" in thread
    again = client.post(f"/support/{c.id}", data={"csrf_token": token(client, f"/support/{c.id}"), "body": "Thanks!"})
    assert again.status_code == 303 and conversations()[0].status == "waiting_on_us"


def test_a_doctor_reaches_the_support_page_and_guests_are_sent_to_the_form(client, login, make_user, clock_at):
    assert client.get("/support").status_code in (302, 401)  # not signed in
    doctor = make_user("doctor", full_name="Dr Who")
    login(doctor.email)
    assert client.get("/contact").headers["Location"].endswith("/support")
    page = client.get("/support").get_data(as_text=True)
    assert 'href="/doctor/"' in page and "Premium" not in page


def test_a_guest_must_answer_the_challenge_and_then_the_message_is_in_the_inbox(client, make_user, clock_at):
    page = client.get("/contact").get_data(as_text=True)
    a, b = map(int, QUESTION.search(page).groups())
    form = {"csrf_token": TOKEN.search(page).group(1), "name": "Gina", "email": "gina@example.org",
            "subject": "Do you take AXA?", "body": "Question about insurance."}
    wrong = client.post("/contact", data={**form, "challenge_token": CHALLENGE.search(page).group(1),
                                          "challenge_answer": str(a + b + 1)})
    assert wrong.status_code == 422 and conversations() == []
    assert "Please answer the security question below." in wrong.get_data(as_text=True)
    page = wrong.get_data(as_text=True)
    a, b = map(int, QUESTION.search(page).groups())
    done = client.post("/contact", data={**form, "challenge_token": CHALLENGE.search(page).group(1),
                                         "challenge_answer": str(a + b)})
    assert done.status_code == 200 and "your message is with our care team" in done.get_data(as_text=True)
    [c] = conversations()
    assert (c.guest_email, c.user_id, c.priority) == ("gina@example.org", None, False)


def test_the_guest_form_is_rate_limited_like_sign_up(client, limits, clock_at):
    """5 messages an hour from one address; the 6th is refused with 429, nothing written."""
    statuses = []
    for _ in range(6):
        page = client.get("/contact").get_data(as_text=True)
        a, b = map(int, QUESTION.search(page).groups())
        statuses.append(client.post("/contact", data={
            "csrf_token": TOKEN.search(page).group(1), "email": "x@example.org", "subject": "s", "body": "b",
            "challenge_token": CHALLENGE.search(page).group(1), "challenge_answer": str(a + b)}).status_code)
    assert statuses == [200] * 5 + [429]
    assert len(conversations()) == 5
