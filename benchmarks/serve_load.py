"""Requests per second that ``broadcast serve`` answers on this machine, 127.0.0.1 only.

Starts the real ``broadcast serve`` process (uvicorn, one worker, a SQLite ledger, the
Maildir transport so confirmation emails are real files), runs one ``broadcast run`` so
/healthz has a pass to report, then for a few seconds each keeps CONCURRENCY requests in
flight against:

* ``GET /healthz`` -- a ledger read per request;
* ``POST /subscribe`` -- a sign-up of a new address each time: form token check, rate limits,
  a ledger write, then (after the answer) the confirmation email claimed, written and
  recorded in the ledger;
* ``POST /unsubscribe?token=...`` -- RFC 8058 one-click, a suppression written each time.

The load generator shares the machine (and its cores) with the server, so these are floors.

    python benchmarks/serve_load.py [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from broadcaster.channels.email import tokens

UNSUBSCRIBE_SECRET = "bench-unsubscribe-secret-0123456789"
CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
channels:
  email:
    transport: maildir
    maildir: "{root}/outbox"
    from: "Glow Aesthetics <hello@glow-aesthetics.example>"
    subscribers: "{root}/subscribers.csv"
    unsubscribe_url: "https://notices.example/unsubscribe?token={{token}}"
database: "sqlite:///{root}/ledger.db"
serve:
  public_url: "http://127.0.0.1:{port}"
  port: {port}
  rate_limit: {{per_ip_per_hour: 100000, per_address_per_hour: 100}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def hammer(
    seconds: float, concurrency: int, one: Callable[[int], Awaitable[int]]
) -> tuple[float, dict[int, int]]:
    """(requests per second, status -> count) with ``concurrency`` requests in flight."""
    counter = itertools.count()
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def lane() -> None:
        while time.monotonic() < deadline:
            status = await one(next(counter))
            statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return sum(statuses.values()) / (time.monotonic() - started), statuses


async def measure(url: str, seconds: float, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        page = (await http.get("/subscribe")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf, page

        async def healthz(_i: int) -> int:
            return (await http.get("/healthz")).status_code

        async def signup(i: int) -> int:
            data = {"csrf": csrf.group(1), "email": f"load{i}@example.com"}
            return (await http.post("/subscribe", data=data)).status_code

        async def one_click(i: int) -> int:
            token = tokens.make(f"gone{i}@example.com", UNSUBSCRIBE_SECRET)
            body = {"List-Unsubscribe": "One-Click"}
            return (await http.post(f"/unsubscribe?token={token}", data=body)).status_code

        print(f"| endpoint ({concurrency} in flight, {seconds:g} s each) | requests/s | answers |")
        print("|---|---|---|")
        for name, one in (
            ("GET /healthz", healthz),
            ("POST /subscribe (new address each time)", signup),
            ("POST /unsubscribe one-click", one_click),
        ):
            rate, statuses = await hammer(seconds, concurrency, one)
            print(f"| {name} | {rate:,.0f} | {statuses} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, port = Path(tmp), free_port()
        (root / "subscribers.csv").write_text("email,name\n", encoding="utf-8")
        config = root / "broadcaster.yaml"
        config.write_text(CONFIG.format(root=root, port=port), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        env |= {
            "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
            "BROADCAST_SERVE_SECRET": "bench-serve-secret-0123456789-abcdefghij",
        }
        command = [sys.executable, "-m", "broadcaster"]
        subprocess.run(
            [*command, "run", "-c", str(config)], env=env, cwd=root, check=True, capture_output=True
        )
        server = subprocess.Popen(
            [*command, "serve", "-c", str(config)],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            asyncio.run(measure(url, args.seconds, args.concurrency))
            mails = len(list((root / "outbox/new").glob("*")))
            print(f"\nconfirmation emails written: {mails}")
        finally:
            server.terminate()
            print(f"broadcast serve exited with {server.wait(timeout=30)} on SIGTERM")


if __name__ == "__main__":
    main()
