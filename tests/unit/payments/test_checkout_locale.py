"""SPEC §20: Stripe Checkout's `locale` from the payer's saved language, `auto` before any choice."""

import pytest

from core.payments.gateway import LocalGateway, checkout_locale


@pytest.mark.parametrize(("saved", "sent"), [("fr", "fr"), ("de", "de"), ("en", "en"), ("fr-BE", "fr"),
                                             ("pt", "en"), (None, "auto"), ("", "auto")])
def test_the_checkout_locale(saved, sent):
    assert checkout_locale(saved) == sent


def test_the_local_stand_in_accepts_the_locale_too():
    session = LocalGateway("http://localhost").create_checkout_session(
        amount_cents=3500, currency="EUR", description="x", customer_email="a@b.eu", success_url="/s",
        cancel_url="/c", metadata={}, idempotency_key="k", locale="de")
    assert session.url.startswith("/pay/cs_local_")
