"""One-round-trip session look-up for every authenticated request.

`app_session_user(id, version)` returns the user behind a session or token only if the account
is active and the session version still matches (a password change bumps it). The caller must
already hold both values from a signed cookie or JWT; nothing else is revealed.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION app_session_user(p_id uuid, p_version int)
        RETURNS TABLE (id uuid, email varchar, role varchar, full_name varchar, session_version int)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT u.id, u.email, u.role, u.full_name, u.session_version
            FROM users u
           WHERE u.id = p_id AND u.session_version = p_version AND u.is_active
        $$;
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_session_user(uuid, int)")
