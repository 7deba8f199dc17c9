"""Hostile clients of the app's FastCGI socket (issue 7, item 4), straight to var/test/run/app.sock.

A local process that can open the socket must not be able to pin the workers or grow the app's
memory: every connection gets LUFFY_FCGI_READ_TIMEOUT seconds for its whole request, and the
request's head (begin-request and params records) at most LUFFY_FCGI_MAX_PARAMS bytes
(README, "Configuration"). Meanwhile nginx's requests keep being answered.
"""

import os
import socket
import stat
import struct
import threading
import time

import requests

from conftest import BASE_URL, SETTINGS, STACK_DIR, app_pid, auth, read_to_close

APP_SOCKET = STACK_DIR / "run" / "app.sock"
THREADS = int(SETTINGS.get("LUFFY_THREADS") or 8)
READ_TIMEOUT = float(SETTINGS.get("LUFFY_FCGI_READ_TIMEOUT") or 5)
# A hostile connection is dropped READ_TIMEOUT after the app accepted it; allow for scheduling.
CLOSE_BOUND = READ_TIMEOUT + 2.5
LIST_URL = BASE_URL + "/user/order?page=1&size=5"

FCGI_BEGIN_REQUEST, FCGI_PARAMS = 1, 4


def record(rtype, content=b"", request_id=1):
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), 0, 0) + content


def begin_request():
    return record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))   # responder, no keep-conn


def name_value(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(APP_SOCKET))
    return s


def wait_closed(sock, bound):
    """Seconds until the app closed the connection (EOF or reset), or None after `bound`."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < bound:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class Hostile:
    """One hostile connection run by its own thread; records when the app closed it."""

    def __init__(self, kind):
        self.kind = kind
        self.opened = None
        self.closed_after = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        try:
            sock = connect()
            self.opened = time.monotonic()
            try:
                getattr(self, "_" + self.kind)(sock)
            finally:
                sock.close()
        except Exception as exc:   # reported by the test, never swallowed
            self.error = f"{type(exc).__name__}: {exc}"

    def _one_byte(self, sock):
        sock.sendall(b"\x01")
        self.closed_after = wait_closed(sock, CLOSE_BOUND + READ_TIMEOUT)

    def _lone_begin(self, sock):
        sock.sendall(begin_request())
        self.closed_after = wait_closed(sock, CLOSE_BOUND + READ_TIMEOUT)

    def _drip(self, sock):
        """A valid begin-request, then the params one byte a second: never idle for a whole second."""
        sock.sendall(begin_request())
        pair = name_value(b"REQUEST_METHOD", b"GET")
        data = record(FCGI_PARAMS, pair * 20)
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            closed = wait_closed(sock, 1.0)
            if closed is not None:
                break
            if time.monotonic() - self.opened > CLOSE_BOUND + READ_TIMEOUT:
                return
        self.closed_after = time.monotonic() - self.opened


def huge_params(total):
    """`total` bytes of params content in maximal records: pairs of ~60 KB values."""
    pair = name_value(b"HTTP_X_FILLER", b"x" * 60000)
    content_left = total
    while content_left > 0:
        yield record(FCGI_PARAMS, pair)
        content_left -= len(pair)


def send_huge_params(sock, total):
    """Returns how many bytes the app took before it closed the connection (None: it took all)."""
    sent = 0
    try:
        sock.sendall(begin_request())
        for chunk in huge_params(total):
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        return sent
    except socket.timeout:
        return sent
    return None


def timed_get(url, headers=None, timeout=CLOSE_BOUND + READ_TIMEOUT + 5):
    start = time.monotonic()
    r = requests.get(url, headers=headers or {}, timeout=timeout)
    return r, time.monotonic() - start


def test_socket_is_0660():
    mode = stat.S_IMODE(os.stat(APP_SOCKET).st_mode)
    assert stat.S_ISSOCK(os.stat(APP_SOCKET).st_mode)
    assert mode == 0o660, oct(mode)


def test_hostile_connections_do_not_pin_the_workers():
    """More hostile connections than workers: nginx's requests are still answered, and the app
    drops every hostile connection READ_TIMEOUT after accepting it."""
    kinds = ["one_byte", "lone_begin", "drip"]
    hostiles = [Hostile(kinds[i % len(kinds)]) for i in range(THREADS + 2)]
    for h in hostiles:
        h.start()
    assert all(wait_until_opened(h) for h in hostiles), [h.error for h in hostiles]
    time.sleep(0.3)   # let the workers accept them (the requests below must queue behind them)

    health, health_secs = timed_get(BASE_URL + "/healthz")
    orders, orders_secs = timed_get(LIST_URL, headers=auth(1, username="luffy"))
    for h in hostiles:
        h.thread.join(timeout=CLOSE_BOUND + READ_TIMEOUT + 5)

    assert health.status_code == 200, health.text[:200]
    assert orders.status_code == 200 and orders.json()["count"] > 0, orders.text[:200]
    # Queued behind at most one round of hostile connections (each held READ_TIMEOUT at most).
    assert health_secs < CLOSE_BOUND, f"/healthz took {health_secs:.1f} s"
    assert orders_secs < CLOSE_BOUND, f"/user/order took {orders_secs:.1f} s"
    errors = [(h.kind, h.error) for h in hostiles if h.error]
    assert not errors, errors
    # Two more connections than workers: the last two wait one round in the backlog.
    late = [(h.kind, h.closed_after) for h in hostiles
            if h.closed_after is None or h.closed_after > 2 * CLOSE_BOUND]
    assert not late, f"hostile connections not closed by the app in time: {late}"
    in_first_round = sorted(h.closed_after for h in hostiles)[:THREADS]
    assert in_first_round[-1] < CLOSE_BOUND, in_first_round
    # and the app is all there afterwards
    r, secs = timed_get(BASE_URL + "/healthz", timeout=5)
    assert r.status_code == 200 and secs < 1, (r.status_code, secs)


def wait_until_opened(h, timeout=5):
    deadline = time.monotonic() + timeout
    while h.opened is None and h.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return h.opened is not None


def test_huge_params_are_refused_without_growing_memory():
    """64 MB of params: the app stops reading at its params cap, closes the connection, and its
    resident memory stays where it was."""
    pid = app_pid()
    before = rss_kib(pid)
    sock = connect()
    try:
        started = time.monotonic()
        taken = send_huge_params(sock, 64 << 20)
        closed_after = wait_closed(sock, CLOSE_BOUND) if taken is None else time.monotonic() - started
    finally:
        sock.close()
    after = rss_kib(pid)
    assert taken is not None and closed_after is not None, \
        f"the app read all 64 MB of params and kept the connection (RSS {before} -> {after} KiB)"
    assert taken < 8 << 20, f"the app took {taken} bytes of params before closing"
    assert closed_after < CLOSE_BOUND, closed_after
    assert after - before < 16 * 1024, f"RSS grew from {before} to {after} KiB"
    assert requests.get(BASE_URL + "/healthz", timeout=5).status_code == 200


def test_a_normal_request_straight_to_the_socket_is_answered():
    """The strict reader still speaks FastCGI as nginx does: params in several records, empty
    params and stdin records, then one answer and the connection closed."""
    params = b"".join(name_value(k, v) for k, v in [
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/healthz"), (b"DOCUMENT_URI", b"/healthz"),
        (b"QUERY_STRING", b""), (b"HTTP_X_REQUEST_ID", b"it-fcgi-direct-1")])
    half = len(params) // 2
    sock = connect()
    try:
        sock.sendall(begin_request() + record(FCGI_PARAMS, params[:half]) + record(FCGI_PARAMS, params[half:])
                     + record(FCGI_PARAMS) + record(5))
        data = read_to_close(sock)
    finally:
        sock.close()
    records, i = [], 0
    while i + 8 <= len(data):
        _, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", data[i:i + 8])
        records.append((rtype, rid, data[i + 8:i + 8 + clen]))
        i += 8 + clen + plen
    assert i == len(data), "trailing bytes after the last record"
    stdout = b"".join(c for t, _, c in records if t == 6)
    assert stdout.startswith(b"Status: 200"), stdout[:200]
    assert b"X-Request-Id: it-fcgi-direct-1" in stdout
    assert stdout.endswith(b'{"status":"ok"}'), stdout[-100:]
    assert records[-1][0] == 3 and records[-1][2][4] == 0, records[-1]   # END_REQUEST, complete
    assert all(rid == 1 for _, rid, _ in records)
