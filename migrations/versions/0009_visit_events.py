"""The consultation room's presence (SPEC §16): `visit_events`.

Each participant's transitions in the room (waiting, joined, left, reconnected) and the
settlement's `ended` rows, which carry the outcome it applied (held, no_show, doctor_no_show,
doctor_reminded): a unique index on (appointment, outcome) for `ended` rows makes each outcome
happen once even when two workers settle the same window at the same moment.

RLS, forced: the two participants of the appointment (and staff) read its events — the doctor
sees that the patient waits, the patient that the doctor joined; each participant writes only
their own rows; `ended` rows are written by the system.

Revision ID: 0009e
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009e"
down_revision = "0009f"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
PARTY = "app_can_see_appointment(appointment_id)"


def upgrade() -> None:
    op.create_table(
        "visit_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('waiting', 'joined', 'left', 'reconnected', 'ended')",
                           name=op.f("ck_visit_events_kind")),
        sa.CheckConstraint("role IN ('patient', 'doctor', 'system')", name=op.f("ck_visit_events_role")),
        sa.CheckConstraint("(kind = 'ended') = (outcome IS NOT NULL)", name=op.f("ck_visit_events_outcome_on_end")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_visit_events_appointment_id_appointments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_visit_events_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_events")),
    )
    op.create_index("ix_visit_events_appointment_at", "visit_events", ["appointment_id", "occurred_at"])
    op.create_index("uq_visit_events_outcome", "visit_events", ["appointment_id", "outcome"], unique=True,
                    postgresql_where=sa.text("kind = 'ended'"))
    for statement in (
        "ALTER TABLE visit_events ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE visit_events FORCE ROW LEVEL SECURITY",
        "CREATE POLICY owner_all ON visit_events TO CURRENT_USER USING (true) WITH CHECK (true)",
        f"GRANT INSERT, SELECT ON visit_events TO {APP_ROLE}",
        f"CREATE POLICY app_select ON visit_events FOR SELECT TO {APP_ROLE} USING (app_is_staff() OR {PARTY})",
        f"CREATE POLICY app_insert ON visit_events FOR INSERT TO {APP_ROLE} WITH CHECK ("
        f"app_role() = 'system' OR (kind <> 'ended' AND user_id = app_user_id() AND role = app_role() AND {PARTY}))",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("uq_visit_events_outcome", table_name="visit_events")
    op.drop_index("ix_visit_events_appointment_at", table_name="visit_events")
    op.drop_table("visit_events")
