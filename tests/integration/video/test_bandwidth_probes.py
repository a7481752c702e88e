"""The bandwidth probes of the device test: signed-in users only, sized within limits, never cached
or compressed, rate-limited per user."""

import pytest


@pytest.fixture
def signed_in(onboarded, login):
    patient = onboarded()
    login(patient.email)
    return patient


def test_download_sends_the_asked_number_of_random_bytes_uncompressed(signed_in, client):
    response = client.get("/api/video-test/download?bytes=262144", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and len(response.data) == 262144
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Encoding" not in response.headers
    assert response.headers["Cache-Control"] == "no-store, no-transform"
    other = client.get("/api/video-test/download?bytes=262144").data
    assert other != response.data  # random each time: nothing to cache, nothing to compress


@pytest.mark.parametrize("size", ["100", str(4 * 1024 * 1024 + 1), "lots"])
def test_download_sizes_are_bounded(signed_in, client, size):
    response = client.get(f"/api/video-test/download?bytes={size}")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "ERR_VALIDATION"


def test_the_largest_download_is_4_mib(signed_in, client):
    assert len(client.get(f"/api/video-test/download?bytes={4 * 1024 * 1024}").data) == 4 * 1024 * 1024


def test_upload_counts_the_bytes_of_any_body(signed_in, client, csrf_header):
    body = bytes(range(256)) * 1024
    response = client.post("/api/video-test/upload", data=body, content_type="application/octet-stream",
                           headers=csrf_header())
    assert response.status_code == 200 and response.get_json() == {"receivedBytes": 262144}
    assert response.headers["Cache-Control"] == "no-store, no-transform"


def test_upload_of_exactly_1_mib_is_fine_behind_gunicorn(signed_in, client, csrf_header):
    # gunicorn marks its input terminated; werkzeug then caps the stream at the maximum and a read
    # past a body of exactly the maximum would raise 413.
    response = client.post("/api/video-test/upload", data=b"x" * (1024 * 1024), content_type="application/octet-stream",
                           headers=csrf_header(), environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 200 and response.get_json() == {"receivedBytes": 1024 * 1024}


def test_upload_over_1_mib_is_413(signed_in, client, csrf_header):
    response = client.post("/api/video-test/upload", data=b"x" * (1024 * 1024 + 1),
                           content_type="application/octet-stream", headers=csrf_header())
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "ERR_PAYLOAD_TOO_LARGE"


def test_probes_are_for_signed_in_users_only(client, db):
    assert client.get("/api/video-test/download?bytes=16384").status_code == 401
    assert client.post("/api/video-test/upload", data=b"x", content_type="application/octet-stream").status_code \
        in (400, 401)  # the CSRF check comes first for a cookie-less write


def test_probes_are_rate_limited_per_user(signed_in, client, app):
    from portals.limits import limiter

    limiter.enabled = True
    limiter.reset()
    try:
        answers = [client.get("/api/video-test/download?bytes=16384").status_code for _ in range(61)]
    finally:
        limiter.enabled = False
        limiter.reset()
    assert answers[:60] == [200] * 60 and answers[60] == 429
