"""See a doctor now (SPEC §17): `doctors.taking_now` and the walk-in queue `walkin_requests`.

A request is written when the patient presses "See a doctor now" (`unpaid`, with its payment),
joins the queue when the verified payment arrives (`waiting`, `paid_at` orders the queue:
first-paid first-served), and ends `accepted` (by one doctor, with the appointment starting now),
`left` (the patient left before a doctor accepted: refunded in full), `refunded` (a late payment
for a request that had ended, or the system gave the money back) or `cancelled` (never paid).

The race between doctors is settled here: a doctor's UPDATE may only turn a `waiting` row into
one `accepted` by that same doctor (RLS WITH CHECK), `FOR UPDATE SKIP LOCKED` in the service hands
two doctors two different patients, and the unique index on `appointment_id` means one request
becomes one appointment. One open request per patient (unique partial index).

RLS, forced: a patient sees and writes only their own rows (inserts only `unpaid`); a doctor who
is taking consultations sees the waiting rows (the service reads only position, wait and
readiness from them) and the rows they accepted; staff see all.

Revision ID: 0010h
Revises: 0009e
"""

import sqlalchemy as sa
from alembic import op

revision = "0010h"
down_revision = "0009g"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"
TAKING = ("(app_role() = 'doctor' AND EXISTS (SELECT 1 FROM doctors d WHERE d.id = app_doctor_id() "
          "AND d.online AND d.taking_now))")


def upgrade() -> None:
    op.add_column("doctors", sa.Column("taking_now", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_table(
        "walkin_requests",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="unpaid", nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keep_waiting_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("doctor_id", sa.UUID(), nullable=True),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('unpaid', 'waiting', 'accepted', 'left', 'refunded', 'cancelled')",
                           name=op.f("ck_walkin_requests_status")),
        # Only an accepted request names a doctor and an appointment (they may be erased later).
        sa.CheckConstraint("status = 'accepted' OR (appointment_id IS NULL AND doctor_id IS NULL)",
                           name=op.f("ck_walkin_requests_only_accepted_has_appointment")),
        sa.CheckConstraint("status IN ('unpaid', 'cancelled') OR paid_at IS NOT NULL",
                           name=op.f("ck_walkin_requests_paid_before_queue")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_walkin_requests_price_non_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_walkin_requests_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_walkin_requests_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_walkin_requests_payment_id_payments"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_walkin_requests_doctor_id_doctors"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_walkin_requests_appointment_id_appointments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walkin_requests")),
    )
    op.create_index("uq_walkin_requests_payment", "walkin_requests", ["payment_id"], unique=True)
    op.create_index("uq_walkin_requests_appointment", "walkin_requests", ["appointment_id"], unique=True)
    op.create_index("uq_walkin_requests_open_per_patient", "walkin_requests", ["patient_id"], unique=True,
                    postgresql_where=sa.text("status IN ('unpaid', 'waiting')"))
    op.create_index("ix_walkin_requests_queue", "walkin_requests", ["paid_at", "id"],
                    postgresql_where=sa.text("status = 'waiting'"))
    op.create_index("ix_walkin_requests_accepted_at", "walkin_requests", ["accepted_at"],
                    postgresql_where=sa.text("status = 'accepted'"))
    for statement in (
        "ALTER TABLE walkin_requests ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE walkin_requests FORCE ROW LEVEL SECURITY",
        "CREATE POLICY owner_all ON walkin_requests TO CURRENT_USER USING (true) WITH CHECK (true)",
        f"GRANT SELECT, INSERT, UPDATE ON walkin_requests TO {APP_ROLE}",
        f"CREATE POLICY app_select ON walkin_requests FOR SELECT TO {APP_ROLE} USING ({STAFF} "
        f"OR user_id = app_user_id() OR (status = 'waiting' AND {TAKING}) "
        f"OR (app_role() = 'doctor' AND doctor_id = app_doctor_id()))",
        f"CREATE POLICY app_insert ON walkin_requests FOR INSERT TO {APP_ROLE} WITH CHECK ({STAFF} "
        f"OR (user_id = app_user_id() AND patient_id = app_patient_id() AND status = 'unpaid'))",
        # A doctor may only take a waiting patient for themself; everything else is the system's.
        f"CREATE POLICY app_update ON walkin_requests FOR UPDATE TO {APP_ROLE} "
        f"USING ({STAFF} OR (status = 'waiting' AND {TAKING})) "
        f"WITH CHECK ({STAFF} OR (status = 'accepted' AND doctor_id = app_doctor_id()))",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("walkin_requests")
    op.drop_column("doctors", "taking_now")
