"""The sandbox's refunds over HTTP (docs/SANDBOX.md, "Refunds"): `alipay.trade.refund` and
`alipay.trade.fastpay.refund.query` signed with the app's key of the test stack, every answer's
signature checked with the sandbox's public key; the faults switched at run time through
`POST /sandbox/refund-settings`; refund notifications received by a small HTTP server of the test
(on an ephemeral port: nothing to collide with); a restart through scripts/stack.sh.

The trades are opened and paid at the sandbox directly (a page pay signed like the app's, then the
cashier's pay button): these tests are about the gateway, not the shop.
"""

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from alipay import (GATEWAY_URL, SANDBOX_URL, _key, gateway_api, gateway_form, gateway_trade_status, rsa_verify,
                    sandbox_open_trade, sandbox_refund, sandbox_refund_query, sandbox_refund_settings, sandbox_trade,
                    verification_string, wait_for)
from conftest import stack
from test_gateway_faults import sandbox_answers, wait_sandbox

DEFAULTS = {"fault": "none", "notify": False, "min_gap_s": 3, "delay_ms": 0}


@pytest.fixture
def refunds():
    """Refunds back to back (no 3 s gap) unless a test says otherwise; the defaults again after it."""
    assert sandbox_refund_settings() == DEFAULTS, "the sandbox's refund settings are not the defaults"
    sandbox_refund_settings(min_gap_s="0")
    try:
        yield sandbox_refund_settings
    finally:
        if not sandbox_answers():          # a test that stopped the sandbox failed half-way
            stack("sandbox-start")
            wait_sandbox(True)
        sandbox_refund_settings(fault="none", notify="0", min_gap_s="3", delay_ms="0")


def refused(answer, sub_code):
    assert answer["code"] == "40004" and answer["msg"] == "Business Failed", answer
    assert answer["sub_code"] == sub_code and answer["sub_msg"], answer


def succeeded(answer, fund_change, refund_fee, send_back_fee, number):
    assert answer["code"] == "10000" and answer["msg"] == "Success", answer
    assert answer["fund_change"] == fund_change, answer
    assert (answer["refund_fee"], answer["send_back_fee"]) == (refund_fee, send_back_fee), answer
    assert answer["out_trade_no"] == number and answer["trade_no"] == sandbox_trade(number)["trade_no"], answer
    assert answer["buyer_logon_id"] and answer["gmt_refund_pay"], answer


def not_refunded(number, request_no):
    """Alipay's empty answer: code 10000 and no refund fields."""
    assert sandbox_refund_query(number, request_no) == {"code": "10000", "msg": "Success"}


def refunded(number, request_no, amount, total):
    answer = sandbox_refund_query(number, request_no)
    assert answer["code"] == "10000" and answer["refund_status"] == "REFUND_SUCCESS", answer
    assert (answer["out_request_no"], answer["refund_amount"], answer["total_amount"]) == (request_no, amount, total)
    assert answer["out_trade_no"] == number and answer["trade_no"] == sandbox_trade(number)["trade_no"], answer


def test_full_refund_closes_the_trade_and_replays_move_nothing(refunds):
    number = sandbox_open_trade("99.80")
    not_refunded(number, "R1")
    succeeded(sandbox_refund(number, "99.80", "R1"), "Y", "99.80", "99.80", number)
    refunded(number, "R1", "99.80", "99.80")
    assert gateway_trade_status(number) == "TRADE_CLOSED"
    # the same number and amount again: success without money moving
    succeeded(sandbox_refund(number, "99.80", "R1"), "N", "99.80", "99.80", number)
    refused(sandbox_refund(number, "99.79", "R1"), "ACQ.DISCORDANT_REPEAT_REQUEST")
    refused(sandbox_refund(number, "0.01", "R2"), "ACQ.TRADE_STATUS_ERROR")
    record = sandbox_trade(number)
    assert record["refunded_amount"] == "99.80" and [r["out_request_no"] for r in record["refunds"]] == ["R1"]


def test_partial_refunds_add_up_and_never_pass_the_paid_amount(refunds):
    number = sandbox_open_trade("100.00")
    succeeded(sandbox_refund(number, "30.00", "R1"), "Y", "30.00", "30.00", number)
    succeeded(sandbox_refund(number, "50.00", "R2"), "Y", "80.00", "50.00", number)
    assert gateway_trade_status(number) == "TRADE_SUCCESS"
    refused(sandbox_refund(number, "20.01", "R3"), "ACQ.REASON_TRADE_REFUND_FEE_ERR")
    not_refunded(number, "R3")
    # a partial refund without out_request_no is refused, as Alipay refuses it
    refused(sandbox_refund(number, "1.00"), "ACQ.INVALID_PARAMETER")
    succeeded(sandbox_refund(number, "30.00", "R1"), "N", "80.00", "30.00", number)
    refunded(number, "R1", "30.00", "100.00")
    refunded(number, "R2", "50.00", "100.00")
    succeeded(sandbox_refund(number, "20.00", "R3"), "Y", "100.00", "20.00", number)
    assert gateway_trade_status(number) == "TRADE_CLOSED"


def test_unknown_unpaid_closed_and_finished_trades_are_not_refunded(refunds):
    refused(sandbox_refund("sbx_nosuchtrade", "1.00", "R1"), "ACQ.TRADE_NOT_EXIST")
    refused(sandbox_refund_query("sbx_nosuchtrade", "R1"), "ACQ.TRADE_NOT_EXIST")
    refused(gateway_api("alipay.trade.refund", {"trade_no": "2026010122009999999999", "refund_amount": "1.00",
                                                "out_request_no": "R1"}), "ACQ.TRADE_NOT_EXIST")
    waiting = sandbox_open_trade("10.00", paid=False)
    refused(sandbox_refund(waiting, "10.00", "R1"), "ACQ.TRADE_STATUS_ERROR")
    assert gateway_api("alipay.trade.close", {"out_trade_no": waiting})["code"] == "10000"
    refused(sandbox_refund(waiting, "10.00", "R1"), "ACQ.TRADE_STATUS_ERROR")
    not_refunded(waiting, "R1")
    finished = sandbox_open_trade("10.00")
    r = requests.post(f"{SANDBOX_URL}/sandbox/trades/{finished}/finish", timeout=10)
    assert r.status_code == 200 and r.json()["trade_status"] == "TRADE_FINISHED", r.text
    refused(sandbox_refund(finished, "1.00", "R1"), "ACQ.TRADE_HAS_FINISHED")
    not_refunded(finished, "R1")


def test_hostile_refund_requests_are_refused_and_signed(refunds):
    number = sandbox_open_trade("10.00")
    for biz in ({"out_trade_no": number, "refund_amount": "1"}, {"out_trade_no": number, "refund_amount": 1.00},
                {"out_trade_no": number, "refund_amount": "-1.00", "out_request_no": "R1"},
                {"out_trade_no": number, "refund_amount": "1.00", "out_request_no": "R" * 65},
                {"out_trade_no": number, "refund_amount": "1.00", "out_request_no": "退款 1"},
                {"refund_amount": "1.00", "out_request_no": "R1"}):
        refused(gateway_api("alipay.trade.refund", biz), "ACQ.INVALID_PARAMETER")
    refused(gateway_api("alipay.trade.fastpay.refund.query", {"out_trade_no": number}), "ACQ.INVALID_PARAMETER")
    assert sandbox_trade(number)["refunds"] == []
    for form in ({"fault": "explode"}, {"notify": "yes"}, {"min_gap_s": "999"}, {"delay_ms": "-5"}, {"x": "1"}):
        r = requests.post(SANDBOX_URL + "/sandbox/refund-settings", data=form, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "invalid_refund_setting", (form, r.text)
    assert sandbox_refund_settings()["fault"] == "none"


def test_two_refunds_of_one_trade_need_the_minimum_gap(refunds):
    refunds(min_gap_s="2")
    number = sandbox_open_trade("10.00")
    succeeded(sandbox_refund(number, "1.00", "R1"), "Y", "1.00", "1.00", number)
    refused(sandbox_refund(number, "1.00", "R2"), "ACQ.REFUND_FREQUENCY_LIMIT")
    not_refunded(number, "R2")
    succeeded(sandbox_refund(number, "1.00", "R1"), "N", "1.00", "1.00", number)   # a replay is never too early
    time.sleep(2.1)
    succeeded(sandbox_refund(number, "1.00", "R2"), "Y", "2.00", "1.00", number)


# ---------------------------------------------------------------- faults
def test_system_error_once_refunds_nothing(refunds):
    number = sandbox_open_trade("10.00")
    refunds(fault="system_error_once")
    refused(sandbox_refund(number, "10.00", "R1"), "ACQ.SYSTEM_ERROR")
    not_refunded(number, "R1")
    assert sandbox_refund_settings()["fault"] == "none"
    succeeded(sandbox_refund(number, "10.00", "R1"), "Y", "10.00", "10.00", number)


def test_answer_lost_the_refund_is_applied_and_the_connection_dropped(refunds):
    number = sandbox_open_trade("10.00")
    refunds(fault="answer_lost_once")
    form = gateway_form("alipay.trade.refund", {"out_trade_no": number, "refund_amount": "4.00",
                                                "out_request_no": "R1"})
    with pytest.raises(requests.ConnectionError):      # nginx closes the connection: no status, no body
        requests.post(GATEWAY_URL, data=form, timeout=30)
    assert sandbox_refund_settings()["fault"] == "none"
    refunded(number, "R1", "4.00", "10.00")
    # the shop's retry with the same number and amount: success, no money moved
    succeeded(sandbox_refund(number, "4.00", "R1"), "N", "4.00", "4.00", number)


def test_slow_answers_are_applied_before_they_are_late(refunds):
    number = sandbox_open_trade("10.00")
    refunds(delay_ms="1500")
    form = gateway_form("alipay.trade.refund", {"out_trade_no": number, "refund_amount": "1.00",
                                                "out_request_no": "R1"})
    with pytest.raises(requests.Timeout):
        requests.post(GATEWAY_URL, data=form, timeout=0.5)
    refunded(number, "R1", "1.00", "10.00")            # the query is not held
    started = time.monotonic()
    succeeded(sandbox_refund(number, "1.00", "R1"), "N", "1.00", "1.00", number)
    assert time.monotonic() - started >= 1.5
    refunds(delay_ms="0")
    started = time.monotonic()
    succeeded(sandbox_refund(number, "2.00", "R2"), "Y", "3.00", "2.00", number)
    assert time.monotonic() - started < 1.0


def test_balance_not_enough_until_switched_off(refunds):
    number = sandbox_open_trade("10.00")
    succeeded(sandbox_refund(number, "1.00", "R1"), "Y", "1.00", "1.00", number)
    refunds(fault="balance_not_enough")
    for _ in range(2):
        refused(sandbox_refund(number, "2.00", "R2"), "ACQ.SELLER_BALANCE_NOT_ENOUGH")
    not_refunded(number, "R2")
    succeeded(sandbox_refund(number, "1.00", "R1"), "N", "1.00", "1.00", number)   # a replay moves no money
    refunds(fault="none")
    succeeded(sandbox_refund(number, "2.00", "R2"), "Y", "3.00", "2.00", number)


# ---------------------------------------------------------------- restart
def test_trades_and_refunds_survive_a_restart(refunds):
    number = sandbox_open_trade("50.00")
    succeeded(sandbox_refund(number, "20.00", "R1"), "Y", "20.00", "20.00", number)
    waiting = sandbox_open_trade("5.00", paid=False)
    before = sandbox_trade(number)
    stack("sandbox-stop")
    wait_sandbox(False)
    stack("sandbox-start")
    wait_sandbox(True)
    assert sandbox_trade(number) == before
    assert sandbox_trade(waiting)["trade_status"] == "WAIT_BUYER_PAY"
    assert sandbox_refund_settings() == DEFAULTS                  # run-time settings are not kept
    refunds(min_gap_s="0")
    refunded(number, "R1", "20.00", "50.00")
    succeeded(sandbox_refund(number, "20.00", "R1"), "N", "20.00", "20.00", number)
    refused(sandbox_refund(number, "30.01", "R2"), "ACQ.REASON_TRADE_REFUND_FEE_ERR")
    succeeded(sandbox_refund(number, "30.00", "R2"), "Y", "50.00", "30.00", number)
    assert gateway_trade_status(number) == "TRADE_CLOSED"


# ---------------------------------------------------------------- notifications
class Receiver:
    """The payment's notify_url: an HTTP server of the test that records every form and answers
    `success`."""

    def __init__(self):
        forms = self.forms = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
                forms.append(dict(urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True)))
                answer = b"success"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/payments/alipay/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def test_refund_notifications_partial_then_full_only_when_on(refunds, receiver):
    number = sandbox_open_trade("100.00", notify_url=receiver.url)
    succeeded(sandbox_refund(number, "10.00", "R0"), "Y", "10.00", "10.00", number)
    time.sleep(1.5)
    assert receiver.forms == [], "a refund notification while they are off"

    refunds(notify="1")
    succeeded(sandbox_refund(number, "30.00", "R1"), "Y", "40.00", "30.00", number)
    succeeded(sandbox_refund(number, "60.00", "R2"), "Y", "100.00", "60.00", number)
    succeeded(sandbox_refund(number, "60.00", "R2"), "N", "100.00", "60.00", number)   # a replay: none
    wait_for(lambda: len(receiver.forms) >= 2, what="two refund notifications")
    time.sleep(0.5)
    assert len(receiver.forms) == 2, receiver.forms
    trade_no = sandbox_trade(number)["trade_no"]
    by_number = {f["out_biz_no"]: f for f in receiver.forms}
    for form in receiver.forms:
        assert form["sign_type"] == "RSA2"
        assert rsa_verify(verification_string(form), form["sign"], _key("LUFFY_ALIPAY_PUBLIC_KEY")), form
        assert (form["notify_type"], form["out_trade_no"], form["trade_no"]) == ("trade_status_sync", number, trade_no)
        assert form["total_amount"] == "100.00" and form["gmt_payment"] and form["gmt_refund"], form
    partial, full = by_number["R1"], by_number["R2"]
    assert (partial["trade_status"], partial["refund_fee"]) == ("TRADE_SUCCESS", "40.00"), partial
    assert "gmt_close" not in partial, partial
    assert (full["trade_status"], full["refund_fee"]) == ("TRADE_CLOSED", "100.00"), full
    assert full["gmt_close"], full
    record = sandbox_trade(number)
    assert [r["notification"]["delivered"] for r in record["refunds"]] == [False, True, True], record["refunds"]
