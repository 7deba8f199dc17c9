"""JWT authentication and the X-Request-Id convention (README, "HTTP API")."""

import hashlib
import re
import time

import pytest

from conftest import JSON_TYPE, UNAUTHORIZED, BASE_URL, auth, b64url, mint_token, new_request_id

PROTECTED = ["/user/order", "/orders/list", "/coupon", "/user/order/"]


def _expired():
    return mint_token(1, username="luffy", exp_in=-60)


def _bad_headers():
    valid = mint_token(1, username="luffy")
    head, body, sig = valid.split(".")
    now = int(time.time())
    other_body = b64url('{"user_id":2,"username":"zoro","exp":%d}' % (now + 3600))
    return {
        "no header": None,
        "empty": "",
        "prefix only": "jwt",
        "prefix and spaces": "jwt    ",
        "garbage": "jwt garbage",
        "garbage with dots": "jwt a.b.c",
        "two parts": f"jwt {head}.{body}",
        "four parts": f"jwt {valid}.xyz",
        "wrong prefix Token": f"Token {valid}",
        "wrong prefix Basic": f"Basic {valid}",
        "no prefix": valid,
        "prefix glued": f"jwt{valid}",
        "forged signature (other secret)": "jwt " + mint_token(1, username="luffy", secret="not-the-secret-" * 3),
        "signature of another token": f"jwt {head}.{other_body}.{sig}",
        "signature stripped": f"jwt {head}.{body}.",
        "signature flipped": f"jwt {head}.{body}.{sig[:-2] + ('AA' if sig[-2:] != 'AA' else 'BB')}",
        "expired": f"jwt {_expired()}",
        "expires now": "jwt " + mint_token(1, username="luffy", exp_in=-1),
        "alg none, no signature": "jwt " + mint_token(1, username="luffy", header={"alg": "none", "typ": "JWT"},
                                                    signature=""),
        "alg none, valid HS256 signature": "jwt " + mint_token(1, username="luffy",
                                                             header={"alg": "none", "typ": "JWT"}),
        "alg None capitalised": "jwt " + mint_token(1, username="luffy", header={"alg": "None", "typ": "JWT"},
                                                  signature=""),
        "alg HS512 (signed with the secret)": "jwt " + mint_token(1, username="luffy", alg="HS512",
                                                                  digest=hashlib.sha512),
        "alg HS384 (signed with the secret)": "jwt " + mint_token(1, username="luffy", alg="HS384",
                                                                  digest=hashlib.sha384),
        "alg HS512, HS256 signature": "jwt " + mint_token(1, username="luffy", alg="HS512"),
        "no alg": "jwt " + mint_token(1, username="luffy", header={"typ": "JWT"}),
        "no exp": "jwt " + mint_token(1, payload={"user_id": 1, "username": "luffy"}),
        "no user_id": "jwt " + mint_token(1, payload={"username": "luffy", "exp": now + 3600}),
        "inactive user 3": "jwt " + mint_token(3, username="usopp"),
        "unknown user 987654": "jwt " + mint_token(987654, username="ghost"),
        "user 0": "jwt " + mint_token(0, username="nobody"),
        "negative user": "jwt " + mint_token(-1, username="nobody"),
    }


BAD = _bad_headers()


@pytest.mark.parametrize("case", sorted(BAD))
def test_rejected_tokens_get_exact_401(client, case):
    value = BAD[case]
    headers = {} if value is None else {"Authorization": value}
    r = client.get("/user/order", headers=headers)
    assert r.status_code == 401, (case, r.status_code, r.text[:200])
    assert r.headers.get("Content-Type") == JSON_TYPE
    assert r.headers.get("X-Request-Id")
    assert r.json() == UNAUTHORIZED
    # exactly this body, compact as the spec writes it
    assert r.text == '{"errmsg":"身份认证信息未提供或已失效","code":"unauthorized"}'


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("case", ["no header", "expired", "alg none, no signature", "inactive user 3",
                                  "forged signature (other secret)"])
def test_every_protected_endpoint_requires_a_token(client, path, case):
    value = BAD[case]
    headers = {} if value is None else {"Authorization": value}
    r = client.get(path, headers=headers)
    assert r.status_code == 401, (path, case, r.text[:200])
    assert r.headers.get("Content-Type") == JSON_TYPE
    assert r.json() == UNAUTHORIZED


def test_no_user_data_leaks_into_401(client):
    r = client.get("/user/order", headers={"Authorization": BAD["inactive user 3"]})
    assert r.status_code == 401
    assert "results" not in r.text and "usopp" not in r.text


@pytest.mark.parametrize("prefix", ["jwt", "Bearer", "JWT", "bearer"])
def test_both_prefixes_accepted(client, prefix):
    r = client.get("/user/order", headers=auth(1, prefix=prefix, username="luffy"))
    assert r.status_code == 200, r.text[:300]
    assert r.headers.get("Content-Type") == JSON_TYPE
    assert r.json()["count"] >= 1


def test_prefix_with_extra_whitespace_accepted(client):
    r = client.get("/user/order", headers={"Authorization": "jwt   " + mint_token(1, username="luffy") + "  "})
    assert r.status_code == 200, r.text[:300]


def test_token_minted_by_the_app_is_accepted(client):
    """`luffy-pay token` and our own minter agree on the format (the secret is the stack's)."""
    import subprocess
    from conftest import ENV
    out = subprocess.run([ENV["script"], ENV["stack"], "token", "1"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    tok = out.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", tok), tok
    r = client.get("/user/order", headers={"Authorization": f"jwt {tok}"})
    assert r.status_code == 200


def test_user_2_token_sees_user_2(client):
    r = client.get("/user/order?size=20", headers=auth(2, username="zoro"))
    assert r.status_code == 200
    assert r.json()["count"] == 2


# ---------------------------------------------------------------- X-Request-Id
@pytest.mark.parametrize("method,path,headers,status", [
    ("GET", "/user/order", "auth", 200),
    ("GET", "/user/order", None, 401),
    ("GET", "/healthz", None, 200),
    ("GET", "/user/order?page=abc", "auth", 400),
    ("GET", "/orders/no/such/thing", "auth", 404),
    ("DELETE", "/user/order", "auth", 405),
    ("HEAD", "/user/order", "auth", 200),
    ("GET", "/no-such-page", None, 404),          # nginx's own 404
])
def test_every_response_has_a_request_id(client, method, path, headers, status):
    hdrs = auth(1, username="luffy") if headers == "auth" else {}
    # without our own id: the server generates one
    r = client.session.request(method, BASE_URL + path, headers=hdrs, timeout=10)
    assert r.status_code == status, r.text[:200]
    generated = r.headers.get("X-Request-Id")
    assert generated and re.fullmatch(r"[A-Za-z0-9._-]{8,64}", generated), generated
    # with ours: echoed unchanged
    rid = new_request_id("echo")
    r = client.session.request(method, BASE_URL + path, headers={**hdrs, "X-Request-Id": rid}, timeout=10)
    assert r.status_code == status
    assert r.headers.get("X-Request-Id") == rid


def test_generated_request_ids_differ(client):
    ids = {client.session.get(BASE_URL + "/healthz", timeout=10).headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_insane_request_id_is_replaced(client):
    r = client.session.get(BASE_URL + "/healthz", headers={"X-Request-Id": "bad id; rm -rf /"}, timeout=10)
    assert r.status_code == 200
    rid = r.headers.get("X-Request-Id")
    assert rid and rid != "bad id; rm -rf /" and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", rid)


def test_request_id_is_logged_by_the_app(client):
    from conftest import app_log_request
    rid = new_request_id("log")
    r = client.get("/user/order", headers={**auth(1, username="luffy"), "X-Request-Id": rid})
    assert r.status_code == 200
    line = app_log_request(rid)
    assert line["status"] == "200" and line["path"] == "/user/order" and line["method"] == "GET"


def test_secret_never_logged(client):
    from conftest import APP_LOG, SETTINGS
    client.get("/user/order", headers=auth(1, username="luffy"))
    text = APP_LOG.read_text(encoding="utf-8", errors="replace")
    assert SETTINGS["LUFFY_JWT_SECRET"] not in text
    if SETTINGS.get("LUFFY_DB_PASSWORD"):
        assert SETTINGS["LUFFY_DB_PASSWORD"] not in text
