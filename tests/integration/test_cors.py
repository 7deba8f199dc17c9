"""CORS for the shop's front end on another origin (README, "CORS"), through the test stack's nginx.

The test stack allows one front-end origin, `http://127.0.0.1:<18070 + offset>` (scripts/stack.sh
writes it into LUFFY_CORS_ORIGINS). `http://localhost:<same port>` is another origin (the host
differs), so one small HTTP server started here serves the browser test's page to both: from the
allowed origin its `fetch` calls to the API succeed and can read the answers; from the other one
the browser refuses them (TypeError), and the POST never leaves the browser.
"""

import html as html_text
import http.server
import json
import threading
import urllib.parse
import uuid
from contextlib import contextmanager

import pytest
import requests

from browser import dump_dom
from conftest import (APP_LOG, BASE_URL, SETTINGS, app_log_request, assert_error, auth, db_rows, mint_token,
                      start_with_setting)
from ordering import post_order, throwaway

__all__ = ["throwaway"]  # the fixture, imported for pytest

ALLOWED = SETTINGS.get("LUFFY_CORS_ORIGINS", "").split(",")[0].strip()
FRONT = urllib.parse.urlsplit(ALLOWED)
OTHER = f"http://localhost:{FRONT.port}"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
NOTIFY = "/payments/alipay/notify"


def test_the_stack_allows_its_front_end_origin():
    assert FRONT.scheme == "http" and FRONT.hostname == "127.0.0.1" and FRONT.port, \
        f"LUFFY_CORS_ORIGINS={SETTINGS.get('LUFFY_CORS_ORIGINS')!r}: scripts/stack.sh sets the test front end's origin"
    assert ALLOWED == f"http://127.0.0.1:{FRONT.port}" and OTHER != ALLOWED


def cors_headers(r):
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def request(method, path, origin=None, headers=None, **kw):
    hdrs = {"X-Request-Id": f"it-cors-{uuid.uuid4().hex[:16]}"}
    if origin is not None:
        hdrs["Origin"] = origin
    hdrs.update(headers or {})
    return requests.request(method, BASE_URL + path, headers=hdrs, timeout=20, allow_redirects=False, **kw)


def preflight(path, origin, method, headers="authorization,content-type,idempotency-key,x-request-id"):
    return request("OPTIONS", path, origin, {"Access-Control-Request-Method": method,
                                             "Access-Control-Request-Headers": headers})


# ---------------------------------------------------------------- preflight
@pytest.mark.parametrize("path,method,listed", [
    ("/user/order", "GET", "GET"),
    ("/user/order/", "GET", "GET"),
    ("/orders", "POST", "POST"),
    ("/orders/123", "PUT", "PUT"),
    ("/coupon/enable", "GET", "GET"),
    ("/payments/alipay/query/20261130000000000100001", "GET", "GET"),
    ("/orders", "DELETE", "POST"),   # the path's methods, whatever was asked: the browser decides
])
def test_preflight_from_the_allowed_origin(path, method, listed):
    r = preflight(path, ALLOWED, method)
    assert r.status_code == 204, (r.status_code, r.text[:200])
    assert cors_headers(r) == {
        "access-control-allow-origin": ALLOWED,
        "access-control-allow-methods": listed,
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "600",
    }, r.headers
    assert r.headers.get("Vary") == "Origin", r.headers
    assert r.headers.get("X-Request-Id") == r.request.headers["X-Request-Id"]
    assert r.content == b""
    line = app_log_request(r.request.headers["X-Request-Id"])
    assert (line["method"], line["status"]) == ("OPTIONS", "204"), line


# ---------------------------------------------------------------- answers
def test_answers_to_the_allowed_origin_can_be_read_errors_too(throwaway):
    uid = throwaway.user(credit=0)
    cid = throwaway.course("19.90")
    body = json.dumps({"course_ids": [cid], "pay_type": 0, "user_coupon_id": -1, "credit": 0})
    json_headers = {**auth(uid), "Content-Type": "application/json"}
    cases = [
        ("GET", "/user/order?page=1&size=5", auth(uid), None, 200, None),
        ("HEAD", "/user/order", auth(uid), None, 200, None),
        ("POST", "/orders", json_headers, body, 201, None),
        ("GET", "/healthz", {}, None, 200, None),
        ("GET", "/user/order", {}, None, 401, "unauthorized"),
        ("GET", "/user/order?page=0", auth(uid), None, 400, "invalid_page"),
        ("PUT", "/orders/999999999", auth(uid), None, 404, "order_not_found"),
        ("GET", "/orders/1/2/3", auth(uid), None, 404, "not_found"),
        ("DELETE", "/orders", auth(uid), None, 405, "method_not_allowed"),
        ("POST", "/orders", {**auth(uid), "Content-Type": "text/plain"}, body, 415, "unsupported_media_type"),
    ]
    for method, path, headers, data, status, code in cases:
        r = request(method, path, ALLOWED, headers, data=data)
        assert r.status_code == status, (method, path, r.status_code, r.text[:300])
        assert cors_headers(r) == {"access-control-allow-origin": ALLOWED,
                                   "access-control-expose-headers": "X-Request-Id"}, (method, path, r.headers)
        assert r.headers.get("Vary") == "Origin", (method, path, r.headers)
        if code:
            assert_error(r, status, code)
    assert db_rows(throwaway.conn, "SELECT COUNT(*) FROM ly_order WHERE user_id = %s", (uid,))[0][0] == 1


@pytest.mark.parametrize("origin", [
    None, OTHER, "https://evil.example", "null", ALLOWED + "/", ALLOWED.upper(), ALLOWED.replace("http:", "https:"),
    f"{ALLOWED}, https://evil.example", ALLOWED + ".evil.example", "http://127.0.0.1",
    pytest.param("x" * 4000, id="4000-bytes"),
])
def test_other_origins_get_no_cors_headers(origin):
    r = request("GET", "/user/order", origin, auth(1))
    assert r.status_code == 200 and cors_headers(r) == {}, (r.status_code, r.headers)
    assert r.headers.get("Vary") == "Origin", r.headers   # the answer depends on Origin: caches must know
    r = request("GET", "/user/order", origin)
    assert_error(r, 401, "unauthorized")
    assert cors_headers(r) == {}, r.headers
    # their preflight gets what any OPTIONS gets (the method is not routed), no CORS headers: the
    # browser never sends the actual request
    for path, method in (("/orders", "POST"), ("/user/order", "GET")):
        r = preflight(path, origin, method)
        assert_error(r, 405, "method_not_allowed")
        assert cors_headers(r) == {}, r.headers


def test_the_notify_endpoint_never_gets_cors_headers():
    for path in (NOTIFY, NOTIFY + "/"):
        r = request("POST", path, ALLOWED, {"Content-Type": "application/x-www-form-urlencoded"},
                    data="out_trade_no=1&sign=forged")
        assert (r.status_code, r.text) == (200, "fail"), (r.status_code, r.text[:200])
        assert cors_headers(r) == {} and "Vary" not in r.headers, r.headers
        r = preflight(path, ALLOWED, "POST")
        assert_error(r, 405, "method_not_allowed")
        assert cors_headers(r) == {} and "Vary" not in r.headers, r.headers
        # a GET of that path reaches the pay-link route: still no CORS
        r = request("GET", path, ALLOWED, auth(1))
        assert cors_headers(r) == {} and "Vary" not in r.headers, (r.status_code, r.headers)


# ---------------------------------------------------------------- the setting
@pytest.mark.parametrize("value,bad", [
    ("https://www.luffycity.cn/", "https://www.luffycity.cn/"),
    ("https://www.luffycity.cn,*", "*"),
    ("www.luffycity.cn", "www.luffycity.cn"),
    ("https://www.luffycity.cn/app", "https://www.luffycity.cn/app"),
    ("http://127.0.0.1:99999", "http://127.0.0.1:99999"),
    ("ftp://files.example", "ftp://files.example"),
    ("http://a b.example", "http://a b.example"),
    ("null", "null"),
])
def test_a_malformed_origin_stops_the_app_at_start(value, bad):
    out = start_with_setting("LUFFY_CORS_ORIGINS", value)
    assert out.returncode == 1 and out.stdout == "", (out.returncode, out.stdout, out.stderr)
    assert f"LUFFY_CORS_ORIGINS={bad} is not valid: expected comma-separated origins" in out.stderr, out.stderr
    out = start_with_setting("LUFFY_CORS_ORIGINS", "https://www.luffycity.cn, HTTP://LOCALHOST:8081,")
    assert out.returncode == 0 and out.stdout.count(".") == 2, (out.returncode, out.stderr)


# ---------------------------------------------------------------- in a browser
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>front end</title></head>
<body><pre id="results">running</pre>
<script>
(async function () {
  var q = new URLSearchParams(location.hash.slice(1));
  var api = q.get("api"), token = q.get("token"), rid = q.get("rid");
  async function call(name, path, options) {
    try {
      var response = await fetch(api + path, options);
      var text = await response.text();
      return {name: name, status: response.status, body: text, requestId: response.headers.get("X-Request-Id")};
    } catch (e) {
      return {name: name, error: e.name};
    }
  }
  var results = [];
  results.push(await call("list", "/user/order?page=1&size=5",
    {headers: {"Authorization": "jwt " + token, "X-Request-Id": rid + "-list"}}));
  results.push(await call("create", "/orders", {method: "POST", body: q.get("body"), headers: {
    "Authorization": "jwt " + token, "Content-Type": "application/json",
    "Idempotency-Key": q.get("key"), "X-Request-Id": rid + "-create"}}));
  results.push(await call("unauthorized", "/user/order", {headers: {"Authorization": "jwt broken"}}));
  results.push(await call("health", "/healthz", {}));
  document.getElementById("results").textContent = JSON.stringify(results);
  document.body.setAttribute("data-done", "yes");
})();
</script></body></html>
"""


class PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/front.html":
            self.send_error(404)
            return
        data = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def front_end_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", FRONT.port), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def app_log_has(request_id):
    return APP_LOG.exists() and f"request_id={request_id}" in APP_LOG.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("origin", ["allowed", "other"])
def test_a_front_end_page_calls_the_api_from_its_origin(throwaway, client, origin):
    page_origin = ALLOWED if origin == "allowed" else OTHER
    uid = throwaway.user(credit=0)
    cid = throwaway.course("29.90")
    # an order the list shows
    r = post_order(client, uid, {"course_ids": [throwaway.course("9.90")], "pay_type": 0, "user_coupon_id": -1,
                                 "credit": 0})
    assert r.status_code == 201, r.text[:300]
    listed = r.json()["order_number"]
    rid, key = f"it-front-{uuid.uuid4().hex[:12]}", f"front-{uuid.uuid4().hex[:12]}"
    fragment = urllib.parse.urlencode({
        "api": BASE_URL, "token": mint_token(uid), "rid": rid, "key": key,
        "body": json.dumps({"course_ids": [cid], "pay_type": 0, "user_coupon_id": -1, "credit": 0,
                            "expected_real_price": 29.90}),
    })
    with front_end_server():
        html = dump_dom(f"{page_origin}/front.html#{fragment}", 20_000)
    assert 'data-done="yes"' in html, html[:2000]
    text = html.split('<pre id="results">', 1)[1].split("</pre>", 1)[0]
    results = {r["name"]: r for r in json.loads(html_text.unescape(text))}
    orders = db_rows(throwaway.conn, "SELECT order_number FROM ly_order WHERE user_id = %s ORDER BY id", (uid,))

    if origin == "allowed":
        listing = results["list"]
        assert listing.get("status") == 200, listing
        assert listed in [o["order_number"] for o in json.loads(listing["body"])["results"]], listing
        assert listing["requestId"] == rid + "-list", listing   # X-Request-Id is exposed
        created = results["create"]
        assert created.get("status") == 201, created
        assert created["requestId"] == rid + "-create", created
        number = json.loads(created["body"])["order_number"]
        assert [o[0] for o in orders] == [listed, number], orders
        assert db_rows(throwaway.conn, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s AND idem_key = %s",
                       (uid, key))[0][0] == 1
        refused = results["unauthorized"]
        assert refused.get("status") == 401 and json.loads(refused["body"])["code"] == "unauthorized", refused
        assert results["health"].get("status") == 200, results["health"]
    else:
        for name in ("list", "create", "unauthorized", "health"):
            assert results[name] == {"name": name, "error": "TypeError"}, results[name]
        # the browser stopped at the refused preflight: no order, and the app never saw the POST
        assert [o[0] for o in orders] == [listed], orders
        assert not app_log_has(rid + "-create") and not app_log_has(rid + "-list")
