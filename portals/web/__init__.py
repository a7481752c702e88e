"""What the portals share for the web (a small module each, no blueprint, no routes): the visitor's
time zone and id, where to send people, doctor cards, amounts. Sibling portals (public, patient,
doctor, admin) import from here and never from each other (an import-linter contract)."""
