"""The sandbox's daily bill over HTTP (docs/SANDBOX.md, "Daily bills"): trades paid at the cashier
and moved to a past day (`POST /sandbox/trades/<n>/move`), the signed
`alipay.data.dataservice.bill.downloadurl.query` (signed with the app's key of the test stack, the
answer's signature checked with the sandbox's public key), and the one-time download read with
Python's own readers: zipfile for the archive (entry names GBK), the GBK detail CSV through the csv
module. The bill settings (`POST /sandbox/bill-settings`) are the defaults again after every test.

Each test works on a past day of its own, chosen at random: the stack's sandbox keeps its trades
across the tests (and the bills of other days are none of these tests' business).
"""

import csv
import io
import random
import time
import urllib.parse
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from alipay import SANDBOX_URL, SELLER_ID, gateway_api, sandbox_open_trade, sandbox_refund, sandbox_trade
from ordering import SHOP_TZ

METHOD = "alipay.data.dataservice.bill.downloadurl.query"
DEFAULTS = {"today": None, "url_ttl_s": 30, "corrupt": None, "changes": []}
COLUMNS = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
           "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
           "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
           "服务费（元）", "分润（元）", "备注"]
END_OF_ROWS = "#-----------------------------------------业务明细列表结束------------------------------------"


def bill_settings(body=None):
    """`POST /sandbox/bill-settings` with this JSON body (None: GET); the response."""
    url = SANDBOX_URL + "/sandbox/bill-settings"
    return requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)


def set_bills(**values):
    r = bill_settings(values)
    assert r.status_code == 200, f"bill settings {values}: {r.status_code} {r.text[:300]}"
    return r.json()


@pytest.fixture(autouse=True)
def default_bills():
    """Every test starts and ends with the default bill settings."""
    r = bill_settings()
    assert r.status_code == 200 and r.json() == DEFAULTS, f"the sandbox's bill settings are not the defaults: {r.text}"
    try:
        yield
    finally:
        assert set_bills() == DEFAULTS


def a_past_day():
    """A day of its own for one test: at random in 2001–2020 (shop time)."""
    return (date(2001, 1, 1) + timedelta(days=random.randrange(20 * 365))).isoformat()


def shop_today():
    return datetime.now(SHOP_TZ).date()


def move(number, day):
    return requests.post(f"{SANDBOX_URL}/sandbox/trades/{number}/move", json={"day": day}, timeout=10)


def paid_on(day, amount, refund=None):
    """A trade paid at the sandbox's cashier (and refunded: `refund` (amount, out_request_no)), then
    moved so that its payment falls on `day` (its refund moves with it)."""
    number = sandbox_open_trade(amount)
    if refund:
        assert sandbox_refund(number, *refund)["fund_change"] == "Y"
    r = move(number, day)
    assert r.status_code == 200, r.text
    assert r.json()["gmt_payment"].startswith(day + " "), r.json()
    return number


def bill_url(day):
    """The signed answer to the URL query (its signature checked by gateway_api)."""
    return gateway_api(METHOD, {"bill_type": "trade", "bill_date": day})


def download_url(day):
    answer = bill_url(day)
    assert answer["code"] == "10000" and answer["msg"] == "Success", answer
    return answer["bill_download_url"]


class Bill:
    """A downloaded bill read with Python's zipfile and csv modules."""

    def __init__(self, content):
        archive = zipfile.ZipFile(io.BytesIO(content))
        self.entries = {}
        for info in archive.infolist():
            # without the UTF-8 flag zipfile decodes names as cp437: back to the bytes, then GBK
            name = info.filename if info.flag_bits & 0x800 else info.filename.encode("cp437").decode("gbk")
            self.entries[name] = archive.read(info)
        self.text = self.entries[f"{SELLER_ID}_{self.day_of(self.entries)}_业务明细.csv"].decode("gbk")
        lines = self.text.split("\r\n")
        assert lines[-1] == "", "the detail ends with CRLF"
        header_end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        end = lines.index(END_OF_ROWS)
        self.header = lines[:header_end]
        table = list(csv.reader(io.StringIO("\r\n".join(lines[header_end:end]) + "\r\n", newline="")))
        self.columns, self.rows = table[0], table[1:]
        self.footer = lines[end + 1:-1]

    @staticmethod
    def day_of(entries):
        days = {name.split("_")[1] for name in entries}
        assert len(days) == 1, entries
        return days.pop()

    def of(self, number):
        """The rows of one out_trade_no, as dicts by column name."""
        return [dict(zip(self.columns, row)) for row in self.rows if row[1] == number + "\t"]

    def totals(self):
        """(trade count, trade received, refund count, refund received) of the footer."""
        trade = self.footer[0]
        refund = self.footer[1]
        assert trade.startswith("#交易合计：") and refund.startswith("#退款合计："), self.footer

        def parse(line):
            count = int(line.split("：", 1)[1].split("笔", 1)[0])
            received = Decimal(line.split("商家实收：", 1)[1].split("元", 1)[0])
            return count, received
        return parse(trade) + parse(refund)


def download(url):
    return requests.get(url, timeout=60)


def test_a_past_days_bill_is_alipays_file_once():
    day = a_past_day()
    compact = day.replace("-", "")
    number = paid_on(day, "12.34", refund=("2.00", "R1"))
    other = paid_on(day, "0.50")
    trade = sandbox_trade(number)
    assert trade["refunds"][0]["gmt_refund_pay"].startswith(day + " "), trade

    url = download_url(day)
    split = urllib.parse.urlsplit(url)
    assert f"{split.scheme}://{split.netloc}" == SANDBOX_URL and split.path == "/downloadBillFile.resource", url
    query = urllib.parse.parse_qs(split.query, strict_parsing=True)
    assert {k: v[0] for k, v in query.items() if k not in ("timestamp", "token")} == {
        "bizType": "trade", "userId": SELLER_ID, "fileType": "csv.zip", "bizDates": compact,
        "downloadFileName": f"{SELLER_ID}_{compact}.csv.zip"}
    assert len(query["token"][0]) == 32 and int(query["timestamp"][0]) > 0

    r = download(url)
    assert r.status_code == 200, r.text[:200]
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{SELLER_ID}_{compact}.csv.zip"'
    assert r.content[:4] == b"PK\x03\x04"
    bill = Bill(r.content)
    assert sorted(bill.entries) == [f"{SELLER_ID}_{compact}_业务明细(汇总).csv", f"{SELLER_ID}_{compact}_业务明细.csv"]
    y, m, d = day.split("-")
    end = (date.fromisoformat(day) + timedelta(days=1))
    assert bill.header == [
        "#支付宝业务明细查询", f"#账号：[{SELLER_ID}]",
        f"#起始日期：[{y}年{m}月{d}日 00:00:00]   终止日期：[{end.year}年{end.month:02}月{end.day:02}日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------"]
    assert bill.columns == COLUMNS
    assert all(len(row) == 25 for row in bill.rows)

    rows = bill.of(number)
    assert [row["业务类型"] for row in rows] == ["交易", "退款"], rows
    sale, refund = rows
    trade_no = trade["trade_no"]
    assert sale["支付宝交易号"] == trade_no + "\t" and refund["支付宝交易号"] == trade_no + "\t"
    assert (sale["订单金额（元）"], sale["商家实收（元）"], sale["服务费（元）"]) == ("12.34", "12.34", "0.00")
    assert sale["退款批次号/请求号"] == "" and sale["商品名称"] == trade["subject"]
    assert sale["创建时间"] == trade["gmt_create"] and sale["完成时间"] == trade["gmt_payment"]
    assert (refund["订单金额（元）"], refund["商家实收（元）"], refund["退款批次号/请求号"]) == ("-2.00", "-2.00", "R1\t")
    assert refund["完成时间"] == trade["refunds"][0]["gmt_refund_pay"]
    assert "****" in sale["对方账户"]
    assert [row["订单金额（元）"] for row in bill.of(other)] == ["0.50"]
    finished = [row[5] for row in bill.rows]
    assert finished == sorted(finished), "rows in the order they finished"

    trades = [Decimal(row[12]) for row in bill.rows if row[2] == "交易"]
    refunds = [Decimal(row[12]) for row in bill.rows if row[2] == "退款"]
    assert bill.totals() == (len(trades), sum(trades), len(refunds), sum(refunds))
    assert bill.footer[2].startswith("#导出时间：[") and len(bill.footer) == 3, bill.footer

    again = download(url)
    assert again.status_code == 404 and again.headers["Content-Type"].startswith("text/plain")


def test_today_and_later_are_not_ready():
    today = shop_today()
    for day in (today, today + timedelta(days=1)):
        answer = bill_url(day.isoformat())
        assert answer == {"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist",
                          "sub_msg": answer["sub_msg"]} and answer["sub_msg"], answer
        assert "bill_download_url" not in answer
    assert bill_url((today - timedelta(days=1)).isoformat())["code"] == "10000"
    # the sandbox's today is a setting: readiness only
    day = a_past_day()
    set_bills(today=day)
    assert bill_url(day)["sub_code"] == "isp.bill_not_exist"
    assert bill_url((date.fromisoformat(day) - timedelta(days=1)).isoformat())["code"] == "10000"


def test_the_query_is_refused_like_alipay():
    for biz, sub_code in [({"bill_type": "signcustomer", "bill_date": "2020-01-01"}, "isv.invalid-bill-type"),
                          ({"bill_date": "2020-01-01"}, "isv.invalid-bill-type"),
                          ({"bill_type": "trade", "bill_date": "2020-01"}, "isv.invalid-bill-date"),
                          ({"bill_type": "trade", "bill_date": "2020-02-30"}, "isv.invalid-bill-date"),
                          ({"bill_type": "trade", "bill_date": 20200101}, "isv.invalid-bill-date")]:
        answer = gateway_api(METHOD, biz)
        assert answer["code"] == "40002" and answer["sub_code"] == sub_code and answer["sub_msg"], (biz, answer)


def test_the_url_expires():
    day = a_past_day()
    set_bills(url_ttl_s=1)
    url = download_url(day)
    time.sleep(2.5)
    r = download(url)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain"), r.status_code
    r = download(url.replace("token=", "token=0"))
    assert r.status_code == 404


def test_every_change_kind_is_in_the_file():
    day = a_past_day()
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    a, b = paid_on(day, "10.00", refund=("1.00", "A-R1")), paid_on(day, "20.00", refund=("1.00", "B-R1"))
    late = paid_on(before, "30.00")
    set_bills(changes=[
        {"kind": "drop_trade", "out_trade_no": b},
        {"kind": "trade_amount", "out_trade_no": a, "amount": "9.99"},
        {"kind": "next_day", "out_trade_no": late},
        {"kind": "second_trade", "out_trade_no": a, "amount": "9.90"},
        {"kind": "foreign_refund", "out_trade_no": a, "amount": "3.00", "out_request_no": "EXT-1"},
        {"kind": "drop_refund", "out_request_no": "B-R1"},
        {"kind": "refund_amount", "out_request_no": "A-R1", "amount": "5.00"},
    ])
    bill = Bill(download(download_url(day)).content)
    rows_a = bill.of(a)
    assert sorted((r["业务类型"], r["商家实收（元）"], r["退款批次号/请求号"]) for r in rows_a) == [
        ("交易", "9.90", ""), ("交易", "9.99", ""), ("退款", "-3.00", "EXT-1\t"), ("退款", "-5.00", "A-R1\t")]
    trade_no = sandbox_trade(a)["trade_no"] + "\t"
    second = [r for r in rows_a if r["商家实收（元）"] == "9.90"][0]
    assert second["支付宝交易号"] != trade_no and len(second["支付宝交易号"]) == len(trade_no)
    assert bill.of(b) == []
    assert [r["商家实收（元）"] for r in bill.of(late)] == ["30.00"]
    assert Bill(download(download_url(before)).content).of(late) == []
    # the footer agrees with the changed rows
    trades = [Decimal(row[12]) for row in bill.rows if row[2] == "交易"]
    refunds = [Decimal(row[12]) for row in bill.rows if row[2] == "退款"]
    assert bill.totals() == (len(trades), sum(trades), len(refunds), sum(refunds))


def test_a_damaged_bill():
    day = a_past_day()
    paid_on(day, "1.00")
    set_bills(corrupt="zip")
    r = download(download_url(day))
    assert r.status_code == 200 and r.content
    assert not zipfile.is_zipfile(io.BytesIO(r.content))
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(r.content))

    set_bills(corrupt="footer")
    bill = Bill(download(download_url(day)).content)
    trades = [Decimal(row[12]) for row in bill.rows if row[2] == "交易"]
    count, received, _, _ = bill.totals()
    assert (count, received) != (len(trades), sum(trades))


@pytest.mark.parametrize("body", [
    "", "{", "[]", "null", '{"colour":"red"}', '{"today":"2020-02-30"}', '{"url_ttl_s":0}', '{"url_ttl_s":"30"}',
    '{"corrupt":"all"}', '{"changes":[{"kind":"explode"}]}', '{"changes":[{"kind":"drop_trade"}]}',
    '{"changes":[{"kind":"trade_amount","out_trade_no":"A","amount":"1"}]}', '{"today":null,"today":null}',
])
def test_hostile_bill_settings_change_nothing(body):
    set_bills(url_ttl_s=7)
    r = requests.post(SANDBOX_URL + "/sandbox/bill-settings", data=body.encode(), timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json"), (body, r.text)
    assert r.json()["code"] == "invalid_bill_setting" and r.json()["errmsg"], r.text
    assert bill_settings().json() == {**DEFAULTS, "url_ttl_s": 7}


def test_move_refuses_what_it_cannot_move():
    unpaid = sandbox_open_trade("1.00", paid=False)
    r = move(unpaid, "2020-01-01")
    assert r.status_code == 409 and r.json()["code"] == "trade_not_paid", r.text
    r = move("sbx_no_such_trade", "2020-01-01")
    assert r.status_code == 404 and r.json()["code"] == "trade_not_found", r.text
    paid = sandbox_open_trade("1.00")
    record = sandbox_trade(paid)
    for body in ({}, {"day": "2020-13-01"}, {"day": "2020-01-01", "x": 1}, {"day": 20200101}, []):
        r = requests.post(f"{SANDBOX_URL}/sandbox/trades/{paid}/move", json=body, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "invalid_day", (body, r.text)
    assert sandbox_trade(paid) == record, "a refused move moves nothing"
