"""`POST /orders`, `PUT /orders/<id>` (cancel), the price rules, the timeout sweeper (README,
"HTTP API" and "Order timeout").

Real requests through nginx, database state checked with pymysql. Every refused request is
checked to have written nothing; happy paths run as throwaway users so that the dev data's
users keep exactly what sql/dev-data.sql gave them.
"""

import json
import re

import pytest

from conftest import assert_error, assert_json_response, auth, db_rows
from ordering import (COUPONS, D, DELETED_COURSE, HIDDEN_COURSE, MONEY_KEYS, ORDER_COURSE_KEYS, ORDER_KEYS,
                      ORDER_TIMEOUT, USER1_BUYABLE, USER1_OWNS, Offer, assert_two_decimals, cancel_order,
                      coupon_discount, coupon_log_row, course_names, credit_money, dev_offer, loads,
                      new_key, order_row, post_order, quote, raw_money, run_sweep, scalar, shop_dates, snapshot,
                      throwaway, user_credit)

__all__ = ["throwaway"]  # the fixture, imported for pytest


# ---------------------------------------------------------------- helpers
def refused(client, db, user_id, body=None, *, status=400, code, raw=None, key=True, watch_logs=()):
    """POST /orders must answer `status`/`code` and write nothing; returns the error body."""
    before = snapshot(db, user_id, watch_logs)
    r = post_order(client, user_id, body, raw=raw, key=new_key("refused") if key else None)
    err = assert_error(r, status, code)
    after = snapshot(db, user_id, watch_logs)
    assert after == before, f"{code}: the refused request wrote something:\nbefore {before}\nafter  {after}"
    return err, r


def check_created(db, user_id, r, offers, *, discount=D("0.00"), credit=0, user_coupon_id=-1,
                  status=0):
    """A 201 of POST /orders: exact shape, exact figures, and the rows behind it."""
    body = assert_json_response(r, 201)
    assert set(body) == ORDER_KEYS, sorted(body)
    assert_two_decimals(r.text)
    exact = loads(r.text)
    q = quote(offers, discount)
    for key in MONEY_KEYS:
        assert exact[key] == q[key], (key, exact[key], q[key], r.text)
        assert raw_money(r.text.split('"order_courses"')[0], key) == [f"{q[key]:.2f}"], (key, r.text)
    assert isinstance(body["id"], int) and body["id"] > 0
    assert body["order_timeout"] == ORDER_TIMEOUT
    assert body["credit"] == credit
    assert body["user_coupon_id"] == user_coupon_id
    assert body["pay_type"] == 0
    assert body["order_status"] == status
    number = body["order_number"]
    assert isinstance(number, str) and re.fullmatch(r"\d{24}", number), number
    assert number[:8] in shop_dates(), number
    assert number[8:16] == f"{user_id:08d}", number

    names = course_names(db, [o.id for o in offers])
    assert [c["course_id"] for c in body["order_courses"]] == [o.id for o in offers]
    for item, offer in zip(exact["order_courses"], offers):
        assert set(item) == ORDER_COURSE_KEYS, sorted(item)
        assert item["course_name"] == names[offer.id]
        assert item["price"] == offer.price and item["real_price"] == offer.real, (item, offer.__dict__)
        assert item["discount_name"] == offer.discount_name

    row = order_row(db, body["id"])
    assert row["user_id"] == user_id
    assert row["order_number"] == number
    assert row["order_status"] == status
    assert row["total_price"] == q["total_price"] and row["real_price"] == q["real_price"]
    assert row["credit"] == credit and row["pay_type"] == 0 and row["name"] == "购买课程"
    lines = db_rows(db, "SELECT course_id, name, price, real_price, discount_name FROM ly_order_course "
                        "WHERE order_id = %s ORDER BY id", (body["id"],))
    assert sorted(lines) == sorted((o.id, names[o.id], o.price, o.real, o.discount_name) for o in offers)
    return body


def own(state):
    """The part of a snapshot that belongs to its user."""
    return {k: v for k, v in state.items() if not k.startswith("all_")}


def age_order(db, order_id, seconds):
    with db.cursor() as cur:
        cur.execute("UPDATE ly_order SET created_time = created_time - INTERVAL %s SECOND WHERE id = %s",
                    (seconds, order_id))


# ---------------------------------------------------------------- 400: body validation (user 1, dev data)
BODY_ERRORS = {
    # name: (raw body, code)
    "course_ids missing": ('{"pay_type": 0}', "courses_required"),
    "course_ids empty": ('{"course_ids": []}', "courses_required"),
    "course_ids null": ('{"course_ids": null}', "courses_required"),
    "51 courses": (json.dumps({"course_ids": list(range(1, 52))}), "too_many_courses"),
    "51 times the same course": (json.dumps({"course_ids": [1] * 51}), "too_many_courses"),
    "duplicate course": ('{"course_ids": [1, 3, 1]}', "duplicate_courses"),
    "not JSON": ("course_ids=1,2", "invalid_body"),
    "truncated JSON": ('{"course_ids": [1, 2]', "invalid_body"),
    "empty body": ("", "invalid_body"),
    "JSON array": ("[1, 2]", "invalid_body"),
    "JSON string": ('"course_ids"', "invalid_body"),
    "course_ids a string": ('{"course_ids": "1,2"}', "invalid_body"),
    "course_ids an object": ('{"course_ids": {"1": 1}}', "invalid_body"),
    "course id a string": ('{"course_ids": [1, "2"]}', "invalid_body"),
    "course id a fraction": ('{"course_ids": [1.5]}', "invalid_body"),
    "course id zero": ('{"course_ids": [0]}', "invalid_body"),
    "course id negative": ('{"course_ids": [-3]}', "invalid_body"),
    "course id null": ('{"course_ids": [null]}', "invalid_body"),
    "pay_type a string": ('{"course_ids": [1], "pay_type": "0"}', "invalid_body"),
    "user_coupon_id a string": ('{"course_ids": [1], "user_coupon_id": "5"}', "invalid_body"),
    "expected_real_price a string": ('{"course_ids": [1], "expected_real_price": "998.00"}', "invalid_body"),
    "expected_real_price three decimals": ('{"course_ids": [1], "expected_real_price": 998.001}', "invalid_body"),
    "expected_real_price negative": ('{"course_ids": [1], "expected_real_price": -1}', "invalid_body"),
    "pay_type 1 (WeChat)": ('{"course_ids": [1], "pay_type": 1}', "pay_type_unsupported"),
    "pay_type 2 (balance)": ('{"course_ids": [1], "pay_type": 2}', "pay_type_unsupported"),
    "pay_type 7": ('{"course_ids": [1], "pay_type": 7}', "pay_type_unsupported"),
    "coupon and credit": ('{"course_ids": [1], "user_coupon_id": 5, "credit": 10}', "coupon_and_credit_exclusive"),
    "credit negative": ('{"course_ids": [1], "credit": -1}', "credit_invalid"),
    "credit a string": ('{"course_ids": [1], "credit": "10"}', "credit_invalid"),
    "credit a fraction": ('{"course_ids": [1], "credit": 1.5}', "credit_invalid"),
    "credit boolean": ('{"course_ids": [1], "credit": true}', "credit_invalid"),
    "coupon id zero": ('{"course_ids": [1], "user_coupon_id": 0}', "coupon_not_found"),
    "coupon id -5": ('{"course_ids": [1], "user_coupon_id": -5}', "coupon_not_found"),
}


@pytest.mark.parametrize("case", list(BODY_ERRORS))
def test_body_errors_write_nothing(client, db, case):
    raw, code = BODY_ERRORS[case]
    err, _ = refused(client, db, 1, raw=raw, code=code)
    assert set(err) == {"errmsg", "code"}, err


def test_each_error_code_has_its_own_message(client, db):
    messages = {}
    for raw, code in BODY_ERRORS.values():
        err, _ = refused(client, db, 1, raw=raw, code=code, key=False)
        messages.setdefault(code, set()).add(err["errmsg"])
    assert all(len(m) == 1 for m in messages.values()), messages
    texts = [next(iter(m)) for m in messages.values()]
    assert len(set(texts)) == len(texts), messages


# ---------------------------------------------------------------- 400: catalogue, coupons, credit (user 1)
def test_course_not_found_lists_unknown_hidden_and_deleted(client, db):
    err, _ = refused(client, db, 1, {"course_ids": [1, HIDDEN_COURSE, 987654, DELETED_COURSE, 3]},
                     code="course_not_found")
    assert sorted(err["course_ids"]) == sorted([HIDDEN_COURSE, 987654, DELETED_COURSE]), err
    for cid in (HIDDEN_COURSE, DELETED_COURSE, 987654):
        err, _ = refused(client, db, 1, {"course_ids": [cid]}, code="course_not_found")
        assert err["course_ids"] == [cid], err


def test_course_already_purchased_lists_owned_courses(client, db):
    owned = [cid for cid, in db_rows(db, "SELECT course_id FROM ly_user_course WHERE user_id = 1")]
    assert {6, 7, 9, 10} <= set(owned), owned
    err, _ = refused(client, db, 1, {"course_ids": [1, 6, 3, 7]}, code="course_already_purchased")
    assert sorted(err["course_ids"]) == [6, 7], err
    err, _ = refused(client, db, 1, {"course_ids": [10]}, code="course_already_purchased")
    assert err["course_ids"] == [10]
    assert set(USER1_OWNS) & set(USER1_BUYABLE) == set()


COUPON_ERRORS = {
    # user 1's coupon-log rows of the dev data: name: (course ids, user_coupon_id, code)
    "nonexistent log id": ([1], 987654321, "coupon_not_found"),
    "log 13 used by paid order 7": ([1], 13, "coupon_used"),
    "log 12 starts tomorrow": ([8], 12, "coupon_not_started"),
    "log 10 expired yesterday": ([4], 10, "coupon_expired"),
    "log 10 expired, out of scope too": ([1], 10, "coupon_expired"),
    "log 9 only for courses 1, 2": ([3], 9, "coupon_not_applicable"),
    "log 8 direction 1, course 8 is direction 3": ([8], 8, "coupon_not_applicable"),
    "log 5 all courses, but both have an activity price": ([4, 5], 5, "coupon_not_applicable"),
    "log 11 direction 1, course 4 is direction 2": ([4, 8], 11, "coupon_not_applicable"),
}


@pytest.mark.parametrize("case", list(COUPON_ERRORS))
def test_coupon_errors_of_user_1(client, db, case):
    courses, log, code = COUPON_ERRORS[case]
    refused(client, db, 1, {"course_ids": courses, "user_coupon_id": log}, code=code, watch_logs=[log])


CREDIT_ERRORS = {
    # user 1 has 500 credit: name: (course ids, credit, code)
    "more than the balance": ([1, 2], 501, "credit_insufficient"),
    "far more than the balance": ([1, 2], 10**9, "credit_insufficient"),
    "over course 3's cap of 50": ([3], 51, "credit_over_limit"),
    "courses 4 and 5 take no credit": ([4, 5], 1, "credit_over_limit"),
    "over the cap of 1 + 3 (150)": ([1, 3], 151, "credit_over_limit"),
}


@pytest.mark.parametrize("case", list(CREDIT_ERRORS))
def test_credit_errors_of_user_1(client, db, case):
    courses, credit, code = CREDIT_ERRORS[case]
    refused(client, db, 1, {"course_ids": courses, "credit": credit}, code=code)


def test_price_changed_409_gives_the_server_figures(client, db, throwaway):
    # a throwaway user: user 1's dev orders hold courses 4 and 5 unpaid (course_in_unpaid_order)
    uid = throwaway.user(credit=500)
    log = throwaway.coupon_log(uid, 1)
    # courses 1 (998.00) and 4 (599.00 -> 479.20 activity); coupon 1 (-30) targets course 1
    offers = [dev_offer(1), dev_offer(4)]
    target, off = coupon_discount(COUPONS[1], offers)
    assert (target, off) == (1, D("30.00"))
    q = quote(offers, off)
    assert q == {"total_price": D("1477.20"), "discount_price": D("30.00"), "real_price": D("1447.20")}
    err, r = refused(client, db, uid, {"course_ids": [1, 4], "user_coupon_id": log, "expected_real_price": 1.00},
                     status=409, code="price_changed", watch_logs=[log])
    exact = loads(r.text)
    for key in MONEY_KEYS:
        assert exact[key] == q[key], (key, r.text)
        assert raw_money(r.text, key) == [f"{q[key]:.2f}"], r.text

    # with credit: 100 credit = 10.00 off course 1
    err, r = refused(client, db, uid, {"course_ids": [1], "credit": 100, "expected_real_price": 998.00},
                     status=409, code="price_changed")
    exact = loads(r.text)
    assert (exact["total_price"], exact["discount_price"], exact["real_price"]) == \
        (D("998.00"), D("10.00"), D("988.00")), r.text
    # the list price of a course with an activity is not what is charged
    err, r = refused(client, db, uid, {"course_ids": [5], "expected_real_price": 1499.00},
                     status=409, code="price_changed")
    assert loads(r.text)["real_price"] == D("1399.00"), r.text


# ---------------------------------------------------------------- 400 that need throwaway rows
def test_another_users_or_deleted_coupon_is_not_found(client, db, throwaway):
    uid = throwaway.user(credit=0)
    # user 1's log 5, used by someone else
    refused(client, db, uid, {"course_ids": [1], "user_coupon_id": 5}, code="coupon_not_found", watch_logs=[5])
    # a deleted log row of this user, and a live log row of a deleted coupon
    deleted_log = throwaway.coupon_log(uid, 1, is_deleted=1)
    refused(client, db, uid, {"course_ids": [1], "user_coupon_id": deleted_log}, code="coupon_not_found")
    gone = throwaway.coupon("-10", 1, is_deleted=1)
    log_of_gone = throwaway.coupon_log(uid, gone)
    refused(client, db, uid, {"course_ids": [1], "user_coupon_id": log_of_gone}, code="coupon_not_found")
    # and this user's valid coupon is not usable by user 2 either
    mine = throwaway.coupon_log(uid, 1)
    refused(client, db, 2, {"course_ids": [3], "user_coupon_id": mine}, code="coupon_not_found",
            watch_logs=[mine])


def test_coupon_condition_not_met(client, db, throwaway):
    uid = throwaway.user()
    big = throwaway.coupon("-100", 1, coupon_type=0, condition=1000)
    log = throwaway.coupon_log(uid, big)
    terms = {"sale": "-100", "scope": ("all", set()), "condition": 1000}
    assert coupon_discount(terms, [dev_offer(3)]) is None
    refused(client, db, uid, {"course_ids": [3], "user_coupon_id": log}, code="coupon_not_applicable")
    # course 5's activity price 1399.00 does not count: courses with an activity are never targets
    refused(client, db, uid, {"course_ids": [3, 5], "user_coupon_id": log}, code="coupon_not_applicable")
    # course 2 (1299.00) meets it
    offers = [dev_offer(3), dev_offer(2)]
    assert coupon_discount(terms, offers) == (2, D("100.00"))
    r = post_order(client, uid, {"course_ids": [3, 2], "user_coupon_id": log})
    check_created(db, uid, r, offers, discount=D("100.00"), user_coupon_id=log)


def test_credit_without_balance_and_over_the_order_value(client, db, throwaway):
    poor = throwaway.user(credit=0)
    refused(client, db, poor, {"course_ids": [1], "credit": 1}, code="credit_insufficient")
    # 100 credit are worth 10.00, more than a 5.00 course although its cap allows 100
    rich = throwaway.user(credit=1000)
    cheap = throwaway.course("5.00", credit=100)
    refused(client, db, rich, {"course_ids": [cheap], "credit": 100}, code="credit_over_limit")
    refused(client, db, rich, {"course_ids": [cheap], "credit": 51}, code="credit_over_limit")
    # exactly the order's value is allowed: 50 credit = 5.00 -> a zero-amount order
    assert credit_money(50) == D("5.00")
    r = post_order(client, rich, {"course_ids": [cheap], "credit": 50, "expected_real_price": 0})
    body = check_created(db, rich, r, [Offer(cheap, "5.00", 100)], discount=D("5.00"), credit=50, status=1)
    assert user_credit(db, rich) == 950
    assert db_rows(db, "SELECT operation, number FROM ly_credit WHERE user_id = %s", (rich,)) == ((1, -50),)
    assert body["order_number"] in scalar(db, "SELECT remark FROM ly_credit WHERE user_id = %s", (rich,))


# ---------------------------------------------------------------- 201
def test_activity_prices_and_exact_201(client, db, throwaway):
    uid = throwaway.user(credit=500)
    offers = [dev_offer(4), dev_offer(5)]
    assert [(o.real, o.discount_name) for o in offers] == [(D("479.20"), "限时折扣"), (D("1399.00"), "限时减免")]
    before = snapshot(db, uid)
    r = post_order(client, uid, {"course_ids": [4, 5], "pay_type": 0, "user_coupon_id": -1, "credit": 0,
                                 "expected_real_price": 1878.20})
    body = check_created(db, uid, r, offers)
    assert loads(r.text)["real_price"] == D("1878.20")
    after = snapshot(db, uid)
    assert after["orders"][0] == before["orders"][0] + 1
    assert after["order_courses"] == before["order_courses"] + 2
    assert after["credit"] == 500 and after["user_courses"] == 0 and after["credit_rows"] == 0
    # a second order of the same courses while this one is unpaid: refused, it would be paid twice
    err, _ = refused(client, db, uid, {"course_ids": [5, 4]}, code="course_in_unpaid_order")
    assert (err["order_numbers"], err["course_ids"]) == ([body["order_number"]], [5, 4]), err
    # once it is cancelled they can be ordered again, under another order number
    assert assert_json_response(cancel_order(client, uid, body["id"]), 200)["order_status"] == 2
    body2 = check_created(db, uid, post_order(client, uid, {"course_ids": [5, 4]}), [dev_offer(5), dev_offer(4)])
    assert body2["order_number"] != body["order_number"] and body2["id"] != body["id"]


def test_activity_condition_boundary(client, db, throwaway):
    uid = throwaway.user()
    under = throwaway.course("999.99", discount_id=2)   # 满1000减100: not met
    at = throwaway.course("1000.00", discount_id=2)     # met exactly
    offers = [Offer(under, "999.99", activity=("-100", 1000, "限时减免")),
              Offer(at, "1000.00", activity=("-100", 1000, "限时减免"))]
    assert [o.real for o in offers] == [D("999.99"), D("900.00")]
    r = post_order(client, uid, {"course_ids": [under, at], "expected_real_price": 1899.99})
    check_created(db, uid, r, offers)


COUPON_CASES = {
    # name: (coupon id, course ids)
    "amount off, all courses": (1, [1, 3]),
    "amount off skips activity courses": (1, [4, 8]),
    "percentage on listed courses": (3, [1, 2]),
    "percentage, one listed course": (3, [1, 3]),
    "direction coupon": (2, [3, 8]),
    "direction coupon, activity course left out": (2, [1, 4]),
}


@pytest.mark.parametrize("case", list(COUPON_CASES))
def test_coupon_discounts(client, db, throwaway, case):
    coupon, courses = COUPON_CASES[case]
    uid = throwaway.user(credit=300)
    log = throwaway.coupon_log(uid, coupon)
    offers = [dev_offer(c) for c in courses]
    _, off = coupon_discount(COUPONS[coupon], offers)
    expected = quote(offers, off)["real_price"]
    r = post_order(client, uid, {"course_ids": courses, "user_coupon_id": log, "expected_real_price": float(expected)})
    body = check_created(db, uid, r, offers, discount=off, user_coupon_id=log)
    bound = coupon_log_row(db, log)
    assert bound["order_id"] == body["id"] and bound["use_status"] == 0 and bound["use_time"] is None
    assert user_credit(db, uid) == 300


def test_known_coupon_figures():
    """The model itself, against figures worked out by hand from the dev data."""
    assert coupon_discount(COUPONS[3], [dev_offer(1), dev_offer(2)]) == (2, D("155.88"))
    assert coupon_discount(COUPONS[3], [dev_offer(1)]) == (1, D("119.76"))
    assert coupon_discount(COUPONS[1], [dev_offer(4), dev_offer(8)]) == (8, D("30.00"))
    assert coupon_discount(COUPONS[2], [dev_offer(3), dev_offer(8)]) == (3, D("50.00"))
    assert coupon_discount(COUPONS[2], [dev_offer(4)]) is None


def test_percentage_coupon_rounds_half_up(client, db, throwaway):
    uid = throwaway.user()
    course = throwaway.course("100.10")
    pct = throwaway.coupon("*0.85", 2, coupon_type=0)
    log = throwaway.coupon_log(uid, pct)
    # 100.10 × 0.15 = 15.015 -> 15.02
    offers = [Offer(course, "100.10")]
    assert coupon_discount({"sale": "*0.85", "scope": ("all", set()), "condition": 0}, offers) == (course, D("15.02"))
    shown = assert_json_response(client.get(f"/coupon/enable?course_ids={course}", headers=auth(uid)), 200)
    assert [c["user_coupon_id"] for c in shown["coupon_list"]] == [log]
    r = post_order(client, uid, {"course_ids": [course], "user_coupon_id": log, "expected_real_price": 85.08})
    check_created(db, uid, r, offers, discount=D("15.02"), user_coupon_id=log)


@pytest.mark.parametrize("courses,credit", [([1], 100), ([1, 3], 150), ([1, 2], 155), ([3, 8], 7)])
def test_credit_discount(client, db, throwaway, courses, credit):
    uid = throwaway.user(credit=500)
    offers = [dev_offer(c) for c in courses]
    off = credit_money(credit)
    expected = quote(offers, off)["real_price"]
    r = post_order(client, uid, {"course_ids": courses, "credit": credit, "expected_real_price": float(expected)})
    check_created(db, uid, r, offers, discount=off, credit=credit)
    assert user_credit(db, uid) == 500 - credit
    # the ledger row is written on payment, not before
    assert scalar(db, "SELECT COUNT(*) FROM ly_credit WHERE user_id = %s", (uid,)) == 0


def test_zero_amount_free_activity_is_settled_at_once(client, db, throwaway):
    uid = throwaway.user()
    free = throwaway.course("50.00", discount_id=3)      # 限时免费, sale "0"
    paid_too = throwaway.course("0.00")                  # a course that costs nothing at all
    offers = [Offer(free, "50.00", activity=("0", 0, "限时免费")), Offer(paid_too, "0.00")]
    students = dict(db_rows(db, "SELECT id, students FROM ly_course WHERE id IN (%s, %s)", (free, paid_too)))
    r = post_order(client, uid, {"course_ids": [free, paid_too], "expected_real_price": 0})
    body = check_created(db, uid, r, offers, status=1)
    assert '"real_price":0.00,' in r.text, r.text
    row = order_row(db, body["id"])
    assert row["pay_time"] is not None
    owned = db_rows(db, "SELECT course_id, buy_type FROM ly_user_course WHERE user_id = %s ORDER BY course_id", (uid,))
    assert owned == tuple(sorted(((free, 1), (paid_too, 1))))
    after = dict(db_rows(db, "SELECT id, students FROM ly_course WHERE id IN (%s, %s)", (free, paid_too)))
    assert after == {k: v + 1 for k, v in students.items()}
    # bought: a second order for it is refused; and a paid order cannot be cancelled
    refused(client, db, uid, {"course_ids": [free]}, code="course_already_purchased")
    assert_error(cancel_order(client, uid, body["id"]), 400, "order_not_cancellable")
    assert order_row(db, body["id"])["order_status"] == 1


def test_zero_amount_coupon_is_settled_and_used(client, db, throwaway):
    uid = throwaway.user(credit=100)
    cheap = throwaway.course("40.00", category=2, direction=1)   # 前端开发: coupon 2 (-50) applies
    log = throwaway.coupon_log(uid, 2)
    offers = [Offer(cheap, "40.00", category=2, direction=1)]
    assert coupon_discount(COUPONS[2], offers) == (cheap, D("40.00"))
    r = post_order(client, uid, {"course_ids": [cheap], "user_coupon_id": log, "expected_real_price": 0.00})
    body = check_created(db, uid, r, offers, discount=D("40.00"), user_coupon_id=log, status=1)
    used = coupon_log_row(db, log)
    assert used["order_id"] == body["id"] and used["use_status"] == 1 and used["use_time"] is not None
    assert db_rows(db, "SELECT course_id FROM ly_user_course WHERE user_id = %s", (uid,)) == ((cheap,),)
    assert user_credit(db, uid) == 100
    assert scalar(db, "SELECT COUNT(*) FROM ly_credit WHERE user_id = %s", (uid,)) == 0
    # a used coupon stays used
    other = throwaway.course("30.00", category=2, direction=1)
    refused(client, db, uid, {"course_ids": [other], "user_coupon_id": log}, code="coupon_used", watch_logs=[log])


# ---------------------------------------------------------------- Idempotency-Key
def test_idempotency_key_replay_and_reuse(client, db, throwaway):
    uid = throwaway.user(credit=500)
    key = new_key("idem")
    body = {"course_ids": [1, 3], "credit": 50, "expected_real_price": 1392.00}
    first = post_order(client, uid, body, key=key)
    created = check_created(db, uid, first, [dev_offer(1), dev_offer(3)], discount=D("5.00"), credit=50)
    state = snapshot(db, uid)
    assert state["idempotency_keys"] == 1 and state["credit"] == 450

    # the same request again, and the same meaning in other JSON spelling: the first answer, nothing new
    again = post_order(client, uid, body, key=key)
    respelled = post_order(client, uid, raw='{ "expected_real_price" : 1392.0, "credit":50,"course_ids":[1,3] }',
                           key=key)
    for r in (again, respelled):
        assert_json_response(r, 201)
        assert r.text == first.text
        assert r.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert snapshot(db, uid) == state

    # the same key with another request: 422, nothing written
    for other in ({"course_ids": [1]}, {"course_ids": [1, 3], "credit": 60}, {"course_ids": [3, 1], "credit": 50,
                                                                           "expected_real_price": 1392.00}):
        r = post_order(client, uid, other, key=key)
        assert_error(r, 422, "idempotency_key_reused")
        assert snapshot(db, uid) == state

    # keys are per user: another user's same key is a new request
    uid2 = throwaway.user()
    r = post_order(client, uid2, {"course_ids": [3]}, key=key)
    body2 = check_created(db, uid2, r, [dev_offer(3)])
    assert body2["id"] != created["id"]
    assert own(snapshot(db, uid)) == own(state)


def test_refused_request_does_not_consume_its_key(client, db, throwaway):
    uid = throwaway.user()
    key = new_key("retry")
    r = post_order(client, uid, {"course_ids": [1, 987654]}, key=key)
    assert_error(r, 400, "course_not_found")
    assert scalar(db, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s", (uid,)) == 0
    # the corrected request with the same key goes through
    r = post_order(client, uid, {"course_ids": [1]}, key=key)
    check_created(db, uid, r, [dev_offer(1)])
    assert scalar(db, "SELECT COUNT(*) FROM ly_idempotency_key WHERE user_id = %s", (uid,)) == 1


def test_idempotency_keys_are_case_sensitive(client, db, throwaway):
    """`KEY-ABC` is not `Key-abc`: another key, so another order (not the first one's replay, not 422)."""
    uid = throwaway.user()
    first = check_created(db, uid, post_order(client, uid, {"course_ids": [1]}, key="Key-abc"), [dev_offer(1)])
    r = post_order(client, uid, {"course_ids": [3]}, key="KEY-ABC")
    assert "Idempotent-Replayed" not in r.headers, r.text
    second = check_created(db, uid, r, [dev_offer(3)])
    assert second["id"] != first["id"]
    assert db_rows(db, "SELECT idem_key, order_id FROM ly_idempotency_key WHERE user_id = %s ORDER BY id",
                   (uid,)) == (("Key-abc", first["id"]), ("KEY-ABC", second["id"]))
    # and each key still replays its own order
    again = post_order(client, uid, {"course_ids": [3]}, key="KEY-ABC")
    assert (again.status_code, again.headers.get("Idempotent-Replayed"), loads(again.text)["id"]) == \
        (201, "true", second["id"])


@pytest.mark.parametrize("key", ["x" * 256, "has space", "tab\tinside", "\u00e9t\u00e9"])
def test_invalid_idempotency_keys(client, db, key):
    before = snapshot(db, 1)
    r = post_order(client, 1, {"course_ids": [1]}, key=key.encode("utf-8").decode("latin-1"))
    assert_error(r, 400, "idempotency_key_invalid")
    assert snapshot(db, 1) == before


# ---------------------------------------------------------------- PUT /orders/<id>: cancel
CANCELLED = {"errmsg": "当前订单已取消!", "order_status": 2}


def test_cancel_restores_credit_once(client, db, throwaway):
    uid = throwaway.user(credit=500)
    r = post_order(client, uid, {"course_ids": [1, 2], "credit": 250})
    order = check_created(db, uid, r, [dev_offer(1), dev_offer(2)], discount=D("25.00"), credit=250)
    assert user_credit(db, uid) == 250

    r = cancel_order(client, uid, order["id"])
    assert assert_json_response(r, 200) == CANCELLED
    assert order_row(db, order["id"])["order_status"] == 2
    assert user_credit(db, uid) == 500

    # twice: refused, credit not given back again
    assert_error(cancel_order(client, uid, order["id"]), 400, "order_not_cancellable")
    assert user_credit(db, uid) == 500
    assert order_row(db, order["id"])["order_status"] == 2
    # with a trailing slash the path is the same endpoint
    r = client.request("PUT", f"/orders/{order['id']}/", headers=auth(uid))
    assert_error(r, 400, "order_not_cancellable")


def test_cancel_frees_the_coupon(client, db, throwaway):
    uid = throwaway.user()
    log = throwaway.coupon_log(uid, 1)
    r = post_order(client, uid, {"course_ids": [3], "user_coupon_id": log})
    order = check_created(db, uid, r, [dev_offer(3)], discount=D("30.00"), user_coupon_id=log)
    assert coupon_log_row(db, log)["order_id"] == order["id"]
    # bound to an unpaid order: a second order cannot take it
    refused(client, db, uid, {"course_ids": [1], "user_coupon_id": log}, code="coupon_used", watch_logs=[log])

    assert assert_json_response(cancel_order(client, uid, order["id"]), 200) == CANCELLED
    freed = coupon_log_row(db, log)
    assert freed == {"order_id": None, "use_status": 0, "use_time": None}
    # free again: a new order binds it
    r = post_order(client, uid, {"course_ids": [1], "user_coupon_id": log, "expected_real_price": 968.00})
    again = check_created(db, uid, r, [dev_offer(1)], discount=D("30.00"), user_coupon_id=log)
    assert coupon_log_row(db, log)["order_id"] == again["id"]


def test_cancel_of_another_users_order_is_404(client, db, throwaway):
    owner = throwaway.user(credit=100)
    stranger = throwaway.user()
    r = post_order(client, owner, {"course_ids": [3], "credit": 50})
    order = check_created(db, owner, r, [dev_offer(3)], discount=D("5.00"), credit=50)
    for who in (stranger, 1, 2):
        assert_error(cancel_order(client, who, order["id"]), 404, "order_not_found")
    assert order_row(db, order["id"])["order_status"] == 0
    assert user_credit(db, owner) == 50
    # dev data: user 2's unpaid order 16 is not user 1's
    status16 = order_row(db, 16)["order_status"]
    assert_error(cancel_order(client, 1, 16), 404, "order_not_found")
    assert order_row(db, 16)["order_status"] == status16


@pytest.mark.parametrize("path", ["/orders/987654321", "/orders/0", "/orders/abc"])
def test_cancel_of_unknown_order_is_404(client, path):
    r = client.request("PUT", path, headers=auth(1))
    assert_error(r, 404)


def test_cancel_needs_auth(client, db, throwaway):
    uid = throwaway.user()
    order = check_created(db, uid, post_order(client, uid, {"course_ids": [3]}), [dev_offer(3)])
    r = client.request("PUT", f"/orders/{order['id']}")
    assert_error(r, 401, "unauthorized")
    assert order_row(db, order["id"])["order_status"] == 0


# ---------------------------------------------------------------- the sweeper (Order timeout)
def test_sweeper_times_out_old_orders_and_gives_back(client, db, throwaway):
    uid = throwaway.user(credit=500)
    log = throwaway.coupon_log(uid, 3)
    with_credit = check_created(db, uid, post_order(client, uid, {"course_ids": [1], "credit": 100}),
                                [dev_offer(1)], discount=D("10.00"), credit=100)
    with_coupon = check_created(db, uid, post_order(client, uid, {"course_ids": [2], "user_coupon_id": log}),
                                [dev_offer(2)], discount=D("155.88"), user_coupon_id=log)
    young = check_created(db, uid, post_order(client, uid, {"course_ids": [3], "credit": 30}),
                          [dev_offer(3)], discount=D("3.00"), credit=30)
    assert user_credit(db, uid) == 370
    # just younger than the timeout: stays
    age_order(db, with_credit["id"], ORDER_TIMEOUT - 30)
    run_sweep()
    assert order_row(db, with_credit["id"])["order_status"] == 0
    # older than the timeout: times out
    age_order(db, with_credit["id"], 60)
    age_order(db, with_coupon["id"], ORDER_TIMEOUT + 30)
    run_sweep()
    assert order_row(db, with_credit["id"])["order_status"] == 3
    assert order_row(db, with_coupon["id"])["order_status"] == 3
    assert order_row(db, young["id"])["order_status"] == 0
    assert user_credit(db, uid) == 470
    assert coupon_log_row(db, log) == {"order_id": None, "use_status": 0, "use_time": None}
    # a second pass changes nothing
    run_sweep()
    assert user_credit(db, uid) == 470
    assert [order_row(db, o["id"])["order_status"] for o in (with_credit, with_coupon, young)] == [3, 3, 0]
    # a timed-out order cannot be cancelled; the freed coupon is usable again
    assert_error(cancel_order(client, uid, with_credit["id"]), 400, "order_not_cancellable")
    assert user_credit(db, uid) == 470
    coupons = assert_json_response(client.get("/coupon", headers=auth(uid)), 200)["coupon_list"]
    assert [(c["user_coupon_id"], c["state"]) for c in coupons] == [(log, "usable")]
    r = post_order(client, uid, {"course_ids": [1], "user_coupon_id": log})
    check_created(db, uid, r, [dev_offer(1)], discount=D("119.76"), user_coupon_id=log)

