"""A tiny STUN server for the browser tests: answers RFC 5389 Binding requests over UDP.

It answers like a STUN server seen through a NAT: the XOR-MAPPED-ADDRESS is 203.0.113.7 (TEST-NET-3)
with the request's source port. Chromium drops a server-reflexive candidate equal to one of its host
candidates, so reflecting the true source address (what a server on the same machine sees) would
give the page nothing to observe; a mapped address that differs gives it the srflx candidate a real
user behind a home router gets.
"""

from __future__ import annotations

import socket
import struct
import threading

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
XOR_MAPPED_ADDRESS = 0x0020
MAPPED_IP = "203.0.113.7"


def binding_success(request: bytes, port: int, ip: str = MAPPED_IP) -> bytes | None:
    """The Binding success response to `request`, or None when it is not a Binding request."""
    if len(request) < 20:
        return None
    kind, _length, cookie = struct.unpack("!HHI", request[:8])
    if kind != BINDING_REQUEST or cookie != MAGIC_COOKIE:
        return None
    transaction = request[8:20]
    xport = port ^ (MAGIC_COOKIE >> 16)
    xaddress = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC_COOKIE
    attribute = struct.pack("!HHBBHI", XOR_MAPPED_ADDRESS, 8, 0, 0x01, xport, xaddress)
    return struct.pack("!HHI", BINDING_SUCCESS, len(attribute), MAGIC_COOKIE) + transaction + attribute


class StunResponder:
    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.host, self.port = self.sock.getsockname()
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stun-responder", daemon=True)

    @property
    def url(self) -> str:
        return f"stun:{self.host}:{self.port}"

    def start(self) -> StunResponder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            answer = binding_success(data, address[1])
            if answer is not None:
                self.requests += 1
                self.sock.sendto(answer, address)
