"""How fast does one notice reach N subscribers, compared with a bare aiosmtplib loop?

Starts an SMTP sink (aiosmtpd, 127.0.0.1, its own process so it has its own CPU) that counts
messages and can hold its reply to each message for a few milliseconds, as a real server
does. Then, against that sink:

1. broadcaster: a real ``broadcast run`` (subprocess) with N generated subscribers in a CSV,
   the SQLite ledger, and ``connections`` pooled SMTP connections;
2. bare: a plain aiosmtplib loop (``SMTP.sendmail``) over the same number of connections,
   sending the same N personalised messages (built by byte substitution: as cheap as it
   gets), with no list, ledger or retries;
3. transport only: broadcaster's SMTP transport without the list or the ledger, to show what
   the bookkeeping costs apart from the protocol.

Rates are measured by the sink, from its first to its last message, so start-up does not
count. Peak RSS is each sending process's own high-water mark (``wait4``).

    .venv/bin/python benchmarks/email_fanout.py                      # N=10,000, 0 ms
    .venv/bin/python benchmarks/email_fanout.py --latency-ms 20
    .venv/bin/python benchmarks/email_fanout.py -n 100000 --only broadcaster
    .venv/bin/python benchmarks/email_fanout.py --only broadcaster --languages en,zh,ms,ta

With ``--languages`` the site has those languages and each subscriber one of them (the list's
``language`` column, in turn): each notice is then one message per language, each walking the
whole list for its readers, and the rate is the whole notice's.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = "2024-03-20T09:00:00+08:00"
SECRET = "benchmark-unsubscribe-secret-0123456789"
CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
{languages}closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
channels:
  email:
    transport: smtp
    host: "127.0.0.1"
    port: {port}
    security: none
    from: "Glow Aesthetics <hello@glow-aesthetics.example>"
    subscribers: "{subscribers}"
    unsubscribe_url: "https://www.glow-aesthetics.example/unsubscribe?token={{token}}"
    connections: {connections}
    messages_per_connection: {per_connection}
database: "sqlite:///{database}"
templates: "{templates}"
"""


# -- the sink -------------------------------------------------------------------------------


@dataclass
class Counters:
    count: Synchronized  # type: ignore[type-arg]
    first: Synchronized  # type: ignore[type-arg]
    last: Synchronized  # type: ignore[type-arg]

    def reset(self) -> None:
        self.count.value, self.first.value, self.last.value = 0, 0.0, 0.0

    def rate(self) -> float:
        span = self.last.value - self.first.value
        return (self.count.value - 1) / span if span > 0 else 0.0


def serve(port: Any, counters: Counters, latency: float) -> None:
    from aiosmtpd.smtp import SMTP

    class Counting:
        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if latency:
                await asyncio.sleep(latency)
            now = time.perf_counter()
            with counters.count.get_lock():
                counters.count.value += 1
                if counters.first.value == 0.0:
                    counters.first.value = now
                counters.last.value = now
            return "250 2.0.0 Ok: queued"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = Counting()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.test", loop=loop), "127.0.0.1", 0
        )
        port.value = server.sockets[0].getsockname()[1]
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the contenders -------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    code: int
    rss_mb: float
    cpu_s: float  # user + system time of the sending process, start-up included


def run_broadcaster(
    work: Path, port: int, n: int, connections: int, languages: tuple[str, ...] = ()
) -> Result:
    subscribers = work / f"subscribers-{n}-{len(languages)}.csv"
    if not subscribers.exists():
        with subscribers.open("w", encoding="utf-8") as out:
            out.write("email,name,language\n")
            for i in range(n):
                language = languages[i % len(languages)] if languages else ""
                out.write(f"subscriber{i}@example.com,Subscriber {i},{language}\n")
    database = work / f"ledger-{time.monotonic_ns()}.db"
    config = work / "broadcaster.yaml"
    config.write_text(
        CONFIG.format(
            port=port,
            subscribers=subscribers,
            connections=connections,
            per_connection=100,
            database=database,
            templates=ROOT / "templates",
            languages=f"  languages: [{', '.join(languages)}]\n" if languages else "",
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": SECRET}
    command = [sys.executable, "-c", "from broadcaster.cli import main; main()"]
    return child(work, [*command, "run", "--config", str(config), "--now", NOW], env)


def run_bare(work: Path, port: int, n: int, connections: int) -> Result:
    command = [sys.executable, __file__, "--bare-child", str(port), str(n), str(connections)]
    return child(work, command, dict(os.environ))


def run_transport(work: Path, port: int, n: int, connections: int) -> Result:
    command = [sys.executable, __file__, "--transport-child", str(port), str(n), str(connections)]
    return child(work, command, dict(os.environ))


def child(work: Path, command: list[str], env: dict[str, str]) -> Result:
    """Run a sending process; its exit code, peak RSS and CPU time."""
    with (work / "child.log").open("w") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        print((work / "child.log").read_text(encoding="utf-8")[-3000:], file=sys.stderr)
    return Result(process.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


async def bare_loop(port: int, n: int, connections: int) -> None:
    """The baseline: aiosmtplib's sendmail in a loop per connection, nothing else."""
    import aiosmtplib

    from broadcaster.channels.email import tokens

    template = _bare_template()
    queue = iter(range(n))

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, local_hostname="x.example"
        )
        await smtp.connect()
        for i in queue:
            address = f"subscriber{i}@example.com"
            data = (
                template.replace(b"@@NAME@@", f"Subscriber {i}".encode())
                .replace(b"@@ADDRESS@@", address.encode())
                .replace(b"@@TOKEN@@", tokens.make(address, SECRET).encode())
            )
            await smtp.sendmail("hello@glow-aesthetics.example", [address], data)
        await smtp.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


def _bare_template() -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Glow Aesthetics <hello@glow-aesthetics.example>"
    message["To"] = "@@NAME@@ <@@ADDRESS@@>"
    message["Subject"] = "Glow Aesthetics closed 26 Mar (Tue) - 27 Mar (Wed)"
    message["List-Unsubscribe"] = (
        "<https://www.glow-aesthetics.example/unsubscribe?token=@@TOKEN@@>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = "Hello @@NAME@@,\n\nAll our outlets will be closed for our annual team bonding event.\n"
    message.set_content(text + "\nUnsubscribe: https://x.example/u?t=@@TOKEN@@\n")
    message.add_alternative(
        f"<!DOCTYPE html><html><body><p>{text}</p><a href=x>Unsubscribe</a></body></html>",
        subtype="html",
    )
    return message.as_bytes()


async def transport_only(port: int, n: int, connections: int) -> None:
    """broadcaster's message building and SMTP pool, without the list or the ledger."""
    from broadcaster.channels.email import tokens
    from broadcaster.channels.email.message import Prepared, Recipient, Sender
    from broadcaster.channels.email.smtp import SmtpSettings, SmtpTransport
    from broadcaster.render import BUILTIN_TEMPLATES

    rendered = {
        "subject": "Glow Aesthetics closed 26 Mar (Tue) - 27 Mar (Wed)",
        "text": (BUILTIN_TEMPLATES / "email/closure.txt").read_text(encoding="utf-8"),
        "html": (BUILTIN_TEMPLATES / "email/closure.html").read_text(encoding="utf-8"),
    }
    prepared = Prepared(rendered, Sender("Glow Aesthetics <hello@glow-aesthetics.example>"))
    smtp = SmtpTransport(
        SmtpSettings(
            "127.0.0.1", port, "none", helo="glow-aesthetics.example", connections=connections
        )
    )
    for start in range(0, n, 64):
        batch = []
        for i in range(start, min(n, start + 64)):
            address = f"subscriber{i}@example.com"
            token = tokens.make(address, SECRET)
            recipient = Recipient(
                address, f"Subscriber {i}", f"https://x.example/u?t={token}", "mailto:u@x.example"
            )
            batch.append(prepared.build(i, f"n/announce/email/{address}/0", recipient))
        async for _envelope, outcome in smtp.send_many(batch):
            assert isinstance(outcome, dict), outcome
    await smtp.aclose()


# -- driver ---------------------------------------------------------------------------------

CONTENDERS = {
    "broadcaster": ("broadcaster run (CSV + ledger + pool)", run_broadcaster),
    "bare": ("bare aiosmtplib loop (sendmail)", run_bare),
    "transport": ("broadcaster transport only (no ledger)", run_transport),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="subscribers (default 10,000)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sink's hold per message")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1, help="runs each, alternating; best shown")
    parser.add_argument("--only", action="append", choices=sorted(CONTENDERS), help="repeatable")
    parser.add_argument("--languages", default="", help="site languages, e.g. en,zh,ms,ta")
    args = parser.parse_args()
    languages = tuple(filter(None, args.languages.split(",")))
    counters = Counters(
        multiprocessing.Value("l", 0),
        multiprocessing.Value("d", 0.0),
        multiprocessing.Value("d", 0.0),
    )
    port = multiprocessing.Value("l", 0)
    sink = multiprocessing.Process(
        target=serve, args=(port, counters, args.latency_ms / 1000), daemon=True
    )
    sink.start()
    while not port.value:
        time.sleep(0.05)
    print(
        f"N={args.n:,} messages, {args.connections} connections, "
        f"{'languages ' + ','.join(languages) + ', ' if languages else ''}"
        f"{args.latency_ms:g} ms per reply, sink on 127.0.0.1:{port.value}, "
        f"best of {args.repeat} (median in brackets)"
    )
    names = args.only or ["broadcaster", "bare", "transport"]
    rates: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, list[Result]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="email-fanout-") as tmp:
        for _round in range(args.repeat):
            for name in names:
                counters.reset()
                run = CONTENDERS[name][1]
                if name == "broadcaster" and languages:
                    run = partial(run_broadcaster, languages=languages)
                result = run(Path(tmp), port.value, args.n, args.connections)
                if result.code or counters.count.value != args.n:
                    print(f"  {name}: exit {result.code}, {counters.count.value:,} received!")
                rates[name].append(counters.rate())
                results[name].append(result)
    sink.terminate()
    for name in names:
        best, middle = max(rates[name]), statistics.median(rates[name])
        rss = max(r.rss_mb for r in results[name])
        cpu = min(r.cpu_s for r in results[name]) / args.n * 1e6
        print(
            f"  {CONTENDERS[name][0]:42} {best:7,.0f} msg/s [{middle:,.0f}]"
            f"   peak RSS {rss:6.1f} MB   CPU {cpu:5,.0f} µs/msg"
        )
    if rates.get("bare") and rates.get("broadcaster"):
        ratio = max(rates["broadcaster"]) / max(rates["bare"])
        middle = statistics.median(rates["broadcaster"]) / statistics.median(rates["bare"])
        print(f"  {'broadcaster / bare':42} {ratio:7.0%} [{middle:.0%}]")


def child_main() -> bool:
    if len(sys.argv) == 5 and sys.argv[1] in ("--bare-child", "--transport-child"):
        port, n, connections = (int(a) for a in sys.argv[2:])
        contender = bare_loop if sys.argv[1] == "--bare-child" else transport_only
        asyncio.run(contender(port, n, connections))
        return True
    return False


if __name__ == "__main__":
    if not child_main():
        main()
