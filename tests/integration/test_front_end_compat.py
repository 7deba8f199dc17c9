"""The shop's original Vue front end against the service (README, "HTTP API" and "Configuration"):

* every course cover leaves the service as an absolute URL under LUFFY_MEDIA_URL (the Vue order
  list puts it straight into `<img :src>`): `/user/order`, `/orders/list` and the return's
  `course_list`; with another base after a restart; hostile stored names encoded;
* the test stack's base is its own nginx's `/media/`, which serves a real PNG placeholder for every
  cover the dev data names;
* `GET /orders/pay/choices` is public (a token, valid or not, is not read) and cacheable.
"""

import re
from contextlib import contextmanager
from io import BytesIO

import pytest
import requests
from PIL import Image

from alipay import get_result, notification, post_notify, assert_notify_answer, shop, sync_return
from conftest import (BASE_URL, ENV, SETTINGS, assert_error, assert_json_response, auth, db_rows, mint_token,
                      stack, stack_healthy, start_with_setting, wait_until)
from media import MEDIA_URL, cover_url

__all__ = ["shop"]  # the fixture, imported for pytest

USER1 = auth(1, username="luffy")
CHOICES = [[0, "未支付"], [1, "已支付"], [2, "已取消"], [3, "超时取消"], [4, "已退款"]]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def listed_covers(client, path, headers=USER1):
    """(course_id, course_cover) of every order course of the user's orders, all pages of 20."""
    covers, page = [], 1
    while True:
        r = client.get(f"{path}?size=20&page={page}", headers=headers)
        body = assert_json_response(r, 200)
        covers += [(c["course_id"], c["course_cover"]) for o in body["results"] for c in o["order_courses"]]
        if body["next"] is None:
            return covers
        page += 1


def stored_covers(db, user_id):
    return dict(db_rows(db, """SELECT DISTINCT c.id, c.course_cover FROM ly_order o
                               JOIN ly_order_course oc ON oc.order_id = o.id JOIN ly_course c ON c.id = oc.course_id
                               WHERE o.user_id = %s AND o.is_deleted = 0 AND o.is_show = 1""", (user_id,)))


# ---------------------------------------------------------------- the stack's media
def test_the_stack_serves_media_on_its_own_nginx():
    assert MEDIA_URL == BASE_URL + "/media/", SETTINGS.get("LUFFY_MEDIA_URL")


def test_every_dev_data_cover_is_a_png_through_nginx(db):
    names = [row[0] for row in db_rows(db, "SELECT DISTINCT course_cover FROM ly_course WHERE id <= 12 ORDER BY 1")]
    assert len(names) == 12 and all(n.startswith("course/cover/") for n in names), names
    for name in names:
        r = requests.get(cover_url(name), timeout=10)
        assert r.status_code == 200, (name, r.status_code, r.text[:200])
        assert r.headers["Content-Type"] == "image/png", (name, r.headers)
        assert r.content.startswith(PNG_SIGNATURE) and len(r.content) < 16 << 10, (name, len(r.content))
        image = Image.open(BytesIO(r.content))
        image.load()   # decodes every row: a real image, not a signature in front of anything
        assert image.format == "PNG" and image.size[0] >= 64 and image.size[1] >= 36, (name, image.size)


def test_a_listed_cover_loads_as_the_front_end_loads_it(client):
    covers = dict(listed_covers(client, "/user/order"))
    r = requests.get(covers[11], timeout=10)   # order 9's hidden course 11 keeps its cover
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", (covers[11], r.status_code)


@pytest.mark.parametrize("path", ["/media/course/cover/none.png", "/media/", "/media/course/",
                                  "/media/../keys/x.png", "/media/%2e%2e/var/test/luffy-pay.env",
                                  "/media/..%2f..%2fscripts/stack.sh"])
def test_media_outside_the_placeholders_is_a_json_error(client, path):
    r = client.get(path)
    assert r.status_code in (400, 403, 404), (path, r.status_code, r.text[:200])
    assert_error(r, r.status_code)


# ---------------------------------------------------------------- covers in the answers
@pytest.mark.parametrize("path", ["/user/order", "/orders/list/"])
def test_order_list_covers_are_absolute_urls_under_the_base(client, db, path):
    covers = listed_covers(client, path)
    stored = stored_covers(db, 1)
    assert covers and {cid for cid, _ in covers} == set(stored), covers
    for course_id, cover in covers:
        assert cover == MEDIA_URL + stored[course_id], (course_id, cover)
        assert cover.startswith(("http://", "https://")), cover
    assert dict(covers)[6] == BASE_URL + "/media/course/cover/6.png"


def test_the_return_lists_absolute_covers(db, shop):
    p = shop.purchase()
    n = notification(p.number, p.amount_text)
    assert_notify_answer(post_notify(n), "success")
    body = assert_json_response(get_result(sync_return(p.number, p.amount_text, n["trade_no"])), 200)
    assert sorted((c["id"], c["course_cover"]) for c in body["course_list"]) == \
        [(cid, MEDIA_URL + "course/cover/it.png") for cid in sorted(p.course_ids)], body


HOSTILE = [
    ("course/cover/my cover (1).png", "course/cover/my%20cover%20%281%29.png"),
    ('course/"><img src=x onerror=alert(1)>.png', "course/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.png"),
    ("course/封面 \\ '引号'.png", "course/%E5%B0%81%E9%9D%A2%20%5C%20%27%E5%BC%95%E5%8F%B7%27.png"),
    ("../../../etc/passwd", "etc/passwd"),
    ("/course/./../cover//6.png?x=1#y", "course/cover/6.png%3Fx%3D1%23y"),
    ("line\nbreak\t\u0001.png", "line%0Abreak%09%01.png"),
]


def test_hostile_stored_names_are_encoded_and_never_break_json(client, db, shop):
    p = shop.purchase(prices=tuple("10.00" for _ in HOSTILE) + ("11.00", "12.00", "13.00"),
                      credits=(0,) * (len(HOSTILE) + 3))
    names = [name for name, _ in HOSTILE] + [None, "", "https://img.example/封面 1.png"]
    expected = {}
    with db.cursor() as cur:
        for cid, name in zip(p.course_ids, names):
            cur.execute("UPDATE ly_course SET course_cover = %s WHERE id = %s", (name, cid))
    for cid, (name, path) in zip(p.course_ids, HOSTILE):
        expected[cid] = MEDIA_URL + path
        assert cover_url(name) == expected[cid], name   # media.py agrees with the README's examples
    for cid, name in zip(p.course_ids[len(HOSTILE):], names[len(HOSTILE):]):
        expected[cid] = name   # null stays null, empty stays empty, an absolute URL stays as it is
    r = client.get("/user/order", headers=auth(p.user_id))
    assert_json_response(r, 200)
    assert re.fullmatch(r"[\x20-\x7e\u0080-\uffff]*", r.text), "raw control characters in the JSON text"
    assert dict(listed_covers(client, "/user/order", auth(p.user_id))) == expected
    n = notification(p.number, p.amount_text)
    assert_notify_answer(post_notify(n), "success")
    body = assert_json_response(get_result(sync_return(p.number, p.amount_text, n["trade_no"])), 200)
    assert {c["id"]: c["course_cover"] for c in body["course_list"]} == expected


# ---------------------------------------------------------------- another base
def _set_media_url(value):
    """Writes LUFFY_MEDIA_URL into the stack's settings file (another value, or None: the line removed)."""
    path = ENV["config"]
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if not line.startswith("LUFFY_MEDIA_URL=")]
    if value is not None:
        lines.append(f"LUFFY_MEDIA_URL={value}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _restart_app():
    stack("app-stop")
    stack("app-start")
    assert wait_until(stack_healthy, 20), "the app did not come back"


@contextmanager
def media_url_setting(value):
    original = SETTINGS["LUFFY_MEDIA_URL"]
    _set_media_url(value)
    try:
        _restart_app()
        yield
    finally:
        _set_media_url(original)
        _restart_app()


def test_another_media_base_after_a_restart(client, db, shop, restore_stack):
    p = shop.purchase()
    # no trailing slash: one is added; scheme and host in any case
    with media_url_setting("HTTPS://Media.LuffyCity.example:8443/static/uploads"):
        base = "https://media.luffycity.example:8443/static/uploads/"
        covers = listed_covers(client, "/orders/list")
        stored = stored_covers(db, 1)
        assert covers and all(cover == base + stored[cid] for cid, cover in covers), covers
        assert dict(listed_covers(client, "/user/order", auth(p.user_id))) == \
            {cid: base + "course/cover/it.png" for cid in p.course_ids}
        n = notification(p.number, p.amount_text)
        assert_notify_answer(post_notify(n), "success")
        body = assert_json_response(get_result(sync_return(p.number, p.amount_text, n["trade_no"])), 200)
        assert {c["id"]: c["course_cover"] for c in body["course_list"]} == \
            {cid: base + "course/cover/it.png" for cid in p.course_ids}
    # back to the stack's own base
    assert dict(listed_covers(client, "/user/order"))[6] == BASE_URL + "/media/course/cover/6.png"


@pytest.mark.parametrize("bad", [
    "media/", "/media/", "ftp://files.example/media/", "https://", "https://media.example/?v=1",
    "https://media.example/#x", "https://user:pw@media.example/", "https://media.example:70000/",
    'https://media.example/"/', "https://media example/", "https://media.example/a b/", "javascript:alert(1)//",
])
def test_a_malformed_media_url_stops_every_command_at_start(bad):
    out = start_with_setting("LUFFY_MEDIA_URL", bad)
    assert out.returncode == 1 and out.stdout == "", (out.returncode, out.stdout, out.stderr)
    assert f"LUFFY_MEDIA_URL={bad} is not valid: expected an absolute http(s) URL" in out.stderr, out.stderr
    out = start_with_setting("LUFFY_MEDIA_URL", "https://www.luffycity.cn/media/")
    assert out.returncode == 0 and out.stdout.count(".") == 2, (out.returncode, out.stderr)


# ---------------------------------------------------------------- GET /orders/pay/choices: public, cacheable
def _garbage_tokens():
    return {
        "none": None,
        "valid": USER1["Authorization"],
        "garbage": "jwt garbage",
        "expired": "jwt " + mint_token(1, username="luffy", exp_in=-60),
        "forged": "jwt " + mint_token(1, username="luffy", secret="not-the-secret-" * 3),
        "inactive user": "jwt " + mint_token(3, username="usopp"),
        "bearer junk": "Bearer a.b.c",
        "huge": "jwt " + "x" * 6000,
    }


@pytest.mark.parametrize("name", list(_garbage_tokens()))
@pytest.mark.parametrize("path", ["/orders/pay/choices", "/orders/pay/choices/"])
def test_pay_choices_are_public(client, name, path):
    token = _garbage_tokens()[name]
    r = client.get(path, headers={} if token is None else {"Authorization": token})
    assert assert_json_response(r, 200) == CHOICES, (name, r.text)
    assert r.headers["Cache-Control"] == "public, max-age=3600", r.headers
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"]), r.headers
    assert "WWW-Authenticate" not in r.headers


def test_pay_choices_revalidate_with_their_etag(client):
    first = client.get("/orders/pay/choices")
    etag = first.headers["ETag"]
    for condition in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        r = client.get("/orders/pay/choices", headers={"If-None-Match": condition})
        assert r.status_code == 304 and r.content == b"", (condition, r.status_code, r.text[:200])
        assert r.headers["ETag"] == etag and r.headers["Cache-Control"] == "public, max-age=3600", r.headers
        assert r.headers.get("X-Request-Id"), r.headers
    for condition in ('"nope"', etag[:-2] + '"', "", "W/", '"' * 3000):
        r = client.get("/orders/pay/choices", headers={"If-None-Match": condition})
        assert assert_json_response(r, 200) == CHOICES, condition
    head = client.request("HEAD", "/orders/pay/choices", headers={"Authorization": "jwt garbage"})
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == etag, head.headers
    # the same validator on every request and every worker
    assert {client.get("/orders/pay/choices").headers["ETag"] for _ in range(6)} == {etag}


def test_pay_choices_list_the_refunded_status_the_service_gives(db):
    # status 4 is what a full refund leaves (docs/REFUNDS.md): listed, with the name the list shows
    statuses = {row[0] for row in db_rows(db, "SELECT DISTINCT order_status FROM ly_order")}
    assert statuses <= {code for code, _ in CHOICES}, statuses
    assert [4, "已退款"] in CHOICES


def test_other_methods_on_choices_still_405(client):
    r = client.request("POST", "/orders/pay/choices", headers={"Content-Type": "application/json"}, data=b"{}")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET, HEAD", r.headers
