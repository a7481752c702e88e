"""The user's language (SPEC §20).

- `users.locale` becomes optional: NULL means "not chosen", so pages follow the `doktu_lang` cookie and
  the browser's `Accept-Language`, and emails go out in English. Until now nothing could set it, so
  every row holds the old default 'en' without anyone having chosen it: those become NULL.
- `users.device_zone`: the time zone the user's browser last reported (the `doktu_tz` cookie), kept
  for emails and SMS, which have no browser: a patient who never chose a zone in Settings reads
  times in their own zone, not the doctor's (SPEC §20).
- `app_session_user(id, version)` also returns `locale` and `device_zone`, so each page is served in
  the saved language, and a changed device zone is noticed, without a second query (it runs on
  every authenticated request).

Revision ID: 0011f
Revises: 0011a
"""

import sqlalchemy as sa
from alembic import op

revision = "0011f"
down_revision = "0011a"
branch_labels = None
depends_on = None

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

SESSION_USER_0011 = """
    CREATE FUNCTION app_session_user(p_id uuid, p_version int)
    RETURNS TABLE (id uuid, email varchar, role varchar, full_name varchar, session_version int,
                   timezone varchar, locale varchar, device_zone varchar)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT u.id, u.email, u.role, u.full_name, u.session_version, u.timezone, u.locale, u.device_zone
        FROM users u
       WHERE u.id = p_id AND u.session_version = p_version AND u.is_active
    $$;
"""


def upgrade() -> None:
    op.alter_column("users", "locale", existing_type=sa.String(length=8), nullable=True, server_default=None)
    op.execute("UPDATE users SET locale = NULL WHERE locale = 'en'")
    op.add_column("users", sa.Column("device_zone", sa.String(length=64), nullable=True))
    # The return type changes: a function's OUT columns cannot be altered in place.
    op.execute("DROP FUNCTION IF EXISTS app_session_user(uuid, int)")
    op.execute(SESSION_USER_0011)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_session_user(uuid, int)")
    op.execute(SESSION_USER_0006)
    op.drop_column("users", "device_zone")
    op.execute("UPDATE users SET locale = 'en' WHERE locale IS NULL")
    op.alter_column("users", "locale", existing_type=sa.String(length=8), nullable=False, server_default="en")
