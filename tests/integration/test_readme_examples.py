"""The README's shell examples run as written (README, "HTTP API"), and `make status` / `make token`
tell when the stack is down (README, "Two commands").

The examples: every ```sh / ```bash / ```console block under the "HTTP API" heading, in README
order, in one bash (`set -euo pipefail`: a command that fails or a variable no earlier example set
fails the test), from the repository's folder, against the test stack. What the README shows for
the dev stack is mapped onto the test stack by SUBSTITUTIONS, applied alike to the examples and to
the answers they document, and by nothing else:

* `127.0.0.1:8080` / `127.0.0.1:8090`: the test stack's nginx / sandbox;
* `make up`: nothing (the test stack is up);
* `make -s token [USER=n]`: `make -s token STACK=test USER=<n's stand-in>`;
* user 1, the dev data's demo user the examples sign in as, is stood in for by a user made for this
  run with user 1's credit (500, granted in the ledger) and a copy of each of its unused coupons, so
  that the examples start from what they start from on a fresh dev stack (user 1 itself is used by
  other tests, which check its rows); `"user_coupon_id":N` names the copy of user 1's coupon N. The
  stand-in's rows stay after the test: its purchase granted a dev course and counted a student, and
  the audit (run at the end) must still hold.

Each `curl` of the examples goes through a bash function that calls curl with `-sS -D` (the
response head, for the status) and records the body it prints; nothing else changes. Every call
must have its documented answer: a comment `# <status> [<body>]` on the call's line or after it
(lines `#   …` right below continue it), in the order of the calls. The body is JSON compared as
`matches()` says, or text compared as a pattern; where the README writes `…` the value varies (ids,
times, order numbers, links, tokens, counts) and is not compared: `…` as a value matches anything,
inside a string any run of characters, as an array's last element any further elements; an object
shows only some of its members (`, …}` says so) and the others are not compared.
"""

import json
import os
import re
import subprocess
from decimal import Decimal

from conftest import BASE_URL, ROOT, assert_audit_clean, db_rows, grant_credit, stack
from ordering import Throwaway

SANDBOX_URL = os.environ.get("LUFFY_TEST_SANDBOX_URL", "").rstrip("/")
ANY = "\0any"   # what `…` as a value (or an array's last element) becomes when the answer is parsed
DEMO_USER = 1


# ---------------------------------------------------------------- the README's examples
def api_section():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## HTTP API\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def example_blocks():
    """The shell blocks of the API section, in order: (commands, documented answers as (status, rest))."""
    blocks = []
    for lang, body in re.findall(r"^```(sh|bash|console)\n(.*?)^```", api_section(), flags=re.S | re.M):
        lines = body.splitlines()
        if lang == "console":   # `$ command` lines; the rest is what they print
            lines = [ln[2:] if ln.startswith("$ ") else "# " + ln for ln in lines]
        answers, answer_open = [], False
        for line in lines:
            continuation = re.match(r"^#\s{2,}(\S.*)$", line)
            if answer_open and continuation:
                status, rest = answers[-1]
                answers[-1] = (status, rest + " " + continuation.group(1))
                continue
            m = re.search(r"(?:^|\s)#\s+(\d{3})(?:\s+(.*))?$", line)
            answer_open = bool(m)
            if m:
                answers.append((int(m.group(1)), (m.group(2) or "").strip()))
        blocks.append(("\n".join(lines), answers))
    assert blocks, "no shell examples under the README's HTTP API heading"
    return blocks


# ---------------------------------------------------------------- the documented answers
def parse_answer(text):
    """The JSON value at the start of `text` with the README's `…` marks turned into ANY; what follows
    it (prose such as `; 503 while the database is down`) is not part of the answer."""
    out, nesting, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':   # a string, copied as it is (a `…` in it is a pattern, see matches())
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "…" and nesting[-1:] == ["{"] and "".join(out).rstrip()[-1:] != ":":
            # members not shown: the mark goes, with the comma before it (or after it, when first)
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            else:
                i = text.index(",", i) if text[i + 1:].lstrip().startswith(",") else i
        elif c == "…":
            out.append(json.dumps(ANY))
        else:
            if c in "{[":
                nesting.append(c)
            elif c in "}]":
                nesting.pop()
            out.append(c)
        i += 1
    value, _ = json.JSONDecoder(parse_float=Decimal).raw_decode("".join(out))
    return value


def matches(expected, actual):
    if expected == ANY:
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if expected and expected[-1] == ANY:
            head = expected[:-1]
            return len(actual) >= len(head) and all(matches(e, a) for e, a in zip(head, actual))
        return len(actual) == len(expected) and all(matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, str):
        return isinstance(actual, str) and re.fullmatch(".*".join(map(re.escape, expected.split("…"))), actual,
                                                        flags=re.S) is not None
    if isinstance(expected, bool) or expected is None:
        return actual is expected
    return not isinstance(actual, bool) and isinstance(actual, (int, Decimal)) and actual == expected


# ---------------------------------------------------------------- the dev stack → the test stack
def substitutions(stand_ins, coupon_copies):
    host = BASE_URL.removeprefix("http://")
    sandbox = SANDBOX_URL.removeprefix("http://")
    assert host and sandbox, (BASE_URL, SANDBOX_URL)
    return [
        (r"127\.0\.0\.1:8080\b", lambda m: host),
        (r"127\.0\.0\.1:8090\b", lambda m: sandbox),
        (r"^make up$", lambda m: "true  # make up: the test stack is up"),
        (r"\bmake -s token(?: USER=(\d+))?",
         lambda m: f"make -s token STACK=test USER={stand_ins[int(m.group(1) or DEMO_USER)]}"),
        (r'"user_coupon_id":(\d+)', lambda m: f'"user_coupon_id":{coupon_copies[int(m.group(1))]}'),
    ]


def substitute(text, table):
    for pattern, replace in table:
        text = re.sub(pattern, replace, text, flags=re.M)
    return text


def make_stand_in():
    """A user as the dev data's user 1 starts: credit 500 with its ledger grant, its unused coupons.
    Returns (user id, {user 1's coupon-log id: the copy's id})."""
    t = Throwaway()
    try:
        unused = db_rows(t.conn, "SELECT id, coupon_id FROM ly_coupon_log WHERE user_id = %s AND use_status = 0 "
                                 "AND order_id IS NULL AND is_deleted = 0 ORDER BY id", (DEMO_USER,))
        credit = db_rows(t.conn, "SELECT credit FROM ly_users WHERE id = %s", (DEMO_USER,))[0][0]
        assert unused and credit == 500, (unused, credit)
        uid = t.user(credit=credit)
        grant_credit(t.conn, uid, credit)
        return uid, {log: t.coupon_log(uid, coupon) for log, coupon in unused}
    finally:
        t.conn.close()   # no cleanup(): the rows stay (module docstring)


# Every curl of the examples: -sS and -D for the status, its body recorded, its exit status kept.
CURL_RECORDER = r'''
shopt -s inherit_errexit
curl() {
    local n
    n=$(( $(cat "$README_RECORD/count") + 1 ))
    echo "$n" >"$README_RECORD/count"
    echo "$README_BLOCK" >"$README_RECORD/$n.block"
    command curl -sS -D "$README_RECORD/$n.head" "$@" | tee "$README_RECORD/$n.body"
    return "${PIPESTATUS[0]}"
}
'''


def run_examples(blocks, table, record):
    script = ["set -euo pipefail", CURL_RECORDER]
    for i, (commands, _) in enumerate(blocks):
        script += [f"README_BLOCK={i}", substitute(commands, table)]
    (record / "count").write_text("0\n")
    out = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, README_RECORD=str(record)))
    assert out.returncode == 0, f"the README's examples stopped (exit {out.returncode}): {out.stderr}\n{out.stdout}"
    calls = []
    for n in range(1, int((record / "count").read_text()) + 1):
        statuses = re.findall(r"^HTTP/\S+ (\d{3})", (record / f"{n}.head").read_text(errors="replace"), flags=re.M)
        calls.append((int((record / f"{n}.block").read_text()), int(statuses[-1]),
                      (record / f"{n}.body").read_text(encoding="utf-8", errors="replace")))
    return calls


def test_the_readme_api_examples_run_in_order_and_answer_as_documented(tmp_path):
    user, copies = make_stand_in()
    table = substitutions({DEMO_USER: user}, copies)
    blocks = example_blocks()
    calls = run_examples(blocks, table, tmp_path)
    for i, (commands, answers) in enumerate(blocks):
        got = [(status, body) for block, status, body in calls if block == i]
        assert len(got) == len(answers), \
            f"block {i} made {len(got)} curl calls and documents {len(answers)} answers:\n{commands}"
        for (status, documented), (got_status, body) in zip(answers, got):
            documented = substitute(documented, table)
            where = f"block {i}, answer `{status} {documented}`, got {got_status} {body[:400]!r}"
            assert got_status == status, where
            if documented.startswith(("{", "[")):
                assert matches(parse_answer(documented), json.loads(body, parse_float=Decimal)), where
            elif documented:
                assert matches(documented, body.strip()), where
    # the examples bought, cancelled and paid: the books still hold
    assert_audit_clean()


def test_answer_patterns():
    """The `…` rules of the documented answers (module docstring), on their own."""
    answer = parse_answer('{"id":…,"n":"2026…","list":[{"a":1,…},…],"all":[…],"obj":{…},"x":1.50,"o":{…, "b":[1]},'
                          '"p":{"c":2,…,"d":3},"last":…}; prose')
    assert answer == {"id": ANY, "n": "2026…", "list": [{"a": 1}, ANY], "all": [ANY], "obj": {}, "x": Decimal("1.50"),
                      "o": {"b": [1]}, "p": {"c": 2, "d": 3}, "last": ANY}
    assert matches(answer, {"id": 7, "n": "20261130x", "list": [{"a": 1, "b": 2}, 3], "all": [], "obj": {"k": 1},
                            "x": Decimal("1.5"), "o": {"a": 0, "b": [1]}, "p": {"c": 2, "e": 0, "d": 3}, "last": [1],
                            "more": True})
    assert not matches(answer, {"id": 7, "n": "2025", "list": [{"a": 1}], "all": [], "obj": {}, "x": 1.5})
    assert not matches(answer, {"n": "2026", "list": [{"a": 1}], "all": [], "obj": {}, "x": 1.5})
    assert not matches({"list": [{"a": 1}]}, {"list": [{"a": 2}]})
    assert not matches({"list": [1]}, {"list": [1, 2]})
    assert not matches({"ok": 1}, {"ok": True}) and not matches({"ok": True}, {"ok": 1})
    assert matches("http://h/alipay?…", "http://h/alipay?a=1") and not matches("http://h/alipay?…", "http://x/")


# ---------------------------------------------------------------- make status / make token
def make(*args):
    """`make -s ARGS STACK=test` in the repository (the test stack: LUFFY_TEST_PORT_OFFSET is inherited)."""
    return subprocess.run(["make", "-s", "--no-print-directory", *args, "STACK=test"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def our_lines(stderr, target):
    """stderr without make's own closing line for a failed recipe (make always prints it)."""
    own = re.compile(r"^make(\[\d+\])?: \*\*\* \[Makefile:\d+: %s\] Error \d+$" % target)
    lines = stderr.splitlines()
    assert sum(bool(own.match(ln)) for ln in lines) == 1, lines
    return [ln for ln in lines if not own.match(ln)]


def test_make_status_and_token_tell_when_the_stack_is_down(restore_stack):
    up = make("status")
    assert up.returncode == 0, up
    assert [ln.split()[:2] for ln in up.stdout.splitlines()] == [
        ["mariadb", "running"], ["app", "running"], ["sandbox", "running"], ["nginx", "running"]], up.stdout
    token = make("token", "USER=1")
    assert token.returncode == 0 and token.stderr == "", token
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+\n", token.stdout), token.stdout

    stack("db-stop")   # restore_stack starts it again
    down = make("status")
    assert down.returncode != 0, down
    assert "mariadb  stopped" in down.stdout, down.stdout
    assert our_lines(down.stderr, "status") == [], down.stderr
    no_token = make("token", "USER=1")
    assert no_token.returncode != 0 and no_token.stdout == "", no_token
    assert our_lines(no_token.stderr, "token") == [
        "error: the test stack is down (its MariaDB is not running): start it with scripts/stack.sh test up"
    ], no_token.stderr
