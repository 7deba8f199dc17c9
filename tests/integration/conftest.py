"""Fixtures for the luffy-pay integration suite.

The suite runs against the private `test` stack (nginx 127.0.0.1:18080, see scripts/stack.sh).
`make test` (scripts/test.sh) starts it and exports:

    LUFFY_TEST_BASE_URL      nginx of the test stack
    LUFFY_CONFIG             the stack's KEY=VALUE settings (JWT secret, DB socket/user/password/name)
    LUFFY_TEST_STACK_DIR     var/test: run/ sockets and pid files, log/app.log, ...
    LUFFY_TEST_STACK_SCRIPT  scripts/stack.sh     LUFFY_TEST_STACK  test
    LUFFY_TEST_APP_BIN       .build/release/luffy-pay

Run by hand: `scripts/stack.sh test up`, then `.venv/bin/pytest tests/integration`; missing
variables are taken from `scripts/stack.sh test info`. A stack that does not answer makes the
whole run fail at once (never skip).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
UNAUTHORIZED = {"errmsg": "身份认证信息未提供或已失效", "code": "unauthorized"}
JSON_TYPE = "application/json; charset=utf-8"
SNAKE_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------- environment
def _stack_info():
    script = os.environ.get("LUFFY_TEST_STACK_SCRIPT", str(ROOT / "scripts" / "stack.sh"))
    stack = os.environ.get("LUFFY_TEST_STACK", "test")
    out = subprocess.run([script, stack, "info"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"{script} {stack} info failed: {out.stderr.strip()}")
    info = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        # values are printf %q quoted; paths of the stack have no spaces or quotes
        info[key] = value.strip("'")
    return info


def _load_env():
    env = {
        "base_url": os.environ.get("LUFFY_TEST_BASE_URL"),
        "config": os.environ.get("LUFFY_CONFIG"),
        "stack_dir": os.environ.get("LUFFY_TEST_STACK_DIR"),
        "script": os.environ.get("LUFFY_TEST_STACK_SCRIPT", str(ROOT / "scripts" / "stack.sh")),
        "stack": os.environ.get("LUFFY_TEST_STACK", "test"),
        "app_bin": os.environ.get("LUFFY_TEST_APP_BIN", str(ROOT / ".build" / "release" / "luffy-pay")),
    }
    if not (env["base_url"] and env["config"] and env["stack_dir"]):
        info = _stack_info()
        env["base_url"] = env["base_url"] or info["BASE_URL"]
        env["config"] = env["config"] or info["ENV_FILE"]
        env["stack_dir"] = env["stack_dir"] or info["STACK_DIR"]
    env["base_url"] = env["base_url"].rstrip("/")
    return env


def parse_settings(path):
    """KEY=VALUE lines of the stack's settings file (comments and blank lines ignored)."""
    settings = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip()
    return settings


ENV = _load_env()
SETTINGS = parse_settings(ENV["config"])
for _key in ("LUFFY_JWT_SECRET", "LUFFY_DB_SOCKET", "LUFFY_DB_USER", "LUFFY_DB_NAME"):
    if not SETTINGS.get(_key):
        raise RuntimeError(f"{ENV['config']} has no {_key}")
BASE_URL = ENV["base_url"]
STACK_DIR = Path(ENV["stack_dir"])
APP_LOG = STACK_DIR / "log" / "app.log"
NGINX_ERROR_LOG = STACK_DIR / "log" / "nginx-error.log"


def pytest_sessionstart(session):
    """Fail the whole run loudly when the stack is not there (no silent skips)."""
    if not BASE_URL.startswith(("http://127.0.0.1:", "http://localhost:")):
        pytest.exit(f"LUFFY_TEST_BASE_URL={BASE_URL} is not a local stack", returncode=3)
    try:
        r = requests.get(BASE_URL + "/healthz", timeout=5)
    except requests.RequestException as exc:
        pytest.exit(f"the test stack at {BASE_URL} is not reachable ({exc}); "
                    f"start it with `scripts/stack.sh test up` or run `make test`", returncode=3)
    if r.status_code != 200:
        pytest.exit(f"{BASE_URL}/healthz answered {r.status_code}: {r.text[:200]!r}", returncode=3)
    try:
        db_connect().close()
    except pymysql.MySQLError as exc:
        pytest.exit(f"cannot connect to MariaDB of the test stack via {SETTINGS['LUFFY_DB_SOCKET']}: {exc}",
                    returncode=3)


# ---------------------------------------------------------------- database
def db_connect():
    return pymysql.connect(
        unix_socket=SETTINGS["LUFFY_DB_SOCKET"],
        user=SETTINGS["LUFFY_DB_USER"],
        password=SETTINGS.get("LUFFY_DB_PASSWORD", ""),
        database=SETTINGS["LUFFY_DB_NAME"],
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=5,
        init_command="SET time_zone = '+08:00'",
    )


@pytest.fixture
def db():
    """A fresh autocommit pymysql connection (per test: fault tests restart MariaDB)."""
    conn = db_connect()
    yield conn
    conn.close()


def db_rows(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


# ---------------------------------------------------------------- tokens
def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(user_id, *, username="", exp_in=3600, alg="HS256", secret=None, header=None,
               payload=None, signature=None, digest=hashlib.sha256):
    """An HS256 JWT as the shop's login service issues it, or a deliberately broken one.

    header/payload replace the default dicts; signature replaces the computed one (b64url text);
    alg only changes the header's `alg` (the signing digest is `digest`).
    """
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    body = payload if payload is not None else {
        "user_id": user_id, "username": username, "exp": int(time.time()) + exp_in,
        "email": f"{username or 'user'}@luffycity.test",
    }
    signing_input = b64url(json.dumps(hdr, separators=(",", ":"))) + "." + \
        b64url(json.dumps(body, separators=(",", ":"), ensure_ascii=False))
    if signature is None:
        key = (secret if secret is not None else SETTINGS["LUFFY_JWT_SECRET"]).encode()
        signature = b64url(hmac.new(key, signing_input.encode(), digest).digest())
    return signing_input + "." + signature


def auth(user_id=1, prefix="jwt", **kw):
    return {"Authorization": f"{prefix} {mint_token(user_id, **kw)}"}


@pytest.fixture
def token():
    return mint_token


# ---------------------------------------------------------------- HTTP
def new_request_id(tag="t"):
    return f"it-{tag}-{uuid.uuid4().hex[:16]}"


class Client:
    """requests.Session bound to the stack's nginx; every call gets a fresh X-Request-Id."""

    def __init__(self):
        self.session = requests.Session()

    def request(self, method, path, *, headers=None, timeout=10, **kw):
        hdrs = {"X-Request-Id": new_request_id()}
        hdrs.update(headers or {})
        return self.session.request(method, BASE_URL + path, headers=hdrs, timeout=timeout,
                                    allow_redirects=False, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def close(self):
        self.session.close()


@pytest.fixture
def client():
    c = Client()
    yield c
    c.close()


def assert_json_response(r, status):
    """Status, JSON content type and X-Request-Id; returns the parsed body."""
    assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code} {r.text[:300]!r}"
    assert r.headers.get("Content-Type") == JSON_TYPE, r.headers
    assert r.headers.get("X-Request-Id"), r.headers
    return r.json()


def assert_error(r, status, code=None):
    """An API error: `{"errmsg": <Chinese text>, "code": <snake_case>}`."""
    body = assert_json_response(r, status)
    assert isinstance(body, dict), body
    assert isinstance(body.get("errmsg"), str) and body["errmsg"], body
    assert isinstance(body.get("code"), str) and SNAKE_CODE.match(body["code"]), body
    assert "<html" not in r.text.lower()
    if code is not None:
        assert body["code"] == code, body
    return body


# ---------------------------------------------------------------- stack control and logs
def stack(action, timeout=120):
    """`scripts/stack.sh test ACTION`; returns stdout, raises with its stderr on failure."""
    out = subprocess.run([ENV["script"], ENV["stack"], action], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"stack.sh {ENV['stack']} {action} exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout.strip()


def app_pid():
    return int(stack("app-pid"))


def log_fields(line):
    """logfmt line -> dict (values may be double-quoted with backslash escapes)."""
    fields = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        value = m.group(2)
        if value.startswith('"'):
            value = re.sub(r'\\(.)', r'\1', value[1:-1])
        fields[m.group(1)] = value
    return fields


def app_log_request(request_id, timeout=3.0):
    """The app's `msg=request` log line for this X-Request-Id, as a dict."""
    deadline = time.monotonic() + timeout
    while True:
        if APP_LOG.exists():
            for line in APP_LOG.read_text(encoding="utf-8", errors="replace").splitlines():
                if f"request_id={request_id}" in line and "msg=request" in line:
                    fields = log_fields(line)
                    if fields.get("msg") == "request" and fields.get("request_id") == request_id:
                        return fields
        if time.monotonic() > deadline:
            raise AssertionError(f"no request line with request_id={request_id} in {APP_LOG}")
        time.sleep(0.05)


def read_to_close(sock):
    """Every byte the peer sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def raw_http(data):
    """Sends `data` to the stack's nginx byte for byte (no client library rewrites it), reads until
    nginx closes; returns (status, headers with lower-case names, body bytes)."""
    url = urlsplit(BASE_URL)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(data)
        answer = read_to_close(s)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def wait_until(condition, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def stack_healthy():
    try:
        return requests.get(BASE_URL + "/healthz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def restore_stack():
    """For tests that stop MariaDB or the app: whatever happens, leave both running."""
    yield
    failures = []
    for action in ("db-start", "app-start"):
        try:
            stack(action)
        except AssertionError as exc:
            failures.append(str(exc))
    if not wait_until(stack_healthy, 20):
        failures.append("the test stack is not healthy after the test")
    if failures:
        pytest.fail("; ".join(failures))


# ---------------------------------------------------------------- settings at start
def start_with_setting(key, value):
    """`luffy-pay token 1` with the stack's settings file and `key=value` only (no other LUFFY_
    variable of this process): how every command reads its settings at start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUFFY_")}
    env.update({"LUFFY_CONFIG": ENV["config"], key: value})
    return subprocess.run([ENV["app_bin"], "token", "1"], env=env, capture_output=True, text=True, timeout=30)


# ---------------------------------------------------------------- the invariant audit
def run_audit(timeout=120):
    """`luffy-pay audit` on the test stack's database: (exit status, stdout lines, stderr)."""
    env = dict(os.environ)
    env["LUFFY_CONFIG"] = ENV["config"]
    out = subprocess.run([ENV["app_bin"], "audit"], env=env, capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout.splitlines(), out.stderr


def assert_audit_clean():
    status, lines, err = run_audit()
    assert status == 0, f"luffy-pay audit exited {status}: {lines} {err.strip()}"
    assert lines and lines[-1].startswith("audit: ") and lines[-1].endswith(" invariants hold"), lines


def grant_credit(conn, user_id, number):
    """A credit grant in the ledger (operation 2 系统赠送, as the shop's admin writes it) for credit a
    test gave a user directly: the audit's credit_balance holds the balance to its ledger."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time, operation, "
                    "number, remark, user_id) VALUES ('系统赠送', 0, 0, 1, NOW(6), NOW(6), 2, %s, '测试赠送', %s)",
                    (number, user_id))
