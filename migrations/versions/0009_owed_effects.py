"""Owed side effects (issue 23, DESIGN "Owed side effects"): `owed_effects` holds every task a
committed transaction owes — gateway refunds, notices, session expiries — written in that same
transaction, so a Redis outage at the commit or a job RQ gave up on loses nothing; the sweep
(`jobs.owed.sweep_owed_job`, every minute) runs what is due.

Row-level security: any actor's transaction may owe a task (a patient's cancellation owes its
refund), only as `pending` with no attempt; only staff (the system that runs them, an admin
inspecting them) read and update them; only the system deletes (done rows after 30 days).

Revision ID: 0009b
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009b"
down_revision = "0009a"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"
POLICIES = {
    "SELECT": (STAFF, None),
    "INSERT": (None, "status = 'pending' AND attempts = 0"),
    "UPDATE": (STAFF, STAFF),
    "DELETE": ("app_role() = 'system' AND status = 'done'", None),
}


def upgrade() -> None:
    op.create_table(
        "owed_effects",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("kwargs", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_owed_effects_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_owed_effects_attempts_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owed_effects")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_owed_effects_dedupe_key")),
    )
    op.create_index("ix_owed_effects_due", "owed_effects", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("status = 'pending'"))
    op.execute("ALTER TABLE owed_effects ENABLE ROW LEVEL SECURITY;")
    op.execute("ALTER TABLE owed_effects FORCE ROW LEVEL SECURITY;")
    op.execute("CREATE POLICY owner_all ON owed_effects TO CURRENT_USER USING (true) WITH CHECK (true);")
    op.execute(f"GRANT {', '.join(sorted(POLICIES))} ON owed_effects TO {APP_ROLE};")
    for command, (using, check) in POLICIES.items():
        sql = f"CREATE POLICY app_{command.lower()} ON owed_effects FOR {command} TO {APP_ROLE}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql + ";")


def downgrade() -> None:
    op.drop_index("ix_owed_effects_due", table_name="owed_effects", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("owed_effects")  # its policies go with it
