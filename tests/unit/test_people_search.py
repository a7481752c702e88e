"""Finding people in the doctor portal's lists (core.search), and the messages list's cap: 486
conversations drawn at once froze the doctor's browser for 6 s on every click."""

import uuid
from datetime import UTC, datetime, timedelta

from core.messaging.messages import CONVERSATIONS_SHOWN, Contact, ConversationSummary, shown_conversations
from core.search import folded, matches


def test_every_word_anywhere_case_and_accents_ignored():
    assert folded("Chloé ÉLODIE") == "chloe elodie"
    assert matches("chloe bern", "Chloé Bernard", "cb@mail.fr")
    assert matches("MAIL.FR", "Chloé Bernard", "cb@mail.fr")
    assert not matches("chloe martin", "Chloé Bernard", "cb@mail.fr")
    assert matches("", "anyone") and matches(None, "anyone") and matches("   ", "anyone")


def conversations(n: int) -> list[ConversationSummary]:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    return [ConversationSummary(Contact(uuid.uuid4(), f"Patient {i:03d}"), "hello", start - timedelta(hours=i), 0, True)
            for i in range(n)]


def test_the_most_recent_are_shown_and_a_search_finds_the_others():
    everyone = conversations(40)
    shown, total = shown_conversations(everyone)
    assert CONVERSATIONS_SHOWN == 25 and shown == everyone[:25] and total == 40
    assert shown_conversations(everyone, "patient 039") == ([everyone[39]], 1)
    assert shown_conversations(everyone, "nobody") == ([], 0)


def test_an_older_selected_conversation_stays_in_the_list():
    everyone = conversations(40)
    shown, total = shown_conversations(everyone, selected=str(everyone[30].other.user_id))
    assert shown == [*everyone[:25], everyone[30]] and total == 40


def test_exactly_the_cap_is_all_shown():
    everyone = conversations(25)
    assert shown_conversations(everyone) == (everyone, 25)
