import re

import pytest


@pytest.fixture
def form_token(client):
    def token(path: str = "/signup") -> str:
        page = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    return token


@pytest.fixture
def limits(app):
    """Rate limits on, counters empty (they are off in the test settings elsewhere)."""
    from portals.limits import limiter

    limiter.enabled = True
    limiter.reset()
    app.extensions["doktu"].redis.flushdb()
    yield limiter
    limiter.enabled = False
    limiter.reset()
