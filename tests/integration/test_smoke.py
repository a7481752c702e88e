def test_home_lists_doctors_from_the_database(client, make_user):
    make_user("doctor", full_name="Dr. Test Smoke", specialty="Dermatology")
    page = client.get("/")
    assert page.status_code == 200
    assert "Dr. Test Smoke" in page.get_data(as_text=True)
