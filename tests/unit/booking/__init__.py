"""A package only so that this folder's test_policy.py and accounts' can share a basename."""
