"""The Alipay return page (nginx/html/alipay; README, "GET /payments/alipay/result") in a real
headless browser.

Debian's `chromium` loads http://127.0.0.1:18080/alipay?<return parameters> through the test
stack's nginx and dumps the DOM once the page has settled (`--virtual-time-budget`: timers run in
virtual time, which stands still while a request is in flight, so the page's back-off retries take
real time only for the requests themselves). The page's states are told apart by
`<main id="result" data-state="paid|pending|error">` and the section of that state being the only
one shown.

* error: no parameters; a forged signature; a correctly signed return for an unknown order and
  one with a wrong amount (the code and the message of the API are shown).
* pending: a correctly signed return (made here with the sandbox's "Alipay" private key, Alipay's
  verification string)
  for an unpaid order whose trade the sandbox holds as WAIT_BUYER_PAY: the page shows
  "支付结果确认中", retries, and after the last try says what to do; nginx's access log shows each
  try as a request with the very same query.
* paid: a real purchase through alipay-sandbox (order, pay link, cashier page, pay form, the 302
  to return_url) and that return URL loaded in the browser: courses, amount and pay time as the
  database holds them.
"""

import base64
import re
import subprocess
import time
import urllib.parse
import uuid
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from PIL import Image

from browser import Browser, dump_dom
from conftest import BASE_URL, SETTINGS, STACK_DIR, auth, db_rows, mint_token
from ordering import SHOP_TZ, post_order, throwaway, wait_for_db

__all__ = ["throwaway"]  # the fixture, imported for pytest

PAGE_URL = BASE_URL + "/alipay"
RESULT_PATH = "/payments/alipay/result"
NGINX_ACCESS_LOG = STACK_DIR / "log" / "nginx-access.log"
# the shop's pages the buttons lead to (scripts/stack.sh sets them, nginx/luffy-pay.conf serves them)
SHOP_ORDERS_URL = SETTINGS.get("LUFFY_SHOP_ORDERS_URL", "")
SHOP_HOME_URL = SETTINGS.get("LUFFY_SHOP_HOME_URL", "")
STATES = ("loading", "paid", "pending", "error")
MAX_TRIES = 8               # success.js: 1 + len(RETRY_DELAYS)
RETRY_WINDOW_MS = 60_000    # success.js: 1+2+4+8+15+15+15 s of back-off in all


# ---------------------------------------------------------------- the browser
def render(url, budget_ms):
    """The DOM of `url` after `budget_ms` of virtual time, parsed."""
    html = dump_dom(url, budget_ms)
    assert "<main" in html, f"no page at {url}:\n{html[:500]}"
    return Page(html)


class Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = attrs
        self.children = []

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class DomBuilder(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


class Page:
    """The dumped DOM of the return page."""

    def __init__(self, html):
        self.html = html
        builder = DomBuilder()
        builder.feed(html)
        builder.close()
        self.root = builder.root
        self.ids = {n.attrs["id"]: n for n in self.root.iter() if "id" in n.attrs}

    def node(self, id_):
        assert id_ in self.ids, f"no element #{id_} in the page:\n{self.html[:3000]}"
        return self.ids[id_]

    def text(self, id_):
        return " ".join(self.node(id_).text().split())

    @property
    def state(self):
        return self.node("result").attrs.get("data-state")

    def shown_sections(self):
        return [n.attrs.get("data-state") for n in self.node("result").iter()
                if n.tag == "section" and "hidden" not in n.attrs]

    def assert_state(self, state):
        assert self.state == state, f"page state {self.state!r}, expected {state!r}:\n{self.describe()}"
        assert self.shown_sections() == [state], f"sections shown: {self.shown_sections()}:\n{self.describe()}"
        section = self.node(f"state-{state}")
        assert section.attrs.get("data-state") == state
        shown = " ".join(section.text().split())
        # server text is shown as text, never as markup or a stack trace
        for bad in ("<html", "<body", "Traceback", "undefined", "NaN", "[object Object]"):
            assert bad not in shown, f"{bad!r} shown in the {state} state: {shown}"
        self.assert_shop_links()
        return section

    def assert_shop_links(self):
        """Every "my orders" and "home" link leads to the shop's page the stack configured."""
        links = [(n.attrs["data-link"], n.attrs.get("href")) for n in self.root.iter()
                 if n.tag == "a" and "data-link" in n.attrs]
        assert {name for name, _ in links} == {"orders", "home"}, links
        wanted = {"orders": SHOP_ORDERS_URL, "home": SHOP_HOME_URL}
        assert all(href == wanted[name] for name, href in links), links

    def links(self, section):
        return [n.attrs.get("href") for n in section.iter() if n.tag == "a"]

    def describe(self):
        main = self.ids.get("result")
        return " ".join(main.text().split())[:1500] if main else self.html[:1500]


# ---------------------------------------------------------------- Alipay's side
def sandbox_key():
    path = SETTINGS.get("LUFFY_SANDBOX_PRIVATE_KEY")
    assert path and Path(path).is_file(), \
        f"the stack's settings name no readable LUFFY_SANDBOX_PRIVATE_KEY ({path!r}): scripts/stack.sh makes it"
    return path


def alipay_sign(params):
    """What Alipay does to a return: drop sign/sign_type and empty values, sort, join k=v with &,
    RSA-SHA256 (PKCS#1 v1.5) with its private key, base64."""
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v != "")
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", sandbox_key()], input=content.encode("utf-8"),
                         capture_output=True, timeout=30)
    assert out.returncode == 0, f"openssl dgst -sign failed: {out.stderr.decode(errors='replace')}"
    return base64.b64encode(out.stdout).decode()


def signed_return(order_number, total_amount, *, trade_no=None, sign=None):
    """The query string of a sync return as Alipay sends the buyer back (signed unless `sign`)."""
    app_id = SETTINGS.get("LUFFY_ALIPAY_APP_ID", "")
    params = {
        "charset": "utf-8",
        "out_trade_no": order_number,
        "method": "alipay.trade.page.pay.return",
        "total_amount": total_amount,
        "trade_no": trade_no or "2099" + uuid.uuid4().hex[:24],
        "auth_app_id": app_id,
        "version": "1.0",
        "app_id": app_id,
        "sign_type": "RSA2",
        "seller_id": SETTINGS.get("LUFFY_ALIPAY_SELLER_ID", ""),
        # a distinct timestamp makes a distinct query (the access-log checks count per query)
        "timestamp": datetime.now(SHOP_TZ).strftime("%Y-%m-%d %H:%M:%S"),
    }
    params = {k: v for k, v in params.items() if v != ""}
    params["sign"] = sign if sign is not None else alipay_sign(params)
    return "?" + urllib.parse.urlencode(params)


def api_result(query):
    r = requests.get(BASE_URL + RESULT_PATH + query, timeout=30)
    try:
        body = r.json()
    except ValueError:
        body = None
    return r.status_code, body


# ---------------------------------------------------------------- nginx's access log
def result_requests(query):
    """Statuses of the logged `GET /payments/alipay/result<query>` requests, in log order."""
    if not NGINX_ACCESS_LOG.exists():
        return []
    needle = f'"GET {RESULT_PATH}{query} HTTP/'
    statuses = []
    for line in NGINX_ACCESS_LOG.read_text(encoding="utf-8", errors="replace").splitlines():
        pos = line.find(needle)
        if pos >= 0:
            m = re.match(r'[^"]*" (\d{3}) ', line[pos + len(needle):])
            statuses.append(int(m.group(1)) if m else None)
    return statuses


def logged_result_requests(query, at_least, timeout=8.0):
    """nginx buffers its access log (buffer=32k flush=2s): wait for the lines to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = result_requests(query)
        if len(statuses) >= at_least or time.monotonic() > deadline:
            return statuses
        time.sleep(0.25)


# ---------------------------------------------------------------- shop side
def buy(client, throwaway, prices, names):
    """A throwaway user with an unpaid Alipay order for new courses; (user, order, course ids)."""
    uid = throwaway.user(credit=0)
    cids = [throwaway.course(price, name=name) for price, name in zip(prices, names)]
    r = post_order(client, uid, {"course_ids": cids, "pay_type": 0, "user_coupon_id": -1, "credit": 0})
    assert r.status_code == 201, f"POST /orders: {r.status_code} {r.text[:300]}"
    order = r.json()
    assert order["order_status"] == 0, order
    return uid, order, cids


def pay_link(client, uid, order_number):
    r = client.get(f"/payments/alipay/{order_number}", headers=auth(uid), timeout=30)
    assert r.status_code == 200, f"pay link: {r.status_code} {r.text[:300]}"
    link = r.json()["link"]
    assert link.startswith("http"), link
    return link


def open_cashier(session, link):
    """GET the pay link at the sandbox: its cashier page (the sandbox now holds the trade)."""
    r = session.get(link, timeout=30, allow_redirects=False)
    assert r.status_code == 200, f"sandbox cashier {link[:120]}…: {r.status_code} {r.text[:500]}"
    assert "html" in r.headers.get("Content-Type", ""), r.headers
    return r


class FormFinder(HTMLParser):
    """The forms of the cashier page: action, method and their named inputs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            if tag == "input" and a.get("type", "text").lower() in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))


def pay_at_cashier(session, cashier, order_number):
    """Submit the cashier's pay form (POST /cashier/pay): returns the 302's Location."""
    finder = FormFinder()
    finder.feed(cashier.text)
    forms = [f for f in finder.forms if f["action"].split("?")[0].rstrip("/").endswith("/cashier/pay")]
    if forms:
        form = forms[0]
        action = urllib.parse.urljoin(cashier.url, form["action"])
        fields = dict(form["fields"])
    else:
        action = urllib.parse.urljoin(cashier.url, "/cashier/pay")
        fields = {}
    fields.setdefault("out_trade_no", order_number)
    r = session.post(action, data=fields, timeout=30, allow_redirects=False)
    assert r.status_code in (302, 303), f"POST {action} {fields}: {r.status_code} {r.text[:500]}"
    location = r.headers.get("Location", "")
    assert location, r.headers
    return urllib.parse.urljoin(action, location)


def delete_notifications(conn, order_number):
    with conn.cursor() as cur:
        cur.execute("DELETE FROM ly_alipay_notification WHERE out_trade_no = %s", (order_number,))


def money_text(value):
    return "¥" + str(Decimal(value).quantize(Decimal("0.01")))


# ---------------------------------------------------------------- static serving
def test_page_is_served_at_alipay_with_caching_headers():
    for path in ("/alipay", "/alipay/", "/alipay?out_trade_no=1&sign=x"):
        r = requests.get(BASE_URL + path, timeout=10, allow_redirects=False)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        assert r.headers["Content-Type"].startswith("text/html"), (path, r.headers)
        assert r.headers.get("Cache-Control") == "no-cache", (path, r.headers)
        assert r.headers.get("Referrer-Policy") == "no-referrer", (path, r.headers)
        assert 'id="result"' in r.text
    for asset in re.findall(r'(?:src|href)="(/alipay/[^"]+)"', requests.get(PAGE_URL, timeout=10).text):
        r = requests.get(BASE_URL + asset, timeout=10)
        assert r.status_code == 200, (asset, r.status_code)
        assert "max-age=" in r.headers.get("Cache-Control", ""), (asset, r.headers)
        # nothing from another origin: no CDN, no web fonts
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", r.text, re.I), asset


# ---------------------------------------------------------------- error
def test_without_parameters_the_page_shows_an_error():
    page = render(PAGE_URL, 10_000)
    section = page.assert_state("error")
    assert page.text("error-code") == "missing_parameters"
    assert page.text("error-message")
    assert SHOP_ORDERS_URL in page.links(section)


def test_forged_signature_shows_invalid_signature(client, throwaway, db):
    uid, order, _ = buy(client, throwaway, ["88.00"], [f"签名测试课程-{uuid.uuid4().hex[:6]}"])
    query = signed_return(order["order_number"], "88.00", sign="AAAA")
    status, body = api_result(query)
    assert (status, body and body.get("code")) == (400, "invalid_signature"), (status, body)

    page = render(PAGE_URL + query, 20_000)
    section = page.assert_state("error")
    assert page.text("error-code") == "invalid_signature"
    assert page.text("error-message") == body["errmsg"]
    assert page.text("error-order-number") == order["order_number"]
    assert SHOP_ORDERS_URL in page.links(section)
    assert db_rows(db, "SELECT order_status FROM ly_order WHERE id = %s", (order["id"],))[0][0] == 0
    # our probe and the page's one request: a refusal is final, the page does not retry it
    assert logged_result_requests(query, 2) == [400, 400]


@pytest.mark.parametrize("case", ["order_not_found", "amount_mismatch"])
def test_signed_refusals_show_their_code(client, throwaway, case):
    if case == "order_not_found":
        query, status_expected = signed_return("20990101" + "9" * 16, "10.00"), 404
    else:
        _, order, _ = buy(client, throwaway, ["66.60"], [f"金额测试课程-{uuid.uuid4().hex[:6]}"])
        query, status_expected = signed_return(order["order_number"], "0.01"), 400
    status, body = api_result(query)
    assert (status, body and body.get("code")) == (status_expected, case), (status, body)

    page = render(PAGE_URL + query, 20_000)
    page.assert_state("error")
    assert page.text("error-code") == case
    assert page.text("error-message") == body["errmsg"]
    assert logged_result_requests(query, 2) == [status_expected] * 2


# ---------------------------------------------------------------- pending
def test_unpaid_order_shows_pending_and_retries(client, throwaway):
    uid, order, _ = buy(client, throwaway, ["45.00", "54.50"],
                        [f"待支付课程甲-{uuid.uuid4().hex[:6]}", f"待支付课程乙-{uuid.uuid4().hex[:6]}"])
    number, amount = order["order_number"], str(order["real_price"])
    assert Decimal(amount) == Decimal("99.50"), order
    with requests.Session() as browser:
        open_cashier(browser, pay_link(client, uid, number))   # the sandbox: WAIT_BUYER_PAY

    # the endpoint itself says "not yet" (409, not 502: the sandbox answered the query)
    probe = signed_return(number, "99.50")
    status, body = api_result(probe)
    assert (status, body and body.get("code")) == (409, "payment_pending"), (status, body)

    # a few seconds in: still confirming, more tries to come
    early = signed_return(number, "99.50", trade_no="2099" + uuid.uuid4().hex[:24])
    page = render(PAGE_URL + early, 4_000)
    section = page.assert_state("pending")
    assert "支付结果确认中" in page.text("state-pending")
    assert section.attrs.get("data-exhausted") == "false", page.describe()
    tries = int(section.attrs.get("data-attempts", "0"))
    assert 2 <= tries < MAX_TRIES, page.describe()
    assert "hidden" not in page.node("retry-button").attrs and "hidden" in page.node("pending-exhausted").attrs
    statuses = logged_result_requests(early, tries)
    assert statuses == [409] * tries, f"nginx logged {statuses} for the page's {tries} tries"

    # the whole back-off: every try made, then what to do next
    late = signed_return(number, "99.50", trade_no="2099" + uuid.uuid4().hex[:24])
    page = render(PAGE_URL + late, RETRY_WINDOW_MS + 30_000)
    section = page.assert_state("pending")
    assert section.attrs.get("data-exhausted") == "true", page.describe()
    assert section.attrs.get("data-attempts") == str(MAX_TRIES), page.describe()
    assert "hidden" not in page.node("pending-exhausted").attrs, page.describe()
    assert number in page.text("pending-exhausted")
    assert page.node("retry-button").tag == "button" and "disabled" not in page.node("retry-button").attrs
    assert SHOP_ORDERS_URL in page.links(section)
    statuses = logged_result_requests(late, MAX_TRIES)
    assert statuses == [409] * MAX_TRIES, f"nginx logged {statuses} for the page's {MAX_TRIES} tries"


# ---------------------------------------------------------------- paid
def test_purchase_through_the_sandbox_shows_the_paid_order(client, throwaway, db):
    names = [f"支付成功页测试 <b>甲</b> & “课程” {uuid.uuid4().hex[:6]}", f"支付成功页测试乙-{uuid.uuid4().hex[:6]}"]
    uid, order, cids = buy(client, throwaway, ["128.00", "99.90"], names)
    number = order["order_number"]
    try:
        with requests.Session() as browser:
            cashier = open_cashier(browser, pay_link(client, uid, number))
            return_url = pay_at_cashier(browser, cashier, number)
        split = urllib.parse.urlsplit(return_url)
        assert f"{split.scheme}://{split.netloc}" == BASE_URL and split.path.rstrip("/") == "/alipay", return_url
        params = dict(urllib.parse.parse_qsl(split.query))
        assert params.get("out_trade_no") == number and params.get("sign"), params
        query = "?" + split.query

        page = render(return_url, 30_000)
        section = page.assert_state("paid")

        row = db_rows(db, "SELECT order_status, pay_time, real_price, trade_no FROM ly_order WHERE id = %s",
                      (order["id"],))[0]
        status, pay_time, real_price, trade_no = row
        assert status == 1 and pay_time is not None and trade_no, row
        assert real_price == Decimal("227.90"), row
        assert page.text("paid-count") == "2"
        assert page.text("paid-order-number") == number
        assert page.text("paid-amount") == money_text(real_price) == "¥227.90"
        assert page.text("paid-time") == pay_time.strftime("%Y-%m-%d %H:%M:%S")
        items = [n for n in page.node("paid-courses").iter() if n.tag == "li"]
        by_id = {int(n.attrs["data-course-id"]): n.text() for n in items}
        # each with the validity period it was bought for (README, "Validity periods")
        assert by_id == {cid: f"《{name}》永久有效" for cid, name in zip(cids, names)}, by_id
        assert not any(n.tag == "b" for n in page.node("paid-courses").iter()), "a course name became markup"
        assert SHOP_ORDERS_URL in page.links(section)

        # the page forwarded the return's query unchanged, and asked once: the answer was final
        assert logged_result_requests(query, 1) == [200]
    finally:
        # let the sandbox's notification land before the order goes (else it retries in vain)
        wait_for_db(db, "SELECT COUNT(*) FROM ly_alipay_notification WHERE out_trade_no = %s", (number,), 1,
                    timeout=10)
        delete_notifications(db, number)


# ---------------------------------------------------------------- the shop's pages
def test_buttons_lead_to_the_configured_shop_pages(client, throwaway):
    # the stack's own values, not nginx/luffy-pay.conf's defaults (/shop/…): scripts/stack.sh wrote them in
    assert (SHOP_ORDERS_URL, SHOP_HOME_URL) == (BASE_URL + "/shop/orders", BASE_URL + "/shop/"), SETTINGS
    r = requests.get(BASE_URL + "/alipay/links.json", timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert r.headers["Content-Type"] == "application/json; charset=utf-8" and r.headers["Cache-Control"] == "no-cache"
    assert r.json() == {"orders_url": SHOP_ORDERS_URL, "home_url": SHOP_HOME_URL}

    # both are real pages of the dev and test stacks
    for url, marker in ((SHOP_HOME_URL, 'id="shop-home"'), (SHOP_ORDERS_URL, 'id="orders"')):
        r = requests.get(url, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html") and marker in r.text, url
    home = render(SHOP_HOME_URL, 5_000)
    assert "/shop/orders" in [n.attrs.get("href") for n in home.node("shop-home").iter() if n.tag == "a"]

    # "my orders" lists the orders of the user whose token it holds (here given as #token=…)
    uid, order, _ = buy(client, throwaway, ["36.00"], [f"我的订单页测试-{uuid.uuid4().hex[:6]}"])
    page = render(f"{SHOP_ORDERS_URL}#token={mint_token(uid)}", 10_000)
    assert page.node("orders").attrs.get("data-state") == "list", page.html[:2000]
    items = [n for n in page.node("orders-list").iter() if n.tag == "li"]
    assert [n.attrs.get("data-order-number") for n in items] == [order["order_number"]], page.html[:2000]
    assert "未支付" in items[0].text() and "¥36.00" in items[0].text(), items[0].text()
    # without a token it asks for one
    page = render(SHOP_ORDERS_URL, 10_000)
    assert page.node("orders").attrs.get("data-state") == "signin" and "hidden" not in page.node("token-form").attrs


# ---------------------------------------------------------------- screenshots
SCREENSHOTS = STACK_DIR / "screenshots" / "return-page"
VIEWPORTS = {"desktop": (1280, 800, False), "phone": (360, 740, True)}
RESULT_PATTERN = "*" + RESULT_PATH + "*"
# what a page shows when it lays itself out for its viewport: its width, its smallest text, the
# right edge of its buttons, and the links marked data-link
LAYOUT = """(() => {
  const shown = document.querySelector("main section:not([hidden])");
  let smallest = 1000, rightmost = 0;
  for (const el of shown.querySelectorAll("*")) {
    if (el.getClientRects().length && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) {
      smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
    }
  }
  for (const b of shown.querySelectorAll(".button")) rightmost = Math.max(rightmost, b.getBoundingClientRect().right);
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
          smallest: smallest, rightmost: rightmost,
          links: [...document.querySelectorAll("a[data-link]")].map(a => [a.dataset.link, a.getAttribute("href")])};
})()"""


def assert_screenshot(path, width, height):
    """A PNG of the requested size that shows something: backgrounds, a card and text."""
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (width, height), (path, image.format, image.size)
        pixels = width * height
        colors = image.convert("RGB").getcolors(maxcolors=pixels)
    commonest = max(colors)[0]
    dark = sum(count for count, (r, g, b) in colors if r + g + b < 300)
    assert len(colors) >= 30, f"{path}: only {len(colors)} colours: blank"
    assert commonest < 0.95 * pixels, f"{path}: one colour covers {commonest / pixels:.0%}: blank"
    assert dark > 300, f"{path}: {dark} dark pixels: no text"


def capture(browser, state, viewport):
    """The shown state at the viewport: layout checked, fonts checked, screenshot saved and checked."""
    width, height, _ = VIEWPORTS[viewport]
    wanted = [["orders", SHOP_ORDERS_URL], ["home", SHOP_HOME_URL]]
    layout = browser.wait_for(f"(() => {{ const l = {LAYOUT}; "
                              f"return l.links.every(([n, h]) => h === {{orders: {SHOP_ORDERS_URL!r}, "
                              f"home: {SHOP_HOME_URL!r}}}[n]) ? l : null; }})()", timeout=10)
    assert sorted({tuple(x) for x in layout["links"]}) == sorted(tuple(x) for x in wanted), layout
    # no horizontal scrolling, readable text, every button inside the viewport
    assert layout["clientWidth"] == width and layout["scrollWidth"] <= width, (state, viewport, layout)
    assert layout["smallest"] >= 14 and layout["rightmost"] <= width, (state, viewport, layout)
    assert state == "loading" or layout["rightmost"] > 0, (state, viewport, layout)   # loading has no buttons
    # the Chinese heading is drawn with a CJK font (fonts-noto-cjk, scripts/deps.sh), not boxes
    fonts = browser.platform_fonts(f"#state-{state} h1")
    assert any(("CJK" in f or "WenQuanYi" in f) and n > 0 for f, n in fonts.items()), (state, fonts)
    path = browser.screenshot(SCREENSHOTS / f"{state}-{viewport}.png")
    assert_screenshot(path, width, height)


def test_screenshots_of_every_state_at_desktop_and_phone_widths(client, throwaway, db):
    # error: opened without Alipay's parameters
    error_url = PAGE_URL
    # pending: a signed return for an unpaid order whose trade the sandbox holds
    uid, pending_order, _ = buy(client, throwaway, ["45.00"], [f"截图待支付课程-{uuid.uuid4().hex[:6]}"])
    with requests.Session() as session:
        open_cashier(session, pay_link(client, uid, pending_order["order_number"]))
    pending_url = PAGE_URL + signed_return(pending_order["order_number"], "45.00")
    # loading and paid: a real purchase through the sandbox
    uid, order, _ = buy(client, throwaway, ["128.00", "99.90"],
                        [f"截图课程甲-{uuid.uuid4().hex[:6]}", f"截图课程乙-{uuid.uuid4().hex[:6]}"])
    number = order["order_number"]
    try:
        with requests.Session() as session:
            paid_url = pay_at_cashier(session, open_cashier(session, pay_link(client, uid, number)), number)
        saved = []
        with Browser() as browser:
            for viewport, (width, height, mobile) in VIEWPORTS.items():
                browser.hold_requests(RESULT_PATTERN)
                browser.open(paid_url, width, height, mobile)
                for _ in range(100):
                    if browser.held_requests():
                        break
                    browser.pump(0.1)
                assert browser.held_requests(), "the page did not ask for its result"
                assert browser.evaluate("document.getElementById('result').dataset.state") == "loading"
                capture(browser, "loading", viewport)
                browser.release_requests()
                browser.wait_for("document.getElementById('result').dataset.state === 'paid'")
                capture(browser, "paid", viewport)
                for state, url in (("pending", pending_url), ("error", error_url)):
                    browser.open(url, width, height, mobile)
                    browser.wait_for(f"document.getElementById('result').dataset.state === {state!r}")
                    capture(browser, state, viewport)
                saved += [SCREENSHOTS / f"{s}-{viewport}.png" for s in STATES]
        assert all(p.is_file() for p in saved) and len(saved) == 8, saved
    finally:
        wait_for_db(db, "SELECT COUNT(*) FROM ly_alipay_notification WHERE out_trade_no = %s", (number,), 1,
                    timeout=10)
        delete_notifications(db, number)
