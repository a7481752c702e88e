"""Reliability (issue 23): job heartbeats, expired holds stop blocking, outbox send leases.

- `job_heartbeats` (one row per periodic job: when it last started and finished, its last error —
  no personal data): the admin console shows "Background jobs last ran N s ago" and raises a
  Critical alert when they stop. Staff-only under RLS (the system writes, admins read).
- `app_now()`: the application's "now" for this transaction (`app.now`, set by the unit of work
  from `core.clock`), else the database's. The double-booking guard and `doctor_busy_times()`
  compare hold expiry with it, so an abandoned checkout whose 15 minutes are over stops blocking its
  time at once, not only when the unlock job (every 60 s) cancels it.
- `appointments_no_overlap()` (replaced): a pending appointment whose hold has expired neither
  blocks nor is blocked; a pending one without an expiry still blocks, as before.
- `doctor_busy_times(doctors, from, to, now)` (replaces the 3-argument one): the same, plus `now`
  for callers outside a unit of work; NULL means `app_now()`.
- `outbox_messages.lease_until` and status `sending`: a delivery marks its row before calling the
  provider, so a worker killed mid-send does not lead to a second send before the lease is over.

Revision ID: 0009a
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009a"
down_revision = "0008"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
ACTIVE = "('pending', 'paid', 'confirmed')"

APP_NOW = """
CREATE OR REPLACE FUNCTION app_now() RETURNS timestamptz LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('app.now', true), '')::timestamptz, now()) $$;
"""

# An appointment blocks its doctor's time while it is paid or confirmed, or pending with a hold
# that is not over (no expiry: blocks, as rows written before holds had one).
BLOCKING = "(a.status IN ('paid', 'confirmed') OR (a.status = 'pending' AND (a.hold_expires_at IS NULL OR a.hold_expires_at > {now})))"

GUARD = f"""
CREATE OR REPLACE FUNCTION appointments_no_overlap() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
DECLARE t timestamptz := app_now();
BEGIN
  IF NEW.status NOT IN {ACTIVE}
     OR (NEW.status = 'pending' AND NEW.hold_expires_at IS NOT NULL AND NEW.hold_expires_at <= t) THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('doktu:doctor:' || NEW.doctor_id::text, 0));
  IF EXISTS (SELECT 1 FROM appointments a
              WHERE a.doctor_id = NEW.doctor_id AND a.id <> NEW.id AND {BLOCKING.format(now="t")}
                AND a.start_at > NEW.start_at - interval '45 minutes'
                AND a.start_at < NEW.start_at + interval '45 minutes') THEN
    RAISE EXCEPTION 'the doctor already has an appointment within 45 minutes of %', NEW.start_at
      USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_no_overlap';
  END IF;
  RETURN NEW;
END $$;
"""

OLD_GUARD = f"""
CREATE OR REPLACE FUNCTION appointments_no_overlap() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
BEGIN
  IF NEW.status NOT IN {ACTIVE} THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('doktu:doctor:' || NEW.doctor_id::text, 0));
  IF EXISTS (SELECT 1 FROM appointments a
              WHERE a.doctor_id = NEW.doctor_id AND a.id <> NEW.id AND a.status IN {ACTIVE}
                AND a.start_at > NEW.start_at - interval '45 minutes'
                AND a.start_at < NEW.start_at + interval '45 minutes') THEN
    RAISE EXCEPTION 'the doctor already has an appointment within 45 minutes of %', NEW.start_at
      USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_no_overlap';
  END IF;
  RETURN NEW;
END $$;
"""

BUSY_TIMES = f"""
CREATE FUNCTION doctor_busy_times(p_doctors uuid[], p_from timestamptz, p_to timestamptz,
                                  p_now timestamptz DEFAULT NULL)
RETURNS TABLE (doctor_id uuid, start_at timestamptz, end_at timestamptz, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT a.doctor_id, a.start_at, a.end_at, 'appointment'
    FROM appointments a
   WHERE a.doctor_id = ANY (p_doctors) AND {BLOCKING.format(now="coalesce(p_now, app_now())")}
     AND a.start_at < p_to AND a.end_at > p_from
  UNION ALL
  SELECT e.doctor_id, e.start_at, e.end_at, 'external'
    FROM external_busy e
   WHERE e.doctor_id = ANY (p_doctors) AND e.start_at < p_to AND e.end_at > p_from
$$;
"""

OLD_BUSY_TIMES = """
CREATE FUNCTION doctor_busy_times(p_doctors uuid[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (doctor_id uuid, start_at timestamptz, end_at timestamptz, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT a.doctor_id, a.start_at, a.end_at, 'appointment'
    FROM appointments a
   WHERE a.doctor_id = ANY (p_doctors) AND a.status IN ('pending', 'paid', 'confirmed')
     AND a.start_at < p_to AND a.end_at > p_from
  UNION ALL
  SELECT e.doctor_id, e.start_at, e.end_at, 'external'
    FROM external_busy e
   WHERE e.doctor_id = ANY (p_doctors) AND e.start_at < p_to AND e.end_at > p_from
$$;
"""

STAFF = "app_role() IN ('admin', 'system')"
SYSTEM = "app_role() = 'system'"


def upgrade() -> None:
    op.create_table(
        "job_heartbeats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_heartbeats")),
    )
    op.execute("ALTER TABLE job_heartbeats ENABLE ROW LEVEL SECURITY;")
    op.execute("ALTER TABLE job_heartbeats FORCE ROW LEVEL SECURITY;")
    op.execute("CREATE POLICY owner_all ON job_heartbeats TO CURRENT_USER USING (true) WITH CHECK (true);")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON job_heartbeats TO {APP_ROLE};")
    op.execute(f"CREATE POLICY app_select ON job_heartbeats FOR SELECT TO {APP_ROLE} USING ({STAFF});")
    op.execute(f"CREATE POLICY app_insert ON job_heartbeats FOR INSERT TO {APP_ROLE} WITH CHECK ({SYSTEM});")
    op.execute(f"CREATE POLICY app_update ON job_heartbeats FOR UPDATE TO {APP_ROLE} "
               f"USING ({SYSTEM}) WITH CHECK ({SYSTEM});")

    op.execute(APP_NOW)
    op.execute(GUARD)
    op.execute("DROP FUNCTION doctor_busy_times(uuid[], timestamptz, timestamptz)")
    op.execute(BUSY_TIMES)

    op.add_column("outbox_messages", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_outbox_messages_status"), "outbox_messages", type_="check")
    op.create_check_constraint(op.f("ck_outbox_messages_status"), "outbox_messages",
                               "status IN ('queued', 'sending', 'sent', 'failed', 'dev')")
    op.create_index("ix_outbox_messages_sending", "outbox_messages", ["lease_until"], unique=False,
                    postgresql_where=sa.text("status = 'sending'"))


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_sending", table_name="outbox_messages",
                  postgresql_where=sa.text("status = 'sending'"))
    op.execute("UPDATE outbox_messages SET status = 'queued' WHERE status = 'sending'")
    op.drop_constraint(op.f("ck_outbox_messages_status"), "outbox_messages", type_="check")
    op.create_check_constraint(op.f("ck_outbox_messages_status"), "outbox_messages",
                               "status IN ('queued', 'sent', 'failed', 'dev')")
    op.drop_column("outbox_messages", "lease_until")

    op.execute("DROP FUNCTION doctor_busy_times(uuid[], timestamptz, timestamptz, timestamptz)")
    op.execute(OLD_BUSY_TIMES)
    op.execute(OLD_GUARD)
    op.execute("DROP FUNCTION app_now()")
    op.drop_table("job_heartbeats")
