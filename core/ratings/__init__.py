"""Ratings and reviews (SPEC §18): rate once within 30 days of a completed consultation, comments
published after an admin approves them, a doctor's rating computed from the real rows."""
