"""Busy times for availability: only times, never who (SPEC §3 under RLS).

Anyone may see when a doctor is busy (to be offered only free slots), but appointments are
personal rows that RLS hides from other patients. This SECURITY DEFINER function returns just
(doctor_id, start_at, end_at, kind) of active appointments and external busy events, in one query
for many doctors.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
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
    """)
    op.execute("CREATE INDEX ix_external_busy_doctor_start ON external_busy (doctor_id, start_at)")
    op.execute("CREATE INDEX ix_slots_locked_until ON slots (locked_until) WHERE locked_until IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_slots_locked_until")
    op.execute("DROP INDEX IF EXISTS ix_external_busy_doctor_start")
    op.execute("DROP FUNCTION IF EXISTS doctor_busy_times(uuid[], timestamptz, timestamptz)")
