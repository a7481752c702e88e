"""Development mode and operators' endpoints are not open to anyone (issue 23, item 10): the dev
outbox is for a signed-in admin only, /metrics for the operators' Prometheus only."""

from dataclasses import replace

import pytest

from core import runtime


@pytest.fixture
def development(app, monkeypatch):
    """The same app with DOKTU_ENV=development (where the outbox is served at all)."""
    monkeypatch.setattr(runtime.current(), "settings", replace(runtime.current().settings, env="development"))


def test_the_outbox_is_404_outside_development(client, make_user, login):
    login(make_user("admin").email)
    assert client.get("/dev/outbox").status_code == 404


def test_the_outbox_sends_visitors_to_sign_in_and_refuses_patients_and_doctors(client, development, make_user,
                                                                               login):
    anonymous = client.get("/dev/outbox")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/login?next=/dev/outbox"
    for role in ("patient", "doctor"):
        login(make_user(role).email)
        refused = client.get("/dev/outbox")
        assert refused.status_code == 403 and "reset" not in refused.get_data(as_text=True).lower()
        client.delete_cookie("doktu_session")


def test_an_admin_reads_the_reset_links_in_the_outbox(client, development, make_user, login):
    patient = make_user("patient")
    client.post("/api/auth/forgot", json={"email": patient.email})
    login(make_user("admin").email)
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    assert f"To {patient.email}" in page.get_data(as_text=True) and "/reset/" in page.get_data(as_text=True)


def test_metrics_from_this_machine_without_a_token(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.3.7"}).status_code == 200  # a private network
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "fdaa:0:1::3"}).status_code == 200  # Fly's 6PN


@pytest.mark.parametrize(("address", "headers"), [
    ("8.8.8.8", {}),  # a public address
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),  # a visitor relayed by a proxy on this machine
    ("10.0.0.2", {"Forwarded": "for=198.51.100.4"}),
])
def test_metrics_are_hidden_from_the_public_without_a_token(client, address, headers):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address}, headers=headers)
    assert response.status_code == 404 and "doktu_http" not in response.get_data(as_text=True)


def test_with_a_token_metrics_need_it_from_everywhere(app, client, monkeypatch):
    monkeypatch.setattr(runtime.current(), "settings", replace(runtime.current().settings,
                                                               metrics_token="scrape-me-0123456789"))
    assert client.get("/metrics").status_code == 404  # loopback, but no token
    wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-wrong"})
    assert wrong.status_code == 404
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"},
                       environ_base={"REMOTE_ADDR": "2001:4860:4860::8888"})
    assert right.status_code == 200 and "doktu_http_requests_total" in right.get_data(as_text=True)
