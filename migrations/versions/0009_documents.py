"""After the consultation (SPEC §18): notes, documents, receipts and credit notes, follow-ups,
moderated reviews and ratings computed from real rows.

- `consultation_notes`: the doctor's private note, one per appointment. RLS: that doctor only —
  not the patient, not the admin, not the system.
- `documents`: summaries, prescriptions and sick notes, stored as the structured data the doctor
  wrote plus a snapshot of who and when (the PDF is rendered from it on each download, so what is
  stored is what is shown). RLS: the patient and that doctor only (never the admin); insert by
  that doctor for one of their patients; no update or delete (a document, once issued, is kept).
  `verify_document(code)` (SECURITY DEFINER) answers `/verify/<code>`: issuer, date and the
  patient's initials, nothing medical.
- `follow_ups`: "book again with me within N days", one per appointment. RLS: the two parties.
- `receipts` (receipts and credit notes): gap-free numbers per kind and calendar year from
  `receipt_counters` (a row per kind and year, incremented with INSERT … ON CONFLICT DO UPDATE in
  the payment's transaction: the row lock serialises concurrent payments and a rollback takes its
  number back). RLS: the patient (their own) and staff — billing data, no health content; written
  by the system only; append-only.
- `ratings`: `comment_status` (none | pending | approved | hidden) with who moderated and when;
  only staff may publish or hide, and a rating is given once (no update by the patient).
- The doctors' `rating_avg`/`rating_count` counters and their trigger go: `doctor_rating_stats`
  (a view over the real rows, owner's rights so that everyone reads the aggregates but not the rows)
  gives the count, the mean and a Bayesian average (prior: the mean of all ratings, weight 10).
  `approved_reviews(doctor, limit)` gives the published comments with the reviewer's first name and
  initial only.

Revision ID: 0009f
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009f"
down_revision = "0009b"
branch_labels = None
depends_on = None

APP_ROLE = "doktu_app"
STAFF = "app_is_staff()"
DOCTOR = "doctor_id = app_doctor_id()"
PARTIES = "(patient_id = app_patient_id() OR doctor_id = app_doctor_id())"
BAYES_WEIGHT = 10

POLICIES = {
    "consultation_notes": {
        "SELECT": (DOCTOR, None),
        "INSERT": (None, f"{DOCTOR} AND app_doctor_sees_patient(patient_id)"),
        "UPDATE": (DOCTOR, DOCTOR),
    },
    "documents": {
        "SELECT": (PARTIES, None),
        "INSERT": (None, f"{DOCTOR} AND app_doctor_sees_patient(patient_id)"),
    },
    "follow_ups": {
        "SELECT": (PARTIES, None),
        "INSERT": (None, f"{DOCTOR} AND app_doctor_sees_patient(patient_id)"),
        "UPDATE": (DOCTOR, DOCTOR),
    },
    "receipts": {
        "SELECT": (f"user_id = app_user_id() OR {STAFF}", None),
        "INSERT": (None, STAFF),
    },
    "receipt_counters": {
        "SELECT": (STAFF, None),
        "INSERT": (None, STAFF),
        "UPDATE": (STAFF, STAFF),
    },
}

FUNCTIONS = f"""
CREATE FUNCTION verify_document(p_code text)
  RETURNS TABLE (kind text, issued_at timestamptz, doctor_name text, specialty text, doctor_number int,
                 patient_initials text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT d.kind, d.issued_at, doc.display_name, doc.specialty, doc.number,
         (SELECT string_agg(left(w, 1), '.') || '.' FROM regexp_split_to_table(trim(u.full_name), '\\s+') AS w
           WHERE w <> '')
    FROM documents d JOIN doctors doc ON doc.id = d.doctor_id
    JOIN patients p ON p.id = d.patient_id JOIN users u ON u.id = p.user_id
   WHERE d.verification_code = upper(p_code)
$$;

CREATE VIEW doctor_rating_stats AS
  WITH everyone AS (SELECT avg(stars)::numeric AS mean FROM ratings)
  SELECT r.doctor_id, count(*)::int AS rating_count, round(avg(r.stars), 2) AS rating_avg,
         round(({BAYES_WEIGHT} * e.mean + sum(r.stars)) / ({BAYES_WEIGHT} + count(*)), 4) AS rating_bayes
    FROM ratings r CROSS JOIN everyone e
   GROUP BY r.doctor_id, e.mean;

CREATE FUNCTION approved_reviews(p_doctor uuid, p_limit int)
  RETURNS TABLE (id uuid, stars smallint, comment text, created_at timestamptz, reviewer text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT r.id, r.stars, r.comment, r.created_at,
         split_part(trim(u.full_name), ' ', 1) ||
         CASE WHEN position(' ' in trim(u.full_name)) > 0
              THEN ' ' || left(regexp_replace(trim(u.full_name), '^.*\\s', ''), 1) || '.' ELSE '' END
    FROM ratings r JOIN patients p ON p.id = r.patient_id JOIN users u ON u.id = p.user_id
   WHERE r.doctor_id = p_doctor AND r.comment_status = 'approved' AND r.comment IS NOT NULL
   ORDER BY r.created_at DESC, r.id
   LIMIT p_limit
$$;

-- Only staff publish or hide a comment; the patient's own insert can only ask for moderation.
CREATE FUNCTION ratings_guard_moderation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT app_is_staff() AND NEW.comment_status NOT IN ('none', 'pending') THEN
    RAISE EXCEPTION 'only staff may publish a review' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
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


def _uuid_pk() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "consultation_notes",
        _uuid_pk(),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_consultation_notes_appointment_id_appointments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_consultation_notes_doctor_id_doctors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_consultation_notes_patient_id_patients"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_notes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_consultation_notes_appointment_id")),
    )
    op.create_table(
        "documents",
        _uuid_pk(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('summary', 'prescription', 'sick_note')", name=op.f("ck_documents_kind")),
        sa.CheckConstraint("verification_code ~ '^[A-Z0-9]{12}$'", name=op.f("ck_documents_code_format")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_documents_appointment_id_appointments"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_documents_doctor_id_doctors"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_documents_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_documents_verification_code")),
    )
    op.create_index("ix_documents_patient_issued", "documents", ["patient_id", "issued_at"], unique=False)
    op.create_index("ix_documents_appointment_id", "documents", ["appointment_id"], unique=False)
    op.create_table(
        "follow_ups",
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("doctor_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("within_days", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("within_days BETWEEN 1 AND 60", name=op.f("ck_follow_ups_within_days")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_follow_ups_appointment_id_appointments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["doctor_id"], ["doctors.id"], name=op.f("fk_follow_ups_doctor_id_doctors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_follow_ups_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_follow_ups")),
    )
    op.create_index("ix_follow_ups_patient_id", "follow_ups", ["patient_id"], unique=False)
    op.create_table(
        "receipt_counters",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "receipts",
        _uuid_pk(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=120), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("refers_to_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('receipt', 'credit_note')", name=op.f("ck_receipts_kind")),
        sa.CheckConstraint("(kind = 'credit_note') = (refers_to_id IS NOT NULL)", name=op.f("ck_receipts_refers")),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_receipts_amount_positive")),
        sa.CheckConstraint("seq > 0", name=op.f("ck_receipts_seq_positive")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_receipts_payment_id_payments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["refers_to_id"], ["receipts.id"], name=op.f("fk_receipts_refers_to_id_receipts"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_receipts_user_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_receipts_appointment_id_appointments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("number", name=op.f("uq_receipts_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_receipts_source_key")),
        sa.UniqueConstraint("kind", "year", "seq", name="uq_receipts_kind_year_seq"),
    )
    op.create_index("ix_receipts_user_issued", "receipts", ["user_id", "issued_at"], unique=False)
    op.create_index("ix_receipts_payment_id", "receipts", ["payment_id"], unique=False)

    op.add_column("ratings", sa.Column("comment_status", sa.String(length=16), server_default="none",
                                       nullable=False))
    op.add_column("ratings", sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ratings", sa.Column("moderated_by", sa.UUID(), nullable=True))
    op.create_foreign_key(op.f("fk_ratings_moderated_by_users"), "ratings", "users", ["moderated_by"], ["id"],
                          ondelete="SET NULL")
    op.create_check_constraint(op.f("ck_ratings_comment_status"), "ratings",
                               "comment_status IN ('none', 'pending', 'approved', 'hidden')")
    op.create_check_constraint(op.f("ck_ratings_comment_length"), "ratings",
                               "comment IS NULL OR char_length(comment) <= 1000")
    op.execute("UPDATE ratings SET comment_status = 'pending' WHERE comment IS NOT NULL")
    op.create_index("ix_ratings_comment_status", "ratings", ["comment_status", "created_at"], unique=False)

    # Counters out: the numbers come from the rows.
    op.execute("DROP TRIGGER IF EXISTS ratings_refresh_doctor ON ratings")
    op.execute("DROP FUNCTION IF EXISTS ratings_refresh_doctor()")
    op.drop_constraint(op.f("ck_doctors_rating_range"), "doctors", type_="check")
    op.drop_column("doctors", "rating_avg")
    op.drop_column("doctors", "rating_count")

    op.execute(FUNCTIONS)
    op.execute(f"GRANT SELECT ON doctor_rating_stats TO {APP_ROLE}")
    op.execute("CREATE TRIGGER ratings_guard_moderation BEFORE INSERT OR UPDATE ON ratings "
               "FOR EACH ROW EXECUTE FUNCTION ratings_guard_moderation()")
    op.execute("CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents "
               "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    op.execute("CREATE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts "
               "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    # A rating is given once: the patient may no longer change it (staff moderate).
    op.execute("DROP POLICY IF EXISTS app_update ON ratings")
    op.execute(f"CREATE POLICY app_update ON ratings FOR UPDATE TO {APP_ROLE} USING ({STAFF}) WITH CHECK ({STAFF})")
    for table, commands in POLICIES.items():
        for statement in _policies(table, commands):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(list(POLICIES)):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute("DROP POLICY IF EXISTS app_update ON ratings")
    op.execute(f"CREATE POLICY app_update ON ratings FOR UPDATE TO {APP_ROLE} "
               f"USING ({STAFF} OR patient_id = app_patient_id()) WITH CHECK ({STAFF} OR patient_id = app_patient_id())")
    op.execute("DROP TRIGGER IF EXISTS ratings_guard_moderation ON ratings")
    op.execute("DROP FUNCTION IF EXISTS ratings_guard_moderation()")
    op.execute("DROP FUNCTION IF EXISTS approved_reviews(uuid, int)")
    op.execute("DROP VIEW IF EXISTS doctor_rating_stats")
    op.execute("DROP FUNCTION IF EXISTS verify_document(text)")
    op.add_column("doctors", sa.Column("rating_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("doctors", sa.Column("rating_avg", sa.Numeric(precision=3, scale=2), nullable=True))
    op.create_check_constraint(op.f("ck_doctors_rating_range"), "doctors",
                               "rating_avg IS NULL OR rating_avg BETWEEN 1 AND 5")
    op.execute("""
CREATE FUNCTION ratings_refresh_doctor() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
DECLARE d uuid := coalesce(NEW.doctor_id, OLD.doctor_id);
BEGIN
  UPDATE doctors SET rating_avg = r.avg, rating_count = r.n
    FROM (SELECT round(avg(stars), 2) AS avg, count(*) AS n FROM ratings WHERE doctor_id = d) r
   WHERE doctors.id = d;
  RETURN NULL;
END $$;
CREATE TRIGGER ratings_refresh_doctor AFTER INSERT OR UPDATE OR DELETE ON ratings
  FOR EACH ROW EXECUTE FUNCTION ratings_refresh_doctor();
UPDATE doctors SET rating_avg = r.avg, rating_count = r.n
  FROM (SELECT doctor_id, round(avg(stars), 2) AS avg, count(*) AS n FROM ratings GROUP BY doctor_id) r
 WHERE doctors.id = r.doctor_id;
""")
    op.drop_index("ix_ratings_comment_status", table_name="ratings")
    op.drop_constraint(op.f("ck_ratings_comment_length"), "ratings", type_="check")
    op.drop_constraint(op.f("ck_ratings_comment_status"), "ratings", type_="check")
    op.drop_constraint(op.f("fk_ratings_moderated_by_users"), "ratings", type_="foreignkey")
    op.drop_column("ratings", "moderated_by")
    op.drop_column("ratings", "moderated_at")
    op.drop_column("ratings", "comment_status")
    op.drop_index("ix_receipts_payment_id", table_name="receipts")
    op.drop_index("ix_receipts_user_issued", table_name="receipts")
    op.drop_table("receipts")
    op.drop_table("receipt_counters")
    op.drop_index("ix_follow_ups_patient_id", table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_index("ix_documents_appointment_id", table_name="documents")
    op.drop_index("ix_documents_patient_issued", table_name="documents")
    op.drop_table("documents")
    op.drop_table("consultation_notes")
