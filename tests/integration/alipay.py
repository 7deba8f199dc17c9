"""Alipay's side of the payment tests (README, "HTTP API": the `/payments/alipay/…`
sections, "Settlement, exactly once", "Order timeout"; docs/SANDBOX.md), shared by
test_payments.py, test_payment_races.py and test_gateway_faults.py.

* Signing as Alipay does (its verification string) with the sandbox's "Alipay" private key of
  the test stack (LUFFY_SANDBOX_PRIVATE_KEY): notifications and sync returns made here, never
  copied.
* The app's pay link taken apart and its RSA2 signature (over Alipay's signing string) checked
  with the app's public key.
* The real alipay-sandbox driven like a buyer: open the pay link (the cashier page), submit its pay
  form with or without the asynchronous notification, follow the 302 to return_url. Its record of a
  trade (`GET /sandbox/trades/<n>`) and a signed `alipay.trade.query` (docs/SANDBOX.md), response
  signature verified with the sandbox's public key.
* `Shop`: throwaway users, courses, coupons and their orders, plus the notification and refund rows
  of those orders, all removed after the test; `state()` is everything a payment may write.

Signatures use the `openssl` command line (no Python crypto package in the test venv).
"""

import base64
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from conftest import BASE_URL, SETTINGS, auth, db_connect, db_rows
from ordering import SHOP_TZ, Throwaway, cancel_order, loads, post_order

APP_ID = SETTINGS.get("LUFFY_ALIPAY_APP_ID", "")
SELLER_ID = SETTINGS.get("LUFFY_ALIPAY_SELLER_ID", "")
GATEWAY_URL = SETTINGS.get("LUFFY_ALIPAY_GATEWAY", "")
RETURN_URL = SETTINGS.get("LUFFY_ALIPAY_RETURN_URL", "")
NOTIFY_URL = SETTINGS.get("LUFFY_ALIPAY_NOTIFY_URL", "")
SANDBOX_URL = (os.environ.get("LUFFY_TEST_SANDBOX_URL") or GATEWAY_URL.rsplit("/", 1)[0]).rstrip("/")
NOTIFY_PATH = "/payments/alipay/notify"
RESULT_PATH = "/payments/alipay/result"
PAID_ANSWER = {"errmsg": "当前订单已支付!", "order_status": 1}


def _key(setting):
    path = SETTINGS.get(setting)
    assert path and Path(path).is_file(), f"the test stack's settings name no readable {setting} ({path!r})"
    return path


# ---------------------------------------------------------------- RSA2 with openssl
def rsa_sign(content, key_path):
    """base64(RSA-SHA256 PKCS#1 v1.5) of the UTF-8 text `content`."""
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=content.encode("utf-8"),
                         capture_output=True, timeout=30)
    assert out.returncode == 0, f"openssl dgst -sign failed: {out.stderr.decode(errors='replace')}"
    return base64.b64encode(out.stdout).decode()


def rsa_verify(data, signature_b64, public_key_path):
    """True when `signature_b64` is RSA-SHA256 over `data` (bytes or text) by that public key."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with tempfile.NamedTemporaryFile(prefix="luffy-sig-") as sig:
        sig.write(base64.b64decode(signature_b64))
        sig.flush()
        out = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public_key_path, "-signature", sig.name],
                             input=data, capture_output=True, timeout=30)
    return out.returncode == 0


_FORGER_KEY = None


def forger_key():
    """A fresh RSA key that is not Alipay's (made once per run, in a temporary folder)."""
    global _FORGER_KEY
    if _FORGER_KEY is None:
        folder = tempfile.mkdtemp(prefix="luffy-forger-")
        path = os.path.join(folder, "forger.pem")
        out = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                              "-out", path], capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        _FORGER_KEY = path
    return _FORGER_KEY


# ---------------------------------------------------------------- signing / verification strings
def signing_string(params):
    """Alipay's signing string (what the app signs): every parameter but `sign` with a non-empty
    value, sorted, raw."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def verification_string(params):
    """8.2 (what Alipay signs for returns and notifications): also without `sign_type`."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v != "")


def alipay_sign(params, key_path=None):
    """Alipay's signature over a return's or notification's parameters (the sandbox's key by default)."""
    return rsa_sign(verification_string(params), key_path or _key("LUFFY_SANDBOX_PRIVATE_KEY"))


def shop_now():
    return datetime.now(SHOP_TZ).strftime("%Y-%m-%d %H:%M:%S")


def fake_trade_no():
    """22 digits like Alipay's (the sandbox's own have `2200` after the date; these `2299`)."""
    return datetime.now(SHOP_TZ).strftime("%Y%m%d") + "2299" + str(uuid.uuid4().int)[:10]


def notification(order_number, total_amount, trade_no=None, status="TRADE_SUCCESS", **overrides):
    """An asynchronous notification as Alipay (and the sandbox) sends it, signed with the sandbox's
    key; `overrides` change fields before signing (None removes a field)."""
    amount = str(total_amount)
    now = shop_now()
    params = {
        "gmt_create": now,
        "charset": "utf-8",
        "seller_id": SELLER_ID,
        "subject": "购买课程",
        "buyer_id": "2088" + str(uuid.uuid4().int)[:12],
        "invoice_amount": amount,
        "notify_id": uuid.uuid4().hex,
        "fund_bill_list": json.dumps([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")),
        "notify_type": "trade_status_sync",
        "trade_status": status,
        "receipt_amount": amount,
        "buyer_pay_amount": amount,
        "app_id": APP_ID,
        "sign_type": "RSA2",
        "notify_time": now,
        "point_amount": "0.00",
        "total_amount": amount,
        "trade_no": trade_no or fake_trade_no(),
        "auth_app_id": APP_ID,
        "out_trade_no": order_number,
        "version": "1.0",
    }
    if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        params["gmt_payment"] = now
    for k, v in overrides.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    params["sign"] = alipay_sign(params)
    return params


def sync_return(order_number, total_amount, trade_no=None):
    """The query string (with `?`) of a sync return as Alipay sends the buyer back, signed here."""
    params = {
        "charset": "utf-8", "out_trade_no": order_number, "method": "alipay.trade.page.pay.return",
        "total_amount": str(total_amount), "trade_no": trade_no or fake_trade_no(), "auth_app_id": APP_ID,
        "version": "1.0", "app_id": APP_ID, "sign_type": "RSA2", "seller_id": SELLER_ID, "timestamp": shop_now(),
    }
    params["sign"] = alipay_sign(params)
    return "?" + urllib.parse.urlencode(params)


def post_notify(params, timeout=30, session=None):
    """POST the form to the app through nginx as Alipay does; returns the response (text/plain)."""
    body = params if isinstance(params, (str, bytes)) else urllib.parse.urlencode(params)
    poster = session or requests
    return poster.post(BASE_URL + NOTIFY_PATH, data=body, timeout=timeout, allow_redirects=False,
                       headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def assert_notify_answer(r, expected):
    assert r.status_code == 200, f"notify: {r.status_code} {r.text[:300]!r}"
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    assert r.headers.get("X-Request-Id"), r.headers
    assert r.text == expected, f"notify answered {r.text!r}, expected {expected!r}"


def get_result(query, timeout=30, session=None):
    return (session or requests).get(BASE_URL + RESULT_PATH + query, timeout=timeout, allow_redirects=False)


def result_query(return_location):
    """The query (with `?`) the return page forwards to /payments/alipay/result."""
    split = urllib.parse.urlsplit(return_location)
    assert split.query, return_location
    return "?" + split.query


# ---------------------------------------------------------------- the pay link (signing string)
def get_pay_link(client, user_id, order_number):
    return client.get(f"/payments/alipay/{order_number}", headers=auth(user_id), timeout=30)


def pay_link(client, user_id, order_number):
    r = get_pay_link(client, user_id, order_number)
    assert r.status_code == 200, f"pay link of {order_number}: {r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["pay_type"] == 0 and body["get_pay_type_display"] == "支付宝", body
    return body["link"]


def link_parameters(link):
    """(gateway URL, {param: decoded value}); every parameter exactly once."""
    base, _, query = link.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a parameter twice in the pay link: {keys}"
    return base, dict(pairs)


def link_signature_valid(params):
    return rsa_verify(signing_string(params), params["sign"], _key("LUFFY_SANDBOX_APP_PUBLIC_KEY"))


# ---------------------------------------------------------------- the sandbox, as a buyer
class CashierForms(HTMLParser):
    """The cashier page's forms: action and the fields a browser would send (checkboxes unchecked)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = {}
        self.optional = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = a.get("id") or a.get("action", "")
            self.forms[self._current] = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                                         "fields": {}}
        elif tag == "input" and a.get("name"):
            owner = a.get("form") or self._current
            if a.get("type", "text").lower() == "checkbox":
                self.optional.setdefault(owner, {})[a["name"]] = a.get("value", "on")
            elif owner in self.forms:
                self.forms[owner]["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


class Buyer:
    """A browser at the sandbox: opens the pay link, pays at the cashier, returns to the shop."""

    def __init__(self):
        self.session = requests.Session()
        self.cashier = None

    def open(self, link):
        r = self.session.get(link, timeout=30, allow_redirects=False)
        assert r.status_code == 200, f"sandbox cashier: {r.status_code} {r.headers.get('X-Sandbox-Error')} " \
                                     f"{r.text[:400]}"
        assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers
        assert "确认支付" in r.text, r.text[:400]
        self.cashier = r
        return r

    def submit_pay(self, order_number, notify=True):
        """The pay form as the cashier page has it; the "no notification" box ticked unless `notify`."""
        forms = CashierForms()
        forms.feed(self.cashier.text if self.cashier is not None else "")
        form = next((f for f in forms.forms.values() if f["action"].rstrip("/").endswith("/cashier/pay")), None)
        if form is not None:
            action = urllib.parse.urljoin(self.cashier.url, form["action"])
            fields = dict(form["fields"])
            box = next((v for k, v in forms.optional.items() if forms.forms.get(k) is form), {})
            if not notify:
                assert box.get("notify") == "0", f"the cashier has no 不发送异步通知 box: {forms.optional}"
                fields.update(box)
        else:
            action, fields = SANDBOX_URL + "/cashier/pay", {"out_trade_no": order_number}
            if not notify:
                fields["notify"] = "0"
        assert fields.get("out_trade_no") == order_number, fields
        return self.session.post(action, data=fields, timeout=30, allow_redirects=False)

    def pay(self, order_number, notify=True):
        """Pays; returns the 302's Location (return_url with the signed sync return)."""
        r = self.submit_pay(order_number, notify)
        assert r.status_code == 302, f"cashier pay: {r.status_code} {r.headers.get('X-Sandbox-Error')} {r.text[:400]}"
        location = r.headers.get("Location", "")
        assert location.startswith(RETURN_URL + "?"), location
        return location

    def close(self):
        self.session.close()


def pay_through_cashier(client, user_id, order_number, notify=True):
    """The buyer's whole payment: the shop's pay link opened at the sandbox's cashier, then paid
    (`notify=False`: the sandbox sends the shop no notification). Returns the 302's Location."""
    buyer = Buyer()
    try:
        buyer.open(pay_link(client, user_id, order_number))
        return buyer.pay(order_number, notify=notify)
    finally:
        buyer.close()


def sandbox_trade(order_number):
    """The sandbox's record of a trade (dict), or None when it does not know it."""
    r = requests.get(f"{SANDBOX_URL}/sandbox/trades/{urllib.parse.quote(order_number)}", timeout=10)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, f"sandbox trade record: {r.status_code} {r.text[:200]}"
    return r.json()


def gateway_call(method, order_number):
    """`alipay.trade.query|close` of one order at the sandbox (`gateway_api`)."""
    return gateway_api(method, {"out_trade_no": order_number})


def gateway_trade_status(order_number):
    answer = gateway_call("alipay.trade.query", order_number)
    return answer.get("trade_status") if answer.get("code") == "10000" else answer.get("sub_code")


# ---------------------------------------------------------------- database state
def order_state(conn, order_id):
    rows = db_rows(conn, "SELECT order_status, pay_time, trade_no, credit, real_price, order_number, user_id, "
                         "pay_link_time, created_time FROM ly_order WHERE id = %s", (order_id,))
    assert rows, f"order {order_id} is not in ly_order"
    return dict(zip(("order_status", "pay_time", "trade_no", "credit", "real_price", "order_number", "user_id",
                     "pay_link_time", "created_time"), rows[0]))


def notifications(conn, order_number):
    rows = db_rows(conn, "SELECT notify_id, trade_no, trade_status, total_amount, outcome, order_id "
                         "FROM ly_alipay_notification WHERE out_trade_no = %s ORDER BY id", (order_number,))
    return [dict(zip(("notify_id", "trade_no", "trade_status", "total_amount", "outcome", "order_id"), r))
            for r in rows]


def refunds(conn, order_number):
    """The order's refunds (ly_refund, sql/018); `learned_by`: where the service learned of a payment
    it owes back (notify, return, query, …)."""
    rows = db_rows(conn, "SELECT order_id, trade_no, amount, reason, payment_source, state "
                         "FROM ly_refund WHERE order_number = %s ORDER BY id", (order_number,))
    return [dict(zip(("order_id", "trade_no", "amount", "reason", "learned_by", "state"), r))
            for r in rows]


def delete_refunds(cur, order_number):
    """The order's refunds with their courses and events."""
    cur.execute("DELETE r, rc, e FROM ly_refund r LEFT JOIN ly_refund_course rc ON rc.refund_id = r.id "
                "LEFT JOIN ly_refund_event e ON e.refund_id = r.id WHERE r.order_number = %s", (order_number,))


def wait_for(condition, timeout=15.0, interval=0.1, what="condition"):
    """Polls `condition()` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def age_order(conn, order_id, seconds):
    with conn.cursor() as cur:
        cur.execute("UPDATE ly_order SET created_time = created_time - INTERVAL %s SECOND WHERE id = %s",
                    (seconds, order_id))


# ---------------------------------------------------------------- throwaway shop
class Purchase:
    """An unpaid order of a throwaway user, with what settlement must change."""

    def __init__(self, user_id, order, course_ids, credit=0, coupon_log=None, balance_after=0):
        self.user_id = user_id
        self.order = order
        self.id = order["id"]
        self.number = order["order_number"]
        self.amount = order["real_price"]   # Decimal (ordering.loads)
        self.course_ids = course_ids
        self.credit = credit
        self.coupon_log = coupon_log
        self.balance_after = balance_after  # the user's credit once the order exists

    @property
    def amount_text(self):
        return f"{Decimal(self.amount):.2f}"


class Shop:
    """Throwaway users/courses/coupons (ordering.Throwaway) and their orders; cleanup also removes
    the notification and refund rows of those orders."""

    def __init__(self, client):
        self.client = client
        self.t = Throwaway()
        self.conn = db_connect()
        self.numbers = []

    def purchase(self, kind="plain", prices=("120.00", "80.50"), credits=(60, 40), credit=50, balance=500):
        """kind: "plain" | "coupon" (30 yuan off, all courses) | "credit" (`credit` credits used)."""
        uid = self.t.user(credit=balance if kind == "credit" else 0)
        cids = [self.t.course(p, credit=c, name=f"支付测试课程-{uuid.uuid4().hex[:8]}")
                for p, c in zip(prices, credits)]
        body = {"course_ids": cids, "pay_type": 0, "user_coupon_id": -1, "credit": 0}
        log = None
        if kind == "coupon":
            coupon = self.t.coupon("-30", 1, coupon_type=0, condition=0)
            log = self.t.coupon_log(uid, coupon)
            body["user_coupon_id"] = log
        elif kind == "credit":
            body["credit"] = credit
        r = post_order(self.client, uid, body)
        assert r.status_code == 201, f"POST /orders {body}: {r.status_code} {r.text[:300]}"
        order = loads(r.text)
        assert order["order_status"] == 0, order
        self.numbers.append(order["order_number"])
        used = credit if kind == "credit" else 0
        return Purchase(uid, order, cids, credit=used, coupon_log=log, balance_after=(balance - used) if used else 0)

    def cancel(self, purchase):
        return cancel_order(self.client, purchase.user_id, purchase.id)

    def state(self, p):
        """Everything settling, closing or recording a payment of `p` may write."""
        c = self.conn
        return {
            "order": order_state(c, p.id),
            "user_courses": db_rows(c, "SELECT course_id, buy_type, trade_no, pay_time FROM ly_user_course "
                                       "WHERE user_id = %s ORDER BY course_id", (p.user_id,)),
            "credit_rows": db_rows(c, "SELECT operation, number, remark FROM ly_credit WHERE user_id = %s "
                                      "ORDER BY id", (p.user_id,)),
            "balance": db_rows(c, "SELECT credit FROM ly_users WHERE id = %s", (p.user_id,))[0][0],
            "coupon": db_rows(c, "SELECT order_id, use_status, use_time FROM ly_coupon_log WHERE id = %s",
                              (p.coupon_log,)) if p.coupon_log else (),
            # with what a cluster's settlements counted beside the course, not folded in yet (sql/023)
            "students": db_rows(c, "SELECT c.id, CAST(c.students + COALESCE((SELECT SUM(d.students) FROM "
                                   "ly_course_students_delta d WHERE d.course_id = c.id), 0) AS SIGNED) "
                                   "FROM ly_course c WHERE c.id IN (%s) ORDER BY c.id"
                                % ",".join(str(int(i)) for i in p.course_ids)),
            "notifications": notifications(c, p.number),
            "refunds": refunds(c, p.number),
            "all_notifications": db_rows(c, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_alipay_notification")[0],
            "all_refunds": db_rows(c, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM ly_refund")[0],
        }

    def assert_unpaid(self, p):
        """Still as created: unpaid, nothing settled, credit still held, coupon still bound."""
        s = self.state(p)
        assert s["order"]["order_status"] == 0 and s["order"]["pay_time"] is None \
            and s["order"]["trade_no"] is None, s["order"]
        assert s["user_courses"] == () and s["credit_rows"] == (), s
        assert s["balance"] == p.balance_after, s
        if p.coupon_log:
            assert s["coupon"] == ((p.id, 0, None),), s["coupon"]
        assert [n for _, n in s["students"]] == [0] * len(p.course_ids), s["students"]
        return s

    def assert_settled(self, p, trade_no):
        """Settled exactly once (README, "Settlement, exactly once"): status 1, pay_time, trade_no;
        one ly_user_course row per course (buy_type 1, trade_no, pay_time); coupon used; one
        ly_credit row; students +1."""
        s = self.state(p)
        o = s["order"]
        assert o["order_status"] == 1, o
        assert o["trade_no"] == trade_no, (o, trade_no)
        assert o["pay_time"] is not None, o
        assert abs((datetime.now(SHOP_TZ).replace(tzinfo=None) - o["pay_time"]).total_seconds()) < 300, o
        assert [r[0] for r in s["user_courses"]] == sorted(p.course_ids), s["user_courses"]
        for course_id, buy_type, row_trade_no, pay_time in s["user_courses"]:
            assert (buy_type, row_trade_no) == (1, trade_no), s["user_courses"]
            assert pay_time is not None, s["user_courses"]
        if p.coupon_log:
            (bound, use_status, use_time), = s["coupon"]
            assert (bound, use_status) == (p.id, 1) and use_time is not None, s["coupon"]
        if p.credit:
            assert len(s["credit_rows"]) == 1, s["credit_rows"]
            operation, number, remark = s["credit_rows"][0]
            assert (operation, number) == (1, -p.credit), s["credit_rows"]
            assert p.number in remark, remark
        else:
            assert s["credit_rows"] == (), s["credit_rows"]
        assert s["balance"] == p.balance_after, s     # deducted at creation, not again
        assert [n for _, n in s["students"]] == [1] * len(p.course_ids), s["students"]
        assert s["refunds"] == [], s["refunds"]
        return s

    def assert_closed(self, p, status):
        """Cancelled (2) or timed out (3): credit back, coupon free, nothing settled."""
        s = self.state(p)
        assert s["order"]["order_status"] == status and s["order"]["pay_time"] is None, s["order"]
        assert s["user_courses"] == () and s["credit_rows"] == (), s
        assert s["balance"] == p.balance_after + p.credit, s
        if p.coupon_log:
            assert s["coupon"] == ((None, 0, None),), s["coupon"]
        assert [n for _, n in s["students"]] == [0] * len(p.course_ids), s["students"]
        return s

    def cleanup(self):
        try:
            with self.conn.cursor() as cur:
                for number in self.numbers:
                    cur.execute("DELETE FROM ly_alipay_notification WHERE out_trade_no = %s", (number,))
                    delete_refunds(cur, number)
        finally:
            self.conn.close()
            self.t.cleanup()


def wait_notifications_settled(numbers, timeout=20.0):
    """Before cleanup: every paid trade with a notification of these orders has it delivered (else
    the sandbox keeps retrying against a deleted order)."""
    def done():
        for number in numbers:
            trade = sandbox_trade(number)
            if trade and trade["trade_status"] == "TRADE_SUCCESS" and trade["notification"]["enabled"] \
                    and not trade["notification"]["delivered"]:
                return False
        return True
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture
def shop(client):
    s = Shop(client)
    try:
        yield s
    finally:
        try:
            wait_notifications_settled(s.numbers)
        except (requests.RequestException, AssertionError):
            pass   # the sandbox is down (fault tests restart it in their own finally)
        s.cleanup()


# ---------------------------------------------------------------- gateway calls as the app signs them (query, close, refunds; docs/SANDBOX.md)
def gateway_form(method, biz, **common):
    """The form of any gateway call with this `biz_content` (a dict) and extra common parameters,
    signed with the app's key as Alipay's SDKs sign it."""
    params = {"app_id": APP_ID, "method": method, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2",
              "timestamp": shop_now(), "version": "1.0",
              "biz_content": json.dumps(biz, separators=(",", ":"), ensure_ascii=False), **common}
    params["sign"] = rsa_sign(signing_string(params), _key("LUFFY_ALIPAY_APP_PRIVATE_KEY"))
    return params


def gateway_api(method, biz, timeout=30):
    """`gateway_form` posted to the sandbox; returns the response object once the sandbox's
    signature over its exact bytes checks out (refusals are signed too)."""
    r = requests.post(GATEWAY_URL, data=gateway_form(method, biz), timeout=timeout)
    assert r.status_code == 200, f"{method}: {r.status_code} {r.text[:200]}"
    key = method.replace(".", "_") + "_response"
    text = r.content.decode("utf-8")
    m = re.fullmatch(r'\{"%s":(\{.*\}),"sign":"([A-Za-z0-9+/=]+)"\}' % re.escape(key), text, re.S)
    assert m, f"unexpected {method} answer: {text[:300]}"
    assert rsa_verify(m.group(1), m.group(2), _key("LUFFY_ALIPAY_PUBLIC_KEY")), f"bad sandbox signature: {text}"
    return json.loads(m.group(1))


def sandbox_refund(out_trade_no, amount, out_request_no=None, reason="测试退款", **more):
    """`alipay.trade.refund` of a sandbox trade (amount: yuan text like "12.34")."""
    biz = {"out_trade_no": out_trade_no, "refund_amount": amount, "refund_reason": reason, **more}
    if out_request_no is not None:
        biz["out_request_no"] = out_request_no
    return gateway_api("alipay.trade.refund", biz)


def sandbox_refund_query(out_trade_no, out_request_no):
    return gateway_api("alipay.trade.fastpay.refund.query",
                       {"out_trade_no": out_trade_no, "out_request_no": out_request_no})


def sandbox_refund_settings(**values):
    """`POST /sandbox/refund-settings` with these values (none: GET); the settings in force."""
    url = SANDBOX_URL + "/sandbox/refund-settings"
    r = requests.post(url, data=values, timeout=10) if values else requests.get(url, timeout=10)
    assert r.status_code == 200, f"refund settings {values}: {r.status_code} {r.text[:200]}"
    return r.json()


def sandbox_open_trade(amount, paid=True, notify_url=None):
    """A trade at the sandbox without the shop: a page pay signed with the app's key (the cashier
    shown: WAIT_BUYER_PAY), then unless not `paid` the cashier's pay button (no payment
    notification). Returns its out_trade_no."""
    number = "sbx_" + uuid.uuid4().hex[:24]
    biz = {"out_trade_no": number, "total_amount": amount, "subject": "沙箱退款测试",
           "product_code": "FAST_INSTANT_TRADE_PAY"}
    urls = {"return_url": RETURN_URL, **({"notify_url": notify_url} if notify_url else {})}
    params = gateway_form("alipay.trade.page.pay", biz, **urls)
    buyer = Buyer()
    try:
        buyer.open(GATEWAY_URL + "?" + urllib.parse.urlencode(params))
        if paid:
            buyer.pay(number, notify=False)
    finally:
        buyer.close()
    return number
