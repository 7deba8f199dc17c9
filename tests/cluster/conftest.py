"""Fixtures for the cluster suite (`make cluster-test`): the `cluster-test` stack of
scripts/stack.sh — three Galera nodes, two app instances (instance 1 prefers node 1, instance 2
node 2), one sandbox, nginx balancing over both instances plus one port per instance.

scripts/cluster-test.sh starts the stack and exports:

    LUFFY_CLUSTER_BASE_URL   nginx, balanced over both instances
    LUFFY_CLUSTER_URL1/URL2  nginx, instance 1 / 2 alone
    LUFFY_CLUSTER_STACK_SCRIPT, LUFFY_CLUSTER_STACK (scripts/stack.sh, cluster-test)
    LUFFY_CONFIG             instance 1's settings file (JWT secret, DB credentials)
    and the LUFFY_TEST_* names the tests/integration helpers read (LUFFY_TEST_BASE_URL = the
    balanced URL, LUFFY_TEST_STACK_DIR, LUFFY_TEST_APP_BIN, LUFFY_TEST_SANDBOX_URL, …)

By hand: `LUFFY_TEST_PORT_OFFSET=… scripts/stack.sh cluster-test up`, then
`.venv/bin/pytest tests/cluster`; whatever is not exported is taken from
`scripts/stack.sh cluster-test info`.

The helpers of tests/integration (ordering.py, alipay.py, test_races.py, test_faults.py, …) are
reused by import. They import from a module named `conftest`, which in this run is this file: it
loads tests/integration/conftest.py as `integration_conftest` and re-exports the names they use,
with `db_connect` replaced by one that reaches a healthy node (a test may have killed node 1).
To send one of their requests to one app instance, give it an `InstanceSession` (or a client from
`instance_client`): what they address to the balanced URL goes to that instance instead.
"""

import importlib.util
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "tests" / "integration"
SCRIPT = os.environ.get("LUFFY_CLUSTER_STACK_SCRIPT", str(ROOT / "scripts" / "stack.sh"))
STACK = os.environ.get("LUFFY_CLUSTER_STACK", "cluster-test")
NODES = (1, 2, 3)
INSTANCES = (1, 2)


# ---------------------------------------------------------------- the stack's facts
def _info():
    out = subprocess.run([SCRIPT, STACK, "info"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{SCRIPT} {STACK} info failed: {out.stderr.strip()}")
    info = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            # printf %q quoting, as the shell would read it back
            words = shlex.split(value)
            info[key] = words[0] if words else ""
    return info


INFO = _info()


def _fact(info_key, env_name=None):
    value = (os.environ.get(env_name) if env_name else None) or INFO.get(info_key)
    if not value:
        raise RuntimeError(f"`{SCRIPT} {STACK} info` has no {info_key}" + (f" and {env_name} is unset" if env_name else ""))
    return value


BASE_URL = _fact("BASE_URL", "LUFFY_CLUSTER_BASE_URL").rstrip("/")
URLS = {1: _fact("URL1", "LUFFY_CLUSTER_URL1").rstrip("/"), 2: _fact("URL2", "LUFFY_CLUSTER_URL2").rstrip("/")}
APP_ENV = {1: _fact("APP1_ENV", "LUFFY_CLUSTER_APP1_ENV"), 2: _fact("APP2_ENV", "LUFFY_CLUSTER_APP2_ENV")}
STACK_DIR = Path(_fact("STACK_DIR", "LUFFY_CLUSTER_STACK_DIR"))
LOG_DIR = Path(INFO.get("LOG_DIR") or STACK_DIR / "log")

# what tests/integration/conftest.py and its helpers read
for _name, _value in (("LUFFY_TEST_BASE_URL", BASE_URL), ("LUFFY_CONFIG", APP_ENV[1]),
                      ("LUFFY_TEST_STACK_DIR", str(STACK_DIR)), ("LUFFY_TEST_STACK_SCRIPT", SCRIPT),
                      ("LUFFY_TEST_STACK", STACK), ("LUFFY_TEST_APP_BIN", INFO.get("APP_BIN", "")),
                      ("LUFFY_TEST_SANDBOX_URL", f"http://127.0.0.1:{INFO.get('SANDBOX_PORT', '')}")):
    if not os.environ.get(_name) and _value and not _value.endswith(":"):
        os.environ[_name] = _value

_spec = importlib.util.spec_from_file_location("integration_conftest", INTEGRATION / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
sys.modules["integration_conftest"] = integration
_spec.loader.exec_module(integration)

# re-exported for the tests/integration helpers (`from conftest import …`) and for our tests
(ENV, SETTINGS, JSON_TYPE, Client, app_pid, assert_audit_clean, assert_error, assert_json_response, auth, client,
 db_rows, grant_credit, log_fields, mint_token, parse_settings, run_audit, stack, stack_healthy, wait_until) = (
    integration.ENV, integration.SETTINGS, integration.JSON_TYPE, integration.Client, integration.app_pid,
    integration.assert_audit_clean, integration.assert_error, integration.assert_json_response, integration.auth,
    integration.client, integration.db_rows, integration.grant_credit, integration.log_fields,
    integration.mint_token, integration.parse_settings, integration.run_audit, integration.stack,
    integration.stack_healthy, integration.wait_until)
assert integration.BASE_URL == BASE_URL, (integration.BASE_URL, BASE_URL)
APP_LOGS = {i: LOG_DIR / f"app{i}.log" for i in INSTANCES}
APP_LOG = APP_LOGS[1]
NGINX_ERROR_LOG = LOG_DIR / "nginx-error.log"


# ---------------------------------------------------------------- database nodes
def node_address(n):
    """pymysql keyword arguments reaching node n (its socket, else its TCP port on 127.0.0.1)."""
    socket_path = INFO.get(f"NODE{n}_SOCKET")
    if socket_path:
        return {"unix_socket": socket_path}
    return {"host": "127.0.0.1", "port": int(INFO[f"NODE{n}_PORT"])}


def node_connect(n, connect_timeout=5, causal=True):
    """The app's database user on node n (autocommit). `causal`: its reads wait until the node has
    applied every commit of the cluster (wsrep_sync_wait=1), so that a test sees what an instance
    wrote through another node; a node outside the primary component then refuses them (1047)."""
    return pymysql.connect(
        **node_address(n),
        user=SETTINGS["LUFFY_DB_USER"],
        password=SETTINGS.get("LUFFY_DB_PASSWORD", ""),
        database=SETTINGS["LUFFY_DB_NAME"],
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=connect_timeout,
        read_timeout=30,
        write_timeout=30,
        init_command="SET time_zone = '+08:00'" + (", wsrep_sync_wait = 1" if causal else ""),
    )


def wsrep_status(conn):
    return {k: v for k, v in db_rows(conn, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")}


def node_state(n):
    """wsrep status of node n as a dict, or None when it does not answer."""
    try:
        conn = node_connect(n, connect_timeout=3, causal=False)
    except pymysql.MySQLError:
        return None
    try:
        return wsrep_status(conn)
    except pymysql.MySQLError:
        return None
    finally:
        conn.close()


def node_healthy(state):
    """The app's rule (docs: LUFFY_DB_NODES): wsrep_ready ON and Synced (4), in the primary component."""
    return bool(state) and state.get("wsrep_ready") == "ON" and state.get("wsrep_local_state") == "4" \
        and state.get("wsrep_cluster_status") == "Primary"


def db_connect():
    """A connection to the first healthy node (the tests/integration helpers' `db_connect`)."""
    errors = []
    for n in NODES:
        if node_healthy(node_state(n)):
            try:
                return node_connect(n)
            except pymysql.MySQLError as exc:
                errors.append(f"node {n}: {exc}")
    raise AssertionError(f"no healthy node to connect to {errors}")


@pytest.fixture
def db():
    conn = db_connect()
    yield conn
    conn.close()


def settle_nodes():
    """Each node has applied everything committed so far (a causal read on each): rows a test just
    wrote through one node are there when an instance reads them through another."""
    for n in NODES:
        conn = node_connect(n)
        try:
            db_rows(conn, "SELECT COUNT(*) FROM ly_users")
        finally:
            conn.close()


def cluster_synced():
    states = [node_state(n) for n in NODES]
    return all(node_healthy(s) and s.get("wsrep_cluster_size") == "3" for s in states)


def table_checksums(conn):
    return dict(db_rows(conn, "CHECKSUM TABLE " + ", ".join(CHECKED_TABLES)))


CHECKED_TABLES = ("ly_order", "ly_order_course", "ly_users", "ly_coupon_log", "ly_user_course", "ly_course",
                  "ly_credit", "ly_idempotency_key", "ly_alipay_notification", "ly_refund")


def nodes_identical(timeout=30.0):
    """Every node holds the same rows of the shop's tables (a causal read first, so that each node has
    applied what the cluster committed; retried while background services still write)."""
    deadline = time.monotonic() + timeout
    while True:
        sums = {}
        for n in NODES:
            conn = node_connect(n)
            try:
                db_rows(conn, "SELECT COUNT(*) FROM ly_order")
                sums[n] = table_checksums(conn)
            finally:
                conn.close()
        if sums[1] == sums[2] == sums[3]:
            return sums[1]
        if time.monotonic() > deadline:
            diff = {t: [sums[n][t] for n in NODES] for t in sums[1] if len({sums[n][t] for n in NODES}) > 1}
            raise AssertionError(f"the nodes differ after {timeout} s: {diff}")
        time.sleep(0.5)


# ---------------------------------------------------------------- the stack's actions
def cluster(*args, timeout=240):
    """`scripts/stack.sh cluster-test ACTION [N]`; returns stdout, raises with its stderr on failure."""
    out = subprocess.run([SCRIPT, STACK, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"stack.sh {STACK} {' '.join(map(str, args))} exited {out.returncode}: "
                             f"{out.stderr.strip()[-2000:]}")
    return out.stdout.strip()


def node_log(n):
    """Node n's MariaDB error log (scripts/stack.sh: log/node<n>.log)."""
    return LOG_DIR / f"node{n}.log"


def file_size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_from(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def healthy(url):
    try:
        return requests.get(url + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def stack_whole():
    return cluster_synced() and all(healthy(u) for u in (BASE_URL, *URLS.values()))


@pytest.fixture
def restore_cluster():
    """For tests that kill nodes or app instances: whatever happens, leave all of them running."""
    yield
    failures = []
    down = [n for n in NODES if not node_healthy(node_state(n))]
    starts = {n: _start_async("node-start", n) for n in down}
    for n, proc in starts.items():
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(f"node-start {n}: {err.strip()[-500:]}")
    for i in INSTANCES:
        if not healthy(URLS[i]):
            try:
                cluster("app-start", i)
            except AssertionError as exc:
                failures.append(str(exc))
    if not wait_until(stack_whole, 60, interval=0.5):
        failures.append("the cluster is not whole after the test")
    if failures:
        pytest.fail("; ".join(failures))


def _start_async(action, n):
    return subprocess.Popen([SCRIPT, STACK, action, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def start_nodes(*nodes, timeout=300):
    """`node-start` of several nodes at once (a node alone cannot restore the primary component
    when the others it needs are still down); fails when one of them fails."""
    procs = {n: _start_async("node-start", n) for n in nodes}
    errors = []
    for n, proc in procs.items():
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            errors.append(f"node-start {n} exited {proc.returncode}: {err.strip()[-1000:]}")
    assert not errors, errors


# ---------------------------------------------------------------- HTTP to one instance
def _same_origin(a, b):
    return urlsplit(a)[:2] == urlsplit(b)[:2]


class InstanceSession(requests.Session):
    """A requests.Session for one app instance: requests the integration helpers address to the
    balanced URL go to `url` (nginx's port of that instance) instead."""

    def __init__(self, url):
        super().__init__()
        self.url = url

    def request(self, method, url, *args, **kwargs):
        if _same_origin(url, BASE_URL):
            url = self.url + url[len(BASE_URL):]
        return super().request(method, url, *args, **kwargs)


def instance_client(i):
    """A conftest Client (fresh X-Request-Id per call) bound to instance i."""
    c = Client()
    c.session.close()
    c.session = InstanceSession(URLS[i])
    return c


def instance_of(k):
    """Requests split across the instances: the k-th goes to instance 1 when k is even, else 2."""
    return INSTANCES[k % len(INSTANCES)]


# ---------------------------------------------------------------- figures for the summary
FIGURES = []


def record_figure(text):
    """A measured figure, printed in pytest's terminal summary (e.g. the failover gap)."""
    FIGURES.append(text)
    print(text)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("cluster figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_sessionstart(session):
    """Fail the whole run loudly when the cluster is not whole (no silent skips)."""
    for url in (BASE_URL, *URLS.values()):
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            pytest.exit(f"{url} is not a local stack", returncode=3)
        if not healthy(url):
            pytest.exit(f"{url}/healthz does not answer 200: start the stack with "
                        f"`scripts/stack.sh {STACK} up` or run `make cluster-test`", returncode=3)
    states = {n: node_state(n) for n in NODES}
    if not all(node_healthy(s) and s.get("wsrep_cluster_size") == "3" for s in states.values()):
        summary = {n: s and (s.get("wsrep_local_state_comment"), s.get("wsrep_cluster_size")) for n, s in states.items()}
        pytest.exit(f"the cluster's nodes are not all Synced in one 3-node component: {summary}", returncode=3)


# tests/integration on the path, for `from ordering import …` and the others (they import from
# `conftest`, this module: everything above is defined by now)
sys.path.insert(0, str(INTEGRATION))
