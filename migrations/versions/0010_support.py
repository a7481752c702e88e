"""Promises kept (issue 25): the support inbox and the new-message notice preference.

- `users.email_message_notices`: a new doctor↔patient message is announced by email (no content)
  unless switched off (default on).
- `support_conversations`: a user's (or a guest's) conversation with the care team, its status
  (open, waiting_on_us, waiting_on_you, closed), whether it is priority (Premium) and when an
  answer is due. `support_messages`: its messages; the body of a message flagged as health details
  is not in this table but in `support_health_bodies`, which only its author (and the system, for
  the audited "reveal with reason") can read: admins see the rest of the conversation.

RLS, forced: a user reads and writes their own conversations; staff read all of them (metadata);
guests write through the system (the public form).

Revision ID: 0010j
Revises: 0009e
"""

import sqlalchemy as sa
from alembic import op

revision = "0010j"
down_revision = "0010i"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
OWN = "(user_id = app_user_id())"
OWN_CONVERSATION = ("EXISTS (SELECT 1 FROM support_conversations c WHERE c.id = conversation_id "
                    "AND c.user_id = app_user_id())")


def _rls(table: str, grants: str, *policies: str) -> None:
    for statement in (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                      f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
                      f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)",
                      f"GRANT {grants} ON {table} TO {APP_ROLE}", *policies):
        op.execute(statement)


def upgrade() -> None:
    op.add_column("users", sa.Column("email_message_notices", sa.Boolean(), server_default=sa.text("true"),
                                     nullable=False))
    op.create_table(
        "support_conversations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("guest_email", sa.String(length=254), nullable=True),
        sa.Column("guest_name", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="waiting_on_us", nullable=False),
        sa.Column("priority", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('open', 'waiting_on_us', 'waiting_on_you', 'closed')",
                           name=op.f("ck_support_conversations_status")),
        sa.CheckConstraint("(user_id IS NULL) = (guest_email IS NOT NULL)", name=op.f("ck_support_conversations_who")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_support_conversations_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversations")),
    )
    op.create_index("ix_support_conversations_user", "support_conversations", ["user_id"])
    op.create_index("ix_support_conversations_due", "support_conversations", ["due_at"],
                    postgresql_where=sa.text("status = 'waiting_on_us'"))
    op.create_table(
        "support_messages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("health", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("author_role IN ('patient', 'doctor', 'admin', 'guest')",
                           name=op.f("ck_support_messages_author_role")),
        sa.CheckConstraint("health = (body IS NULL)", name=op.f("ck_support_messages_body_or_health")),
        sa.ForeignKeyConstraint(["conversation_id"], ["support_conversations.id"],
                                name=op.f("fk_support_messages_conversation_id_support_conversations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_support_messages_author_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    op.create_index("ix_support_messages_conversation", "support_messages", ["conversation_id", "created_at"])
    op.create_table(
        "support_health_bodies",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["support_messages.id"],
                                name=op.f("fk_support_health_bodies_message_id_support_messages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_support_health_bodies_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_support_health_bodies")),
    )
    _rls("support_conversations", "SELECT, INSERT, UPDATE",
         f"CREATE POLICY app_select ON support_conversations FOR SELECT TO {APP_ROLE} USING (app_is_staff() OR {OWN})",
         f"CREATE POLICY app_insert ON support_conversations FOR INSERT TO {APP_ROLE} "
         f"WITH CHECK (app_role() = 'system' OR {OWN})",
         f"CREATE POLICY app_update ON support_conversations FOR UPDATE TO {APP_ROLE} "
         f"USING (app_is_staff() OR {OWN}) WITH CHECK (app_is_staff() OR {OWN})")
    _rls("support_messages", "SELECT, INSERT",
         f"CREATE POLICY app_select ON support_messages FOR SELECT TO {APP_ROLE} "
         f"USING (app_is_staff() OR {OWN_CONVERSATION})",
         f"CREATE POLICY app_insert ON support_messages FOR INSERT TO {APP_ROLE} WITH CHECK (app_is_staff() OR "
         f"(author_id = app_user_id() AND author_role = app_role() AND {OWN_CONVERSATION}))")
    # Health details: their author and the system only — an admin reads one through the audited reveal.
    _rls("support_health_bodies", "SELECT, INSERT",
         f"CREATE POLICY app_select ON support_health_bodies FOR SELECT TO {APP_ROLE} "
         f"USING (app_role() = 'system' OR {OWN})",
         f"CREATE POLICY app_insert ON support_health_bodies FOR INSERT TO {APP_ROLE} "
         f"WITH CHECK (app_role() = 'system' OR {OWN})")


def downgrade() -> None:
    op.drop_table("support_health_bodies")
    op.drop_index("ix_support_messages_conversation", table_name="support_messages")
    op.drop_table("support_messages")
    op.drop_index("ix_support_conversations_due", table_name="support_conversations")
    op.drop_index("ix_support_conversations_user", table_name="support_conversations")
    op.drop_table("support_conversations")
    op.drop_column("users", "email_message_notices")
