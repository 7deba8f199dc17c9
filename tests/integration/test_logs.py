"""README, "Logs": logrotate moves app.log away and sends SIGHUP; the app reopens LUFFY_LOG_FILE
and goes on serving, the same process, writing its next lines to the new app.log."""

import os
import signal
import time

import requests

from conftest import APP_LOG, BASE_URL, app_log_request, app_pid, auth, log_fields, new_request_id, wait_until


def test_sighup_reopens_the_log_file_and_keeps_serving():
    pid = app_pid()
    before = new_request_id("before-rotation")
    assert requests.get(BASE_URL + "/healthz", headers={"X-Request-Id": before}, timeout=10).status_code == 200
    app_log_request(before)

    rotated = APP_LOG.with_name(f"app.log.rotated-{int(time.time() * 1000)}")
    os.rename(APP_LOG, rotated)                      # what logrotate does first
    os.kill(pid, signal.SIGHUP)
    assert wait_until(APP_LOG.exists, 5), "no new app.log after SIGHUP"

    after = new_request_id("after-rotation")
    r = requests.get(BASE_URL + "/healthz", headers={"X-Request-Id": after}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Request-Id"] == after
    line = app_log_request(after)                     # in the new app.log
    assert line["status"] == "200" and line["path"] == "/healthz", line

    assert app_pid() == pid, "SIGHUP stopped the app"
    new = [log_fields(x) for x in APP_LOG.read_text(encoding="utf-8").splitlines()]
    assert any(f.get("msg") == "log file reopened" and f.get("signal") == str(int(signal.SIGHUP)) for f in new), new[:5]
    assert not any(f.get("msg") in ("stopping", "stopped") for f in new), new
    old = rotated.read_text(encoding="utf-8")
    assert f"request_id={before}" in old and f"request_id={after}" not in old


# The answers the router gives itself (404: no route has the path; 405: routes have the path, not
# the method), each on a path shape of its own: literal, parameter, trailing slash, HEAD.
ROUTER_ANSWERS = [
    ("GET", "/user/no/such/path", 404), ("GET", "/orders/1/courses", 404), ("HEAD", "/coupon/none/", 404),
    ("DELETE", "/user/order", 405), ("GET", "/orders/1", 405), ("POST", "/healthz/", 405),
    ("PUT", "/payments/alipay/result", 405),
]


def test_router_answers_log_no_statements_after_requests_that_ran_some():
    """README, "Logs": `queries` counts the statements of this request, 0 for the router's own 404
    and 405. Every worker has just answered a request with statements (the order list, whose line
    counts them) before it answers each of these, so a count carried over would show."""
    listed, answered = [], []
    with requests.Session() as s:
        for _ in range(16):   # twice the workers (LUFFY_THREADS 8): each gets several of each
            rid = new_request_id("listed")
            r = s.get(BASE_URL + "/user/order", headers={**auth(1), "X-Request-Id": rid}, timeout=10)
            assert r.status_code == 200, r.text
            listed.append(rid)
            for method, path, status in ROUTER_ANSWERS:
                rid = new_request_id("router")
                r = s.request(method, BASE_URL + path, headers={**auth(1), "X-Request-Id": rid}, timeout=10)
                assert r.status_code == status, (method, path, r.status_code, r.text)
                answered.append((rid, method, path, status))
    for rid in listed:
        assert int(app_log_request(rid)["queries"]) >= 1, "the order list's line counts no statements"
    for rid, method, path, status in answered:
        line = app_log_request(rid)
        assert (line["method"], line["path"], line["status"]) == (method, path, str(status)), line
        assert line.get("queries") == "0", line
        assert float(line["duration_ms"]) >= 0, line
