"""deploy/luffy-pay.env.example as an operator uses it (deploy/README.md, steps 2 and 4).

The example holds every setting the service reads (the main README's Configuration table, the
readers in Sources) as lines that systemd's EnvironmentFile and a shell read alike; and the release
binary built as deploy/README.md says (`LUFFY_TEST_DEPLOY_BIN`, the static build of
scripts/deploy-check.sh; the stack's own binary when run by hand) starts from the example with only
the database, the JWT secret and the Alipay settings filled in — the test stack's — with its
listening socket on fd 0 as systemd hands it over, and answers /healthz on it. Untouched, the
example's key paths do not exist, and the service refuses to start.
"""

import os
import re
import signal
import socket
import struct
import subprocess
import time

from conftest import ENV, ROOT, SETTINGS, STACK_DIR, log_fields
from test_fastcgi_hostile import FCGI_PARAMS, begin_request, name_value, record

EXAMPLE = ROOT / "deploy" / "luffy-pay.env.example"
BINARY = os.environ.get("LUFFY_TEST_DEPLOY_BIN") or ENV["app_bin"]
WORK = STACK_DIR / "deploy-env"
# The readers of the service's settings (the sandbox's LUFFY_SANDBOX_* are not the service's).
READERS = [ROOT / "Sources" / "LuffyPay" / "Config" / "Settings.swift",
           ROOT / "Sources" / "Alipay" / "AlipaySettings.swift"]
# What an operator fills in (deploy/README.md, step 4), here with the test stack's values.
FILLED_IN = ["LUFFY_DB_SOCKET", "LUFFY_DB_USER", "LUFFY_DB_PASSWORD", "LUFFY_DB_NAME", "LUFFY_JWT_SECRET",
             "LUFFY_ALIPAY_APP_ID", "LUFFY_ALIPAY_GATEWAY", "LUFFY_ALIPAY_APP_PRIVATE_KEY",
             "LUFFY_ALIPAY_PUBLIC_KEY", "LUFFY_ALIPAY_SELLER_ID", "LUFFY_ALIPAY_RETURN_URL",
             "LUFFY_ALIPAY_NOTIFY_URL"]
# A line both systemd (EnvironmentFile) and `set -a; . file` (spawn-fcgi) read as the same value.
PLAIN_LINE = re.compile(r"^(LUFFY_[A-Z_]+)=([A-Za-z0-9_./:,@+-]*)$")


def example_lines():
    return [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def readme_configuration_keys():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Configuration\n"):]
    section = section[:section.index("\n## ", 1)]
    return set(re.findall(r"^\| `(LUFFY_[A-Z_]+)` \|", section, re.M))


def test_the_example_holds_every_setting_as_plain_lines():
    values = {}
    for line in example_lines():
        m = PLAIN_LINE.match(line)
        assert m, f"{EXAMPLE.name}: not a plain KEY=VALUE line: {line!r}"
        assert m.group(1) not in values, f"{m.group(1)} twice"
        values[m.group(1)] = m.group(2)
    documented = readme_configuration_keys()
    read = {key for path in READERS for key in re.findall(r'"(LUFFY_[A-Z_]+)"', path.read_text(encoding="utf-8"))}
    assert "LUFFY_ALIPAY_APP_PRIVATE_KEY" in read and "LUFFY_DB_HOST" in read, read
    assert documented == read, f"README's Configuration table vs the readers: {documented ^ read}"
    assert set(values) == read, f"missing from the example: {read - set(values)}; unknown: {set(values) - read}"


def fill_in(path, settings):
    """The example with the FILLED_IN keys set to `settings`' values, written to `path` (0600)."""
    lines, seen = [], set()
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        key = line.partition("=")[0]
        if not line.startswith("#") and key in settings:
            line = f"{key}={settings[key]}"
            seen.add(key)
        lines.append(line)
    assert seen == set(settings), f"not in the example: {set(settings) - seen}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def start(env_file, name):
    """`luffy-pay serve` as deploy/README.md runs it without systemd (spawn-fcgi): the env file
    sourced with `set -a` into an otherwise empty environment, the listening socket on fd 0.
    Returns (process, listening socket, path of its stderr)."""
    sock_path = WORK / f"{name}.sock"
    sock_path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock_path))
    listener.listen(128)
    err_path = WORK / f"{name}.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            ["env", "-i", "bash", "-c", 'set -a; . "$1"; set +a; exec "$2" serve', "serve", str(env_file), BINARY],
            stdin=listener.fileno(), stdout=err, stderr=err)
    return proc, listener, err_path


def fcgi_get(sock_path, path, request_id, timeout):
    """One GET straight to the FastCGI socket, as nginx sends it: (stdout bytes, END_REQUEST app status)."""
    params = b"".join(name_value(k, v) for k, v in [
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", path), (b"DOCUMENT_URI", path), (b"QUERY_STRING", b""),
        (b"HTTP_X_REQUEST_ID", request_id)])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock_path))
        s.sendall(begin_request() + record(FCGI_PARAMS, params) + record(FCGI_PARAMS) + record(5))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    stdout, app_status, i = b"", None, 0
    while i + 8 <= len(data):
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[i:i + 8])
        content = data[i + 8:i + 8 + clen]
        if rtype == 6:
            stdout += content
        elif rtype == 3:
            app_status = struct.unpack(">I", content[:4])[0]
        i += 8 + clen + plen
    return stdout, app_status


def stop(proc, timeout=15):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_a_service_started_from_the_filled_in_example_answers_healthz():
    WORK.mkdir(exist_ok=True)
    env_file = WORK / "luffy-pay.env"
    fill_in(env_file, {key: SETTINGS[key] for key in FILLED_IN})
    proc, listener, err_path = start(env_file, "filled-in")
    try:
        # The socket accepts at once (as systemd's does); the request waits in its backlog until
        # the service has loaded its keys and connected to MariaDB.
        stdout, app_status = fcgi_get(WORK / "filled-in.sock", b"/healthz", b"it-deploy-env-1", timeout=30)
        assert proc.poll() is None, f"exited {proc.returncode}: {err_path.read_text()[-2000:]}"
        assert stdout.startswith(b"Status: 200"), stdout[:300]
        assert stdout.endswith(b'{"status":"ok"}'), stdout[-100:]
        assert app_status == 0
    finally:
        rc = stop(proc)
        listener.close()
    assert rc == 0, f"serve exited {rc} on SIGTERM: {err_path.read_text()[-2000:]}"
    lines = [log_fields(line) for line in err_path.read_text(encoding="utf-8").splitlines()]
    request = [f for f in lines if f.get("msg") == "request" and f.get("request_id") == "it-deploy-env-1"]
    assert len(request) == 1 and request[0]["status"] == "200" and request[0]["path"] == "/healthz", lines[-10:]


def test_the_untouched_example_refuses_to_start():
    """Fail closed: the example's key paths exist only once the operator installed the keys."""
    WORK.mkdir(exist_ok=True)
    proc, listener, err_path = start(EXAMPLE, "untouched")
    try:
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        exited = proc.poll()
    finally:
        stop(proc)
        listener.close()
    err = err_path.read_text(encoding="utf-8")
    assert exited is not None and exited > 0, f"still running or exit {exited}: {err[-2000:]}"
    assert "/etc/luffy-pay/keys/app_private_key.pem" in err, err[-2000:]
