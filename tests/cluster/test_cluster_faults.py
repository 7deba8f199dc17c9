"""Faults of the cluster: a Galera node killed (-9) in the middle of a burst of orders, payments and
cancels; an app instance killed under load; two of the three nodes killed. Each is followed by the
books (every answer the clients got holds), `luffy-pay audit` and the three nodes holding the same
rows. The burst and the read load are tests/integration/test_faults.py's, through nginx's balanced
port (so through both instances and their nodes). Fixture restore_cluster leaves every node and
instance running, whatever happens.
"""

import re
import time
from collections import Counter

import requests

from alipay import notification, post_notify
from conftest import (BASE_URL, JSON_TYPE, NODES, URLS, Client, assert_audit_clean, assert_error,
                      assert_json_response, auth, cluster, db_connect, db_rows, file_size, grant_credit, healthy,
                      instance_client, node_log, node_state, nodes_identical, read_from, record_figure,
                      restore_cluster, settle_nodes, stack_whole, start_nodes, wait_until)
from ordering import cancel_order, loads, new_key, post_order, throwaway
from test_faults import Burst, Load, sleep_until

__all__ = ["restore_cluster", "throwaway"]  # the fixtures, imported for pytest

# what a request may get while its node goes away: the app's JSON 503, and `fail` for a
# notification it could not store (Alipay sends it again)
FAILOVER_ANSWERS = {(503, "database_unavailable"), (200, "fail")}


def longest_silence(times, start, end):
    """(seconds, since) of the longest stretch in [start, end] without one of `times`."""
    points = [start] + sorted(t for t in times if start <= t <= end) + [end]
    gaps = [(b - a, a) for a, b in zip(points, points[1:])]
    return max(gaps)


def test_node_killed_under_load(restore_cluster):
    """kill -9 of node 1 (instance 1's first node) 2 s into a burst of orders, notifications and
    cancels through both instances; 5 s later it is started again and rejoins by IST. Every
    request gets an answer: success, or 503 (`fail` for a notification) while its node goes away;
    what was answered is in the books; the audit is clean; the three nodes hold the same rows."""
    assert wait_until(stack_whole, 30), "the cluster is not whole before the burst"
    log = node_log(1)
    t0 = time.monotonic()
    burst = Burst(deadline=t0 + 120, users_each=15)   # a rejoin by IST can take 20 s and more
    try:
        settle_nodes()                           # its users and courses are on every node
        burst.start()
        sleep_until(t0 + 2)
        t_kill = time.monotonic()
        log_offset = file_size(log)
        cluster("node-kill", 1)
        sleep_until(t_kill + 5)                  # the load runs on without node 1
        t_start = time.monotonic()
        cluster("node-start", 1)                 # returns once node 1 is Synced again
        t_synced = time.monotonic()
        assert wait_until(stack_whole, 30), "the cluster is not whole after node 1's restart"
        t_recovered = time.monotonic()
        burst.run_past(t_recovered)

        successes = [t for t, *_ in burst.created] + [t for t, *_ in burst.paid] + [t for t, *_ in burst.cancelled]
        gap, since = longest_silence(successes, t_kill, t_recovered)
        refused = Counter((a[0], a[1], a[2]) for a in burst.answers if (a[1], a[2]) in FAILOVER_ANSWERS)
        record_figure(f"node 1 killed under load: failover gap {gap:.2f} s (longest stretch without a successful "
                      f"answer, from {since - t_kill:+.2f} s after the kill); node 1 back and Synced "
                      f"{t_synced - t_start:.1f} s after its start; refused during the failover: {dict(refused)}")
        # node 1 rejoined by IST (the write sets it missed, from a donor's gcache), not a full SST
        joined = read_from(log, log_offset)
        ist = re.search(r"Receiving IST: (\d+) writesets", joined)
        assert ist and "IST received" in joined and "SST completed on joiner" not in joined, \
            f"node 1 did not rejoin by IST; its log since the kill: {joined[-3000:]}"
        state = node_state(1)
        assert state["wsrep_local_state_comment"] == "Synced" and state["wsrep_cluster_size"] == "3", state
        nodes_identical()
        print(f"node 1 rejoined by IST ({ist.group(1)} write sets)")
        # every answer is a success or the failover's; what was answered is in the books; audit clean
        burst.check_books(t_kill, t_recovered, FAILOVER_ANSWERS, refusals=False)
    finally:
        burst.deadline = 0
        burst.finish()
        burst.cleanup()


def test_app_instance_killed_the_balanced_port_answers_through_the_other(throwaway, restore_cluster):
    """kill -9 of app instance 1 while 8 clients read through the balanced port: every request is
    answered 200 (nginx passes it to instance 2), orders are taken, instance 1's own port answers
    nginx's JSON 502; once instance 1 is started again its port answers."""
    headers = auth(1, username="luffy")
    uid = throwaway.user()
    courses = [throwaway.course("50.00") for _ in range(6)]
    settle_nodes()
    t0 = time.monotonic()
    load = Load(8, headers, deadline=t0 + 60)
    load.start()
    balanced = Client()
    try:
        sleep_until(t0 + 2)
        t_kill = time.monotonic()
        cluster("app-kill", 1)
        gone = requests.get(URLS[1] + "/user/order?page=1&size=5", headers=headers, timeout=10)
        assert_error(gone, 502, "service_unavailable")
        assert requests.get(URLS[2] + "/user/order?page=1&size=5", headers=headers, timeout=10).status_code == 200
        created = [post_order(balanced, uid, {"course_ids": [c]}) for c in courses]
        assert [r.status_code for r in created] == [201] * len(courses), [r.text[:200] for r in created]
        sleep_until(t_kill + 4)
        cluster("app-start", 1)
        t_back = time.monotonic()
        assert wait_until(lambda: healthy(URLS[1]), 20), "instance 1 does not answer after its start"
        sleep_until(t_back + 3)
    finally:
        outcomes = load.finish()
        balanced.close()

    errors = [o for o in outcomes if o.error]
    assert not errors, f"{len(errors)} requests got no HTTP answer: {errors[:3]}"
    failed = [o for o in outcomes if o.status != 200 or not o.ok_body]
    assert not failed, f"{len(failed)} of {len(outcomes)} requests through the balanced port failed: {failed[:3]}"
    assert len([o for o in outcomes if o.sent > t_kill and o.done < t_back]) > 20, "too little load meanwhile"
    with db_connect() as conn:
        assert len(db_rows(conn, "SELECT id FROM ly_order WHERE user_id = %s", (uid,))) == len(courses)
    assert_audit_clean()
    print(f"app instance 1 killed: {len(outcomes)} requests through the balanced port, all 200")


def refusal(r):
    """(status, code or text) of an answer while the cluster cannot write."""
    if r.headers.get("Content-Type") == JSON_TYPE:
        return r.status_code, r.json().get("code")
    return r.status_code, r.text[:40]


def test_two_nodes_killed_the_last_refuses_writes_then_the_cluster_recovers(throwaway, restore_cluster):
    """kill -9 of nodes 2 and 3: node 1 alone is no primary component; every instance then answers
    503 `database_unavailable` (orders, cancels, /healthz) and `fail` to a notification; nothing of
    those requests is written. Nodes 2 and 3 started again: the cluster is whole, the refused
    requests go through when sent again, the audit is clean and the nodes hold the same rows."""
    uid = throwaway.user(credit=100)
    grant_credit(throwaway.conn, uid, 100)
    courses = [throwaway.course("100.00", credit=50) for _ in range(2)]
    settle_nodes()
    setup = instance_client(1)
    try:
        r = post_order(setup, uid, {"course_ids": [courses[0]], "credit": 50})
        assert_json_response(r, 201)
        order = loads(r.text)
    finally:
        setup.close()
    assert_audit_clean()

    key = new_key("split")
    body = {"course_ids": [courses[1]], "credit": 50}
    pay = notification(order["order_number"], f"{order['real_price']:.2f}")
    cluster("node-kill", 2)
    cluster("node-kill", 3)
    t_kill = time.monotonic()
    assert wait_until(lambda: (node_state(1) or {}).get("wsrep_cluster_status") == "non-Primary", 120, 0.5), \
        f"node 1 is still {node_state(1)} 120 s after nodes 2 and 3 died"
    t_alone = time.monotonic()

    clients = {BASE_URL: Client(), URLS[1]: instance_client(1), URLS[2]: instance_client(2)}
    answers = {}
    try:
        for url, c in clients.items():
            # the app's health check and a write of each kind, through every port
            answers[url] = {
                "healthz": refusal(c.get("/healthz")),
                "order": refusal(post_order(c, uid, body, key=key)),
                "cancel": refusal(cancel_order(c, uid, order["id"])),
                "notify": refusal(post_notify(pay, session=c.session)),
                "list": refusal(c.get("/user/order?page=1&size=5", headers=auth(uid))),
            }
    finally:
        for c in clients.values():
            c.close()
    refused = {"order": (503, "database_unavailable"), "cancel": (503, "database_unavailable"),
               "notify": (200, "fail"), "list": (503, "database_unavailable")}
    for url, got in answers.items():
        assert {k: got[k] for k in refused} == refused, f"{url}: {got}"

    t_restart = time.monotonic()
    start_nodes(2, 3)
    assert wait_until(stack_whole, 60, 0.5), "the cluster is not whole after nodes 2 and 3 came back"
    t_whole = time.monotonic()
    record_figure(f"two of three nodes killed: node 1 refused writes {t_alone - t_kill:.1f} s after the kill; "
                  f"the cluster was whole {t_whole - t_restart:.1f} s after nodes 2 and 3 were started")

    # nothing of the refused requests was written
    with db_connect() as conn:
        rows = db_rows(conn, "SELECT id, order_status FROM ly_order WHERE user_id = %s ORDER BY id", (uid,))
        assert [(order_id, status) for order_id, status in rows] == [(order["id"], 0)], rows
        assert db_rows(conn, "SELECT credit FROM ly_users WHERE id = %s", (uid,)) == ((50,),)
        assert db_rows(conn, "SELECT COUNT(*) FROM ly_alipay_notification WHERE out_trade_no = %s",
                       (order["order_number"],)) == ((0,),)
    assert_audit_clean()
    # sent again, each goes through (the key was never stored: one order)
    c1, c2 = instance_client(1), instance_client(2)
    try:
        first = assert_json_response(post_order(c1, uid, body, key=key), 201)
        assert post_order(c2, uid, body, key=key).json() == first
        r = post_notify(pay, session=c2.session)
        assert (r.status_code, r.text) == (200, "success"), r.text
        assert_error(cancel_order(c1, uid, order["id"]), 400, "order_not_cancellable")
    finally:
        c1.close()
        c2.close()
    assert_audit_clean()
    nodes_identical()
    # the notification's rows are the test's: removed with the throwaway user's orders
    with db_connect() as conn:
        db_rows(conn, "DELETE FROM ly_alipay_notification WHERE out_trade_no = %s", (order["order_number"],))
    assert {n: node_state(n)["wsrep_cluster_size"] for n in NODES} == {1: "3", 2: "3", 3: "3"}
    # and while no node could serve, /healthz said so (checked last, so that the recovery above
    # is checked whatever it said)
    unhealthy = {url: got["healthz"] for url, got in answers.items()}
    assert set(unhealthy.values()) == {(503, "database_unavailable")}, f"/healthz with no node healthy: {unhealthy}"
