"""Payments: prices and plans, gateways, webhooks and the credits ledger (SPEC §8)."""
