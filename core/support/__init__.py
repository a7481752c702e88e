"""The support inbox (issue 25): conversations with the care team and their due times."""
