"""Byte formats through nginx (issue 7): a raw combining mark (U+0301, bytes CC 81) right after an
ASCII delimiter of a query string, a form body or a path is one Swift `Character` with the
delimiter, and the app used to split by Character: such a request parsed differently from nginx,
Python's urllib and Alipay's SDKs. nginx passes the query string and the body as they were sent
and percent-escapes are decoded after splitting, so only the raw bytes show it (requests would
percent-encode them: these requests are written to the socket byte for byte).
"""

import json
import urllib.parse

from alipay import assert_notify_answer, notification, post_notify, shop
from conftest import BASE_URL, assert_error, assert_json_response, auth, raw_http

__all__ = ["shop"]  # the fixture, imported for pytest

MARK = "\u0301"  # COMBINING ACUTE ACCENT


def raw_request(method, target, headers):
    """(status, headers, body) of one HTTP/1.0 request whose target is sent as its UTF-8 bytes."""
    head = [f"{method} {target} HTTP/1.0", f"Host: {urllib.parse.urlsplit(BASE_URL).netloc}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return raw_http(("\r\n".join(head) + "\r\n\r\n").encode("utf-8"))


def test_query_with_a_combining_mark_after_an_ampersand_is_split_there(client):
    """`course_ids=1,3&<U+0301>x=1` is course_ids 1,3 plus an unknown parameter (it was course_ids
    `1,3&<U+0301>x=1`: a 400)."""
    expected = assert_json_response(client.get("/coupon/enable?course_ids=1,3", headers=auth(1)), 200)
    status, headers, body = raw_request("GET", f"/coupon/enable?course_ids=1,3&{MARK}x=1", auth(1))
    assert status == 200, body[:300]
    assert headers["content-type"] == "application/json; charset=utf-8", headers
    assert json.loads(body) == expected


def test_path_with_a_combining_mark_after_a_slash_is_one_segment_more(client):
    """`PUT /orders/1/<U+0301>` has three segments, like `/orders/1/x`: no route (it was the cancel
    of order `1/<U+0301>`)."""
    plain = assert_error(client.request("PUT", "/orders/1/x", headers=auth(1)), 404, "not_found")
    status, headers, body = raw_request("PUT", f"/orders/1/{MARK}", auth(1))
    assert status == 404 and headers["content-type"] == "application/json; charset=utf-8", (status, body[:300])
    assert json.loads(body) == plain


def test_notification_with_a_combining_mark_after_an_ampersand_verifies_as_alipay_signed_it(shop):
    """A field whose name starts with a combining mark, signed over the fields as every form parser
    sees them, settles the order (the app used to fold it into the field before: `fail`)."""
    p = shop.purchase()
    n = notification(p.number, p.amount_text, **{f"{MARK}passback": "1"})
    fields = {k: v for k, v in n.items() if k != f"{MARK}passback"}
    body = (urllib.parse.urlencode(fields) + f"&{MARK}passback=1").encode("utf-8")
    assert urllib.parse.parse_qsl(body.decode("utf-8")) == list(fields.items()) + [(f"{MARK}passback", "1")]
    assert_notify_answer(post_notify(body), "success")
    shop.assert_settled(p, n["trade_no"])
