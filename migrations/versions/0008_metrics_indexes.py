"""Covering indexes for the admin KPIs (issue 9, SPEC §9): each overview query reads a period's
rows from one index alone (an index-only scan once autovacuum has marked the pages visible).

- `funnel_events (step, occurred_at) INCLUDE (appointment_id, user_id)`: the `slot_held` and `paid`
  events of a period (Booked, Appointments per patient, Booking conversion).
- `appointments (start_at) INCLUDE (status, end_at, doctor_id, patient_id)`: consultations by start
  time (Completed, No-show %, booked minutes); doctor_id and patient_id are what the row-level
  security policy reads, so the index alone answers it.
- `payments (created_at) INCLUDE (status, provider, amount_cents, refunded_cents, user_id,
  appointment_id)`: ARPA; user_id and appointment_id for the policy too.

Measured on a year of 1,000,000 appointments (bench/kpis.py): the month overview's queries went
from 1.9 s (funnel, a sequential scan of 7 M events), 0.22 s and 0.25 s to 0.52, 0.14 and 0.13 s.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_funnel_events_step_occurred", "funnel_events", ["step", "occurred_at"], ["appointment_id", "user_id"]),
    ("ix_appointments_start", "appointments", ["start_at"], ["status", "end_at", "doctor_id", "patient_id"]),
    ("ix_payments_created", "payments", ["created_at"],
     ["status", "provider", "amount_cents", "refunded_cents", "user_id", "appointment_id"]),
]


def upgrade() -> None:
    for name, table, columns, include in INDEXES:
        op.create_index(name, table, columns, unique=False, postgresql_include=include)


def downgrade() -> None:
    for name, table, _columns, _include in reversed(INDEXES):
        op.drop_index(name, table_name=table)
