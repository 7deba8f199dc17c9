"""README, "Logs": logrotate moves app.log away and sends SIGHUP; the app reopens LUFFY_LOG_FILE
and goes on serving, the same process, writing its next lines to the new app.log."""

import os
import signal
import time

import requests

from conftest import APP_LOG, BASE_URL, app_log_request, app_pid, log_fields, new_request_id, wait_until


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
