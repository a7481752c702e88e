"""The Settings rules over plain values: phone numbers in E.164, the time-zone list, and when an
account may be deleted (SPEC §5's 60 minutes)."""

from datetime import UTC, datetime, timedelta

import pytest

from core.accounts.erasure import blocks_erasure, to_cancel
from core.accounts.settings import check_timezone, normalise_phone
from core.errors import ValidationFailed
from core.timezones import utc_offset_label, zone_groups

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "stored"), [
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"),
    ("+44 (20) 7946-0958", "+442079460958"),
    ("+49.151.2345.6789", "+4915123456789"),
    ("+1234567", "+1234567"),                 # 7 digits: the shortest we take
    ("+123456789012345", "+123456789012345"),  # 15 digits: E.164's longest
    ("", None),
    ("   ", None),
    (None, None),
])
def test_phone_numbers_are_stored_in_e164(raw, stored):
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize("raw", ["06 12 34 56 78", "+0612345678", "+1234567890123456", "+33 6 12 AB 56 78",
                                 "+123456", "tel:+33612345678"])
def test_other_numbers_are_refused_on_the_phone_field(raw):
    with pytest.raises(ValidationFailed) as refused:
        normalise_phone(raw)
    assert refused.value.details["fields"][0]["field"] == "phone"


def test_the_zone_list_puts_common_european_zones_first_and_leaves_aliases_out():
    common, others = zone_groups()
    assert common[:4] == ("Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris")
    assert not set(common) & set(others)
    assert "Asia/Tokyo" in others and "UTC" in others and others[:-1] == tuple(sorted(others[:-1]))
    assert not any(z.startswith(("US/", "Etc/")) or z in ("posixrules", "Japan") for z in common + others)
    # Deprecated spellings of real zones are not offered either (issue 22): only their current names.
    assert "Africa/Asmara" in others and not {"Africa/Asmera", "Asia/Calcutta", "Europe/Kiev"} & set(others)


@pytest.mark.parametrize(("zone", "kept"), [("Asia/Tokyo", "Asia/Tokyo"), ("", None), (None, None),
                                            (" Europe/Paris ", "Europe/Paris")])
def test_a_listed_zone_or_none_is_accepted(zone, kept):
    assert check_timezone(zone) == kept


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "US/Eastern", "europe/paris", "../etc/passwd"])
def test_other_zones_are_refused(zone):
    with pytest.raises(ValidationFailed):
        check_timezone(zone)


def test_the_offset_label_follows_daylight_saving():
    assert utc_offset_label("Europe/Paris", datetime(2026, 1, 15, tzinfo=UTC)) == "UTC+01:00"
    assert utc_offset_label("Europe/Paris", datetime(2026, 7, 15, tzinfo=UTC)) == "UTC+02:00"
    assert utc_offset_label("America/St_Johns", datetime(2026, 1, 15, tzinfo=UTC)) == "UTC−03:30"
    assert utc_offset_label("Asia/Kathmandu", datetime(2026, 1, 15, tzinfo=UTC)) == "UTC+05:45"


@pytest.mark.parametrize(("status", "minutes_to_start", "blocks"), [
    ("confirmed", 60, False),   # exactly 60 minutes: the patient may still cancel, so deletion goes on
    ("confirmed", 59, True),
    ("paid", 1, True),
    ("confirmed", -10, True),   # under way
    ("confirmed", -30, False),  # over (30-minute consultation)
    ("pending", 5, False),      # an unpaid hold is given back at any time
    ("cancelled", 5, False),
])
def test_a_paid_consultation_within_60_minutes_blocks_deletion(status, minutes_to_start, blocks):
    start = NOW + timedelta(minutes=minutes_to_start)
    assert blocks_erasure(status=status, start=start, end=start + timedelta(minutes=30), now=NOW) is blocks


@pytest.mark.parametrize(("status", "minutes_to_end", "cancelled"), [
    ("confirmed", 120, True), ("paid", 90, True), ("pending", 45, True),
    ("confirmed", 0, False), ("completed", 120, False), ("cancelled", 120, False), ("no_show", 120, False),
])
def test_future_active_appointments_are_cancelled_first(status, minutes_to_end, cancelled):
    assert to_cancel(status=status, end=NOW + timedelta(minutes=minutes_to_end), now=NOW) is cancelled
