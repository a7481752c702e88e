"""Account settings: reminder preferences, a time zone that is chosen (or not), and the session
look-up that carries it.

- `users.email_reminders` (default on) and `users.sms_reminders` (default off); the SMS number is
  `patients.phone`, stored in E.164.
- `users.timezone` becomes optional: NULL means "follow the device" (the `doktu_tz` cookie set by
  the browser). Until now nobody could choose a zone, so every row holding the old default
  'Europe/Paris' had not chosen it and becomes NULL; any other value is kept as a choice.
- `app_session_user(id, version)` also returns `timezone`, so pages show times in the saved zone
  without a second query (it runs on every authenticated request).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SESSION_USER_0005 = """
    CREATE FUNCTION app_session_user(p_id uuid, p_version int)
    RETURNS TABLE (id uuid, email varchar, role varchar, full_name varchar, session_version int)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT u.id, u.email, u.role, u.full_name, u.session_version
        FROM users u
       WHERE u.id = p_id AND u.session_version = p_version AND u.is_active
    $$;
"""

SESSION_USER_0006 = """
    CREATE FUNCTION app_session_user(p_id uuid, p_version int)
    RETURNS TABLE (id uuid, email varchar, role varchar, full_name varchar, session_version int,
                   timezone varchar)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT u.id, u.email, u.role, u.full_name, u.session_version, u.timezone
        FROM users u
       WHERE u.id = p_id AND u.session_version = p_version AND u.is_active
    $$;
"""


def upgrade() -> None:
    op.add_column("users", sa.Column("email_reminders", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    op.add_column("users", sa.Column("sms_reminders", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.alter_column("users", "timezone", existing_type=sa.String(length=64), nullable=True, server_default=None)
    op.execute("UPDATE users SET timezone = NULL WHERE timezone = 'Europe/Paris'")
    # The return type changes: a function's OUT columns cannot be altered in place.
    op.execute("DROP FUNCTION IF EXISTS app_session_user(uuid, int)")
    op.execute(SESSION_USER_0006)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_session_user(uuid, int)")
    op.execute(SESSION_USER_0005)
    op.execute("UPDATE users SET timezone = 'Europe/Paris' WHERE timezone IS NULL")
    op.alter_column("users", "timezone", existing_type=sa.String(length=64), nullable=False,
                    server_default="Europe/Paris")
    op.drop_column("users", "sms_reminders")
    op.drop_column("users", "email_reminders")
