"""Video (SPEC §10, §16): the readiness self-test, the join rule, the consultation room and the Zoom
Video SDK session signatures.

`policy` holds the rules as pure functions over plain values; `readiness` records a test result and
`joining` opens a Zoom session, each in one unit of work; `zoom` signs the Video SDK JWT. The
WebRTC room (`VIDEO_PROVIDER=webrtc`): `room` (the page's state, waiting, joining, leaving),
`signalling` (Redis), `presence` (`visit_events`), `ice` (STUN/TURN and coturn credentials) and
`settlement` (what happens after each window).
"""
