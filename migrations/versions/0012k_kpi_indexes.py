"""Fresh KPIs on a million appointments (issue 20, SPEC §22): two indexes the fresh overview lacked.

- `patients (created_at) INCLUDE (user_id, id)`: New patients counted a day's (or a period's)
  patients with a sequential scan of every patient, the row-level security policy evaluated on
  each: ~100 ms for one day on 155,000 patients (bench/kpis.py), paid by today's live part of every
  fresh overview and by each day the roll-up job writes; 5 ms with the index (user_id and id are
  what the policy reads, so the index alone answers).
- `kpi_day_accounts (day, kind, user_id)`: a period's distinct accounts read its days' lists; the
  primary key starts with `kind`, and with row-level security's useless estimates PostgreSQL chose
  a sequential scan of every day's list (1.4 M rows for a year and the days before it).

Revision ID: 0012k
Revises: 0011f
"""

from alembic import op

revision = "0012k"
down_revision = "0011f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_patients_created", "patients", ["created_at"], unique=False,
                    postgresql_include=["user_id", "id"])
    op.create_index("ix_kpi_day_accounts_day", "kpi_day_accounts", ["day", "kind", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kpi_day_accounts_day", table_name="kpi_day_accounts")
    op.drop_index("ix_patients_created", table_name="patients")
