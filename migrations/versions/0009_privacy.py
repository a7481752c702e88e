"""Privacy, self-service (SPEC §21): data exports, consents, email verification.

- `data_exports`: one row per "Download my data" request; the built ZIP is kept here (bytea) until
  its single-use link is used or 24 h pass, so any instance can serve it. At most one export in
  progress (queued or building) per user: a partial unique index. Owner only: the app role reads
  its own rows; only the system (the job, the download check) writes them — admins never see them.
- `consents`: acceptance of the terms and the privacy notice (with their versions and the time)
  and the separate marketing consent; withdrawing sets `withdrawn_at` (the row stays as proof).
- `email_verification_tokens`: hashed single-use links (system only, like password resets), bound
  to the address they were sent to.
- `users.email_verified_at`: NULL from self sign-up until the link is used. Accounts that exist
  before this migration, and accounts staff create (admins, invited doctors), count as verified:
  the column defaults to now() and sign-up sets it to NULL explicitly.
  A trigger keeps it honest: only the system or an admin may set it, and a new email address
  resets it (whoever changes the address), so changing the email re-verifies it.

Revision ID: 0009g
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009g"
down_revision = "0009e"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"
SYSTEM = "app_role() = 'system'"
OWN = "user_id = app_user_id()"

# table -> {command: (USING, WITH CHECK)}, the same shape as 0002's.
POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "data_exports": {
        "SELECT": (f"{OWN} OR {SYSTEM}", None),
        "INSERT": (None, f"({OWN} AND status = 'queued') OR {SYSTEM}"),
        "UPDATE": (SYSTEM, SYSTEM),
        "DELETE": (SYSTEM, None),
    },
    "consents": {
        "SELECT": (f"{OWN} OR {STAFF}", None),
        "INSERT": (None, f"{OWN} OR {STAFF}"),
        "UPDATE": (f"{OWN} OR {STAFF}", f"{OWN} OR {STAFF}"),
        "DELETE": (STAFF, None),
    },
    "email_verification_tokens": {cmd: (SYSTEM, SYSTEM) for cmd in ("SELECT", "INSERT", "UPDATE", "DELETE")},
}

RETENTION_DELETES = ("video_tests", "messages")

GUARD = """
CREATE FUNCTION users_guard_verification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.email_verified_at IS DISTINCT FROM OLD.email_verified_at AND NOT app_is_staff() THEN
    RAISE EXCEPTION 'only the system may mark an email verified' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.email IS DISTINCT FROM OLD.email AND NEW.email_verified_at IS NOT DISTINCT FROM OLD.email_verified_at THEN
    NEW.email_verified_at := NULL;  -- a new address is unverified until its own link is used
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_guard_verification BEFORE UPDATE OF email, email_verified_at ON users
  FOR EACH ROW EXECUTE FUNCTION users_guard_verification();
"""


def _policies(table: str, commands: dict) -> list[str]:
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
        f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true);",
        f"GRANT {', '.join(sorted(commands))} ON {table} TO {APP_ROLE};",
    ]
    for command, (using, check) in commands.items():
        sql = f"CREATE POLICY app_{command.lower()} ON {table} FOR {command} TO {APP_ROLE}"
        if using and command != "INSERT":
            sql += f" USING ({using})"
        if check and command in ("INSERT", "UPDATE"):
            sql += f" WITH CHECK ({check})"
        statements.append(sql + ";")
    return statements


def upgrade() -> None:
    # Accounts made by staff (admins, invited doctors — the invitation link proved the address) and
    # every existing account are verified by default; only self sign-up starts unverified (NULL).
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True,
                                     server_default=sa.func.now()))
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.execute(GUARD)

    op.create_table(
        "data_exports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("archive", sa.LargeBinary()),
        sa.Column("size_bytes", sa.Integer()),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("ready_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("downloaded_at", sa.DateTime(timezone=True)),
        sa.Column("failure", sa.String(200)),
        sa.CheckConstraint("status IN ('queued', 'building', 'ready', 'downloaded', 'expired', 'failed')",
                           name="ck_data_exports_status"),
        sa.CheckConstraint("status <> 'ready' OR (archive IS NOT NULL AND token_hash IS NOT NULL "
                           "AND expires_at IS NOT NULL)", name="ck_data_exports_ready_complete"),
    )
    op.create_index("ix_data_exports_user", "data_exports", ["user_id", "requested_at"])
    op.create_index("uq_data_exports_in_progress", "data_exports", ["user_id"], unique=True,
                    postgresql_where=sa.text("status IN ('queued', 'building')"))

    op.create_table(
        "consents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('terms', 'privacy', 'marketing')", name="ck_consents_kind"),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= accepted_at", name="ck_consents_withdrawn_after"),
    )
    op.create_index("uq_consents_live", "consents", ["user_id", "kind", "version"], unique=True,
                    postgresql_where=sa.text("withdrawn_at IS NULL"))

    op.create_table(
        "email_verification_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )

    # Existing patients accepted the terms by creating their account (so the terms said): recorded
    # as the previous version, so the next sign-in asks for the current one (SPEC §21).
    op.execute("""INSERT INTO consents (user_id, kind, version, accepted_at)
                  SELECT u.id, k.kind, '2026-11-20', u.created_at FROM users u
                  CROSS JOIN (VALUES ('terms'), ('privacy')) AS k(kind) WHERE u.role = 'patient'""")
    for table, commands in POLICIES.items():
        for statement in _policies(table, commands):
            op.execute(statement)
    # Retention deletes device tests after 90 days, and an unverified account's messages: the system only.
    for table in RETENTION_DELETES:
        op.execute(f"GRANT DELETE ON {table} TO {APP_ROLE};")
        op.execute(f"CREATE POLICY app_delete ON {table} FOR DELETE TO {APP_ROLE} USING ({SYSTEM});")


def downgrade() -> None:
    for table in RETENTION_DELETES:
        op.execute(f"DROP POLICY IF EXISTS app_delete ON {table};")
        op.execute(f"REVOKE DELETE ON {table} FROM {APP_ROLE};")
    for table in POLICIES:
        op.drop_table(table)
    op.execute("DROP TRIGGER IF EXISTS users_guard_verification ON users")
    op.execute("DROP FUNCTION IF EXISTS users_guard_verification()")
    op.drop_column("users", "email_verified_at")
