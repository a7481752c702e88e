"""The hold's path in PostgreSQL (issue 21): a patient's holds indexed, role lookups only for the role.

- `ix_slots_locked_by`: a hold gives back the patient's previous hold with the same doctor. That
  UPDATE found it through `(doctor_id, start_at)`, reading every slot row the doctor ever had
  (a row is kept for every start ever held: thousands a year) to keep the one held by the patient.
  A partial index of held slots by holder finds it directly and stays as small as the live holds.
- `app_doctor_id()` / `app_patient_id()`: the row-level policies call them on every row they check
  (`slots`, `appointments`, …). Each was a SECURITY DEFINER SQL function — never inlined, a
  search_path switch and a query per call — even when the role alone says the answer is NULL (a
  patient is never a doctor). They are now plain SQL that PostgreSQL inlines into the policy: the
  role is compared first, and only a doctor (a patient) calls the SECURITY DEFINER look-up
  `app_doctor_lookup()` (`app_patient_lookup()`), the former body. Same answers for every role;
  the functions keep their identity, so every policy that names them picks the new body up. The
  body names its functions by schema (no caller's search_path can put others in their place).

- `hold_calendar(...)`: the hold's first round trip in one statement instead of three — who acts
  (RLS) and `now`, the COMMIT that need not wait for the disk, the bearer token's session confirmed
  (SQLSTATE 28000 when it is over), the doctor's advisory lock, then the doctor's calendar
  (`doctor_calendars`). VOLATILE plpgsql: its last statement takes its snapshot once the lock is
  granted, so it sees every booking committed before (as a separate statement sent after the lock
  did). SECURITY INVOKER: the settings it makes are the caller's transaction's.

Revision ID: 0013b_hold_path
Revises: 0013a_kpi_prev_day
"""

from alembic import op

revision = "0013b_hold_path"
down_revision = "0013a_kpi_prev_day"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
LOOKUPS = {"doctor": "doctors", "patient": "patients"}


HOLD_CALENDAR = f"""
CREATE FUNCTION hold_calendar(p_user text, p_role text, p_now text, p_lock text, p_session int, p_lazy boolean,
                              p_doctor uuid, p_from timestamptz, p_to timestamptz, p_at timestamptz)
RETURNS TABLE (doctor_id uuid, timezone text, online boolean, weekly_hours jsonb,
               slot_ids uuid[], slot_starts timestamptz[], slot_ends timestamptz[], slot_available boolean[],
               slot_template boolean[], slot_locked_by uuid[], slot_locked_until timestamptz[],
               busy_starts timestamptz[], busy_ends timestamptz[], busy_external boolean[],
               valid_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
  PERFORM set_config('app.user_id', p_user, true), set_config('app.role', p_role, true),
          set_config('app.now', p_now, true);
  IF p_lazy THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  IF p_session IS NOT NULL AND NOT EXISTS (
       SELECT FROM app_session_user(nullif(p_user, '')::uuid, p_session) s WHERE s.role = p_role) THEN
    RAISE EXCEPTION 'the access token''s session is over' USING ERRCODE = '28000';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_lock, 0));
  RETURN QUERY SELECT * FROM doctor_calendars(ARRAY[p_doctor], p_from, p_to, p_at);
END
$$;
GRANT EXECUTE ON FUNCTION hold_calendar(text, text, text, text, int, boolean, uuid, timestamptz, timestamptz,
                                        timestamptz) TO {APP_ROLE};
"""


def upgrade() -> None:
    with op.get_context().autocommit_block():  # built without blocking the holds of a live site
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_slots_locked_by ON slots (locked_by) "
                   "WHERE locked_by IS NOT NULL")
    op.execute(HOLD_CALENDAR)
    for role, table in LOOKUPS.items():
        op.execute(f"""
CREATE FUNCTION app_{role}_lookup() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM {table} WHERE user_id = app_user_id() AND app_role() = '{role}' $$;
GRANT EXECUTE ON FUNCTION app_{role}_lookup() TO {APP_ROLE};
CREATE OR REPLACE FUNCTION app_{role}_id() RETURNS uuid LANGUAGE sql STABLE SECURITY INVOKER AS
  $$ SELECT CASE WHEN public.app_role() = '{role}' THEN public.app_{role}_lookup() END $$;
""")


def downgrade() -> None:
    op.execute("DROP FUNCTION hold_calendar(text, text, text, text, int, boolean, uuid, timestamptz, timestamptz, "
               "timestamptz)")
    for role, table in LOOKUPS.items():
        op.execute(f"""
CREATE OR REPLACE FUNCTION app_{role}_id() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM {table} WHERE user_id = app_user_id() AND app_role() = '{role}' $$;
DROP FUNCTION app_{role}_lookup();
""")
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_slots_locked_by")
