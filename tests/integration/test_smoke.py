def test_home_lists_doctors_from_the_database(client, make_user):
    make_user("doctor", full_name="Dr. Test Smoke", specialty="Dermatology")
    page = client.get("/")
    assert page.status_code == 200
    assert "Dr. Test Smoke" in page.get_data(as_text=True)


def test_signed_in_users_get_their_portal_layouts(client, make_user, login):
    """The Dash layouts render for their role (a broken component once made them 500)."""
    login(make_user("doctor").email)
    layout = client.get("/doctor/_dash-layout")
    assert layout.status_code == 200 and "Upcoming consultations" in layout.get_data(as_text=True)
    client.delete_cookie("doktu_session")
    login(make_user("admin").email)
    layout = client.get("/admin/_dash-layout")
    assert layout.status_code == 200 and "Overview" in layout.get_data(as_text=True)


def _component_ids(node) -> list:
    """Every component id in a Dash layout's JSON (nested children included)."""
    if isinstance(node, list):
        return [i for child in node for i in _component_ids(child)]
    if not isinstance(node, dict):
        return []
    props = node.get("props", {})
    found = [props["id"]] if isinstance(props.get("id"), str) else []
    return found + [i for value in props.values() for i in _component_ids(value)]


def test_each_portal_layout_uses_every_component_id_once(client, make_user, login):
    """Dash refuses a layout with a duplicate id (and aria-describedby would point at the wrong
    text): two sections once both used `doctor-cal-help`."""
    for role, path in (("doctor", "/doctor/_dash-layout"), ("admin", "/admin/_dash-layout")):
        client.delete_cookie("doktu_session")
        login(make_user(role).email)
        ids = _component_ids(client.get(path).get_json())
        assert len(ids) > 10
        assert sorted({i for i in ids if ids.count(i) > 1}) == [], role
