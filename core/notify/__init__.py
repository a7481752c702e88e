"""Notifications: email and SMS through adapters, every message kept in the outbox (SPEC §11)."""
