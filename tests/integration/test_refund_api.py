"""Refunds through nginx (README, "Refunds"; docs/REFUNDS.md): the buyer's request, the staff's
desk (`/admin/…`), the `luffy-pay refunds` command, `/user/order` showing refunds, and refund
notifications, which are recorded and never settle or create a refund.

Every refusal is checked against the database: nothing written (refunds, their courses and
events, idempotency keys). Orders are paid with a notification signed like Alipay's
(alipay.notification); the refund worker is not part of these tests (a refund stays where staff
leave it), so states the worker would reach are arranged with one UPDATE where a test needs them.
"""

import json
import subprocess
import uuid
from decimal import Decimal

import pytest
import schemathesis

from alipay import assert_notify_answer, fake_trade_no, notification, post_notify, shop  # noqa: F401 - fixture
from conftest import ENV, ROOT, assert_error, assert_json_response, auth, db_rows
from ordering import at_once, loads, new_key, post_order

REFUND_KEYS = {"id", "refund_number", "order_id", "order_number", "amount", "state", "source", "reason",
               "requested_by", "approved_by", "sub_code", "sub_msg", "attempts", "created_time", "updated_time",
               "courses"}


# ---------------------------------------------------------------- helpers
def pay(shop, prices=("120.00", "80.50"), kind="plain"):
    """A throwaway user's order, paid by a signed notification."""
    p = shop.purchase(kind, prices=prices, credits=(0,) * len(prices))
    trade_no = fake_trade_no()
    assert_notify_answer(post_notify(notification(p.number, p.amount_text, trade_no=trade_no)), "success")
    p.trade_no = trade_no
    assert db_rows(shop.conn, "SELECT order_status FROM ly_order WHERE id = %s", (p.id,))[0][0] == 1
    return p


def staff_user(shop):
    uid = shop.t.user()
    db_rows(shop.conn, "UPDATE ly_users SET is_staff = 1 WHERE id = %s", (uid,))
    return uid


def post_json(client, user_id, path, body=None, *, key=None, raw=None):
    headers = auth(user_id)
    headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    data = raw if raw is not None else json.dumps(body if body is not None else {}, ensure_ascii=False)
    return client.request("POST", path, headers=headers, data=data.encode() if isinstance(data, str) else data,
                          timeout=30)


def request_refund(client, user_id, order_id, body=None, **kw):
    return post_json(client, user_id, f"/orders/{order_id}/refund", body, **kw)


def written(conn):
    """Everything a refund request or a staff action may write."""
    return {table: db_rows(conn, f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table}")[0]
            for table in ("ly_refund", "ly_refund_course", "ly_refund_event", "ly_idempotency_key",
                          "ly_alipay_notification")} | {
        "states": db_rows(conn, "SELECT id, state, approved_by, next_attempt_time FROM ly_refund ORDER BY id"),
        "held": db_rows(conn, "SELECT id, live_key FROM ly_refund_course ORDER BY id"),
    }


def refund_row(conn, refund_id):
    (row,) = db_rows(conn, "SELECT state, source, amount, requested_by, approved_by, out_request_no, trade_no, "
                           "next_attempt_time FROM ly_refund WHERE id = %s", (refund_id,))
    return dict(zip(("state", "source", "amount", "requested_by", "approved_by", "number", "trade_no", "next"), row))


def events(conn, refund_id):
    return db_rows(conn, "SELECT from_state, to_state, actor, note FROM ly_refund_event WHERE refund_id = %s "
                         "ORDER BY id", (refund_id,))


def order_course_shares(conn, order_id):
    return dict(db_rows(conn, "SELECT course_id, real_price FROM ly_order_course WHERE order_id = %s", (order_id,)))


def cli(*args):
    env = {"LUFFY_CONFIG": ENV["config"], "PATH": "/usr/bin:/bin"}
    return subprocess.run([ENV["app_bin"], "refunds", *args], env=env, capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- buyer → staff
def test_buyer_request_staff_approve_and_the_order_list(shop, client):
    p = pay(shop)
    staff = staff_user(shop)
    r = request_refund(client, p.user_id, p.id, {"reason": "不想学了"})
    body = assert_json_response(r, 201)
    assert set(body) == REFUND_KEYS, set(body) ^ REFUND_KEYS
    assert body["state"] == "requested" and body["source"] == "buyer" and body["reason"] == "不想学了", body
    assert body["refund_number"] == f"R{p.number}-1" and body["order_id"] == p.id, body
    assert Decimal(str(body["amount"])) == Decimal(p.amount_text), body
    assert sorted(c["course_id"] for c in body["courses"]) == sorted(p.course_ids), body
    assert sum(Decimal(str(c["amount"])) for c in body["courses"]) == Decimal(p.amount_text), body
    row = refund_row(shop.conn, body["id"])
    assert (row["state"], row["requested_by"], row["approved_by"], row["trade_no"]) == \
        ("requested", p.user_id, None, p.trade_no), row
    assert events(shop.conn, body["id"]) == ((None, "requested", f"user:{p.user_id}", None),)

    # the buyer's order list shows it (and nothing refunded yet)
    listed = loads(client.get("/user/order", headers=auth(p.user_id)).text)["results"]
    (order,) = [o for o in listed if o["id"] == p.id]
    assert order["refunded_amount"] == Decimal("0.00"), order
    assert order["refunds"] == [{"refund_number": f"R{p.number}-1", "amount": Decimal(p.amount_text),
                                 "state": "requested", "created_time": body["created_time"],
                                 "course_ids": sorted(p.course_ids)}], order["refunds"]

    r = post_json(client, staff, f"/admin/refunds/{body['id']}/approve")
    approved = assert_json_response(r, 200)
    assert approved["state"] == "approved" and approved["approved_by"] == staff, approved
    row = refund_row(shop.conn, body["id"])
    assert (row["state"], row["approved_by"]) == ("approved", staff) and row["next"] is not None, row
    assert events(shop.conn, body["id"])[-1] == ("requested", "approved", f"staff:{staff}", None)

    # the staff's detail has the events; the list filters by state
    detail = assert_json_response(client.get(f"/admin/refunds/{body['id']}", headers=auth(staff)), 200)
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in detail["events"]] == \
        [(None, "requested", f"user:{p.user_id}"), ("requested", "approved", f"staff:{staff}")], detail
    page = assert_json_response(client.get("/admin/refunds?state=approved&size=20", headers=auth(staff)), 200)
    assert set(page) == {"count", "next", "previous", "results"}
    assert body["id"] in [x["id"] for x in page["results"]] or page["count"] > 20, page
    assert all(x["state"] == "approved" for x in page["results"]), page
    assert page["count"] == db_rows(shop.conn, "SELECT COUNT(*) FROM ly_refund WHERE state = 'approved'")[0][0]

    # approving (or denying) it again: 409, nothing written
    before = written(shop.conn)
    assert_error(post_json(client, staff, f"/admin/refunds/{body['id']}/approve"), 409, "refund_state_conflict")
    r = post_json(client, staff, f"/admin/refunds/{body['id']}/deny", {"reason": "x"})
    assert assert_error(r, 409, "refund_state_conflict")["state"] == "approved"
    assert_error(post_json(client, staff, f"/admin/refunds/{body['id']}/retry"), 409, "refund_state_conflict")
    assert written(shop.conn) == before


def test_deny_frees_the_courses(shop, client):
    p = pay(shop)
    staff = staff_user(shop)
    first = assert_json_response(request_refund(client, p.user_id, p.id, {"course_ids": [p.course_ids[0]]}), 201)
    assert [c["course_id"] for c in first["courses"]] == [p.course_ids[0]]
    assert Decimal(str(first["amount"])) == order_course_shares(shop.conn, p.id)[p.course_ids[0]]

    before = written(shop.conn)
    assert_error(post_json(client, staff, f"/admin/refunds/{first['id']}/deny", {}), 400, "reason_required")
    assert_error(post_json(client, staff, f"/admin/refunds/{first['id']}/deny", {"reason": " "}), 400,
                 "reason_required")
    assert written(shop.conn) == before

    denied = assert_json_response(
        post_json(client, staff, f"/admin/refunds/{first['id']}/deny", {"reason": "课程已学习过半"}), 200)
    assert denied["state"] == "denied"
    assert events(shop.conn, first["id"])[-1] == ("requested", "denied", f"staff:{staff}", "课程已学习过半")
    assert db_rows(shop.conn, "SELECT live_key FROM ly_refund_course WHERE refund_id = %s", (first["id"],)) == \
        ((None,),)
    # the course is free again: a second request takes both courses, under the next number
    again = assert_json_response(request_refund(client, p.user_id, p.id), 201)
    assert again["refund_number"] == f"R{p.number}-2"
    assert sorted(c["course_id"] for c in again["courses"]) == sorted(p.course_ids)


def test_staff_initiated_refund_is_approved_at_once(shop, client):
    p = pay(shop, prices=("99.90", "10.00", "0.10"))
    staff = staff_user(shop)
    r = post_json(client, staff, f"/admin/orders/{p.id}/refund", {"course_ids": p.course_ids[:2], "reason": "客服"})
    body = assert_json_response(r, 201)
    assert (body["state"], body["source"], body["approved_by"], body["requested_by"]) == \
        ("approved", "staff", staff, staff), body
    row = refund_row(shop.conn, body["id"])
    assert row["state"] == "approved" and row["next"] is not None, row
    assert events(shop.conn, body["id"]) == ((None, "approved", f"staff:{staff}", None),)
    shares = order_course_shares(shop.conn, p.id)
    assert Decimal(str(body["amount"])) == shares[p.course_ids[0]] + shares[p.course_ids[1]]


def test_retry_of_a_failed_refund(shop, client):
    p = pay(shop)
    staff = staff_user(shop)
    body = assert_json_response(post_json(client, staff, f"/admin/orders/{p.id}/refund", {}), 201)
    # what the worker leaves after a final refusal (docs/REFUNDS.md, "States"): failed, courses released
    db_rows(shop.conn, "UPDATE ly_refund SET state = 'failed', next_attempt_time = NULL WHERE id = %s", (body["id"],))
    db_rows(shop.conn, "UPDATE ly_refund_course SET live_key = NULL WHERE refund_id = %s", (body["id"],))
    retried = assert_json_response(post_json(client, staff, f"/admin/refunds/{body['id']}/retry"), 200)
    assert retried["state"] == "approved" and retried["refund_number"] == body["refund_number"], retried
    row = refund_row(shop.conn, body["id"])
    assert row["state"] == "approved" and row["next"] is not None, row
    assert events(shop.conn, body["id"])[-1] == ("failed", "approved", f"staff:{staff}", None)
    assert db_rows(shop.conn, "SELECT COUNT(*) FROM ly_refund_course WHERE refund_id = %s AND live_key IS NOT NULL",
                   (body["id"],))[0][0] == 2


# ---------------------------------------------------------------- refusals: nothing written
def test_buyer_refusals_write_nothing(shop, client):
    p = pay(shop)
    unpaid = shop.purchase("plain", prices=("30.00",), credits=(0,))
    other = pay(shop, prices=("12.00",))
    late = pay(shop, prices=("15.00",))
    db_rows(shop.conn, "UPDATE ly_order SET pay_time = pay_time - INTERVAL 8 DAY WHERE id = %s", (late.id,))
    stranger_course = shop.t.course("5.00")
    cases = [
        (request_refund(client, unpaid.user_id, unpaid.id), 400, "order_not_paid"),
        (request_refund(client, late.user_id, late.id), 400, "refund_window_closed"),
        (request_refund(client, p.user_id, p.id, {"course_ids": [stranger_course]}), 400, "course_not_in_order"),
        (request_refund(client, p.user_id, p.id, {"course_ids": [p.course_ids[0], stranger_course]}), 400,
         "course_not_in_order"),
        (request_refund(client, other.user_id, p.id), 404, "order_not_found"),
        (request_refund(client, p.user_id, 999999999), 404, "order_not_found"),
        (request_refund(client, p.user_id, "abc"), 404, "order_not_found"),
        (request_refund(client, p.user_id, -5), 404, "order_not_found"),
        (request_refund(client, p.user_id, "99999999999999999999999"), 404, "order_not_found"),
        (client.get(f"/orders/{p.id}/refund", headers=auth(p.user_id)), 405, "method_not_allowed"),
        (request_refund(client, p.user_id, p.id, {"course_ids": [2**63]}), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, raw='{"course_ids": [1], "course_ids": [2]}'), 400, None),
        (client.request("POST", f"/orders/{p.id}/refund", data=b"{}",
                        headers={"Content-Type": "application/json"}), 401, "unauthorized"),
        (request_refund(client, p.user_id, p.id, raw="{"), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, raw="[1]"), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, raw=""), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, {"course_ids": "1"}), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, {"course_ids": [-1]}), 400, "invalid_body"),
        (request_refund(client, p.user_id, p.id, {"course_ids": []}), 400, "refund_courses_required"),
        (request_refund(client, p.user_id, p.id, {"course_ids": [1, 1]}), 400, "duplicate_courses"),
        (request_refund(client, p.user_id, p.id, {"course_ids": list(range(1, 52))}), 400, "too_many_courses"),
        (request_refund(client, p.user_id, p.id, {"reason": ["x"]}), 400, "reason_invalid"),
        (request_refund(client, p.user_id, p.id, {"reason": "退" * 256}), 400, "reason_invalid"),
        (request_refund(client, p.user_id, p.id, {}, key="k" * 256), 400, "idempotency_key_invalid"),
    ]
    before = written(shop.conn)
    for r, status, code in cases:
        body = assert_error(r, status, code)
        if code == "course_not_in_order":
            assert body["course_ids"] == [stranger_course], body
        if code == "refund_window_closed":
            assert body["refund_window_days"] == 7, body
    r = client.request("POST", f"/orders/{p.id}/refund", data=b"{}",
                       headers={**auth(p.user_id), "Content-Type": "text/plain"})
    assert_error(r, 415)
    assert written(shop.conn) == before
    # the refused ones are still refundable
    assert_json_response(request_refund(client, other.user_id, other.id), 201)


def test_courses_held_or_refunded_are_refused(shop, client):
    p = pay(shop, prices=("50.00", "60.00", "70.00"))
    a, b, c = p.course_ids
    first = assert_json_response(request_refund(client, p.user_id, p.id, {"course_ids": [a]}), 201)
    before = written(shop.conn)
    r = request_refund(client, p.user_id, p.id, {"course_ids": [a, b]})
    assert assert_error(r, 400, "refund_in_progress")["course_ids"] == [a]
    assert written(shop.conn) == before
    # once it succeeded (the worker's work, arranged here), the course is refunded already
    db_rows(shop.conn, "UPDATE ly_refund SET state = 'succeeded' WHERE id = %s", (first["id"],))
    before = written(shop.conn)
    r = request_refund(client, p.user_id, p.id, {"course_ids": [b, a]})
    assert assert_error(r, 400, "course_already_refunded")["course_ids"] == [a]
    assert written(shop.conn) == before
    rest = assert_json_response(request_refund(client, p.user_id, p.id), 201)
    assert sorted(x["course_id"] for x in rest["courses"]) == sorted([b, c])
    before = written(shop.conn)
    # nothing left: the refunded course is named first (docs/REFUNDS.md)
    assert assert_error(request_refund(client, p.user_id, p.id), 400, "course_already_refunded")["course_ids"] == [a]
    assert assert_error(request_refund(client, p.user_id, p.id, {"course_ids": [c]}), 400,
                        "refund_in_progress")["course_ids"] == [c]
    assert written(shop.conn) == before


def test_staff_endpoints_refuse_others(shop, client):
    p = pay(shop)
    staff = staff_user(shop)
    refund = assert_json_response(request_refund(client, p.user_id, p.id), 201)
    rid = refund["id"]
    calls = [("GET", "/admin/refunds", None), ("GET", f"/admin/refunds/{rid}", None),
             ("POST", f"/admin/refunds/{rid}/approve", {}), ("POST", f"/admin/refunds/{rid}/deny", {"reason": "x"}),
             ("POST", f"/admin/refunds/{rid}/retry", {}), ("POST", f"/admin/orders/{p.id}/refund", {})]
    before = written(shop.conn)
    for method, path, body in calls:
        data = json.dumps(body).encode() if body is not None else None
        for headers, status, code in (({}, 401, "unauthorized"), (auth(p.user_id), 403, "forbidden")):
            r = client.request(method, path, data=data, headers={**headers, "Content-Type": "application/json"})
            assert_error(r, status, code)
    for method, path, status, code in [
        ("GET", "/admin/refunds/999999999", 404, "refund_not_found"),
        ("GET", "/admin/refunds/abc", 404, "refund_not_found"),
        ("POST", "/admin/refunds/999999999/approve", 404, "refund_not_found"),
        ("POST", "/admin/refunds/0/deny", 404, "refund_not_found"),
        ("POST", "/admin/refunds/999999999/retry", 404, "refund_not_found"),
        ("POST", "/admin/orders/999999999/refund", 404, "order_not_found"),
        ("GET", "/admin/refunds?state=paid", 400, "invalid_state"),
        ("GET", "/admin/refunds?page=0", 400, "invalid_page"),
        ("GET", "/admin/refunds?size=500", 400, "invalid_size"),
        ("GET", "/admin/refunds?page=100000", 400, "page_out_of_range"),
        ("POST", f"/admin/refunds/{rid}/retry", 409, "refund_state_conflict"),
        ("POST", f"/admin/orders/{p.id}/refund", 400, "refund_in_progress"),
    ]:
        data = b"{}" if method == "POST" else None
        r = client.request(method, path, data=data, headers={**auth(staff), "Content-Type": "application/json"})
        assert_error(r, status, code)
    assert written(shop.conn) == before


# ---------------------------------------------------------------- races and replays
def test_concurrent_requests_never_pass_what_was_paid(shop, client):
    p = pay(shop, prices=("33.33", "33.33", "33.34"))
    a, b, c = p.course_ids
    bodies = [{}, {"course_ids": [a]}, {"course_ids": [b, c]}, {"course_ids": [c]}, {"course_ids": [a, b, c]}] * 4
    results = at_once([lambda body=body: request_refund(client, p.user_id, p.id, body) for body in bodies])
    created = [r for r in results if r.status_code == 201]
    assert created, [r.text for r in results]
    for r in results:
        if r.status_code != 201:
            assert_error(r, 400, "refund_in_progress")
    (held, refunds), = db_rows(shop.conn, "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM ly_refund "
                                          "WHERE order_id = %s AND state NOT IN ('denied', 'failed')", (p.id,))
    assert refunds == len(created), (refunds, len(created))
    assert held <= Decimal(p.amount_text), (held, p.amount_text)
    live = db_rows(shop.conn, "SELECT rc.course_id FROM ly_refund_course rc JOIN ly_refund r ON r.id = rc.refund_id "
                              "WHERE r.order_id = %s AND rc.live_key IS NOT NULL", (p.id,))
    assert len(live) == len({x for (x,) in live}), live          # no course in two live refunds


def test_idempotency_key_replays_the_first_answer(shop, client):
    p = pay(shop)
    key = new_key("refund")
    first = request_refund(client, p.user_id, p.id, {"reason": "重复购买"}, key=key)
    body = assert_json_response(first, 201)
    before = written(shop.conn)
    again = request_refund(client, p.user_id, p.id, {"reason": "重复购买"}, key=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.headers
    assert again.json() == body
    assert_error(request_refund(client, p.user_id, p.id, {"reason": "别的"}, key=key), 422, "idempotency_key_reused")
    # a key of POST /orders is not a refund's
    order_key = new_key("order")
    r = post_order(client, p.user_id, {"course_ids": [shop.t.course("1.00")]}, key=order_key)
    assert r.status_code == 201, r.text
    after_order = written(shop.conn)
    assert_error(request_refund(client, p.user_id, p.id, key=order_key), 422, "idempotency_key_reused")
    assert written(shop.conn) == after_order
    assert before["ly_refund"] == after_order["ly_refund"]
    assert db_rows(shop.conn, "SELECT COUNT(*) FROM ly_refund WHERE order_id = %s", (p.id,))[0][0] == 1


# ---------------------------------------------------------------- the command line
def test_cli_list_show_approve_deny(shop, client):
    p = pay(shop)
    first = assert_json_response(request_refund(client, p.user_id, p.id, {"course_ids": [p.course_ids[0]]}), 201)
    second = assert_json_response(request_refund(client, p.user_id, p.id, {"course_ids": [p.course_ids[1]]}), 201)
    out = cli("list", "--state", "requested")
    assert out.returncode == 0, out.stderr
    assert any(line.startswith(f"{first['id']} {first['refund_number']} requested ") for line in out.stdout.splitlines())
    assert cli("approve", str(first["id"])).returncode == 0
    assert events(shop.conn, first["id"])[-1][:3] == ("requested", "approved", "cli")
    out = cli("approve", str(first["id"]))
    assert out.returncode == 1 and "is approved" in out.stderr, (out.returncode, out.stderr)
    out = cli("deny", str(second["id"]))
    assert out.returncode != 0 and "--reason" in out.stderr, out.stderr
    assert refund_row(shop.conn, second["id"])["state"] == "requested"
    assert cli("deny", str(second["id"]), "--reason", "重复申请").returncode == 0
    assert events(shop.conn, second["id"])[-1] == ("requested", "denied", "cli", "重复申请")
    out = cli("show", str(first["id"]))
    assert out.returncode == 0 and "requested -> approved by cli" in out.stdout, out.stdout
    out = cli("show", "999999999")
    assert out.returncode == 1 and "no refund" in out.stderr, out.stderr
    assert cli("list", "--state", "paid").returncode == 1
    assert cli("frobnicate").returncode == 1


# ---------------------------------------------------------------- refund notifications
def settled_state(conn, p):
    return {
        "order": db_rows(conn, "SELECT order_status, pay_time, trade_no, refunded_amount FROM ly_order WHERE id = %s",
                         (p.id,)),
        "user_courses": db_rows(conn, "SELECT course_id, trade_no FROM ly_user_course WHERE user_id = %s "
                                      "ORDER BY course_id", (p.user_id,)),
        "students": db_rows(conn, "SELECT id, students FROM ly_course WHERE id IN (%s) ORDER BY id"
                            % ",".join(str(int(i)) for i in p.course_ids)),
        "refunds": db_rows(conn, "SELECT id, state, amount FROM ly_refund WHERE order_id = %s ORDER BY id", (p.id,)),
        "all_refunds": db_rows(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_refund")[0],
    }


def outcomes(conn, number):
    return [o for (o,) in db_rows(conn, "SELECT outcome FROM ly_alipay_notification WHERE out_trade_no = %s "
                                        "ORDER BY id", (number,))]


def test_refund_notifications_never_settle_or_create_refunds(shop, client):
    p = pay(shop)
    staff = staff_user(shop)
    refund = assert_json_response(post_json(client, staff, f"/admin/orders/{p.id}/refund",
                                            {"course_ids": [p.course_ids[0]]}), 201)
    before = settled_state(shop.conn, p)
    now = "2026-11-30 12:00:00"
    partial = notification(p.number, p.amount_text, trade_no=p.trade_no, status="TRADE_SUCCESS",
                           refund_fee=str(refund["amount"]), gmt_refund=now, out_biz_no=refund["refund_number"])
    assert_notify_answer(post_notify(partial), "success")
    unknown_number = notification(p.number, p.amount_text, trade_no=p.trade_no, status="TRADE_SUCCESS",
                                  refund_fee="1.00", gmt_refund=now, out_biz_no=f"X{uuid.uuid4().hex}")
    assert_notify_answer(post_notify(unknown_number), "success")
    full = notification(p.number, p.amount_text, trade_no=p.trade_no, status="TRADE_CLOSED",
                        refund_fee=p.amount_text, gmt_refund=now)
    assert_notify_answer(post_notify(full), "success")
    # a refund report for another trade of the order (a second payment) is no payment either
    other_trade = notification(p.number, p.amount_text, trade_no=fake_trade_no(), status="TRADE_SUCCESS",
                               refund_fee=p.amount_text, gmt_refund=now, out_biz_no=f"R{p.number}-9")
    assert_notify_answer(post_notify(other_trade), "success")
    assert settled_state(shop.conn, p) == before
    assert outcomes(shop.conn, p.number) == ["settled", "refund_matched", "refund_external", "refund_external",
                                             "refund_external"]
    # an approved refund is the worker's: the report changes nothing on it
    assert events(shop.conn, refund["id"]) == ((None, "approved", f"staff:{staff}", None),)


def test_refund_notification_for_an_unpaid_order_does_not_settle_it(shop, client):
    p = shop.purchase("plain", prices=("20.00",), credits=(0,))
    params = notification(p.number, p.amount_text, status="TRADE_SUCCESS", refund_fee="20.00",
                          gmt_refund="2026-11-30 12:00:00")
    assert_notify_answer(post_notify(params), "success")
    shop.assert_unpaid(p)
    assert outcomes(shop.conn, p.number) == ["refund_external"]
    # a payment notification with refund_fee 0.00 is a payment
    assert_notify_answer(post_notify(notification(p.number, p.amount_text, refund_fee="0.00")), "success")
    assert db_rows(shop.conn, "SELECT order_status FROM ly_order WHERE id = %s", (p.id,))[0][0] == 1
    assert outcomes(shop.conn, p.number) == ["refund_external", "settled"]


@pytest.mark.parametrize("state", ["unknown", "processing"])
def test_refund_notification_is_evidence_for_a_refund_in_flight(shop, client, state):
    p = pay(shop)
    staff = staff_user(shop)
    refund = assert_json_response(post_json(client, staff, f"/admin/orders/{p.id}/refund", {}), 201)
    # where the worker leaves a refund at the gateway (docs/REFUNDS.md): in flight, its next step a
    # while away
    db_rows(shop.conn, "UPDATE ly_refund SET state = %s, in_flight_trade_no = trade_no, sub_code = "
                       "'ACQ.SYSTEM_ERROR', next_attempt_time = NOW(6) + INTERVAL 15 MINUTE WHERE id = %s",
            (state, refund["id"]))
    params = notification(p.number, p.amount_text, trade_no=p.trade_no, status="TRADE_CLOSED",
                          refund_fee=p.amount_text, gmt_refund="2026-11-30 12:00:00",
                          out_biz_no=refund["refund_number"])
    assert_notify_answer(post_notify(params), "success")
    assert outcomes(shop.conn, p.number) == ["settled", "refund_matched"]
    (last,) = db_rows(shop.conn, "SELECT from_state, to_state, actor, gateway_answer FROM ly_refund_event "
                                 "WHERE refund_id = %s ORDER BY id DESC LIMIT 1", (refund["id"],))
    assert last[:3] == (state, "succeeded", "notify"), last
    assert json.loads(last[3])["out_biz_no"] == refund["refund_number"]
    # the success, once (RefundSettlement): courses revoked, students back, the order refunded
    after = settled_state(shop.conn, p)
    assert after["order"][0][0] == 4 and after["order"][0][3] == Decimal(p.amount_text), after["order"]
    assert db_rows(shop.conn, "SELECT COUNT(*) FROM ly_user_course WHERE user_id = %s AND is_deleted = 0",
                   (p.user_id,))[0][0] == 0
    assert [n for _, n in after["students"]] == [0] * len(p.course_ids), after["students"]
    assert after["refunds"] == ((refund["id"], "succeeded", Decimal(p.amount_text)),)
    # Alipay's retry of the same report changes nothing more
    assert_notify_answer(post_notify(params), "success")
    assert settled_state(shop.conn, p) == after
    assert outcomes(shop.conn, p.number) == ["settled", "refund_matched", "refund_matched"]
    listed = loads(client.get("/user/order", headers=auth(p.user_id)).text)["results"]
    (order,) = [o for o in listed if o["id"] == p.id]
    assert (order["order_status"], order["refunded_amount"]) == (4, Decimal(p.amount_text)), order
    assert [r["state"] for r in order["refunds"]] == ["succeeded"], order


# ---------------------------------------------------------------- the contract, as staff
def test_refund_answers_conform_to_the_spec(shop, client):
    """docs/openapi.yaml's refund operations as a staff user and a buyer meet them (schemathesis'
    own run signs in as a user who is not staff, so it sees the 403s)."""
    schema = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.yaml"))
    p = pay(shop, prices=("120.00", "80.50", "10.00"))
    staff = staff_user(shop)
    a, b, c = p.course_ids
    answers = []
    created = request_refund(client, p.user_id, p.id, {"course_ids": [a], "reason": "不想学了"})
    answers.append(("/orders/{id}/refund", "POST", created))
    answers.append(("/orders/{id}/refund", "POST", request_refund(client, p.user_id, p.id, {"course_ids": [a]})))
    rid = created.json()["id"]
    answers.append(("/admin/refunds", "GET", client.get("/admin/refunds?state=requested&size=20", headers=auth(staff))))
    answers.append(("/admin/refunds/{id}", "GET", client.get(f"/admin/refunds/{rid}", headers=auth(staff))))
    answers.append(("/admin/refunds/{id}/deny", "POST", post_json(client, staff, f"/admin/refunds/{rid}/deny", {})))
    answers.append(("/admin/refunds/{id}/approve", "POST", post_json(client, staff, f"/admin/refunds/{rid}/approve")))
    answers.append(("/admin/refunds/{id}/approve", "POST", post_json(client, staff, f"/admin/refunds/{rid}/approve")))
    answers.append(("/admin/refunds/{id}/retry", "POST", post_json(client, staff, "/admin/refunds/999999999/retry")))
    staff_created = post_json(client, staff, f"/admin/orders/{p.id}/refund", {"course_ids": [b]})
    answers.append(("/admin/orders/{id}/refund", "POST", staff_created))
    answers.append(("/admin/refunds/{id}", "GET", client.get(f"/admin/refunds/{staff_created.json()['id']}",
                                                              headers=auth(staff))))
    second = post_json(client, staff, f"/admin/orders/{p.id}/refund", {"course_ids": [c]})
    answers.append(("/admin/refunds/{id}/deny", "POST",
                    post_json(client, staff, f"/admin/refunds/{second.json()['id']}/deny", {"reason": "x"})))
    answers.append(("/user/order", "GET", client.get("/user/order?size=20", headers=auth(p.user_id))))
    assert [r.status_code for _, _, r in answers] == [201, 400, 200, 200, 400, 200, 409, 404, 201, 200, 409, 200]
    for path, method, r in answers:
        # raises with the schema's complaint when the answer does not conform (status, body, headers)
        schema[path][method].validate_response(r)
