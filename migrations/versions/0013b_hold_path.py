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
  the functions keep their identity, so every policy that names them picks the new body up.

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


def upgrade() -> None:
    op.execute("CREATE INDEX ix_slots_locked_by ON slots (locked_by) WHERE locked_by IS NOT NULL")
    for role, table in LOOKUPS.items():
        op.execute(f"""
CREATE FUNCTION app_{role}_lookup() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM {table} WHERE user_id = app_user_id() AND app_role() = '{role}' $$;
GRANT EXECUTE ON FUNCTION app_{role}_lookup() TO {APP_ROLE};
CREATE OR REPLACE FUNCTION app_{role}_id() RETURNS uuid LANGUAGE sql STABLE SECURITY INVOKER AS
  $$ SELECT CASE WHEN app_role() = '{role}' THEN app_{role}_lookup() END $$;
""")


def downgrade() -> None:
    for role, table in LOOKUPS.items():
        op.execute(f"""
CREATE OR REPLACE FUNCTION app_{role}_id() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT id FROM {table} WHERE user_id = app_user_id() AND app_role() = '{role}' $$;
DROP FUNCTION app_{role}_lookup();
""")
    op.execute("DROP INDEX ix_slots_locked_by")
