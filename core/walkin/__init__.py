"""See a doctor now (SPEC §17): the walk-in queue and its notices."""
