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
