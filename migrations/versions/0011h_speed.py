"""Speed (issue 21): a doctor's calendar in one statement, bounded busy times, change tracking.

- `doctor_busy_times()` (replaced, same signature, now plpgsql so its plan is kept per connection
  instead of made on every call): appointments are read from a day before the
  window only (consultations last 30 minutes), so the (doctor_id, start_at) index bounds the scan
  below — before, every past appointment of the doctor was read and filtered on `end_at`.
  External (Cal.com) events keep no lower bound: one may last weeks.
- `doctor_calendars(doctors, from, to, now)`: everything the availability engine needs for many
  doctors in ONE statement, one row per approved doctor — time zone, online, weekly hours, the
  slot rows as parallel arrays, the busy times (through `doctor_busy_times`), and `valid_until`,
  the first moment this answer changes by itself (a pending appointment's hold running out).
  plpgsql (plans kept), SECURITY DEFINER like `doctor_busy_times`: it returns times, never whose appointments they are;
  slots and doctors are readable by anyone under RLS anyway. Public availability calls it outside
  any transaction (autocommit): one round trip instead of six.
- `note_calendar_change()`: a trigger on slots, appointments, external_busy and on the doctor
  columns availability reads; it adds the doctor's id to the transaction-local setting
  `app.calendar_changed`. The unit of work reads it before committing a transaction that wrote,
  and drops those doctors' cached availability after the commit — so every write, whichever
  service made it, invalidates exactly the doctors it touched.

Revision ID: 0011a
Revises: 0011g
"""

from alembic import op

revision = "0011a"
down_revision = "0011g"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
BLOCKING = ("(a.status IN ('paid', 'confirmed') OR (a.status = 'pending' AND "
            "(a.hold_expires_at IS NULL OR a.hold_expires_at > {now})))")


def busy_times(new: bool) -> str:
    """plpgsql (new): its statement's plan is kept per connection; a SECURITY DEFINER SQL function
    is never inlined, so PostgreSQL planned its query again on every call."""
    query = f"""SELECT a.doctor_id, a.start_at, a.end_at, 'appointment'::text
    FROM appointments a
   WHERE a.doctor_id = ANY (p_doctors) AND {BLOCKING.format(now="coalesce(p_now, app_now())")}
     AND a.start_at < p_to AND a.end_at > p_from {"AND a.start_at > p_from - interval '1 day'" if new else ""}
  UNION ALL
  SELECT e.doctor_id, e.start_at, e.end_at, 'external'::text
    FROM external_busy e
   WHERE e.doctor_id = ANY (p_doctors) AND e.start_at < p_to AND e.end_at > p_from"""
    body = (f"#variable_conflict use_column\nBEGIN\n  RETURN QUERY {query};\nEND" if new else query)
    return f"""
CREATE OR REPLACE FUNCTION doctor_busy_times(p_doctors uuid[], p_from timestamptz, p_to timestamptz,
                                             p_now timestamptz DEFAULT NULL)
RETURNS TABLE (doctor_id uuid, start_at timestamptz, end_at timestamptz, kind text)
LANGUAGE {"plpgsql" if new else "sql"} STABLE SECURITY DEFINER SET search_path = public AS $$
{body}
$$;
"""


CALENDARS = """
CREATE FUNCTION doctor_calendars(p_doctors uuid[], p_from timestamptz, p_to timestamptz, p_now timestamptz)
RETURNS TABLE (doctor_id uuid, timezone text, online boolean, weekly_hours jsonb,
               slot_ids uuid[], slot_starts timestamptz[], slot_ends timestamptz[], slot_available boolean[],
               slot_template boolean[], slot_locked_by uuid[], slot_locked_until timestamptz[],
               busy_starts timestamptz[], busy_ends timestamptz[], busy_external boolean[],
               valid_until timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH busy AS (SELECT * FROM doctor_busy_times(p_doctors, p_from, p_to, p_now))
  SELECT d.id, d.timezone::text, d.online, d.weekly_hours,
         s.ids, s.starts, s.ends, s.available, s.template, s.locked_by, s.locked_until,
         b.starts, b.ends, b.external, v.until
    FROM doctors d
    LEFT JOIN LATERAL (
      SELECT array_agg(x.id ORDER BY x.start_at) AS ids, array_agg(x.start_at ORDER BY x.start_at) AS starts,
             array_agg(x.end_at ORDER BY x.start_at) AS ends,
             array_agg(x.is_available ORDER BY x.start_at) AS available,
             array_agg(x.source = 'template' ORDER BY x.start_at) AS template,
             array_agg(x.locked_by ORDER BY x.start_at) AS locked_by,
             array_agg(x.locked_until ORDER BY x.start_at) AS locked_until
        FROM slots x
       WHERE x.doctor_id = d.id AND x.start_at >= p_from AND x.start_at < p_to) s ON true
    LEFT JOIN LATERAL (
      SELECT array_agg(y.start_at ORDER BY y.start_at) AS starts, array_agg(y.end_at ORDER BY y.start_at) AS ends,
             array_agg(y.kind = 'external' ORDER BY y.start_at) AS external
        FROM busy y WHERE y.doctor_id = d.id) b ON true
    LEFT JOIN LATERAL (
      SELECT min(a.hold_expires_at) AS until
        FROM appointments a
       WHERE a.doctor_id = d.id AND a.status = 'pending' AND a.hold_expires_at > p_now
         AND a.start_at > p_from - interval '1 day' AND a.start_at < p_to) v ON true
   WHERE d.id = ANY (p_doctors) AND d.status = 'approved';
END
$$;
"""

NOTE_CHANGE = """
CREATE FUNCTION note_calendar_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  seen text := coalesce(current_setting('app.calendar_changed', true), '');
  ids uuid[];
  one uuid;
BEGIN
  IF TG_TABLE_NAME = 'doctors' THEN  -- a doctor added, or what availability reads of them changed
    ids := ARRAY[NEW.id];
  ELSIF TG_OP = 'DELETE' THEN
    ids := ARRAY[OLD.doctor_id];
  ELSIF TG_OP = 'UPDATE' AND OLD.doctor_id <> NEW.doctor_id THEN
    ids := ARRAY[OLD.doctor_id, NEW.doctor_id];
  ELSE
    ids := ARRAY[NEW.doctor_id];
  END IF;
  FOREACH one IN ARRAY ids LOOP
    IF position(one::text IN seen) = 0 THEN
      seen := seen || one::text || ',';
    END IF;
  END LOOP;
  PERFORM set_config('app.calendar_changed', seen, true);
  RETURN NULL;
END $$;
"""

TRIGGERS = {
    "slots": "AFTER INSERT OR UPDATE OR DELETE ON slots FOR EACH ROW",
    "appointments": "AFTER INSERT OR UPDATE OR DELETE ON appointments FOR EACH ROW",
    "external_busy": "AFTER INSERT OR UPDATE OR DELETE ON external_busy FOR EACH ROW",
    "doctors_added": "AFTER INSERT ON doctors FOR EACH ROW",
    "doctors": ("AFTER UPDATE OF timezone, online, weekly_hours, status ON doctors FOR EACH ROW "
                "WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone OR OLD.online IS DISTINCT FROM NEW.online "
                "OR OLD.weekly_hours IS DISTINCT FROM NEW.weekly_hours OR OLD.status IS DISTINCT FROM NEW.status)"),
}


def upgrade() -> None:
    op.execute(busy_times(new=True))
    op.execute(CALENDARS)
    op.execute(f"GRANT EXECUTE ON FUNCTION doctor_calendars(uuid[], timestamptz, timestamptz, timestamptz) "
               f"TO {APP_ROLE}")
    op.execute(NOTE_CHANGE)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name}_calendar_change {when} EXECUTE FUNCTION note_calendar_change()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}_calendar_change ON {name.removesuffix('_added')}")
    op.execute("DROP FUNCTION note_calendar_change()")
    op.execute("DROP FUNCTION doctor_calendars(uuid[], timestamptz, timestamptz, timestamptz)")
    op.execute(busy_times(new=False))
