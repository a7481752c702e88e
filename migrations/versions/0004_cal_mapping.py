"""Each doctor's Cal.com calendar (for busy times) and schedule (to push availability).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("doctors", sa.Column("cal_credential_id", sa.Integer(), nullable=True))
    op.add_column("doctors", sa.Column("cal_external_id", sa.String(length=254), nullable=True))
    op.add_column("doctors", sa.Column("cal_schedule_id", sa.Integer(), nullable=True))
    op.add_column("doctors", sa.Column("cal_synced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("cal_synced_at", "cal_schedule_id", "cal_external_id", "cal_credential_id"):
        op.drop_column("doctors", column)
