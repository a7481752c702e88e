"""Privacy self-service (SPEC §21): data export, access log, consents, email verification, retention."""
