"""README, "Metrics": `GET /metrics` through nginx, in the Prometheus text format as the official
Python client's parser reads it, with counters that move as the shop works, and refused by nginx
to any address but 127.0.0.1.

The request count and latency per route pattern and status class come from the request
pipeline; the services record the rest (settlements, notifications, gateway calls, database,
sweeper, busy workers).
"""

import socket
from urllib.parse import urlsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

from alipay import assert_notify_answer, notification, pay_link, post_notify, shop
from conftest import SETTINGS, BASE_URL, JSON_TYPE, assert_error, auth, read_to_close

__all__ = ["shop"]  # the fixture, imported for pytest

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Families every `serve` process has from its start: (name as the parser reports it, type).
# The parser names a counter family without its `_total` suffix.
ALWAYS = {
    ("luffy_fastcgi_workers_busy", "gauge"),
    ("luffy_db_reconnects", "counter"),
    ("luffy_db_deadlock_retries", "counter"),
    ("luffy_sweeper_closed_orders", "counter"),
    ("http_requests", "counter"),
    ("http_request_duration_seconds", "histogram"),
}


def scrape():
    """{family name: family} of one GET /metrics through nginx, parsed by prometheus_client."""
    r = requests.get(BASE_URL + "/metrics", timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"] == METRICS_TYPE, r.headers
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert families, r.text[:500]
    return families


def value(families, family, sample, **labels):
    """The value of one sample (0 when the series does not exist yet)."""
    if family not in families:
        return 0
    for s in families[family].samples:
        if s.name == sample and s.labels == labels:
            return s.value
    return 0


def test_metrics_parse_with_the_official_parser():
    families = scrape()
    found = {(name, f.type) for name, f in families.items()}
    assert ALWAYS <= found, sorted(found)
    # every sample of every family is a number the parser understood
    for f in families.values():
        assert f.samples, f.name
        for s in f.samples:
            assert isinstance(s.value, (int, float)) and s.value >= 0, s


def test_requests_count_and_time_by_route_pattern_and_status_class():
    before = scrape()
    for _ in range(3):
        r = requests.get(BASE_URL + "/user/order?page=1&size=5", headers=auth(1), timeout=10)
        assert r.status_code == 200, r.text[:300]
    assert requests.put(BASE_URL + "/orders/987654321", headers=auth(1), timeout=10).status_code == 404
    # a path nginx hands to the app that no route has
    assert requests.get(BASE_URL + "/orders/1/no/such/route", headers=auth(1), timeout=10).status_code == 404
    after = scrape()

    def moved(family, sample, **labels):
        return value(after, family, sample, **labels) - value(before, family, sample, **labels)

    assert moved("http_requests", "http_requests_total", route="/user/order", status="2xx") == 3
    # the pattern, not the path: one series for every order id
    assert moved("http_requests", "http_requests_total", route="/orders/:id", status="4xx") == 1
    assert moved("http_requests", "http_requests_total", route="unmatched", status="4xx") == 1
    assert moved("http_request_duration_seconds", "http_request_duration_seconds_count",
                 route="/user/order", status="2xx") == 3
    assert moved("http_request_duration_seconds", "http_request_duration_seconds_bucket",
                 route="/user/order", status="2xx", le="+Inf") == 3


def test_a_refused_notification_counts_its_reason():
    before = scrape()
    forged = notification("2099010100000000000000001", "1.00")
    forged["sign"] = "AAAA" + forged["sign"][4:]
    assert_notify_answer(post_notify(forged), "fail")
    after = scrape()
    assert after["luffy_alipay_notifications"].type == "counter"
    key = dict(outcome="refused", reason="signature")
    assert value(after, "luffy_alipay_notifications", "luffy_alipay_notifications_total", **key) \
        == value(before, "luffy_alipay_notifications", "luffy_alipay_notifications_total", **key) + 1


def test_settlements_count_by_outcome(shop):
    p = shop.purchase("coupon")
    before = scrape()
    n = notification(p.number, p.amount_text)
    assert_notify_answer(post_notify(n), "success")
    retry = notification(p.number, p.amount_text, n["trade_no"], notify_id=n["notify_id"], buyer_id=n["buyer_id"])
    assert_notify_answer(post_notify(retry), "success")
    assert_notify_answer(post_notify(notification(p.number, p.amount_text)), "success")   # a second trade
    after = scrape()
    assert after["luffy_settlements"].type == "counter"

    def moved(outcome):
        labels = dict(outcome=outcome, source="notify")
        return value(after, "luffy_settlements", "luffy_settlements_total", **labels) \
            - value(before, "luffy_settlements", "luffy_settlements_total", **labels)

    assert (moved("settled"), moved("already_paid"), moved("refund_needed")) == (1, 1, 1)
    handled = dict(outcome="handled")
    assert value(after, "luffy_alipay_notifications", "luffy_alipay_notifications_total", **handled) \
        >= value(before, "luffy_alipay_notifications", "luffy_alipay_notifications_total", **handled) + 3


def test_gateway_calls_count_and_time_by_method(client, shop):
    p = shop.purchase()
    assert pay_link(client, p.user_id, p.number).startswith("http")
    before = scrape()
    # unpaid: the app asks the gateway, which has no payment for it
    r = client.get(f"/payments/alipay/query/{p.number}", headers=auth(p.user_id), timeout=30)
    assert_error(r, 400, "order_unpaid")
    after = scrape()
    method = dict(method="alipay.trade.query")
    calls = ("luffy_alipay_gateway_calls", "luffy_alipay_gateway_calls_total")
    assert after[calls[0]].type == "counter"
    assert value(after, *calls, result="ok", **method) == value(before, *calls, result="ok", **method) + 1
    latency = "luffy_alipay_gateway_call_duration_seconds"
    assert after[latency].type == "histogram"
    assert value(after, latency, latency + "_count", **method) == value(before, latency, latency + "_count", **method) + 1
    assert value(after, latency, latency + "_bucket", le="+Inf", **method) \
        == value(after, latency, latency + "_count", **method)
    assert value(after, latency, latency + "_sum", **method) > value(before, latency, latency + "_sum", **method)


def test_busy_workers_count_the_scrape_itself():
    busy = value(scrape(), "luffy_fastcgi_workers_busy", "luffy_fastcgi_workers_busy")
    # the worker answering the scrape, and at most every worker (notifications may be arriving)
    assert 1 <= busy <= int(SETTINGS.get("LUFFY_THREADS", "8")) and busy == int(busy), busy


def test_metrics_are_refused_to_other_addresses():
    """The whole of 127.0.0.0/8 is loopback on Linux: a client bound to 127.0.0.2 reaches nginx's
    127.0.0.1 listener from an address that is not 127.0.0.1, as another host would."""
    url = urlsplit(BASE_URL)
    sock = socket.create_connection((url.hostname, url.port), timeout=10, source_address=("127.0.0.2", 0))
    try:
        sock.sendall(f"GET /metrics HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode())
        answer = read_to_close(sock)
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 403 "), answer[:300]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == JSON_TYPE, headers
    assert body.decode() == '{"errmsg":"禁止访问","code":"forbidden"}', body
    assert b"luffy_" not in body
