"""Fresh KPIs (SPEC §22): daily roll-ups of the admin console's figures.

- `kpi_days`: one Paris day's additive figures (booked, holds and how many were paid, completed,
  no-shows, booked and offered minutes, net revenue, new patients), kept by the roll-up job and
  re-computable for any past day; no personal data.
- `kpi_day_accounts`: the accounts behind a day's distinct counts (who booked, who paid), so a
  week's or a month's distinct accounts are counted over its days' short lists.

RLS, forced: staff read; only the system writes.

Revision ID: 0011g
Revises: 0011e
"""

import sqlalchemy as sa
from alembic import op

revision = "0011g"
down_revision = "0011e"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_role() IN ('admin', 'system')"
SYSTEM = "app_role() = 'system'"


def _rls(table: str) -> None:
    for statement in (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                      f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
                      f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)",
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
                      f"CREATE POLICY app_select ON {table} FOR SELECT TO {APP_ROLE} USING ({STAFF})",
                      f"CREATE POLICY app_insert ON {table} FOR INSERT TO {APP_ROLE} WITH CHECK ({SYSTEM})",
                      f"CREATE POLICY app_update ON {table} FOR UPDATE TO {APP_ROLE} USING ({SYSTEM}) "
                      f"WITH CHECK ({SYSTEM})",
                      f"CREATE POLICY app_delete ON {table} FOR DELETE TO {APP_ROLE} USING ({SYSTEM})"):
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "kpi_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("booked", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("no_show", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("booked_minutes", sa.Float(), server_default="0", nullable=False),
        sa.Column("offered_minutes", sa.Float(), server_default="0", nullable=False),
        sa.Column("net_revenue_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("new_patients", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_kpi_days")),
    )
    op.create_table(
        "kpi_day_accounts",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("kind IN ('booking', 'paying')", name=op.f("ck_kpi_day_accounts_kind")),
        sa.PrimaryKeyConstraint("kind", "day", "user_id", name=op.f("pk_kpi_day_accounts")),
    )
    _rls("kpi_days")
    _rls("kpi_day_accounts")


def downgrade() -> None:
    op.drop_table("kpi_day_accounts")
    op.drop_table("kpi_days")
