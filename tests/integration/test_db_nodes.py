"""README, "Configuration" (`LUFFY_DB_NODES`, `LUFFY_DB_WRITE_MODE`) on the test stack's single
MariaDB: its TCP port and its socket are two nodes of one server, 127.0.0.1:1 a node that refuses
every connection.

* `luffy-pay migrate` and `token` pass over a node that cannot be reached; `migrate` takes and gives
  back its lease (schema_migrations_lease).
* Malformed lists and modes stop the command at start with the setting and the entry named.
* `serve` with a node list answers /healthz with the node its worker uses; with no node to use,
  503 `database_unavailable`, and it keeps running.
"""

import json
import os
import subprocess
import time

import pytest

from conftest import ENV, SETTINGS, STACK_DIR, db_rows
from test_deploy_env import WORK, fcgi_get, start, stop

TCP = f"{SETTINGS['LUFFY_DB_HOST']}:{SETTINGS['LUFFY_DB_PORT']}"
SOCKET = SETTINGS["LUFFY_DB_SOCKET"]
REFUSED = "127.0.0.1:1"


def run(*args, **settings):
    env = dict(os.environ, LUFFY_CONFIG=ENV["config"], **settings)
    return subprocess.run([ENV["app_bin"], *args], env=env, capture_output=True, text=True, timeout=60)


def test_migrate_and_token_pass_over_an_unreachable_node(db):
    out = run("migrate", LUFFY_DB_NODES=f"{REFUSED},{TCP}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "migrate: nothing to apply"
    assert db_rows(db, "SELECT COUNT(*) FROM schema_migrations_lease") == ((0,),)
    token = run("token", "1", LUFFY_DB_NODES=f"{REFUSED},{SOCKET}", LUFFY_DB_WRITE_MODE="spread")
    assert token.returncode == 0 and token.stdout.count(".") == 2, token.stderr[-2000:]


NODES_EXPECTED = ("expected comma-separated nodes, each host:port ([IPv6]:port) or the absolute path of a unix "
                  "socket, e.g. 127.0.0.1:3311,127.0.0.1:3312")


@pytest.mark.parametrize("value,entry", [
    ("127.0.0.1", "127.0.0.1"),
    ("127.0.0.1:3306;rm -rf /", "127.0.0.1:3306;rm -rf /"),
    ("' OR 1=1 -- :3306", "' OR 1=1 -- :3306"),
    ("127.0.0.1:0", "127.0.0.1:0"),
    ("127.0.0.1:65536", "127.0.0.1:65536"),
    ("127.0.0.1:-1", "127.0.0.1:-1"),
    ("node.sock", "node.sock"),
    ("../run/mysqld.sock", "../run/mysqld.sock"),
    (f"{TCP},,{SOCKET}", ""),
    (f"{TCP},", ""),
    ("[::1:3306", "[::1:3306"),
    ("hôst:3306", "hôst:3306"),
    ("x" * 256 + ":3306", "x" * 256 + ":3306"),
    ("db:3306\nLUFFY_DB_WRITE_MODE=spread", "db:3306\nLUFFY_DB_WRITE_MODE=spread"),
])
def test_a_malformed_node_list_stops_the_start(value, entry):
    out = run("token", "1", LUFFY_DB_NODES=value)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == f"luffy-pay: LUFFY_DB_NODES={entry} is not valid: {NODES_EXPECTED}\n"


def test_a_node_listed_twice_stops_the_start():
    out = run("token", "1", LUFFY_DB_NODES=f"{TCP}, {SOCKET} ,{TCP}")
    assert out.returncode == 1
    assert out.stderr == f"luffy-pay: LUFFY_DB_NODES={TCP} is not valid: expected each node listed once\n"


@pytest.mark.parametrize("mode", ["SPREAD", "both", "spread;single", "single\n", "sp read", "1"])
def test_an_unknown_write_mode_stops_the_start(mode):
    out = run("token", "1", LUFFY_DB_NODES=f"{TCP},{SOCKET}", LUFFY_DB_WRITE_MODE=mode)
    assert out.returncode == 1
    assert out.stderr.startswith("luffy-pay: LUFFY_DB_WRITE_MODE=") and out.stderr.endswith(
        " is not valid: expected spread or single\n"), out.stderr


def serve_with(name, nodes, threads=2, mode="spread"):
    """`serve` on the stack's settings with `nodes`, on a socket of its own, without its background
    services (the stack's app runs them). Returns what test_deploy_env's `start` does."""
    WORK.mkdir(exist_ok=True)
    env_file = WORK / f"{name}.env"
    extra = {"LUFFY_FCGI_SOCKET": "", "LUFFY_LOG_FILE": "", "LUFFY_THREADS": str(threads), "LUFFY_DB_NODES": nodes,
             "LUFFY_DB_WRITE_MODE": mode, "LUFFY_SWEEP_INTERVAL": "0", "LUFFY_REFUND_INTERVAL": "0",
             "LUFFY_RECONCILE_AT": "off"}
    text = open(ENV["config"], encoding="utf-8").read()
    env_file.write_text(text + "\n" + "".join(f"{k}={v}\n" for k, v in extra.items()), encoding="utf-8")
    env_file.chmod(0o600)
    return start(env_file, name)


def answer(stdout):
    head, _, body = stdout.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def test_serve_with_nodes_reports_the_node_in_healthz():
    proc, listener, err_path = serve_with("nodes", f"{REFUSED},{TCP},{SOCKET}")
    try:
        # worker 0 prefers the refused node and moves to the next, worker 1 prefers TCP: either way
        for i in range(4):
            stdout, app_status = fcgi_get(WORK / "nodes.sock", b"/healthz", f"it-db-nodes-{i}".encode(), timeout=30)
            status, body = answer(stdout)
            assert status == "Status: 200 OK" and app_status == 0, stdout[:300]
            assert json.loads(body) == {"status": "ok", "database": {
                "node": TCP, "galera": False, "wsrep_ready": False, "wsrep_local_state": 0, "cluster_size": None}}
        stdout, _ = fcgi_get(WORK / "nodes.sock", b"/metrics", b"it-db-nodes-m", timeout=30)
        metrics = answer(stdout)[1].decode()
        assert f'luffy_db_node_connections_total{{node="{TCP}"}}' in metrics, metrics[-3000:]
        assert f'node="{REFUSED}"' not in metrics
        assert "\nluffy_db_failovers_total " in metrics
        assert proc.poll() is None
    finally:
        rc = stop(proc)
        listener.close()
    assert rc == 0, err_path.read_text()[-2000:]


def test_serve_with_no_node_to_use_answers_503_and_keeps_running():
    proc, listener, err_path = serve_with("no-nodes", f"{REFUSED},{STACK_DIR}/run/no-such.sock", threads=1)
    try:
        for i in range(2):
            stdout, app_status = fcgi_get(WORK / "no-nodes.sock", b"/healthz", f"it-no-nodes-{i}".encode(), timeout=30)
            status, body = answer(stdout)
            assert status == "Status: 503 Service Unavailable" and app_status == 0, stdout[:300]
            assert json.loads(body) == {"errmsg": "数据库暂时不可用,请稍后重试", "code": "database_unavailable"}
            time.sleep(0.2)
        assert proc.poll() is None
    finally:
        rc = stop(proc)
        listener.close()
    assert rc == 0
    assert "no healthy node: 127.0.0.1:1: " in err_path.read_text(encoding="utf-8")
