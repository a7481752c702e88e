"""The waitlist of SPEC §17 (issue 15, item 6): "tell me if an earlier time frees up".

`waitlist_entries`: a patient waits for an earlier time with one doctor, until a date they chose;
with `appointment_id` set they already have a booking and want a start earlier than it, without it
they have none yet. One active entry per patient and doctor.

`waitlist_offers`: a freed start offered to one waiter, held for them (the slot hold of SPEC §3,
`slots.locked_by`) until `expires_at`; then `accepted`, `declined`, `expired` or `lapsed` (the
entry ended meanwhile). The database settles "exactly one offer per freed start": one live
(`offered`) offer per doctor and start, one live offer per entry, and a start is never offered
twice to the same entry — so the next waiter gets it when one lets it go.

RLS, forced: a patient reads and writes only their own entries (and reads their own offers);
offers are written by the system only (the services check the patient first); staff see all.

Revision ID: 0011e
Revises: 0010j
"""

import sqlalchemy as sa
from alembic import op

revision = "0011e"
down_revision = "0010j"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.Column("until_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'fulfilled', 'cancelled', 'expired')",
                           name=op.f("ck_waitlist_entries_status")),
        sa.CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name=op.f("ck_waitlist_entries_ended")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_waitlist_entries_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_waitlist_entries_patient_id_patients"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_waitlist_entries_doctor_id_doctors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_waitlist_entries_appointment_id_appointments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index("uq_waitlist_entries_active", "waitlist_entries", ["patient_id", "doctor_id"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_waitlist_entries_doctor_queue", "waitlist_entries", ["doctor_id", "created_at", "id"],
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("slot_id", sa.UUID(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="offered", nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('offered', 'accepted', 'declined', 'expired', 'lapsed')",
                           name=op.f("ck_waitlist_offers_status")),
        sa.CheckConstraint("expires_at > offered_at", name=op.f("ck_waitlist_offers_expires_after_offer")),
        sa.ForeignKeyConstraint(["entry_id"], ["waitlist_entries.id"],
                                name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_waitlist_offers_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_waitlist_offers_doctor_id_doctors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_waitlist_offers_slot_id_slots"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_waitlist_offers_appointment_id_appointments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
    )
    # Exactly one live offer per freed start; one live offer per waiter; a start once per waiter.
    op.create_index("uq_waitlist_offers_live_start", "waitlist_offers", ["doctor_id", "start_at"], unique=True,
                    postgresql_where=sa.text("status = 'offered'"))
    op.create_index("uq_waitlist_offers_live_entry", "waitlist_offers", ["entry_id"], unique=True,
                    postgresql_where=sa.text("status = 'offered'"))
    op.create_index("uq_waitlist_offers_entry_start", "waitlist_offers", ["entry_id", "start_at"], unique=True)
    op.create_index("ix_waitlist_offers_expiry", "waitlist_offers", ["expires_at"],
                    postgresql_where=sa.text("status = 'offered'"))
    op.create_index("ix_waitlist_offers_user", "waitlist_offers", ["user_id"])
    for table in ("waitlist_entries", "waitlist_offers"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for statement in (
        f"GRANT SELECT, INSERT, UPDATE ON waitlist_entries TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE ON waitlist_offers TO {APP_ROLE}",
        f"CREATE POLICY app_select ON waitlist_entries FOR SELECT TO {APP_ROLE} "
        f"USING ({STAFF} OR user_id = app_user_id())",
        f"CREATE POLICY app_insert ON waitlist_entries FOR INSERT TO {APP_ROLE} WITH CHECK ({STAFF} "
        f"OR (user_id = app_user_id() AND patient_id = app_patient_id() AND status = 'active'))",
        f"CREATE POLICY app_update ON waitlist_entries FOR UPDATE TO {APP_ROLE} "
        f"USING ({STAFF} OR user_id = app_user_id()) "
        f"WITH CHECK ({STAFF} OR (user_id = app_user_id() AND patient_id = app_patient_id()))",
        f"CREATE POLICY app_select ON waitlist_offers FOR SELECT TO {APP_ROLE} "
        f"USING ({STAFF} OR user_id = app_user_id())",
        f"CREATE POLICY app_insert ON waitlist_offers FOR INSERT TO {APP_ROLE} WITH CHECK ({STAFF})",
        f"CREATE POLICY app_update ON waitlist_offers FOR UPDATE TO {APP_ROLE} USING ({STAFF}) WITH CHECK ({STAFF})",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_entries")
