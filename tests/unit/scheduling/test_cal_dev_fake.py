"""Issue 24: without CAL_API_KEY the Cal.com client talks to its dev fake, and the request lines
httpx logs say so — none names api.cal.com as if a real third party were called."""

import logging

from core.scheduling.cal_service import BASE_URL, FAKE_BASE_URL, make_client


def test_the_dev_fake_logs_itself_not_api_cal_com(caplog):
    client = make_client(None)
    with caplog.at_level(logging.INFO, logger="httpx"):
        answer = client.http.get("/v2/calendars/busy-times", params={
            "timeZone": "Europe/Paris", "calendarsToLoad[0][externalId]": "doctor-1",
            "dateFrom": "2026-12-07", "dateTo": "2026-12-07"})
    assert answer.status_code == 200 and answer.json()["data"][0]["source"] == "fake-cal"
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines and all("cal-dev-fake.invalid" in line for line in lines), lines
    assert not any("api.cal.com" in line for line in lines)


def test_with_a_key_the_client_talks_to_cal_com():
    assert str(make_client("cal_live_x").http.base_url).rstrip("/") == BASE_URL
    assert FAKE_BASE_URL.endswith(".invalid")  # never resolves, whatever happens
