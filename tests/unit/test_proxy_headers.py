"""Behind Fly's proxy (PROXY_HOPS=1) the visitor's address and scheme come from the proxy's
headers, so per-address rate limits see visitors; with no proxy the headers are ignored (a client
cannot pick its own address)."""

from flask import Flask, request

from portals import trust_proxy_headers


def client_for(hops: int):
    app = Flask("proxy-test")

    @app.get("/who")
    def who():
        return f"{request.remote_addr} {request.scheme}"

    trust_proxy_headers(app, hops)
    return app.test_client()


HEADERS = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"}


def test_one_trusted_hop_takes_the_address_the_proxy_saw():
    answer = client_for(1).get("/who", headers=HEADERS, environ_base={"REMOTE_ADDR": "172.16.0.2"})
    assert answer.get_data(as_text=True) == "203.0.113.9 https"  # the last hop's, not the client's claim


def test_without_proxies_forwarded_headers_are_ignored():
    answer = client_for(0).get("/who", headers=HEADERS, environ_base={"REMOTE_ADDR": "172.16.0.2"})
    assert answer.get_data(as_text=True) == "172.16.0.2 http"
