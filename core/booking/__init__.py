"""Appointments: states, the reschedule/cancel policy, history (SPEC §5)."""
