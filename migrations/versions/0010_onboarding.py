"""Doctors and staff come on board (SPEC §19; issue 17).

- `doctors.weekly_hours` (jsonb, NULL = the 10:00–21:00 default): per weekday, local ranges.
- `doctors.status` pending → approved ↔ suspended, with the reason and times; only staff change it
  (a trigger: a doctor may update their own row for their profile, never their status). Existing
  doctors are approved, so nothing else changes.
- `doctors.rpps` (11 digits with the Luhn key, unique), `submitted_at` (the profile sent for review).
- `doctors.feed_version` (the private iCalendar feed's token is an HMAC of the doctor and this
  number: rotating increments it, no secret is stored), `cal_enabled` (the Cal.com bridge per doctor).
- `doctor_photos`: the re-encoded photo (400×400 WebP + JPEG), public like the profile.
- `doctor_invitations`: single-use invitation links, stored hashed; staff only.

Revision ID: 0010i
Revises: 0009e
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010i"
down_revision = "0010h"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"
OWN_DOCTOR = "doctor_id = app_doctor_id()"
POLICIES = {
    "doctor_invitations": {"SELECT": (STAFF, None), "INSERT": (None, STAFF), "UPDATE": (STAFF, STAFF),
                           "DELETE": (STAFF, None)},
    "doctor_photos": {
        "SELECT": ("true", None),
        "INSERT": (None, f"{STAFF} OR {OWN_DOCTOR}"),
        "UPDATE": (f"{STAFF} OR {OWN_DOCTOR}", f"{STAFF} OR {OWN_DOCTOR}"),
        "DELETE": (f"{STAFF} OR {OWN_DOCTOR}", None),
    },
}

GUARD_STATUS = """
CREATE FUNCTION doctors_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT app_is_staff() AND (NEW.status IS DISTINCT FROM OLD.status
                             OR NEW.status_reason IS DISTINCT FROM OLD.status_reason) THEN
    RAISE EXCEPTION 'only staff approve or suspend a doctor' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER doctors_guard_status BEFORE UPDATE ON doctors
  FOR EACH ROW EXECUTE FUNCTION doctors_guard_status();
"""


def _secure(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true);")
    op.execute(f"GRANT {', '.join(sorted(POLICIES[table]))} ON {table} TO {APP_ROLE};")
    for command, (using, check) in POLICIES[table].items():
        sql = f"CREATE POLICY app_{command.lower()} ON {table} FOR {command} TO {APP_ROLE}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql + ";")


def upgrade() -> None:
    op.add_column("doctors", sa.Column("weekly_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("doctors", sa.Column("status", sa.String(length=16), server_default="approved", nullable=False))
    op.add_column("doctors", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("doctors", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("doctors", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("doctors", sa.Column("rpps", sa.String(length=11), nullable=True))
    op.add_column("doctors", sa.Column("feed_version", sa.Integer(), server_default=sa.text("0"), nullable=False))
    # The Cal.com bridge stays on for existing doctors (as before this switch); invited ones start off.
    op.add_column("doctors", sa.Column("cal_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    op.create_check_constraint("status", "doctors", "status IN ('pending', 'approved', 'suspended')")
    op.create_check_constraint("rpps_digits", "doctors", "rpps ~ '^[0-9]{11}$'")
    op.create_unique_constraint(op.f("uq_doctors_rpps"), "doctors", ["rpps"])
    op.execute(GUARD_STATUS)

    op.create_table(
        "doctor_photos",
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("webp", sa.LargeBinary(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_doctor_photos_doctor_id_doctors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("doctor_id", name=op.f("pk_doctor_photos")),
    )
    _secure("doctor_photos")

    op.create_table(
        "doctor_invitations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], name=op.f("fk_doctor_invitations_invited_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_doctor_invitations_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doctor_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_doctor_invitations_token_hash")),
    )
    op.create_index("ix_doctor_invitations_email", "doctor_invitations", [sa.text("lower(email)")])
    _secure("doctor_invitations")


def downgrade() -> None:
    op.drop_table("doctor_invitations")
    op.drop_table("doctor_photos")
    op.execute("DROP TRIGGER IF EXISTS doctors_guard_status ON doctors")
    op.execute("DROP FUNCTION IF EXISTS doctors_guard_status()")
    op.drop_constraint(op.f("uq_doctors_rpps"), "doctors", type_="unique")
    op.drop_constraint("rpps_digits", "doctors", type_="check")
    op.drop_constraint("status", "doctors", type_="check")
    for name in ("cal_enabled", "feed_version", "rpps", "submitted_at", "status_changed_at", "status_reason",
                 "status", "weekly_hours"):
        op.drop_column("doctors", name)
