"""The API contract, docs/openapi.yaml (README, "API contract"): a valid OpenAPI 3.1 document,
served by nginx at /openapi.yaml, naming exactly the routes of Sources/LuffyPay/Routes.swift, and
true of the running service: schemathesis sends every operation its examples and generated cases
through nginx and checks each answer's status, content type, headers and body against it.

The budget of the schemathesis run is LUFFY_API_FUZZ_EXAMPLES cases per operation and phase
(default 100, about a minute here), with the seed LUFFY_API_FUZZ_SEED (default fixed, so that
`make test` is repeatable; `make fuzz-api` runs longer with a new seed each time).
"""

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
import schemathesis
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import BASE_URL, ROOT, STACK_DIR, assert_audit_clean, auth, db_rows, grant_credit, mint_token
from ordering import Throwaway

SPEC_PATH = ROOT / "docs" / "openapi.yaml"
ROUTES_SWIFT = ROOT / "Sources" / "LuffyPay" / "Routes.swift"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def load_spec():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def test_spec_is_valid_openapi_3_1():
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema


def test_spec_is_served_by_nginx():
    r = requests.get(BASE_URL + "/openapi.yaml", timeout=10)
    assert r.status_code == 200, r.text[:200]
    assert r.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert r.headers.get("X-Request-Id")
    assert r.content == SPEC_PATH.read_bytes()
    head = requests.head(BASE_URL + "/openapi.yaml", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"] == "application/yaml; charset=utf-8"


def examples_with_schemas(node, pointer=""):
    """(where, JSON pointer of the schema, example) for every example of a parameter, body or
    answer in the spec."""
    if isinstance(node, dict):
        if isinstance(node.get("schema"), dict):
            where = pointer or "/"
            if "example" in node:
                yield where, pointer + "/schema", node["example"]
            for name, example in (node.get("examples") or {}).items():
                yield f"{where}/examples/{name}", pointer + "/schema", example["value"]
        for key, value in node.items():
            yield from examples_with_schemas(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from examples_with_schemas(value, f"{pointer}/{i}")


def test_every_example_matches_its_schema():
    spec = load_spec()
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(spec, default_specification=DRAFT202012))
    found = list(examples_with_schemas(spec))
    assert len(found) > 30, len(found)
    wrong = []
    for where, schema_pointer, example in found:
        validator = Draft202012Validator({"$ref": "urn:openapi#" + schema_pointer}, registry=registry)
        wrong += [f"{where}: {error.message}" for error in validator.iter_errors(example)]
    assert not wrong, wrong


def registered_routes():
    """(method, path) of every route Routes.swift registers, groups' prefixes applied, path
    parameters written `{}` (the names differ: `:number` is `{order_number}`)."""
    prefixes = {"router": ""}
    routes = set()
    text = ROUTES_SWIFT.read_text(encoding="utf-8")
    group = re.compile(r'(\w+)\.group\((?:"([^"]*)")?[^{]*\{\s*(\w+)\s+in')
    route = re.compile(r'(\w+)\.(get|post|put|delete)\("([^"]*)"')
    for line in text.splitlines():
        if m := group.search(line):
            prefixes[m.group(3)] = prefixes[m.group(1)] + (m.group(2) or "")
        elif m := route.search(line):
            path = prefixes[m.group(1)] + m.group(3)
            routes.add((m.group(2), re.sub(r":\w+", "{}", path)))
    return routes


def test_spec_names_exactly_the_routes_of_the_app():
    routes = registered_routes()
    assert len(routes) >= 12, routes  # the parser found the file's routes
    documented = {(method, re.sub(r"\{\w+\}", "{}", path))
                  for path, item in load_spec()["paths"].items() for method in item if method in HTTP_METHODS}
    assert documented == routes, (f"only in the spec: {sorted(documented - routes)}; "
                                  f"only in Routes.swift: {sorted(routes - documented)}")


def test_every_error_code_of_the_app_is_in_the_spec():
    """Each `code` the app or nginx can answer appears in the contract (per operation there)."""
    spec_text = SPEC_PATH.read_text(encoding="utf-8")
    sources = [*sorted((ROOT / "Sources").rglob("HTTPErrors.swift")), ROOT / "Sources" / "FastCGI" / "APIError.swift"]
    codes = set()
    for source in sources:
        codes |= set(re.findall(r'APIError\(\s*\d{3},\s*"([a-z_]+)"', source.read_text(encoding="utf-8")))
    codes |= set(re.findall(r'"code":"([a-z_]+)"', (ROOT / "nginx" / "luffy-pay.conf").read_text(encoding="utf-8")))
    assert len(codes) > 40, codes
    missing = sorted(code for code in codes if not re.search(rf"\b{code}\b", spec_text))
    assert not missing, f"codes the service answers that docs/openapi.yaml does not name: {missing}"


# Answers for the dev data's user 1 (paid orders with coupons and credit, every coupon state):
# richer than what the fuzz user builds up, and read-only.
DEV_DATA_READS = [
    ("/user/order", "/user/order?page=1&size=5"),
    ("/user/order", "/user/order?page=2&size=5"),
    ("/user/order", "/user/order?page=1&size=20&status=1"),
    ("/user/order", "/user/order?size=99"),
    ("/orders/list", "/orders/list/?page=3&size=5"),
    ("/orders/pay/choices", "/orders/pay/choices"),
    ("/coupon", "/coupon"),
    ("/coupon/enable", "/coupon/enable?course_ids=1,3"),
    ("/coupon/enable", "/coupon/enable?course_ids=1,2,3,4,5,8"),
    ("/coupon/enable", "/coupon/enable?course_ids=6"),
    ("/payments/alipay/{order_number}", "/payments/alipay/202601010000000199999999"),
    ("/healthz", "/healthz"),
    ("/metrics", "/metrics"),
]


def test_dev_data_answers_conform_to_the_spec(client):
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    for template, url in DEV_DATA_READS:
        r = client.get(url, headers=auth(1))
        # raises with the schema's complaint when the answer does not conform (status, body, headers)
        schema[template]["GET"].validate_response(r)
    unauthorized = client.get("/coupon", headers={"Authorization": "jwt nope"})
    assert unauthorized.status_code == 401
    schema["/coupon"]["GET"].validate_response(unauthorized)


def test_a_405_names_the_methods_of_the_path(client):
    """RFC 9110 §15.5.6 (found by schemathesis' unsupported_method check): a path asked with a
    method it does not take answers 405 with `Allow`; a concrete path is not its template's
    (`PUT /orders/list` is no cancel of an order `list`)."""
    for method, path, allow in [("DELETE", "/healthz", "GET, HEAD"), ("GET", "/orders", "POST"),
                                ("PATCH", "/orders/12/", "PUT"), ("PUT", "/orders/list", "GET, HEAD"),
                                ("GET", "/payments/alipay/notify", "POST"), ("POST", "/coupon", "GET, HEAD")]:
        r = client.request(method, path, headers=auth(2))
        assert r.status_code == 405, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "method_not_allowed"
        assert r.headers.get("Allow") == allow, (method, path, r.headers)
    assert "Allow" not in client.get("/nothing/here").headers


def fuzz_user():
    """A user of its own for the run (schemathesis creates and cancels orders): credit and one of
    each dev coupon, so that coupons and credit are exercised; its rows stay for the audit."""
    rows = Throwaway()
    try:
        uid = rows.user(credit=2000)
        grant_credit(rows.conn, uid, 2000)
        for coupon_id in (1, 2, 3, 4, 5):
            rows.coupon_log(uid, coupon_id)
    finally:
        rows.conn.close()
    return uid


def summary_line(output):
    """schemathesis' count of test cases and its closing line (`=== N passed in Xs ===`, or the
    failures and errors)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    closing = [line for line in lines if re.match(r"^=+ .* =+$", line)]
    cases = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line == "Test cases:"]
    summary = closing[-1] if closing else (lines[-1] if lines else "(no output)")
    return f"{cases[-1]}; {summary}" if cases else summary


def run_schemathesis(capsys, token, name, phases, *options):
    """schemathesis through nginx with `token`, its report in STACK_DIR/<name>; asserts it found no failure."""
    examples = int(os.environ.get("LUFFY_API_FUZZ_EXAMPLES", "100"))
    # A fixed seed by default; empty (make fuzz-api) draws one, printed so that a failure can be repeated.
    seed = os.environ.get("LUFFY_API_FUZZ_SEED", "20261130") or str(random.randrange(2**31))
    out_dir = STACK_DIR / name
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(SCHEMATHESIS), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", BASE_URL + "/openapi.yaml", "--url", BASE_URL,
        "--phases", phases,
        "--max-examples", str(examples),
        "--header", f"Authorization: jwt {token}",
        # One worker: hypothesis 6.170's lambda descriptions are not thread-safe on Python 3.11.
        "--workers", "1",
        "--request-timeout", "15",
        "--generation-database", "none",
        "--report", "junit", "--report-dir", str(out_dir),
        "--seed", seed,
        "--no-color",
        *options,
    ]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=out_dir)
    took = time.monotonic() - started
    output = run.stdout + run.stderr
    (out_dir / "output.txt").write_text(output, encoding="utf-8")
    with capsys.disabled():
        print(f"\n{name} ({examples} examples per operation and phase, seed {seed}, "
              f"{took:.0f} s): {summary_line(output)}")
    assert run.returncode == 0, f"schemathesis failed (exit {run.returncode}), log in {out_dir}:\n{output[-20000:]}"


def test_schemathesis_finds_no_failure(capsys):
    run_schemathesis(capsys, mint_token(fuzz_user(), exp_in=4 * 3600), "schemathesis",
                     "examples,coverage,fuzzing,stateful")
    # What the run wrote (orders created and cancelled) keeps the books right.
    assert_audit_clean()


def test_schemathesis_as_staff_on_the_reconciliation(capsys):
    """The staff's reconciliation endpoints past the 403 the run above meets: as a staff user of
    its own, only those paths (the refund desk's writes would act on other tests' refunds). No
    stateful phase: no link of docs/openapi.yaml is among them."""
    rows = Throwaway()
    try:
        uid = rows.user()
        db_rows(rows.conn, "UPDATE ly_users SET is_staff = 1 WHERE id = %s", (uid,))
    finally:
        rows.conn.close()
    run_schemathesis(capsys, mint_token(uid, exp_in=4 * 3600), "schemathesis-staff", "examples,coverage,fuzzing",
                     "--include-path-regex", "^/admin/reconciliation")
