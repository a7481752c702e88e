"""Error codes are a contract (SPEC §12): every DomainError's code and status match the committed
list, and SPEC's codes carry SPEC's statuses."""

from pathlib import Path

from core.errors import all_error_types

COMMITTED = Path(__file__).parents[1] / "error_codes.txt"
SPEC = {"ERR_SLOT_CONFLICT": 409, "ERR_TIME_WINDOW": 422, "ERR_MAX_RESCHEDULES": 422, "ERR_DUP_EMAIL": 409,
        "ERR_PAYMENT_FAILED": 402, "ERR_PROFILE_INCOMPLETE": 422, "ERR_VIDEO_TEST_REQUIRED": 409,
        "ERR_VALIDATION": 422, "ERR_UNAUTHENTICATED": 401, "ERR_FORBIDDEN": 403, "ERR_NOT_FOUND": 404,
        "ERR_RATE_LIMITED": 429}


def test_codes_match_the_committed_list():
    found = {cls.code: cls.status for cls in all_error_types()}
    committed = dict(line.split() for line in COMMITTED.read_text().splitlines() if line.strip())
    assert {code: str(status) for code, status in found.items()} == committed


def test_spec_codes_have_spec_statuses():
    found = {cls.code: cls.status for cls in all_error_types()}
    assert {code: found.get(code) for code in SPEC} == SPEC


def test_a_code_never_has_two_statuses():
    seen: dict[str, int] = {}
    for cls in all_error_types():
        assert seen.setdefault(cls.code, cls.status) == cls.status, cls
