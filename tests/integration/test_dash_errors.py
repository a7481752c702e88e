"""One error path for both Dash portals (issue 22): a refusal a callback leaves unhandled — here the
database being away — is shown in the portal's alert and changes nothing else (`on_error`,
portals/dash_frame.py `show_refusal`), in the admin console as in the doctor portal."""

import json

from core.errors import ServiceUnavailable
from portals.admin import dash_app as admin_dash


def _callback(client, portal: str, output: str, inputs: list[dict]):
    client.get(f"/{portal}/")
    token = client.get_cookie("_csrf_token", path=f"/{portal}/").value
    dependencies = client.get(f"/{portal}/_dash-dependencies").get_json()
    spec = next(d for d in dependencies if d["output"] == output)
    body = {"output": spec["output"], "outputs": {"id": output.split(".")[0], "property": output.split(".")[1]},
            "inputs": inputs, "state": [], "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}
    return client.post(f"/{portal}/_dash-update-component", json=body, headers={"X-CSRFToken": token})


def test_an_unhandled_refusal_in_the_admin_console_shows_in_its_alert(client, login, make_user, monkeypatch):
    def down(*_args, **_kwargs):
        raise ServiceUnavailable()

    monkeypatch.setattr(admin_dash.alerts, "alert_feed", down)
    login(make_user("admin").email)
    answer = _callback(client, "admin", "admin-alerts-table.children",
                       [{"id": "admin-tick", "property": "n_intervals", "value": 1},
                        {"id": "admin-alerts-ready", "property": "data", "value": True}])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = json.loads(answer.get_data(as_text=True))
    assert data["sideUpdate"] == {"admin-alert": {"children": ServiceUnavailable().message, "is_open": True}}
    assert "admin-alerts-table" not in data.get("response", {})  # nothing else changed


def test_the_admin_layout_has_the_alert(client, login, make_user):
    from portals.dash_frame import error_alert

    assert error_alert("admin").id == "admin-alert" and error_alert("doctor").id == "doctor-alert"
    login(make_user("admin").email)
    assert '"admin-alert"' in client.get("/admin/_dash-layout").get_data(as_text=True)
