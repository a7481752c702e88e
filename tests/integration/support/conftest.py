"""Support inbox fixtures: the scheduling clock (Monday 2 March 2026, 08:00 in Paris) and rate limits on."""

from tests.integration.accounts.conftest import limits  # noqa: F401
from tests.integration.scheduling.conftest import clock_at  # noqa: F401
