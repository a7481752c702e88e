"""Messages between patients and their doctors (SPEC §9)."""
