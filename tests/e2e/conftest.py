"""End-to-end journeys: the same live server and Chromium set-up as the browser suite."""

from tests.browser.conftest import (  # noqa: F401  (fixtures: the directory's overrides, shared)
    base_url,
    browser_context_args,
    browser_type_launch_args,
    dash_failures,
    login,
    server_stays_clean,
)
