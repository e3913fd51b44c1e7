"""A patient page's first load and repeat visit, in Chromium at Pixel 7 size (SPEC §9).

Budget, for the patient's Today (/today) and the guided session (/session): the first load
(HTML, CSS, JS, icons) is at most 60 KB compressed (60,000 bytes) in at most 10 requests, and
a repeat visit downloads no static file.

The app runs as bench/lighthouse.py runs it (gunicorn, wsgi:app, a throwaway SQLite database
with the library and the demo clinic), with gunicorn's access log on, so the server's own log
says what came over the network. The bench signs in over HTTP as a demo patient with a session
due and gives each fresh browser context that cookie.

- First load: a fresh context (empty HTTP cache, no service worker), the page loaded until
  the network is quiet. Counted: every request the page itself makes. Not counted, but listed
  as background: the service worker script (/sw.js, registered by the page's JS after load),
  what the worker fetches to install (the app-shell precache) and the
  patient pages it keeps for offline use (the page's links, fetched with X-HEP-Background).
  None of that delays the page; it is what makes the next visit free.
- Size: the sum of each response body's gzip -6 size (the app sends no Content-Encoding: a
  proxy in front is expected to compress), and the raw sizes beside it. Headers not counted.
- Repeat visit, in the same context: the page again, then another patient page (/history)
  reloaded and the page once more. A static file "came over the network" when the server
  logged it; Chromium's DevTools flags (fromServiceWorker, fromDiskCache, memory cache) say
  where the page got the others. The same again in a context where service workers are
  blocked checks the HTTP cache alone (immutable, versioned URLs), for information.

    python -m bench firstload          # or: python -m bench.firstload
"""

from __future__ import annotations

import gzip
import re
import time as clock
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

from bench.lighthouse import Server, demo_site, patient_with_a_session_due
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # the browser the tests launch

BUDGET_BYTES = 60_000
BUDGET_REQUESTS = 10
BUDGET_REPEAT_STATIC = 0
PAGES = (("today", "/today"), ("session", "/session"))
OTHER_PAGE = "/history"
DEVICE = "Pixel 7"
# gunicorn's access log: method, path, status, body bytes, and the two request headers that
# mark background traffic (Service-Worker: script on the worker's script; X-HEP-Background on
# the pages the worker keeps).
ACCESS_FORMAT = "ACCESS %(m)s %(U)s %(s)s %(B)s [%({service-worker}i)s] [%({x-hep-background}i)s]"
ACCESS_LINE = re.compile(r"^ACCESS (\S+) (\S+) (\d+) (\S+) \[(.*?)\] \[(.*?)\]\s*$")
QUIET_SECONDS = 1.5
SETTLE_LIMIT = 30.0


@dataclass
class Hit:
    """One request the server logged."""

    method: str
    path: str
    status: int
    background: bool


class AccessLog:
    """The server's access log, read from a mark."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> list[Hit]:
        with self.path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode("utf-8", "replace")
        hits = []
        for line in text.splitlines():
            match = ACCESS_LINE.match(line)
            if match:
                method, path, status, _size, worker, background = match.groups()
                quiet = worker not in ("", "-") or background not in ("", "-")
                hits.append(Hit(method, path, int(status), quiet))
        return hits


@dataclass
class Fetched:
    """One response of a first load: its path, what it is, raw and gzip -6 sizes."""

    path: str
    kind: str
    status: int
    raw: int
    gz: int
    note: str = ""


@dataclass
class FirstLoad:
    page: list[Fetched] = field(default_factory=list)
    background: list[Fetched] = field(default_factory=list)
    server_hits: list[Hit] = field(default_factory=list)
    controlled: bool = False

    @property
    def raw(self) -> int:
        return sum(f.raw for f in self.page)

    @property
    def gz(self) -> int:
        return sum(f.gz for f in self.page)


@dataclass
class Repeat:
    """One repeat step: the static files the server sent, and where the page got each one."""

    label: str
    over_network: list[Hit] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"


def session_cookies(header: str, origin: str) -> list[dict]:
    """The Cookie header sign_in() returned, as Playwright cookies for the origin."""
    cookies = []
    for part in header.split("; "):
        name, _, value = part.partition("=")
        if name:
            cookies.append({"name": name, "value": value, "url": origin})
    return cookies


def settle(page: Page, requests: list, log: AccessLog) -> None:
    """Wait until neither the browser nor the server has seen a request for QUIET_SECONDS:
    the page and its service worker's background work are done."""
    last = (len(requests), log.mark())
    still_since = clock.monotonic()
    deadline = still_since + SETTLE_LIMIT
    while clock.monotonic() < deadline:
        page.wait_for_timeout(200)
        now = (len(requests), log.mark())
        if now != last:
            last, still_since = now, clock.monotonic()
        elif clock.monotonic() - still_since >= QUIET_SECONDS:
            return
    print(f"  (still busy after {SETTLE_LIMIT:.0f} s; measuring anyway)")


def kind_of(request: Request) -> str:
    path = urlsplit(request.url).path
    if path.startswith("/static/"):
        suffix = Path(path).suffix.lstrip(".")
        return {"js": "JS", "css": "CSS", "png": "icon", "svg": "icon"}.get(suffix, suffix)
    return {"document": "HTML"}.get(request.resource_type, request.resource_type)


def fetched(request: Request, note: str = "") -> Fetched:
    path = urlsplit(request.url).path
    response = request.response()
    if response is None:
        return Fetched(path, kind_of(request), 0, 0, 0, note or "failed")
    try:
        body = response.body()
    except Exception:  # a redirect, or a body Chromium did not keep
        body = b""
    gz = len(gzip.compress(body, compresslevel=6, mtime=0)) if body else 0
    return Fetched(path, kind_of(request), response.status, len(body), gz, note)


def is_background(request: Request) -> str:
    """Why a request is the service worker's, not the page's ("" when it is the page's)."""
    if request.service_worker is not None:
        return "worker"
    headers = request.headers
    if urlsplit(request.url).path == "/sw.js" or headers.get("service-worker") == "script":
        return "worker script"
    if "x-hep-background" in headers:
        return "kept page"
    return ""


def first_load(context: BrowserContext, url: str, log: AccessLog, worker: bool) -> FirstLoad:
    page = context.pages[0]
    seen: list[Request] = []

    def record(request: Request) -> None:
        seen.append(request)

    context.on("request", record)
    mark = log.mark()
    page.goto(url, wait_until="networkidle")
    if urlsplit(page.url).path != urlsplit(url).path:
        raise RuntimeError(f"{url} led to {page.url}")
    if worker:
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    settle(page, seen, log)
    load = FirstLoad(server_hits=log.since(mark))
    load.controlled = bool(page.evaluate("!!(navigator.serviceWorker || {}).controller"))
    context.remove_listener("request", record)
    for request in seen:
        why = is_background(request)
        if why:
            load.background.append(fetched(request, why))
        else:
            load.page.append(fetched(request))
    return load


def watch_sources(page: Page) -> dict[str, dict]:
    """DevTools Network events for the page: request id -> url and where the answer came from."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen: dict[str, dict] = {}

    def sent(event: dict) -> None:
        seen.setdefault(event["requestId"], {})["url"] = event["request"]["url"]

    def cached(event: dict) -> None:
        seen.setdefault(event["requestId"], {})["memory"] = True

    def received(event: dict) -> None:
        response = event["response"]
        entry = seen.setdefault(event["requestId"], {})
        entry["url"] = response["url"]
        entry["disk"] = response.get("fromDiskCache", False)
        entry["worker"] = response.get("fromServiceWorker", False)
        entry["prefetch"] = response.get("fromPrefetchCache", False)

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.requestServedFromCache", cached)
    cdp.on("Network.responseReceived", received)
    return seen


def source(entry: dict) -> str:
    if entry.get("worker"):
        return "service worker"
    if entry.get("memory"):
        return "memory cache"
    if entry.get("disk"):
        return "disk cache"
    if entry.get("prefetch"):
        return "prefetch cache"
    return "network"


def repeat(page: Page, label: str, steps: list[str | None], log: AccessLog) -> Repeat:
    """Visit each URL in `steps` (None: reload the page) and see where the static files came
    from."""
    events = watch_sources(page)
    requests: list[Request] = []

    def record(request: Request) -> None:
        requests.append(request)

    page.context.on("request", record)
    mark = log.mark()
    for step in steps:
        if step is None:
            page.reload()
        else:
            page.goto(step)
        page.wait_for_load_state("networkidle")
    settle(page, requests, log)
    page.context.remove_listener("request", record)
    result = Repeat(label)
    result.over_network = [hit for hit in log.since(mark) if hit.path.startswith("/static/")]
    for entry in events.values():
        path = urlsplit(entry.get("url", "")).path
        if path.startswith("/static/") and "disk" in entry:
            result.sources[path] = source(entry)
    return result


def measure_page(browser, device: dict, origin: str, cookie: str, path: str, log: AccessLog):
    """With the service worker: first load, then the repeat visits. Then, in a context where
    service workers are blocked, the repeat visit through the HTTP cache alone."""
    url = f"{origin}{path}"
    other = f"{origin}{OTHER_PAGE}"
    results = {}
    for worker in (True, False):
        context = browser.new_context(**device, service_workers="allow" if worker else "block")
        context.set_default_timeout(15_000)
        context.add_cookies(session_cookies(cookie, origin))
        page = context.new_page()
        try:
            load = first_load(context, url, log, worker)
            again = repeat(page, "again", [url], log)
            after = repeat(page, f"after {OTHER_PAGE} + reload", [other, None, url], log)
        finally:
            context.close()
        results["worker" if worker else "http-cache"] = (load, [again, after])
    return results


def main() -> bool:
    folder, env, logins = demo_site("hep-bench-firstload-")
    server_env = {
        **env,
        "GUNICORN_CMD_ARGS": f"--access-logfile - --access-logformat '{ACCESS_FORMAT}'",
    }
    server_log = folder / "gunicorn.log"
    server = Server(server_env, server_log)
    log = AccessLog(server_log)
    results = {}
    try:
        cookie = patient_with_a_session_due(server.origin, logins["patient"])
        with sync_playwright() as playwright:
            device = dict(playwright.devices[DEVICE])
            device.pop("default_browser_type", None)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for label, path in PAGES:
                    results[label] = measure_page(browser, device, server.origin, cookie, path, log)
            finally:
                browser.close()
    except RuntimeError as problem:  # not signed in, a bounce to /login or /today
        print(f"  could not measure: {problem}")
        return False
    finally:
        server.stop()
    print(f"  Chromium at {DEVICE} size; server log in {server_log}")
    return verdict(results)


def verdict(results: dict) -> bool:
    """The budget table, then each page's first load file by file and its repeat visits."""
    within = True
    print(
        f"  {'page':<9}{'requests':>14}{'compressed (gzip -6)':>30}{'raw':>11}"
        f"{'repeat: static files over the network':>40}"
    )
    for label, runs in results.items():
        load, repeats = runs["worker"]
        over_network = sum(len(r.over_network) for r in repeats)
        ok_requests = len(load.page) <= BUDGET_REQUESTS
        ok_bytes = load.gz <= BUDGET_BYTES
        ok_repeat = over_network <= BUDGET_REPEAT_STATIC
        within &= ok_requests and ok_bytes and ok_repeat
        print(
            f"  {label:<9}"
            f"{f'{len(load.page)} (≤ {BUDGET_REQUESTS}) ' + ('ok' if ok_requests else 'OVER'):>14}"
            f"{f'{kb(load.gz)} (≤ {kb(BUDGET_BYTES)}) ' + ('ok' if ok_bytes else 'OVER'):>30}"
            f"{kb(load.raw):>11}"
            f"{f'{over_network} (≤ {BUDGET_REPEAT_STATIC}) ' + ('ok' if ok_repeat else 'OVER'):>40}"
        )
    print("  The server sends no Content-Encoding: sizes are what a compressing proxy would send.")
    for label, runs in results.items():
        load, repeats = runs["worker"]
        print(f"  {label}, first load, the page's requests:")
        for f in sorted(load.page, key=lambda f: -f.gz):
            print(f"    {f.kind:<9}{f.status:>4} {kb(f.gz):>9} gz {kb(f.raw):>9} raw  {f.path}")
        page_paths = [f.path for f in load.page]
        server_page = [h for h in load.server_hits if not h.background and h.path in page_paths]
        print(
            f"    the server logged {len(load.server_hits)} requests: {len(server_page)} "
            f"of them the page's, the rest the service worker's"
        )
        if load.background:
            total = sum(f.gz for f in load.background)
            print(
                f"  {label}, background (not counted: the service worker installing and keeping"
                f" pages for offline, after the page has loaded), {len(load.background)}"
                f" requests, {kb(total)} gz:"
            )
            for f in load.background:
                print(f"    {f.note:<14}{f.status:>4} {kb(f.gz):>9} gz  {f.path}")
        print(f"    the page is controlled by the service worker afterwards: {load.controlled}")
        for name, (_load, steps) in runs.items():
            where = "with the service worker" if name == "worker" else "service workers blocked"
            for step in steps:
                sources: dict[str, int] = {}
                for how in step.sources.values():
                    sources[how] = sources.get(how, 0) + 1
                got = ", ".join(f"{n} from {how}" for how, n in sorted(sources.items()))
                print(
                    f"  {label}, repeat {step.label} ({where}): "
                    f"{len(step.over_network)} static files over the network; "
                    f"the page's static files: {got or 'none requested'}"
                )
                for hit in step.over_network:
                    print(f"    {hit.status} {hit.path}")
    print(f"  {'within' if within else 'OVER'} the SPEC §9 first-load budget")
    return within


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
