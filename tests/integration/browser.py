"""Debian's headless `chromium` for the browser tests (scripts/deps.sh installs it).

* `dump_dom(url, budget_ms)`: the page's DOM once it has settled (`--dump-dom` after
  `--virtual-time-budget`: timers run in virtual time, which stands still while a request is in
  flight, so back-off waits cost no real time).
* `Browser`: chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
  commands go in on its fd 3, answers and events come out on its fd 4, JSON separated by NUL), for
  what the command line cannot do: a given viewport (phone or desktop), screenshots, a look at the
  layout, and requests held back so that a page's loading state can be seen.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-sync", "--disable-background-networking",
         "--disable-component-update", "--mute-audio", "--hide-scrollbars"]


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no chromium on PATH: scripts/deps.sh installs Debian's chromium (make test runs it)")


def dump_dom(url, budget_ms, window=(390, 844)):
    """The DOM of `url` after `budget_ms` of virtual time (a fresh profile every time)."""
    with tempfile.TemporaryDirectory(prefix="luffy-chromium-") as profile:
        cmd = [chromium_binary(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
               f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"chromium exited {out.returncode} on {url}:\n{out.stderr[-2000:]}"
    return out.stdout


class Browser:
    """One headless chromium with one tab, over the DevTools protocol. Use as a context manager."""

    def __init__(self):
        self.profile = tempfile.TemporaryDirectory(prefix="luffy-chromium-")
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()
        # chromium reads fd 3 and writes fd 4: hand it the pipe ends under numbers that cannot
        # collide with 3 and 4 while bash moves them there (dash takes one-digit numbers only).
        child_in = fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(answers_w, fcntl.F_DUPFD, 10)
        for fd in (commands_r, answers_w):
            os.close(fd)
        cmd = ["bash", "-c", f'exec "$0" "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-',
               chromium_binary(), *FLAGS, f"--user-data-dir={self.profile.name}", "--window-size=1280,800",
               "--remote-debugging-pipe", "about:blank"]
        # its chatter goes to a file: a pipe nobody reads could fill and stall it
        self.log = open(os.path.join(self.profile.name, "chromium.log"), "wb")
        self.process = subprocess.Popen(cmd, pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=self.log)
        os.close(child_in)
        os.close(child_out)
        self.commands, self.answers = commands_w, answers_r
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.send("Page.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.session = None
            self.send("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self.commands, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        self.profile.cleanup()

    # ---------------------------------------------------------------- the protocol
    def _message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.answers], [], [], max(left, 0))
            if not ready:
                raise AssertionError("chromium did not answer in time")
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise AssertionError(f"chromium closed its pipe (exit {self.process.poll()})")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self.next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def pump(self, seconds):
        """Collect events for a while (paused requests, …)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                answer = self._message(deadline)
                if "method" in answer:
                    self.events.append(answer)
        except AssertionError:
            if self.process.poll() is not None:
                raise

    # ---------------------------------------------------------------- the page
    def open(self, url, width, height, mobile=False):
        """`url` in a viewport of width × height CSS pixels at scale 1 (a phone's: `mobile`)."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        result = self.send("Page.navigate", {"url": url})
        assert not result.get("errorText"), f"{url}: {result}"

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30):
        """Polls `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except AssertionError:
                value = None   # the page is still being replaced
            if value:
                return value
            assert time.monotonic() < deadline, f"still not true after {timeout} s: {expression}"
            time.sleep(0.1)

    def screenshot(self, path):
        """The viewport as a PNG file."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def platform_fonts(self, selector):
        """The font families chromium drew the text of the first `selector` node with."""
        self.send("DOM.enable")
        self.send("CSS.enable")
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"no {selector} in the page"
        fonts = self.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {f["familyName"]: f["glyphCount"] for f in fonts}

    # ---------------------------------------------------------------- requests held back
    def hold_requests(self, url_pattern):
        """Requests whose URL matches `url_pattern` (`*` wildcards) wait until `release_requests`."""
        self.send("Fetch.enable", {"patterns": [{"urlPattern": url_pattern, "requestStage": "Request"}]})

    def held_requests(self):
        return [e["params"] for e in self.events if e.get("method") == "Fetch.requestPaused"]

    def release_requests(self):
        for request in self.held_requests():
            self.send("Fetch.continueRequest", {"requestId": request["requestId"]})
        self.events = [e for e in self.events if e.get("method") != "Fetch.requestPaused"]
        self.send("Fetch.disable")
