"""The Dash portals' callbacks as dash[testing] drives them (issue 22 item 5), beside the
Playwright journeys: `dash_br` (Selenium, dash's own waits) against the same live `doktu serve`.

What is checked is the callbacks' behaviour as the page sees it: the calendar's press patches one
entry and the script updates that very button in place (the element survives, focus stays on it);
navigation swaps the grid; the Month view opens a day; the admin console's period buttons and
sections answer through their callbacks."""

from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys

from tests.live_browser import DEMO_PASSWORD

pytestmark = pytest.mark.browser

DOCTOR = "doctor9@demo.doktu.eu"  # the Playwright tests use doctor8: no shared cells
ADMIN = "admin@demo.doktu.eu"


def sign_in(dash_br, base_url: str, email: str, next_path: str) -> None:
    dash_br.driver.get(f"{base_url}/login?next={next_path}")
    dash_br.find_element("#email").send_keys(email)
    dash_br.find_element("#password").send_keys(DEMO_PASSWORD)
    dash_br.find_element("main form button[type=submit]").click()  # not the header's language form
    dash_br.wait_for_element("#react-entry-point", timeout=15)


def grid_key(dash_br) -> str | None:
    try:
        tables = dash_br.find_elements("#doctor-cal-table")
        return tables[0].get_attribute("data-key") if tables else None
    except StaleElementReferenceException:  # redrawn between the two calls: ask again
        return None


def move(dash_br, button: str) -> str:
    """Press a navigation button and wait until the script has drawn another grid; its key."""
    before = grid_key(dash_br)
    dash_br.find_element(button).click()
    until(lambda: grid_key(dash_br) not in (None, before), timeout=10)
    return grid_key(dash_br)


def open_calendar(dash_br, base_url: str) -> None:
    sign_in(dash_br, base_url, DOCTOR, "/doctor/")
    dash_br.wait_for_element("#doctor-cal-table", timeout=15)
    move(dash_br, "#doctor-cal-next")  # next week: every cell ahead, none past
    dash_br.wait_for_element('#doctor-cal-table button[data-state="available"]', timeout=10)


def test_a_press_patches_one_cell_in_place_and_focus_stays_on_it(dash_br, live_doktu, base_url):
    open_calendar(dash_br, base_url)
    cell = dash_br.find_element('#doctor-cal-table button[data-state="available"][data-rc$=",3"]')
    dash_br.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
    label = cell.get_attribute("aria-label")
    when = label.split(", available")[0]
    other = dash_br.find_elements("#doctor-cal-table button[data-rc]")[0].get_attribute("aria-label")

    # A script click: the grid's own handler, whatever the viewport leaves on top of the cell (the sticky
    # header or a toast can cover it in a small headless window); the keyboard path below is a real key.
    dash_br.driver.execute_script("arguments[0].click()", cell)
    dash_br.wait_for_text_to_equal("#doctor-cal-status", f"{when} is now unavailable.", timeout=10)
    # The same element, updated by the script from the patched entry: not a re-rendered grid.
    assert cell.get_attribute("data-state") == "unavailable"
    assert cell.get_attribute("aria-label") == f"{when}, unavailable — press to turn on"
    assert dash_br.find_elements("#doctor-cal-table button[data-rc]")[0].get_attribute("aria-label") == other

    cell.send_keys(Keys.ENTER)  # back on by keyboard
    dash_br.wait_for_text_to_equal("#doctor-cal-status", f"{when} is now available.", timeout=10)
    assert cell.get_attribute("data-state") == "available"
    assert dash_br.driver.switch_to.active_element == cell
    assert dash_br.get_logs() in ([], None)


def test_navigation_redraws_the_grid_and_month_days_open_their_day(dash_br, live_doktu, base_url):
    open_calendar(dash_br, base_url)
    week_title = dash_br.find_element("#doctor-cal-title").text
    key = move(dash_br, "#doctor-cal-next")
    assert key.startswith("week:") and dash_br.find_element('#doctor-cal-table button[data-rc="0,6"]')
    dash_br.wait_for_text_to_equal("#doctor-cal-title", dash_br.find_element("#doctor-cal-title").text)
    assert dash_br.find_element("#doctor-cal-title").text != week_title
    assert dash_br.find_element("#doctor-cal-status").text == ""


    dash_br.find_element('#doctor-cal-view input[value="month"]').click()
    until(lambda: (grid_key(dash_br) or "").startswith("month:"), timeout=10)
    dash_br.wait_for_element("#doctor-cal-table.dk-cal--month", timeout=10)
    day = dash_br.find_elements("#doctor-cal-table button[data-open-day]")[10]
    iso = day.get_attribute("data-open-day")
    day.send_keys(Keys.ENTER)  # a Month day opens by keyboard too
    until(lambda: (grid_key(dash_br) or "").startswith(f"day:{iso}:"), timeout=10)
    starts = [b.get_attribute("data-start") for b in dash_br.find_elements("#doctor-cal-table button[data-start]")]
    assert len(starts) >= 46
    checked = dash_br.find_element("#doctor-cal-view input:checked")
    assert checked.get_attribute("value") == "day" and iso in dash_br.find_element("#doctor-cal-table").get_attribute(
        "data-key")


def test_the_admin_period_and_sections_answer_through_their_callbacks(dash_br, live_doktu, base_url):
    sign_in(dash_br, base_url, ADMIN, "/admin/")
    dash_br.wait_for_text_to_equal("#admin-section-title", "Overview", timeout=15)
    period = dash_br.find_element("#admin-period").text
    dash_br.find_element('.admin-filter__option[data-range="yesterday"]').click()
    until(lambda: dash_br.find_element('.admin-filter__option[data-range="yesterday"]')
          .get_attribute("aria-pressed") == "true", timeout=10)
    pressed = dash_br.find_elements('.admin-filter__option[aria-pressed="true"]')
    assert [b.get_attribute("data-range") for b in pressed] == ["yesterday"]  # one pressed at a time
    until(lambda: dash_br.find_element("#admin-period").text != period, timeout=10)
    dash_br.find_element("#admin-nav-payments").click()
    dash_br.wait_for_text_to_equal("#admin-section-title", "Payments", timeout=10)
    assert dash_br.find_element('.admin-filter__option[data-range="yesterday"]').get_attribute("aria-pressed") == \
        "true"  # the choice lives in a session store: it follows to the next section
