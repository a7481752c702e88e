"""Dash validates each portal's layout on the first request a worker serves, whatever its path and
whoever sends it. A patient's first page on a fresh worker must not run the doctor's layout (it
answered 403 "Only doctors can manage availability" on a patient's /book page before)."""

from portals.doctor.dash_app import doctor_layout


def _dash_setups(app) -> list:
    return [f.__self__ for funcs in app.before_request_funcs.values() for f in funcs
            if getattr(f, "__name__", "") == "_setup_server"]


def test_a_fresh_workers_first_request_by_a_patient_gets_its_page(app, client, make_user, login):
    patient = make_user("patient")
    login(patient.email)
    dashes = _dash_setups(app)
    assert len(dashes) == 2  # the doctor and the admin portals
    for dash_app in dashes:
        dash_app._got_first_request["setup_server"] = False  # as in a worker that just started
    response = client.get("/doctors")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert all(dash_app._got_first_request["setup_server"] for dash_app in dashes)


def test_the_doctor_layout_is_only_built_for_a_doctor(app, make_user):
    from flask_login import login_user

    from core.accounts.authentication import load_user
    from portals.auth import SessionUser

    patient = make_user("patient")
    with app.test_request_context("/"):
        login_user(SessionUser(load_user(patient.user.id, patient.user.session_version)))
        shell = doctor_layout()
    assert "doctor-cal-table" not in str(shell)
