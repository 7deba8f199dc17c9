"""nginx's own early errors (issue 7, low items): requests nginx refuses before any location is
chosen get the API's JSON error format too (nginx/luffy-pay.conf), never nginx's HTML page.

Sent as raw bytes over a socket to the test stack's nginx: no HTTP client would send them.
"""

import json

import pytest

from conftest import JSON_TYPE, SNAKE_CODE, raw_http

CASES = {
    "malformed_request_line": (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    "bad_version": (b"GET /healthz HTTP/1.x\r\nHost: a\r\n\r\n", 400, "bad_request"),
    # beyond large_client_header_buffers (8 KiB a line)
    "uri_9k": (b"GET /" + b"a" * 9 * 1024 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
               414, "uri_too_long"),
    "header_line_9k": (b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9 * 1024
                       + b"\r\nConnection: close\r\n\r\n", 400, "headers_too_large"),
    "headers_40k": (b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                    + b"".join(b"X-H%d: %s\r\n" % (i, b"c" * 4000) for i in range(10))
                    + b"Connection: close\r\n\r\n", 400, "headers_too_large"),
    "http_2_0": (b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http_version_not_supported"),
    "unknown_transfer_encoding": (b"POST /orders HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                                  b"Connection: close\r\n\r\n", 501, "not_implemented"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_nginx_early_errors_are_json(case):
    data, status, code = CASES[case]
    got, headers, body = raw_http(data)
    assert got == status, (got, body[:300])
    assert headers.get("content-type") == JSON_TYPE, (headers, body[:300])
    assert b"<html" not in body.lower()
    parsed = json.loads(body)
    assert parsed["code"] == code and SNAKE_CODE.match(parsed["code"]), parsed
    assert isinstance(parsed["errmsg"], str) and parsed["errmsg"], parsed
    assert headers.get("x-request-id"), headers


@pytest.mark.parametrize("path", ["/alipay/", "/alipay/success.css"])
def test_a_range_beyond_a_static_file_gets_the_file_not_an_html_416(path):
    """Byte ranges are off (max_ranges 0): nginx never answers its HTML 416 page."""
    status, headers, body = raw_http(b"GET %s HTTP/1.1\r\nHost: a\r\nRange: bytes=999999-\r\n"
                                        b"Connection: close\r\n\r\n" % path.encode())
    assert status == 200, (status, body[:300])
    assert "content-range" not in headers and len(body) == int(headers["content-length"]) > 0
