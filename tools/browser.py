#!/usr/bin/env python3
"""Opens a page in headless Chromium and reports what happened, as JSON.

The report's tests (cli/tests/report.rs) and its load benchmark
(tools/bench_report.py) drive the browser through this script: it talks the
DevTools protocol over a pipe (--remote-debugging-pipe), standard library
only. Chromium is Debian's, installed by tools/install_chromium.sh when
missing.

usage: browser.py URL [--eval JS]... [--screenshot PNG] [--size W H]
                      [--settle MS] [--repeat N]

Prints one JSON object:
  errors    script exceptions, console errors, failed loads (each a string)
  warnings  console warnings
  timings   per load: load_ms (navigation start to load event end, from
            the page's own clock) and ready_ms (window.mslimeReady, when the
            page had drawn its grid), repeated --repeat times in one browser
  evals     per --eval, in order (run after the last load): the value of the
            expression (awaited if it is a promise), or {"exception": text}
"""

import argparse
import base64
import fcntl
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def chromium():
    """Path of the chromium binary, installing it if needed."""
    out = subprocess.run(
        [os.path.join(HERE, "install_chromium.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


class Browser:
    """One headless Chromium, one page, spoken to over a pipe."""

    def __init__(self, width, height):
        self.profile = tempfile.TemporaryDirectory(prefix="mslime-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # Chromium reads commands on fd 3 and answers on fd 4.
            # Through fds above 4 first: either pipe may already sit on 3
            # or 4, and dup2 onto itself would keep close-on-exec.
            r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [
            chromium(),
            "--headless=new",
            "--remote-debugging-pipe",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--user-data-dir=" + self.profile.name,
            "--window-size=%d,%d" % (width, height),
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses root otherwise.
        self.proc = subprocess.Popen(
            args + ["about:blank"],
            preexec_fn=fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("MSLIME_CHROMIUM_LOG", os.devnull), "w"),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.messages = queue.Queue()
        self.events = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                self.messages.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self.messages.put(json.loads(raw))

    def _next(self, deadline):
        try:
            message = self.messages.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            raise TimeoutError("the browser did not answer in time")
        if message is None:
            raise RuntimeError("the browser exited")
        return message

    def call(self, method, params=None, session=False, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, timeout=60):
        """Waits for an event (one already seen but not consumed counts)."""
        for i, event in enumerate(self.events):
            if event.get("method") == method and not event.get("_used"):
                event["_used"] = True
                return event
        deadline = time.time() + timeout
        while True:
            event = self._next(deadline)
            self.events.append(event)
            if event.get("method") == method:
                event["_used"] = True
                return event

    def settle(self, millis):
        """Collects events for `millis` milliseconds."""
        deadline = time.time() + millis / 1000
        while time.time() < deadline:
            try:
                self.events.append(self._next(deadline))
            except TimeoutError:
                break

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            return {"exception": text}
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.profile.cleanup()

    def problems(self):
        """Script errors, console errors and failed loads; console warnings."""
        errors, warnings, urls = [], [], {}
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            elif method == "Runtime.exceptionThrown":
                d = params["exceptionDetails"]
                errors.append("exception: %s" % (d.get("exception", {}).get("description") or d.get("text")))
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                if params["type"] in ("error", "assert"):
                    errors.append("console.%s: %s" % (params["type"], text))
                elif params["type"] == "warning":
                    warnings.append(text)
            elif method == "Log.entryAdded":
                entry = params["entry"]
                if entry["level"] == "error":
                    errors.append("log: %s %s" % (entry.get("text"), entry.get("url", "")))
                elif entry["level"] == "warning":
                    warnings.append(entry.get("text"))
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append("failed load: %s (%s)" % (urls.get(params["requestId"], "?"), params.get("errorText")))
        return errors, warnings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--eval", action="append", default=[], dest="evals")
    parser.add_argument("--screenshot")
    parser.add_argument("--size", nargs=2, type=int, default=[1280, 800])
    parser.add_argument("--settle", type=int, default=500, help="ms to wait after each load")
    parser.add_argument("--repeat", type=int, default=1, help="loads of the page")
    args = parser.parse_args()
    url = args.url
    if "://" not in url:
        path, _, fragment = url.partition("#")
        url = "file://" + os.path.abspath(path) + ("#" + fragment if fragment else "")
    browser = Browser(*args.size)
    try:
        timings = []
        for _ in range(args.repeat):
            browser.call("Page.navigate", {"url": url}, session=True)
            browser.wait_for("Page.loadEventFired")
            browser.settle(args.settle)
            timings.append(
                browser.evaluate(
                    "({load_ms: performance.getEntriesByType('navigation')[0].loadEventEnd,"
                    " ready_ms: window.mslimeReady ?? null})"
                )
            )
        evals = [browser.evaluate(e) for e in args.evals]
        browser.settle(args.settle)
        if args.screenshot:
            shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=True)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        errors, warnings = browser.problems()
    finally:
        browser.close()
    json.dump({"errors": errors, "warnings": warnings, "timings": timings, "evals": evals}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
