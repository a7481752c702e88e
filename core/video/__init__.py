"""Video (SPEC §10): the readiness self-test, the join rule and the Zoom Video SDK session signatures.

`policy` holds the rules as pure functions over plain values; `readiness` records a test result and
`joining` opens a video session, each in one unit of work; `zoom` signs the Video SDK JWT.
"""
