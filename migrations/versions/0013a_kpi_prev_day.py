"""Fresh KPIs on a million appointments (issue 20, SPEC §22): distinct accounts without hashing.

A period's distinct accounts (who booked, who paid) were a count(DISTINCT user_id) over every
(kind, day, account) row of its days and the previous period's: ~120,000 rows hashed for a month
and its previous month on 1,000,000 appointments. Each row now also keeps the account's previous
active day of that kind (`prev_day`, NULL if none), so the accounts active in [a, b] are the rows of
[a, b] whose `prev_day` is NULL or before `a` — each account counted once, on its first day in the
range — a plain count over an index-only scan of `(day, kind) INCLUDE (prev_day)`, which replaces
`ix_kpi_day_accounts_day`. `(kind, user_id, day)` finds an account's days: the previous one when a
day is written, the next one to fix when a day is rewritten, and whether today's live accounts
were already active earlier in the period.

Counting those rows still read every (kind, day, account) row of the 60 days: 341,000 for a month
(~1 s under load). So `kpi_day_gaps` keeps per kind and day how many accounts came back after how
many days (`gap` = day - prev_day, capped at 31; no previous day counts as 31): the accounts of
[a, b] are the sum over its days d of the accounts whose gap > d - a, which is exact for any period
of at most 31 days (the console's longest is 30) — at most 31 rows per kind and day, ~3,700 read
for a month and its previous month. No personal data (counts only).

Existing rows get their `prev_day` and their days' gaps here; the roll-up job keeps both right since.

Revision ID: 0013a_kpi_prev_day
Revises: 0012k
"""

import sqlalchemy as sa
from alembic import op

GAP_CAP = 31  # core.metrics.rollups.GAP_CAP
APP_ROLE = "doktu_app"
STAFF = "app_role() IN ('admin', 'system')"
SYSTEM = "app_role() = 'system'"

revision = "0013a_kpi_prev_day"
down_revision = "0012k"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kpi_day_accounts", sa.Column("prev_day", sa.Date(), nullable=True))
    op.execute("""UPDATE kpi_day_accounts a SET prev_day = x.prev
                    FROM (SELECT kind, day, user_id, lag(day) OVER (PARTITION BY kind, user_id ORDER BY day) AS prev
                            FROM kpi_day_accounts) x
                   WHERE (a.kind, a.day, a.user_id) = (x.kind, x.day, x.user_id) AND x.prev IS NOT NULL""")
    op.drop_index("ix_kpi_day_accounts_day", table_name="kpi_day_accounts")
    op.create_index("ix_kpi_day_accounts_day", "kpi_day_accounts", ["day", "kind"], unique=False,
                    postgresql_include=["prev_day"])
    op.create_index("ix_kpi_day_accounts_user", "kpi_day_accounts", ["kind", "user_id", "day"], unique=False)
    op.create_table(
        "kpi_day_gaps",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("gap", sa.SmallInteger(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('booking', 'paying')", name=op.f("ck_kpi_day_gaps_kind")),
        sa.PrimaryKeyConstraint("day", "kind", "gap", name=op.f("pk_kpi_day_gaps")),
    )
    for statement in ("ALTER TABLE kpi_day_gaps ENABLE ROW LEVEL SECURITY",  # as kpi_days (0011g)
                      "ALTER TABLE kpi_day_gaps FORCE ROW LEVEL SECURITY",
                      "CREATE POLICY owner_all ON kpi_day_gaps TO CURRENT_USER USING (true) WITH CHECK (true)",
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_day_gaps TO {APP_ROLE}",
                      f"CREATE POLICY app_select ON kpi_day_gaps FOR SELECT TO {APP_ROLE} USING ({STAFF})",
                      f"CREATE POLICY app_insert ON kpi_day_gaps FOR INSERT TO {APP_ROLE} WITH CHECK ({SYSTEM})",
                      f"CREATE POLICY app_update ON kpi_day_gaps FOR UPDATE TO {APP_ROLE} USING ({SYSTEM}) "
                      f"WITH CHECK ({SYSTEM})",
                      f"CREATE POLICY app_delete ON kpi_day_gaps FOR DELETE TO {APP_ROLE} USING ({SYSTEM})"):
        op.execute(statement)
    op.execute(f"""INSERT INTO kpi_day_gaps (kind, day, gap, accounts)
                   SELECT kind, day, least(coalesce(day - prev_day, {GAP_CAP}), {GAP_CAP}), count(*)
                     FROM kpi_day_accounts GROUP BY 1, 2, 3""")


def downgrade() -> None:
    op.drop_table("kpi_day_gaps")
    op.drop_index("ix_kpi_day_accounts_user", table_name="kpi_day_accounts")
    op.drop_index("ix_kpi_day_accounts_day", table_name="kpi_day_accounts")
    op.create_index("ix_kpi_day_accounts_day", "kpi_day_accounts", ["day", "kind", "user_id"], unique=False)
    op.drop_column("kpi_day_accounts", "prev_day")
