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
