"""The credits ledger derives its balance and can never go negative; ledgers are append-only."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actor import SYSTEM
from core.db import unit_of_work


def add_entry(actor, user_id, kind, cents):
    with unit_of_work(actor) as uow:
        return uow.session.execute(text("""INSERT INTO credit_entries (user_id, kind, amount_cents)
            VALUES (:u, :k, :a) RETURNING balance_after_cents"""), {"u": user_id, "k": kind, "a": cents}).scalar()


def test_balance_is_derived_from_the_entries(make_user):
    patient = make_user("patient")
    assert add_entry(SYSTEM, patient.user.id, "grant", 3500) == 3500
    assert add_entry(SYSTEM, patient.user.id, "late_credit", 1000) == 4500
    assert add_entry(patient.actor, patient.user.id, "spend", -3500) == 1000


def test_spending_more_than_the_balance_is_refused_by_the_database(make_user):
    patient = make_user("patient")
    add_entry(SYSTEM, patient.user.id, "grant", 1000)
    with pytest.raises(DBAPIError) as refused:
        add_entry(patient.actor, patient.user.id, "spend", -1001)
    assert refused.value.orig.sqlstate == "23514"  # check_violation: balance_never_negative


def test_patient_cannot_grant_themselves_credit(make_user):
    patient = make_user("patient")
    with pytest.raises(DBAPIError) as refused:
        add_entry(patient.actor, patient.user.id, "grant", 10_000)
    assert refused.value.orig.sqlstate == "42501"


@pytest.mark.parametrize("statement", ["UPDATE credit_entries SET amount_cents = 1", "DELETE FROM credit_entries"])
def test_ledger_entries_cannot_be_changed_or_deleted(make_user, statement):
    patient = make_user("patient")
    add_entry(SYSTEM, patient.user.id, "grant", 500)
    with pytest.raises(DBAPIError), unit_of_work(SYSTEM) as uow:
        uow.session.execute(text(statement))
