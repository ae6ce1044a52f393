"""Side by side: broadcaster against the bare clients, whole processes, one table (issue 17).

Every figure is a whole process timed from spawn to exit (a cron job pays its start-up and
shutdown too), the median of ``--repeat`` runs taken in turn (A B A B ...), so a machine
whose speed drifts affects both sides alike; the ratio is broadcaster's over the reference's.

- email: ``broadcast run`` with N subscribers (CSV, SQLite ledger, SMTP pool) against a bare
  aiosmtplib ``sendmail`` loop over the same number of connections (benchmarks/email_fanout.py:
  its sink, in its own process, and its bare loop), for each sink (with and without
  PIPELINING, holding each reply 0 or 20 ms) and each connection count;
- webhooks: ``broadcast run`` posting one notice to U signed webhook URLs, against Apprise
  (``json://`` URLs, one ``notify()``) and a bare httpx loop sharded over 10 clients x 5
  requests at once, all to an HTTP sink that holds each reply 20 ms, listening on 10 ports
  (10 "hosts", the URLs spread over them);
- start-up: ``broadcast --help`` and ``broadcast validate`` on the example config, against
  ``python -c pass``, and the import of the libraries every run loads (the floor under a
  run's start-up);
- memory: the peak RSS of ``broadcast run`` (``wait4``) for each N of the email runs.

    .venv/bin/python benchmarks/side_by_side.py                       # N=2000, quick
    .venv/bin/python benchmarks/side_by_side.py -n 2000 -n 20000 --connections 16 --connections 64
    .venv/bin/python benchmarks/side_by_side.py --only startup
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import email_fanout

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = [PYTHON, "-c", "from broadcaster.cli import main; main()"]
NOW = email_fanout.NOW
HOSTS = 10  # ports of the HTTP sink, each a "host" for per-host limits
WEBHOOK_SECRET = "benchmark-webhook-secret-0123456789abcdef"
WEBHOOK_CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
channels:
  webhook:
    urls:
{urls}
database: "sqlite:///{database}"
"""


@dataclass(frozen=True)
class Run:
    wall: float
    rss_mb: float
    code: int


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """One whole process: wall time from spawn to exit, its peak RSS, its exit code."""
    with (cwd / "child.log").open("w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        print((cwd / "child.log").read_text(encoding="utf-8")[-2000:], file=sys.stderr)
    return Run(wall, usage.ru_maxrss / 1024, code)


def alternate(
    repeat: int, a: Callable[[], Run], b: Callable[[], Run]
) -> tuple[list[Run], list[Run]]:
    runs_a, runs_b = [], []
    for _ in range(repeat):
        runs_a.append(a())
        runs_b.append(b())
    return runs_a, runs_b


def median_wall(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, figure: str, ours: str, reference: str, ratio: str) -> None:
        self.rows.append((figure, ours, reference, ratio))
        print(f"  {figure}: {ours} | {reference} | {ratio}", flush=True)

    def show(self) -> None:
        print()
        print("| figure | broadcaster | reference in the same run | ratio |")
        print("|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


# -- email ------------------------------------------------------------------------------------


def smtp_sink(latency_ms: float, pipelining: bool) -> tuple[multiprocessing.Process, int, Any]:
    counters = email_fanout.Counters(
        multiprocessing.Value("l", 0),
        multiprocessing.Value("d", 0.0),
        multiprocessing.Value("d", 0.0),
    )
    port = multiprocessing.Value("l", 0)
    sink = multiprocessing.Process(
        target=serve_smtp, args=(port, counters, latency_ms / 1000, pipelining), daemon=True
    )
    sink.start()
    while not port.value:
        time.sleep(0.05)
    return sink, int(port.value), counters


def serve_smtp(port: Any, counters: Any, latency: float, pipelining: bool) -> None:
    """email_fanout's sink (it offers PIPELINING), or aiosmtpd as it is (it does not)."""
    if pipelining:
        email_fanout.serve(port, counters, latency)
    else:
        _serve_plain(port, counters, latency)


def _serve_plain(port: Any, counters: Any, latency: float) -> None:
    from aiosmtpd.smtp import SMTP

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if latency:
                await asyncio.sleep(latency)
            with counters.count.get_lock():
                counters.count.value += 1
            return "250 2.0.0 Ok: queued"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Counting(), hostname="sink.test", loop=loop), "127.0.0.1", 0
        )
        port.value = server.sockets[0].getsockname()[1]
        await asyncio.Event().wait()

    asyncio.run(main())


def email_row(
    work: Path,
    table: Table,
    n: int,
    connections: int,
    latency: float,
    pipelining: bool,
    repeat: int,
    reference: bool = True,
) -> list[Run]:
    sink, port, counters = smtp_sink(latency, pipelining)
    try:

        def ours() -> Run:
            counters.reset()
            run = broadcaster_email(work, port, n, connections)
            assert counters.count.value == n, f"broadcaster: {counters.count.value} of {n}"
            return run

        def bare() -> Run:
            counters.reset()
            command = [
                PYTHON,
                email_fanout.__file__,
                "--bare-child",
                str(port),
                str(n),
                str(connections),
            ]
            run = timed(command, work)
            assert counters.count.value == n, f"bare: {counters.count.value} of {n}"
            return run

        if not reference:  # memory only: the reference is measured elsewhere
            return [ours() for _ in range(repeat)]
        runs, refs = alternate(repeat, ours, bare)
    finally:
        sink.terminate()
    rate, ref = n / median_wall(runs), n / median_wall(refs)
    sink_name = f"{'PIPELINING' if pipelining else 'no PIPELINING'}, {latency:g} ms"
    table.add(
        f"email, N={n:,}, {connections} connections ({sink_name})",
        f"{rate:,.0f} msg/s",
        f"bare aiosmtplib, {connections} connections: {ref:,.0f}",
        f"**{rate / ref:.2f}×**",
    )
    return runs


def broadcaster_email(work: Path, port: int, n: int, connections: int) -> Run:
    subscribers = work / f"subscribers-{n}.csv"
    if not subscribers.exists():
        with subscribers.open("w", encoding="utf-8") as out:
            out.write("email,name\n")
            out.writelines(f"subscriber{i}@example.com,Subscriber {i}\n" for i in range(n))
    config = work / "email.yaml"
    text = email_fanout.CONFIG.format(
        port=port,
        subscribers=subscribers,
        connections=connections,
        per_connection=1000,
        database=work / f"ledger-{time.monotonic_ns()}.db",
        templates=ROOT / "templates",
        languages="",  # the site's one language, as the bare loop's one message
    )
    config.write_text(text.replace("    messages_per_connection: 1000\n", ""), encoding="utf-8")
    env = {**os.environ, "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": email_fanout.SECRET}
    return timed([*CLI, "run", "--config", str(config), "--now", NOW], work, env)


# -- webhooks ---------------------------------------------------------------------------------


def http_sink(latency_ms: float) -> tuple[multiprocessing.Process, list[int], Any]:
    ports = multiprocessing.Array("l", HOSTS)
    count = multiprocessing.Value("l", 0)
    sink = multiprocessing.Process(
        target=serve_http, args=(ports, count, latency_ms / 1000), daemon=True
    )
    sink.start()
    while not all(ports[:]):
        time.sleep(0.05)
    return sink, list(ports[:]), count


def serve_http(ports: Any, count: Any, latency: float) -> None:
    """A keep-alive HTTP/1.1 receiver: reads each request, holds it ``latency``, answers 200."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if latency:
                    await asyncio.sleep(latency)
                with count.get_lock():
                    count.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        for i in range(HOSTS):
            server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
            ports[i] = server.sockets[0].getsockname()[1]
        await asyncio.Event().wait()

    asyncio.run(main())


def urls_for(ports: list[int], count: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/hook/{i}" for i in range(count)]


def webhook_rows(work: Path, table: Table, count: int, latency: float, repeat: int) -> None:
    sink, ports, received = http_sink(latency)
    urls = urls_for(ports, count)
    config = work / "webhook.yaml"
    try:
        lines = "\n".join(f'      - "{u}"' for u in urls)

        def ours() -> Run:
            database = work / f"hooks-{time.monotonic_ns()}.db"
            config.write_text(
                WEBHOOK_CONFIG.format(urls=lines, database=database), encoding="utf-8"
            )
            env = {**os.environ, "BROADCAST_WEBHOOK_SECRET": WEBHOOK_SECRET}
            received.value = 0
            run = timed([*CLI, "run", "--config", str(config), "--now", NOW], work, env)
            assert received.value == count, f"broadcaster: {received.value} of {count}"
            return run

        def child(kind: str) -> Callable[[], Run]:
            def go() -> Run:
                received.value = 0
                ports_arg = ",".join(map(str, ports))
                run = timed([PYTHON, __file__, f"--{kind}-child", ports_arg, str(count)], work)
                assert received.value == count, f"{kind}: {received.value} of {count}"
                return run

            return go

        runs, apprise_runs = alternate(repeat, ours, child("apprise"))
        more, httpx_runs = alternate(repeat, ours, child("httpx"))
    finally:
        sink.terminate()
    rate = count / median_wall(runs + more)
    by_apprise, by_httpx = count / median_wall(apprise_runs), count / median_wall(httpx_runs)
    table.add(
        f"webhooks, {count} URLs on {HOSTS} hosts, {latency:g} ms",
        f"{rate:,.0f} posts/s",
        f"Apprise (json:// URLs): {by_apprise:,.0f}; bare httpx (10 clients × 5): {by_httpx:,.0f}",
        f"**{rate / by_apprise:.2f}×**, {rate / by_httpx:.2f}×",
    )


def apprise_child(ports: list[int], count: int) -> None:
    import apprise

    notifier = apprise.Apprise()
    for url in urls_for(ports, count):
        notifier.add(url.replace("http://", "json://"))
    assert notifier.notify(title="Glow Aesthetics", body="Closed 26–27 Mar.")


async def httpx_child(ports: list[int], count: int) -> None:
    import httpx

    urls = urls_for(ports, count)
    clients = [httpx.AsyncClient() for _ in range(10)]
    queue = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in queue:
            response = await client.post(urls[i], json={"text": "Closed 26–27 Mar."})
            response.raise_for_status()

    await asyncio.gather(*(worker(clients[w % 10]) for w in range(50)))
    for client in clients:
        await client.aclose()


# -- start-up ---------------------------------------------------------------------------------


#: what every ``broadcast run`` imports whatever its config: the floor under its start-up
LIBRARIES = "asyncio, typer, rich.table, pydantic, sqlalchemy, jinja2, babel.dates, yaml"


def startup_rows(work: Path, table: Table, repeat: int) -> None:
    project = work / "example"
    for folder in ("config", "templates"):
        shutil.copytree(ROOT / folder, project / folder, dirs_exist_ok=True)
    bare = [timed([PYTHON, "-c", "pass"], project) for _ in range(repeat)]
    floor = [timed([PYTHON, "-c", f"import {LIBRARIES}"], project) for _ in range(repeat)]
    table.add(
        f"`import {LIBRARIES}` (what every run loads), median of {repeat}",
        f"{median_wall(floor):.2f} s (peak RSS {max(r.rss_mb for r in floor):.0f} MB)",
        f"`python -c pass`: {median_wall(bare):.2f} s",
        "—",
    )
    for name, args in (("broadcast --help", ["--help"]), ("broadcast validate", ["validate"])):
        timed([*CLI, *args], project)  # warm the caches (.pyc, the example's ledger)
        runs = [timed([*CLI, *args], project) for _ in range(repeat)]
        table.add(
            f"`{name}` (example config), median of {repeat}",
            f"{median_wall(runs):.2f} s (peak RSS {max(r.rss_mb for r in runs):.0f} MB)",
            f"`python -c pass`: {median_wall(bare):.2f} s",
            "—",
        )


# -- driver -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("-n", type=int, action="append", help="subscribers (repeatable; 2000)")
    parser.add_argument("--connections", type=int, action="append", help="repeatable (16)")
    parser.add_argument("--latency-ms", type=float, action="append", help="repeatable (20)")
    parser.add_argument("--no-pipelining", action="store_true", help="also a sink without it")
    parser.add_argument("--urls", type=int, default=300, help="webhook URLs (300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, in turn (3)")
    parser.add_argument(
        "--memory-only", action="store_true", help="email: broadcaster's peak RSS, no reference"
    )
    parser.add_argument(
        "--only", action="append", choices=("email", "webhooks", "startup"), help="repeatable"
    )
    args = parser.parse_args()
    parts = args.only or ["startup", "webhooks", "email"]
    # An installed wheel carries its modules' bytecode (pip compiles it), as the references'
    # libraries do; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would compile ~80 of
    # broadcaster's modules from source at every run, a cost no installed copy pays.
    compileall.compile_dir(ROOT / "broadcaster", quiet=1)
    table = Table()
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
        work = Path(tmp)
        if "startup" in parts:
            startup_rows(work, table, max(args.repeat, 5))
        if "webhooks" in parts:
            webhook_rows(work, table, args.urls, 20.0, args.repeat)
        if "email" in parts:
            memory: dict[int, float] = {}
            for pipelining in (True, False) if args.no_pipelining else (True,):
                for latency in args.latency_ms or [20.0]:
                    for n in args.n or [2000]:
                        for connections in args.connections or [16]:
                            runs = email_row(
                                work,
                                table,
                                n,
                                connections,
                                latency,
                                pipelining,
                                args.repeat,
                                reference=not args.memory_only,
                            )
                            memory[n] = max(memory.get(n, 0.0), *(r.rss_mb for r in runs))
            for n, rss in sorted(memory.items()):
                table.add(f"peak RSS, `broadcast run`, N={n:,}", f"{rss:.0f} MB", "—", "—")
    load = os.getloadavg()
    print(f"load average afterwards {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    table.show()


def child_main() -> bool:
    if len(sys.argv) == 4 and sys.argv[1] in ("--apprise-child", "--httpx-child"):
        ports, count = [int(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
        if sys.argv[1] == "--apprise-child":
            apprise_child(ports, count)
        else:
            asyncio.run(httpx_child(ports, count))
        return True
    return False


if __name__ == "__main__":
    if not child_main():
        main()
