"""Notification delivery (SPEC §11): attempts and the last error on each outbox message, and the
indexes the periodic sweeps read.

- `outbox_messages.attempts` (deliveries tried) and `last_error` (the provider and its status code,
  never an address or a body): a message is given up (`failed`) after 4 attempts.
- `ix_outbox_messages_queued`: the redelivery sweep reads the few rows still queued.
- `ix_funnel_events_appointment_id`: the reminder sweep asks when each upcoming appointment was
  paid (a reminder is not sent for a booking made inside its window).

Exactly-once per event needs no new constraint: `outbox_messages.dedupe_key` is unique since 0001.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"),
                                               nullable=False))
    op.add_column("outbox_messages", sa.Column("last_error", sa.String(length=200), nullable=True))
    op.create_index("ix_outbox_messages_queued", "outbox_messages", ["created_at"], unique=False,
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_funnel_events_appointment_id", "funnel_events", ["appointment_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_funnel_events_appointment_id", table_name="funnel_events")
    op.drop_index("ix_outbox_messages_queued", table_name="outbox_messages",
                  postgresql_where=sa.text("status = 'queued'"))
    op.drop_column("outbox_messages", "last_error")
    op.drop_column("outbox_messages", "attempts")
