"""`GET /coupon/enable?course_ids=…` and `GET /coupon` (README, same heading), against the dev data
(user 1's coupon-log rows 5, 8, 9, 10, 11, 12, 13) and against throwaway users whose coupons change
state.

Expected lists and discounts are computed here from the dev data's figures (tests/integration/
ordering.py), never taken from a server answer.
"""

import re

import pytest

from conftest import UNAUTHORIZED, assert_error, assert_json_response, auth, db_rows
from ordering import (COUPONS, CREDIT_RATIO, D, USER1_COUPON_LOGS, Offer, assert_two_decimals, cancel_order,
                      coupon_discount, coupon_log_row, dev_offer, loads, max_use_credit, order_row, post_order, raw_money,
                      snapshot, throwaway, user_credit)

__all__ = ["throwaway"]  # the fixture, imported for pytest

ITEM_KEYS = {"user_coupon_id", "coupon_id", "name", "discount", "get_discount_display", "coupon_type",
             "get_coupon_type_display", "start_time", "end_time", "get_type", "get_get_type_display", "condition",
             "sale", "to_direction", "to_category", "to_course"}
TYPE_OF_SCOPE = {"all": "0", "direction": "1", "category": "2", "course": "3"}
DISCOUNT_DISPLAY = {"1": "减免", "2": "折扣"}
TYPE_DISPLAY = {"0": "通用类型", "1": "指定方向", "2": "指定分类", "3": "指定课程"}
GET_TYPE_DISPLAY = {"0": "系统赠送", "1": "自行领取"}
SHOP_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def enable(client, user_id, ids):
    return client.get(f"/coupon/enable?course_ids={ids}", headers=auth(user_id))


def coupon_names(db):
    return dict(db_rows(db, "SELECT id, name FROM ly_coupon"))


def check_item_shape(item, coupon_id, names):
    """The fields the Vue client reads, typed as the seeds' Redis copy had them."""
    terms = COUPONS[coupon_id]
    assert ITEM_KEYS <= set(item), sorted(item)
    assert item["coupon_id"] == coupon_id
    assert item["name"] == names[coupon_id]
    assert item["discount"] == str(terms["discount"])
    assert item["get_discount_display"] == DISCOUNT_DISPLAY[item["discount"]]
    assert item["coupon_type"] == TYPE_OF_SCOPE[terms["scope"][0]]
    assert item["get_coupon_type_display"] == TYPE_DISPLAY[item["coupon_type"]]
    assert item["get_type"] in GET_TYPE_DISPLAY and item["get_get_type_display"] == GET_TYPE_DISPLAY[item["get_type"]]
    assert item["condition"] == str(terms["condition"])
    assert item["sale"] == terms["sale"]
    assert SHOP_TIME.match(item["start_time"]) and SHOP_TIME.match(item["end_time"]), item
    assert item["start_time"] < item["end_time"]
    kind, ids = terms["scope"]
    assert sorted(d["direction__id"] for d in item["to_direction"]) == (sorted(ids) if kind == "direction" else [])
    assert sorted(c["category__id"] for c in item["to_category"]) == (sorted(ids) if kind == "category" else [])
    assert sorted(c["course__id"] for c in item["to_course"]) == (sorted(ids) if kind == "course" else [])
    for entry in item["to_direction"] + item["to_category"] + item["to_course"]:
        assert all(isinstance(v, str) and v for k, v in entry.items() if k.endswith("__name")), entry


# ---------------------------------------------------------------- GET /coupon/enable, dev data
ENABLE_CASES = [[1], [1, 2], [3, 8], [4, 5], [2, 4], [8], [1, 2, 3, 4, 5, 8], [3]]


@pytest.mark.parametrize("courses", ENABLE_CASES, ids=lambda c: ",".join(map(str, c)))
def test_enable_for_user_1(client, db, courses):
    r = enable(client, 1, ",".join(map(str, courses)))
    body = assert_json_response(r, 200)
    exact = loads(r.text)
    offers = [dev_offer(c) for c in courses]

    expected = []
    for log, (coupon, state) in sorted(USER1_COUPON_LOGS.items()):
        if state != "usable":
            continue
        found = coupon_discount(COUPONS[coupon], offers)
        if found is None:
            continue
        kind, ids = COUPONS[coupon]["scope"]
        in_scope = "__all__" if kind == "all" else sorted(
            o.id for o in offers if (o.direction if kind == "direction" else o.category if kind == "category"
                                     else o.id) in ids)
        expected.append((log, coupon, found[1], in_scope))

    got = [(i["user_coupon_id"], i["coupon_id"], i["discount_price"],
            i["enable_course"] if i["enable_course"] == "__all__" else sorted(i["enable_course"]))
           for i in exact["coupon_list"]]
    assert sorted(got) == sorted(expected), r.text
    names = coupon_names(db)
    for item in body["coupon_list"]:
        check_item_shape(item, item["coupon_id"], names)
    if expected:
        assert_two_decimals(r.text, keys=("discount_price",))

    balance = user_credit(db, 1)
    assert body["errmsg"] == "ok"
    assert body["has_credit"] == balance
    assert body["credit_to_money"] == CREDIT_RATIO
    assert body["max_use_credit"] == max_use_credit(offers, balance)


def test_enable_known_figures_for_user_1(client):
    """A few combinations worked out by hand from the dev data."""
    def discounts(ids):
        return {i["user_coupon_id"]: i["discount_price"] for i in loads(enable(client, 1, ids).text)["coupon_list"]}
    # course 1 998.00: coupon 1 -30, coupon 2 (direction 1) -50 twice, coupon 3 998 × 0.12
    assert discounts("1") == {5: D("30.00"), 8: D("50.00"), 9: D("119.76"), 11: D("50.00")}
    # courses 1, 2: coupon 3 targets 1299.00 -> 155.88
    assert discounts("1,2") == {5: D("30.00"), 8: D("50.00"), 9: D("155.88"), 11: D("50.00")}
    # courses 4, 5 both have a running activity: nothing applies
    assert discounts("4,5") == {}
    # course 8 (direction 3): only the general coupon
    assert discounts("8") == {5: D("30.00")}


def test_enable_order_is_by_user_coupon_id(client):
    body = assert_json_response(enable(client, 1, "1,2,3"), 200)
    ids = [i["user_coupon_id"] for i in body["coupon_list"]]
    assert ids == sorted(ids) and ids == [5, 8, 9, 11], ids


ENABLE_ERRORS = {
    "": "courses_required",
    "abc": "invalid_body",
    "1,abc": "invalid_body",
    "1,,2": "invalid_body",
    "0": "invalid_body",
    "-1": "invalid_body",
    "1.5": "invalid_body",
    "1,1": "duplicate_courses",
    ",".join(str(i) for i in range(1, 52)): "too_many_courses",
    "1,987654": "course_not_found",
    "11": "course_not_found",
    "12": "course_not_found",
}


@pytest.mark.parametrize("ids", list(ENABLE_ERRORS), ids=lambda s: s[:20] or "empty")
def test_enable_bad_course_ids_are_400(client, ids):
    err = assert_error(enable(client, 1, ids), 400, ENABLE_ERRORS[ids])
    if ENABLE_ERRORS[ids] == "course_not_found":
        assert sorted(err["course_ids"]) == sorted({"1,987654": [987654], "11": [11], "12": [12]}[ids])


def test_enable_without_course_ids_is_400(client):
    assert_error(client.get("/coupon/enable", headers=auth(1)), 400, "courses_required")
    assert_error(client.get("/coupon/enable?foo=1", headers=auth(1)), 400, "courses_required")


@pytest.mark.parametrize("path", ["/coupon", "/coupon/", "/coupon/enable?course_ids=1"])
def test_coupon_endpoints_need_auth(client, path):
    r = client.get(path)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED


# ---------------------------------------------------------------- GET /coupon
def test_coupon_list_of_user_1_has_every_coupon_with_its_state(client, db):
    r = client.get("/coupon", headers=auth(1))
    body = assert_json_response(r, 200)
    got = {i["user_coupon_id"]: (i["coupon_id"], i["state"]) for i in body["coupon_list"]}
    assert got == USER1_COUPON_LOGS, got
    names = coupon_names(db)
    for item in body["coupon_list"]:
        check_item_shape(item, item["coupon_id"], names)
    # same answer with a trailing slash
    assert assert_json_response(client.get("/coupon/", headers=auth(1)), 200) == body


def test_coupon_states_follow_the_order(client, db, throwaway):
    """usable -> bound (unpaid order) -> usable (cancelled) -> used (paid); the enable list follows."""
    uid = throwaway.user()
    log = throwaway.coupon_log(uid, 2)                       # -50, direction 1
    cheap = throwaway.course("45.00", category=2, direction=1)

    def state():
        items = assert_json_response(client.get("/coupon", headers=auth(uid)), 200)["coupon_list"]
        assert [i["user_coupon_id"] for i in items] == [log]
        return items[0]["state"]

    def enabled(ids):
        return [i["user_coupon_id"] for i in assert_json_response(enable(client, uid, ids), 200)["coupon_list"]]

    assert state() == "usable" and enabled("3") == [log] and enabled("8") == []
    order = assert_json_response(post_order(client, uid, {"course_ids": [3], "user_coupon_id": log}), 201)
    assert state() == "bound" and enabled("3") == []
    assert assert_json_response(cancel_order(client, uid, order["id"]), 200)["order_status"] == 2
    assert state() == "usable" and enabled("3") == [log]
    # fully covered: settled at once, the coupon is used for good
    paid = assert_json_response(post_order(client, uid, {"course_ids": [cheap], "user_coupon_id": log}), 201)
    assert paid["order_status"] == 1 and paid["real_price"] == 0
    assert state() == "used" and enabled("3") == []
    assert coupon_log_row(db, log)["use_status"] == 1


def test_coupon_list_states_of_throwaway_coupons(client, throwaway):
    uid = throwaway.user()
    logs = {
        throwaway.coupon_log(uid, throwaway.coupon("-10", 1, start_days=-2, end_days=-1)): "expired",
        throwaway.coupon_log(uid, throwaway.coupon("-10", 1, start_days=1, end_days=3)): "not_started",
        throwaway.coupon_log(uid, throwaway.coupon("-10", 1)): "usable",
        throwaway.coupon_log(uid, throwaway.coupon("-10", 1), use_status=1): "used",
    }
    throwaway.coupon_log(uid, 1, is_deleted=1)                   # a deleted row is not listed
    throwaway.coupon_log(uid, throwaway.coupon("-10", 1, is_deleted=1))  # nor a deleted coupon's
    items = assert_json_response(client.get("/coupon", headers=auth(uid)), 200)["coupon_list"]
    assert {i["user_coupon_id"]: i["state"] for i in items} == logs
    # only the usable one is offered
    listed = assert_json_response(enable(client, uid, "1"), 200)["coupon_list"]
    assert [i["user_coupon_id"] for i in listed] == [k for k, v in logs.items() if v == "usable"]


def test_coupon_left_on_a_closed_order_is_usable(client, db, throwaway):
    """A coupon whose order_id points to a cancelled (dev order 2) or timed-out (dev order 4)
    order is free again."""
    assert [order_row(db, 2)["order_status"], order_row(db, 4)["order_status"]] == [2, 3]
    uid = throwaway.user()
    after_cancel = throwaway.coupon_log(uid, 1, order_id=2)
    after_timeout = throwaway.coupon_log(uid, 1, order_id=4)
    items = assert_json_response(client.get("/coupon", headers=auth(uid)), 200)["coupon_list"]
    assert {i["user_coupon_id"]: i["state"] for i in items} == {after_cancel: "usable", after_timeout: "usable"}
    listed = assert_json_response(enable(client, uid, "3"), 200)["coupon_list"]
    assert [(i["user_coupon_id"], i["discount_price"]) for i in listed] == [(after_cancel, 30), (after_timeout, 30)]
    r = post_order(client, uid, {"course_ids": [3], "user_coupon_id": after_timeout, "expected_real_price": 369.00})
    order = assert_json_response(r, 201)
    assert coupon_log_row(db, after_timeout)["order_id"] == order["id"]
    assert coupon_log_row(db, after_cancel)["order_id"] == 2


# ---------------------------------------------------------------- enable == what POST /orders charges
SAME_AS_ORDER = [
    # (sale, discount, coupon_type, condition, course price, scope courses)
    ("*0.85", 2, 0, 0, "100.10", False),     # 15.015 -> 15.02 (half-up)
    ("*0.5", 2, 0, 0, "0.03", False),        # 0.015 -> 0.02
    ("-80", 1, 3, 0, "59.90", True),         # more than the price: the whole price
    ("-5", 1, 0, 50, "50.00", False),        # condition met exactly
]


@pytest.mark.parametrize("sale,discount,ctype,condition,price,listed", SAME_AS_ORDER,
                         ids=lambda v: str(v))
def test_enable_discount_is_what_the_order_takes_off(client, db, throwaway, sale, discount, ctype, condition,
                                                     price, listed):
    uid = throwaway.user()
    course = throwaway.course(price)
    coupon = throwaway.coupon(sale, discount, coupon_type=ctype, condition=condition,
                              courses=[course] if listed else ())
    log = throwaway.coupon_log(uid, coupon)
    offer = Offer(course, price)
    terms = {"sale": sale, "scope": ("course", {course}) if listed else ("all", set()), "condition": condition}
    _, off = coupon_discount(terms, [offer])

    r = enable(client, uid, str(course))
    items = loads(r.text)["coupon_list"]
    assert [(i["user_coupon_id"], i["discount_price"]) for i in items] == [(log, off)], r.text
    assert raw_money(r.text, "discount_price") == [f"{off:.2f}"]
    assert items[0]["enable_course"] == ([course] if listed else "__all__")

    before = snapshot(db, uid)
    r = post_order(client, uid, {"course_ids": [course], "user_coupon_id": log,
                                 "expected_real_price": float(offer.real - off)})
    order = loads(assert_json_response(r, 201) and r.text)
    assert order["discount_price"] == off and order["real_price"] == offer.real - off
    assert snapshot(db, uid)["orders"][0] == before["orders"][0] + 1
