"""The web UI's resource tree at 10,000 instances, timed in a real browser.

Sets up a throwaway node (``cloudenv init``, then ``cloudenv serve`` on a free loopback port,
serving the UI's build), seeds it as ``api_latency.py`` does (``bench/seeding.py``: 100
datacenters, 1,000 nodes, 10,000 instances, 500 of them on one node), signs in, and drives
Debian's chromium (headless, through Playwright) to time, each over ``--runs`` fresh pages:

- navigation → tree interactive: from the start of loading ``/`` to the first tree row in
  the page (the rows carry their handlers from their first render);
- expanding the node with 500 instances: from the click on its chevron to its instance rows
  in the page, the node's list fetched from the API in between (a fresh page each run,
  so nothing is cached);
- filtering the tree by name: from the text landing in "Filter by name" to the rows showing
  just the match and its ancestors, the server's name search (``GET /api/v1/instances
  ?name_contains=``) answered in between. "first" is the first filter of a page; "next" is
  a second name typed after it. The name lands at once (a paste), which the filter asks
  the server about at once; letters typed one by one are asked about once they pause.

Times are read in the page (``performance.now()``), so the harness's round trips don't
count; the Resource Timing of the API calls made meanwhile says how much of each figure
was spent waiting for the server. Prints each run's figures, then medians against the
goals (1 s, 300 ms, 300 ms).

    .venv/bin/python bench/ui_tree.py [--runs 5] [--instances 10000]
        [--hot-node-instances 500] [--nodes 1000] [--datacenters 100] [--keep]

Needs the UI built (``make ui``) and chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, ViewportSize, sync_playwright

from cloudenv.ui import UI_DIR_ENV, ui_dir

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.seeding import Seeded, seed  # noqa: E402
from tests.support.served_node import (  # noqa: E402
    ADMIN_PASSWORD,
    ServedNodeError,
    Server,
    init_node,
    start_server,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
START_TIMEOUT = 60.0  # seconds for the daemon to answer its healthcheck
WAIT_MS = 30_000  # the longest one step may take before the run is called failed
GOALS_MS = {"navigation → tree interactive": 1000.0, "expand 500": 300.0, "filter": 300.0}

# Installed before any page script runs: notes when the first tree row enters the page.
TREE_READY_SCRIPT = """
new MutationObserver((_changes, observer) => {
  if (document.querySelector('[role="treeitem"]')) {
    window.__treeReadyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

# In the page: resolves when `ready()` holds, checked on each frame, then one more frame
# (the one that paints the rows); returns the milliseconds since `start`.
UNTIL = (
    """
const until = (ready, start) => new Promise((resolve, reject) => {
  const limit = start + WAIT_MS;
  const check = () => {
    if (ready()) requestAnimationFrame(() => resolve(performance.now() - start));
    else if (performance.now() > limit) reject(new Error("timed out"));
    else requestAnimationFrame(check);
  };
  check();
});
// When the last API answer whose URL holds `part`, asked for since `start`, had arrived
// (ms after `start`): how much of a figure the server and the network took.
const apiEnd = (start, part) => {
  const ends = performance.getEntriesByType("resource")
    .filter((e) => e.startTime >= start && e.name.includes(part))
    .map((e) => e.responseEnd - start);
  return ends.length ? Math.max(...ends) : null;
};
"""
).replace("WAIT_MS", str(WAIT_MS))

READY_SCRIPT = (
    """
async () => {
"""
    + UNTIL
    + """
  await until(() => window.__treeReadyAt !== undefined, 0);
  return { total: window.__treeReadyAt, api: apiEnd(0, "/api/v1/organizations") };
}
"""
)

EXPAND_SCRIPT = (
    """
async (nodeKey) => {
"""
    + UNTIL
    + """
  const row = document.querySelector(`[data-key="${nodeKey}"]`);
  const start = performance.now();
  row.querySelector(".ce-tree__toggle").click();
  const total = await until(
    () => document.querySelector('[role="treeitem"][data-key^="instance:"]'), start);
  return { total, api: apiEnd(start, "/api/v1/instances?") };
}
"""
)

# Types the whole name at once (as a paste), through the input's own value setter so React
# sees an ordinary input event; done when the rows are the match and its 4 ancestors.
FILTER_SCRIPT = (
    """
async (name) => {
"""
    + UNTIL
    + """
  const input = document.querySelector('input[aria-label="Filter by name"]');
  const start = performance.now();
  input.focus();
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(input, name);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  const total = await until(() => {
    const rows = document.querySelectorAll('[role="treeitem"]');
    return rows.length === 5 && rows[4].getAttribute("aria-label") === name;
  }, start);
  return { total, api: apiEnd(start, "/api/v1/instances?") };
}
"""
)


def sign_in(context: BrowserContext, url: str) -> None:
    """Sign the browser context in through the API (the cookie lands in its jar)."""
    response = context.request.post(
        url + "/api/v1/auth/login", data={"username": "pceadmin", "password": ADMIN_PASSWORD}
    )
    if not response.ok:
        raise SystemExit(f"signing in failed: {response.status} {response.text()}")


@dataclass
class Figure:
    total: float  # ms
    api: float | None  # ms of it until the API's last answer had arrived, if one was asked


def figure(value: Any) -> Figure:
    return Figure(float(value["total"]), None if value["api"] is None else float(value["api"]))


def open_tree(context: BrowserContext, path: str) -> tuple[Page, Figure]:
    """A fresh page at ``path``; (the page, from navigation start to the first tree row)."""
    page = context.new_page()
    page.add_init_script(TREE_READY_SCRIPT)
    page.goto(path)
    # Polled by a promise in the page: wait_for_function evaluates strings, which the UI's
    # CSP (no 'unsafe-eval') forbids.
    return page, figure(page.evaluate(READY_SCRIPT))


def measure(context: BrowserContext, seeded: Seeded, run: int) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    page, figures["navigation → tree interactive"] = open_tree(context, "/")
    page.close()

    node_key = f"node:{seeded.hot_node}"
    page, _ = open_tree(context, f"/nodes/{seeded.hot_node}")
    page.wait_for_selector(f'[data-key="{node_key}"]', timeout=WAIT_MS)
    figures["expand 500"] = figure(page.evaluate(EXPAND_SCRIPT, node_key))
    page.close()

    names = seeded.instance_names or []
    page, _ = open_tree(context, "/")
    first, second = names[-1 - 2 * run], names[len(names) // 2 + run]
    figures["filter (first)"] = figure(page.evaluate(FILTER_SCRIPT, first))
    figures["filter (next)"] = figure(page.evaluate(FILTER_SCRIPT, second))
    page.close()
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh pages per figure (5)")
    parser.add_argument("--datacenters", type=int, default=100, help="seeded (100)")
    parser.add_argument("--nodes", type=int, default=1000, help="seeded (1000)")
    parser.add_argument("--instances", type=int, default=10000, help="seeded (10000)")
    parser.add_argument(
        "--hot-node-instances", type=int, default=500, help="of them on one node (500)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.nodes < 1 or args.datacenters < 1:
        parser.error("--runs, --nodes and --datacenters must be at least 1")
    if not 1 <= args.hot_node_instances <= args.instances:
        parser.error("--hot-node-instances must be between 1 and --instances")
    if args.instances < args.hot_node_instances + 2 * args.runs:
        parser.error("too few instances for a distinct filter per run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (ui_dir() / "index.html").is_file():
        raise SystemExit(f"The web UI is not built ({ui_dir()} has no index.html): make ui")
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"No chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    work = Path(tempfile.mkdtemp(prefix="cloudenv-bench-ui-"))
    daemon: Server | None = None
    try:
        print("cloudenv web UI benchmark: the resource tree")
        print(
            f"  machine: os.cpu_count()={os.cpu_count()}  {platform.machine()}  "
            f"Python {platform.python_version()}  (chromium shares it with the daemon)"
        )
        print(
            f"  seed: {args.datacenters} datacenters, {args.nodes} nodes, {args.instances} "
            f"instances ({args.hot_node_instances} on one node); {args.runs} runs, "
            f"chromium headless {VIEWPORT['width']}x{VIEWPORT['height']}"
        )
        started = time.perf_counter()
        try:
            node = init_node(work)
            if UI_DIR_ENV in os.environ:  # the node's environment is otherwise hermetic
                node.env[UI_DIR_ENV] = os.environ[UI_DIR_ENV]
            seeded = seed(
                node.path, args.datacenters, args.nodes, args.instances, args.hot_node_instances
            )
            daemon = start_server(
                node, extra_args=["--log-level", "warning"], start_timeout=START_TIMEOUT
            )
        except ServedNodeError as exc:
            raise SystemExit(str(exc)) from None
        print(f"  set-up: init + seed + serve {time.perf_counter() - started:.1f} s")

        runs: list[dict[str, Figure]] = []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(
                base_url=daemon.url, ignore_https_errors=True, viewport=VIEWPORT
            )
            sign_in(context, daemon.url)
            # One untimed pass loads the UI's files into the browser's cache, as any but a
            # user's very first visit finds them.
            page, _ = open_tree(context, "/")
            page.close()
            print()
            for run in range(args.runs):
                figures = measure(context, seeded, run)
                runs.append(figures)
                print(
                    f"  run {run + 1}: "
                    + "  ".join(f"{k} {v.total:.0f} ms" for k, v in figures.items()),
                    flush=True,
                )
            browser.close()

        print()
        print("| figure | median | min | max | of which API (median) | goal |")
        print("|---|---|---|---|---|---|")
        for name in runs[0]:
            values = [run[name].total for run in runs]
            apis = [a for run in runs if (a := run[name].api) is not None]
            api = f"{statistics.median(apis):.0f} ms" if apis else "none asked"
            goal = next(ms for key, ms in GOALS_MS.items() if name.startswith(key))
            verdict = "met" if statistics.median(values) < goal else "MISSED"
            print(
                f"| {name} | {statistics.median(values):.0f} ms | {min(values):.0f} ms | "
                f"{max(values):.0f} ms | {api} | < {goal:.0f} ms ({verdict}) |"
            )
        return 0
    finally:
        if daemon is not None:
            code = daemon.stop(signal.SIGINT)
            if code != 0:
                tail = daemon.log().splitlines()[-10:]
                print(f"  cloudenv serve exited with {code}; its log ends:", *tail, sep="\n    ")
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
