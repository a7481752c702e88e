"""SPEC §22 "Weight": what the portals' first page asks the browser to download. Dash's whole Babel
polyfill is replaced by regenerator-runtime (what its bundles use of it), dash_table's loader is
gone, and every script the page names is served."""

import re

import pytest

from portals.dash_frame import REGENERATOR


@pytest.mark.parametrize(("portal", "role"), [("doctor", "doctor"), ("admin", "admin")])
def test_the_portal_page_loads_regenerator_instead_of_the_babel_polyfill(client, login, make_user, portal, role):
    login(make_user(role).email)
    page = client.get(f"/{portal}/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert not [s for s in scripts if "polyfill" in s or "dash_table" in s]
    # Before React and every bundle that calls regeneratorRuntime, and not deferred.
    assert scripts[0] == REGENERATOR and f'<script src="{REGENERATOR}"></script>' in page
    assert any("react-dom" in s for s in scripts) and any("dash_renderer" in s for s in scripts)
    for src in scripts:
        answer = client.get(src)
        assert answer.status_code == 200, src
    runtime = client.get(REGENERATOR).get_data(as_text=True)
    assert "regeneratorRuntime" in runtime and "MIT" in runtime


BUDGET_KB = {"doctor": 380, "admin": 600}  # SPEC §22, first load of the signed-in portal


@pytest.mark.parametrize(("portal", "role"), [("doctor", "doctor"), ("admin", "admin")])
def test_the_first_load_fits_the_spec_budget(client, login, make_user, portal, role):
    """What a browser fetches before the first callback — the page, every script and stylesheet it
    names, Dash's layout and callback list — as the server sends it to a browser (brotli), within
    SPEC §22's budget with room for the first callbacks' answers (`bench/pages.py --portals-only`
    measures the whole load in Chromium, headers included)."""
    login(make_user(role).email)
    brotli = {"Accept-Encoding": "gzip, deflate, br"}
    html = client.get(f"/{portal}/").get_data(as_text=True)
    page = client.get(f"/{portal}/", headers=brotli)
    sources = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+\.css[^"]*)"', html) + \
        [f"/{portal}/_dash-layout", f"/{portal}/_dash-dependencies"]
    sizes = {}
    for src in sources:
        answer = client.get(src, headers=brotli)
        assert answer.status_code == 200, src
        if answer.content_length is None or len(answer.get_data()) > 1024:
            assert answer.headers.get("Content-Encoding") in ("br", "gzip"), src
        sizes[src] = len(answer.get_data())
    total_kb = (len(page.get_data()) + sum(sizes.values())) / 1024
    assert len(sources) >= 8
    assert total_kb <= BUDGET_KB[portal] - 20, sorted(sizes.items(), key=lambda kv: -kv[1])
