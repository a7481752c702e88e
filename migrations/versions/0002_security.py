"""Row-level security, the app role, the double-booking guard and append-only ledgers (SPEC §2).

The app runs as `doktu_app` (no superuser, no owner, no BYPASSRLS): every policy below really
applies to it. Policies read the per-transaction settings `app.user_id` and `app.role` that
`core.db.unit_of_work` sets first in every transaction. Helper functions that must see across
tables (e.g. "is this patient one of my patients?") are SECURITY DEFINER and owned by the
migration owner, whom the `owner_all` policy lets through; the app role never gets that policy.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
ACTIVE = "('pending', 'paid', 'confirmed')"

FUNCTIONS = f"""
CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
CREATE FUNCTION app_role() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('app.role', true), ''), 'anonymous') $$;
CREATE FUNCTION app_is_staff() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT app_role() IN ('admin', 'system') $$;
CREATE FUNCTION app_patient_id() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM patients WHERE user_id = app_user_id() AND app_role() = 'patient' $$;
CREATE FUNCTION app_doctor_id() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM doctors WHERE user_id = app_user_id() AND app_role() = 'doctor' $$;
CREATE FUNCTION app_doctor_sees_patient(p_patient uuid) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = public AS
  $$ SELECT EXISTS (SELECT 1 FROM appointments
                     WHERE patient_id = p_patient AND doctor_id = app_doctor_id()) $$;
CREATE FUNCTION app_doctor_sees_user(p_user uuid) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = public AS
  $$ SELECT EXISTS (SELECT 1 FROM appointments a JOIN patients p ON p.id = a.patient_id
                     WHERE p.user_id = p_user AND a.doctor_id = app_doctor_id()) $$;
CREATE FUNCTION app_can_see_appointment(p_appointment uuid) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = public AS
  $$ SELECT EXISTS (SELECT 1 FROM appointments
                     WHERE id = p_appointment
                       AND (app_is_staff() OR patient_id = app_patient_id()
                            OR doctor_id = app_doctor_id())) $$;

-- Double booking is impossible in the database: no two active appointments of one doctor may
-- start within 45 minutes of each other (the ±45 min buffer of SPEC §3). Same meaning as an
-- exclusion constraint on tstzrange(start_at, start_at + 45 min), but plain plpgsql, so it also
-- runs on the embedded PostgreSQL, which has no btree_gist. The per-doctor advisory lock
-- serialises bookers of one doctor (no 40P01 deadlocks); the check then runs on a fresh
-- snapshot (READ COMMITTED, volatile function) and sees every committed booking.
CREATE FUNCTION appointments_no_overlap() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

-- The credits balance is derived from the ledger under a per-user lock and can never go
-- below zero (CHECK balance_after_cents >= 0 refuses the entry that would).
CREATE FUNCTION credit_entries_balance() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('doktu:credits:' || NEW.user_id::text, 0));
  SELECT coalesce(sum(amount_cents), 0) + NEW.amount_cents INTO NEW.balance_after_cents
    FROM credit_entries WHERE user_id = NEW.user_id;
  RETURN NEW;
END $$;

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

-- Only staff may change who someone is (role) or switch an account off.
CREATE FUNCTION users_guard_privileges() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.role IS DISTINCT FROM OLD.role OR NEW.is_active IS DISTINCT FROM OLD.is_active)
     AND NOT app_is_staff() THEN
    RAISE EXCEPTION 'only staff may change role or is_active' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

-- A patient may hold or release a slot, nothing else about it.
CREATE FUNCTION slots_guard_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF app_role() = 'patient' AND (NEW.doctor_id, NEW.start_at, NEW.end_at, NEW.is_available)
       IS DISTINCT FROM (OLD.doctor_id, OLD.start_at, OLD.end_at, OLD.is_available) THEN
    RAISE EXCEPTION 'patients may only hold slots' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION ratings_refresh_doctor() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
DECLARE d uuid := coalesce(NEW.doctor_id, OLD.doctor_id);
BEGIN
  UPDATE doctors SET rating_avg = r.avg, rating_count = r.n
    FROM (SELECT round(avg(stars), 2) AS avg, count(*) AS n FROM ratings WHERE doctor_id = d) r
   WHERE doctors.id = d;
  RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER appointments_no_overlap BEFORE INSERT OR UPDATE OF start_at, doctor_id, status
  ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_no_overlap();
CREATE TRIGGER credit_entries_balance BEFORE INSERT ON credit_entries
  FOR EACH ROW EXECUTE FUNCTION credit_entries_balance();
CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE ON credit_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER appointment_changes_append_only BEFORE UPDATE OR DELETE ON appointment_changes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER appointments_touch BEFORE UPDATE ON appointments
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER users_guard_privileges BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_guard_privileges();
CREATE TRIGGER slots_guard_patient BEFORE UPDATE ON slots
  FOR EACH ROW EXECUTE FUNCTION slots_guard_patient();
CREATE TRIGGER ratings_refresh_doctor AFTER INSERT OR UPDATE OR DELETE ON ratings
  FOR EACH ROW EXECUTE FUNCTION ratings_refresh_doctor();
"""

STAFF = "app_is_staff()"
SYSTEM = "app_role() = 'system'"
APPOINTMENT_PARTY = f"({STAFF} OR patient_id = app_patient_id() OR doctor_id = app_doctor_id())"

# table -> {command: (USING, WITH CHECK)}; a missing command is refused to the app role.
POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "users": {
        "SELECT": (f"id = app_user_id() OR {STAFF} OR "
                   "(app_role() = 'doctor' AND role = 'patient' AND app_doctor_sees_user(id))", None),
        "INSERT": (None, STAFF),
        "UPDATE": (f"id = app_user_id() OR {STAFF}", f"id = app_user_id() OR {STAFF}"),
        "DELETE": (STAFF, None),
    },
    "patients": {
        "SELECT": (f"user_id = app_user_id() OR {STAFF} OR "
                   "(app_role() = 'doctor' AND app_doctor_sees_patient(id))", None),
        "INSERT": (None, f"{STAFF} OR (app_role() = 'patient' AND user_id = app_user_id())"),
        "UPDATE": (f"user_id = app_user_id() OR {STAFF}", f"user_id = app_user_id() OR {STAFF}"),
        "DELETE": (STAFF, None),
    },
    "password_reset_tokens": {cmd: (SYSTEM, SYSTEM) for cmd in ("SELECT", "INSERT", "UPDATE", "DELETE")},
    "doctors": {
        "SELECT": ("true", None),
        "INSERT": (None, STAFF),
        "UPDATE": (f"user_id = app_user_id() OR {STAFF}", f"user_id = app_user_id() OR {STAFF}"),
        "DELETE": (STAFF, None),
    },
    "external_busy": {
        "SELECT": ("true", None),
        **{cmd: (f"{STAFF} OR doctor_id = app_doctor_id()", f"{STAFF} OR doctor_id = app_doctor_id()")
           for cmd in ("INSERT", "UPDATE", "DELETE")},
    },
    "slots": {
        "SELECT": ("true", None),
        "INSERT": (None, f"{STAFF} OR doctor_id = app_doctor_id() OR "
                         "(app_role() = 'patient' AND locked_by = app_user_id())"),
        "UPDATE": (f"{STAFF} OR doctor_id = app_doctor_id() OR (app_role() = 'patient' AND "
                   "(locked_by IS NULL OR locked_by = app_user_id() OR locked_until <= now()))",
                   f"{STAFF} OR doctor_id = app_doctor_id() OR (app_role() = 'patient' AND "
                   "(locked_by IS NULL OR locked_by = app_user_id()))"),
        "DELETE": (f"{STAFF} OR doctor_id = app_doctor_id()", None),
    },
    "appointments": {
        "SELECT": (APPOINTMENT_PARTY, None),
        "INSERT": (None, f"{STAFF} OR patient_id = app_patient_id()"),
        "UPDATE": (APPOINTMENT_PARTY, APPOINTMENT_PARTY),
        "DELETE": (STAFF, None),
    },
    "appointment_changes": {
        "SELECT": ("app_can_see_appointment(appointment_id)", None),
        "INSERT": (None, "app_can_see_appointment(appointment_id) AND "
                         f"(actor_id IS NOT DISTINCT FROM app_user_id() OR {STAFF})"),
    },
    "ratings": {
        "SELECT": (APPOINTMENT_PARTY, None),
        "INSERT": (None, f"{STAFF} OR patient_id = app_patient_id()"),
        "UPDATE": (f"{STAFF} OR patient_id = app_patient_id()", f"{STAFF} OR patient_id = app_patient_id()"),
        "DELETE": (STAFF, None),
    },
    "video_tests": {
        "SELECT": (f"{STAFF} OR user_id = app_user_id() OR "
                   "(app_role() = 'doctor' AND app_can_see_appointment(appointment_id))", None),
        "INSERT": (None, f"{STAFF} OR (user_id = app_user_id() AND "
                         "(appointment_id IS NULL OR app_can_see_appointment(appointment_id)))"),
    },
    "payments": {
        "SELECT": (f"{STAFF} OR user_id = app_user_id() OR "
                   "(app_role() = 'doctor' AND app_can_see_appointment(appointment_id))", None),
        "INSERT": (None, f"{STAFF} OR (user_id = app_user_id() AND status = 'pending')"),
        "UPDATE": (STAFF, STAFF),
    },
    "subscriptions": {
        "SELECT": (f"{STAFF} OR user_id = app_user_id()", None),
        "INSERT": (None, f"{STAFF} OR (user_id = app_user_id() AND status = 'incomplete')"),
        "UPDATE": (STAFF, STAFF),
    },
    "credit_entries": {
        "SELECT": (f"{STAFF} OR user_id = app_user_id()", None),
        "INSERT": (None, f"{STAFF} OR (user_id = app_user_id() AND kind = 'spend')"),
    },
    "stripe_events": {cmd: (STAFF, STAFF) for cmd in ("SELECT", "INSERT", "UPDATE")},
    "messages": {
        "SELECT": (f"sender_id = app_user_id() OR recipient_id = app_user_id() OR {SYSTEM}", None),
        "INSERT": (None, f"sender_id = app_user_id() OR {SYSTEM}"),
        "UPDATE": (f"recipient_id = app_user_id() OR {SYSTEM}", f"recipient_id = app_user_id() OR {SYSTEM}"),
    },
    "funnel_events": {
        "SELECT": (STAFF, None),
        "INSERT": (None, f"user_id IS NULL OR user_id = app_user_id() OR {STAFF}"),
    },
    "outbox_messages": {cmd: (STAFF, STAFF) for cmd in ("SELECT", "INSERT", "UPDATE")},
    "audit_events": {
        "SELECT": (STAFF, None),
        "INSERT": (None, f"actor_id IS NOT DISTINCT FROM app_user_id() OR {STAFF}"),
    },
}


def _grants(table: str, commands: dict) -> str:
    privileges = ", ".join(sorted(commands))
    return f"GRANT {privileges} ON {table} TO {APP_ROLE};"


def _policies(table: str, commands: dict) -> list[str]:
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
        f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true);",
        _grants(table, commands),
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
    # Roles are cluster-wide: create it once, keep it across downgrades and other databases.
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF;
        END $$;
    """)
    # The owner connection must be able to SET ROLE to the app role.
    op.execute(f"""
        DO $$ BEGIN
          EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
        EXCEPTION WHEN others THEN NULL;  -- a superuser needs no membership
        END $$;
    """)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE};")
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    for table, commands in POLICIES.items():
        for statement in _policies(table, commands):
            op.execute(statement)
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};")


def downgrade() -> None:
    for table, commands in POLICIES.items():
        for command in commands:
            op.execute(f"DROP POLICY IF EXISTS app_{command.lower()} ON {table};")
        op.execute(f"DROP POLICY IF EXISTS owner_all ON {table};")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE};")
    for line in TRIGGERS.strip().split(";"):
        words = line.split()
        if len(words) > 3:
            table = words[words.index("ON") + 1] if "ON" in words else None
            op.execute(f"DROP TRIGGER IF EXISTS {words[2]} ON {table};")
    for name in ("ratings_refresh_doctor", "slots_guard_patient", "users_guard_privileges",
                 "touch_updated_at", "refuse_change", "credit_entries_balance",
                 "appointments_no_overlap", "app_can_see_appointment", "app_doctor_sees_user",
                 "app_doctor_sees_patient", "app_doctor_id", "app_patient_id", "app_is_staff",
                 "app_role", "app_user_id"):
        op.execute(f"DROP FUNCTION IF EXISTS {name} CASCADE;")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};")
