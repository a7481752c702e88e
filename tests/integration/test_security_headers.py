"""Security headers (issue 23 §11): one Content-Security-Policy on every response — report-only
while trying a change, enforced otherwise —, third-party origins only when configured, and HSTS in
production only. The policy is checked in Chromium by tests/browser/test_content_security_policy.py."""

from __future__ import annotations

import dataclasses

import pytest

from portals.security import PAGE_INLINE_SCRIPT, content_security_policy, script_hash


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.fixture
def with_settings(app, monkeypatch):
    doktu = app.extensions["doktu"]

    def apply(**changes):
        monkeypatch.setattr(doktu, "settings", dataclasses.replace(doktu.settings, **changes))

    return apply


@pytest.mark.parametrize("path", ["/", "/login", "/doctor/", "/api/doctors"])
def test_every_response_carries_the_enforced_policy(client, path):
    response = client.get(path)
    found = directives(response.headers["Content-Security-Policy"])
    assert found["object-src"] == ["'none'"] and found["frame-ancestors"] == ["'none'"]
    assert found["base-uri"] == ["'self'"] and found["form-action"] == ["'self'"]
    assert found["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in found["script-src"] and "'unsafe-eval'" not in found["script-src"]
    assert "Content-Security-Policy-Report-Only" not in response.headers


def test_the_policy_allows_the_inline_scripts_it_serves_by_hash(app, client, make_user, login):
    policy = directives(client.get("/").headers["Content-Security-Policy"])
    assert script_hash(PAGE_INLINE_SCRIPT) in policy["script-src"]
    assert f"<script>{PAGE_INLINE_SCRIPT}</script>" in client.get("/").get_data(as_text=True)
    login(make_user("doctor").email)
    page = client.get("/doctor/").get_data(as_text=True)
    renderer = page.split('<script id="_dash-renderer" type="application/javascript">')[1].split("</script>")[0]
    assert script_hash(renderer) in policy["script-src"]


def test_report_only_mode_sends_the_same_policy_without_enforcing_it(client, with_settings):
    enforced = client.get("/").headers["Content-Security-Policy"]
    with_settings(csp_report_only=True)
    response = client.get("/")
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["Content-Security-Policy-Report-Only"] == enforced


def test_hsts_only_in_production(client, with_settings):
    assert "Strict-Transport-Security" not in client.get("/").headers
    with_settings(env="production")
    hsts = client.get("/").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31536000


def test_third_party_origins_only_when_configured(settings):
    bare = directives(content_security_policy(settings))
    assert not any("google" in v or "stripe" in v or "zoom" in v for values in bare.values() for v in values)
    assert bare["frame-src"] == ["'none'"]
    configured = directives(content_security_policy(dataclasses.replace(
        settings, recaptcha_site_key="site", recaptcha_secret_key="secret", stripe_secret_key="sk_test_x",
        zoom_sdk_key="key", zoom_sdk_secret="secret")))
    assert "https://www.google.com/recaptcha/" in configured["script-src"]
    assert "https://www.google.com/recaptcha/" in configured["frame-src"]
    assert configured["form-action"] == ["'self'", "https://checkout.stripe.com"]  # Checkout's redirect
    assert "https://source.zoom.us" in configured["script-src"] and "wss://*.zoom.us" in configured["connect-src"]
