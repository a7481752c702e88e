"""The records dialog's pages (issue: 242 rows froze the doctor's browser): 20 patients a page,
found by name or email, accents and case ignored."""

import uuid

from core.doctors.patient_records import RECORDS_PAGE, PatientSummary, page_of_patients


def people(n: int) -> list[PatientSummary]:
    return [PatientSummary(uuid.uuid4(), uuid.uuid4(), f"Patient {i:03d}", 1, None, None, email=f"p{i:03d}@x.eu")
            for i in range(n)]


def test_pages_of_twenty_in_the_lists_order_and_clamped():
    everyone = people(45)
    first, third = page_of_patients(everyone), page_of_patients(everyone, page=2)
    assert RECORDS_PAGE == 20
    assert first.patients == everyone[:20] and (first.first, first.total) == (0, 45)
    assert not first.has_previous and first.has_next
    assert third.patients == everyone[40:] and third.has_previous and not third.has_next
    assert page_of_patients(everyone, page=7) == third  # past the end: the last page
    assert page_of_patients(everyone, page=-1) == first


def test_exactly_twenty_is_one_page():
    only = page_of_patients(people(20))
    assert len(only.patients) == 20 and not only.has_next and not only.has_previous


def test_a_search_matches_every_word_in_name_or_email_ignoring_accents_and_case():
    chloe = PatientSummary(uuid.uuid4(), uuid.uuid4(), "Chloé Bernard", 2, None, None, email="cb@mail.fr")
    other = PatientSummary(uuid.uuid4(), uuid.uuid4(), "Chloe Martin", 1, None, None, email="cm@mail.fr")
    everyone = [chloe, other, *people(30)]
    assert page_of_patients(everyone, "CHLOE bern").patients == [chloe]
    assert page_of_patients(everyone, "chloé").patients == [chloe, other]
    assert page_of_patients(everyone, "cm@mail").patients == [other]
    assert page_of_patients(everyone, "  ").total == 32
    nobody = page_of_patients(everyone, "zzz")
    assert (nobody.patients, nobody.total, nobody.has_next) == ([], 0, False)
