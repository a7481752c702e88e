"""Accounts: users, passwords, sign-in and API tokens (SPEC §6)."""
