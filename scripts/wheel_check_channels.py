"""One pass over every channel type, by the *installed* ``broadcast``, against the local fakes.

Run by ``scripts/wheel-check`` with the checkout's test venv (which has the fakes: starlette,
uvicorn, aiosmtpd), given the ``broadcast`` of the fresh venv that holds the wheel::

    .venv/bin/python scripts/wheel_check_channels.py /tmp/x/venv/bin/broadcast /tmp/x/every

The fakes and the counting are benchmarks/_every_channel.py's (what crash_trials.py and
fault_storm.py use): every fake on 127.0.0.1 in this process; the broadcaster under test
is a subprocess run in ``FOLDER`` (outside the checkout), with a config enabling all twelve
channels toward the fakes. It asserts that each expected delivery reached its server
exactly once and the ledger says ``sent``, that a second run sends nothing, that both exit
0, and that no output holds a traceback. Exit status 0, or 1 saying what went wrong.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from _every_channel import (
    CHANNELS,
    NOW,
    Servers,
    judge,
    run_env,
    what_arrived,
    write_project,
)

SUBSCRIBERS = ["amelia.tan@example.com", "ravi.kumar@example.org", "zoe.lim@example.com"]


def run(broadcast: Path, config: Path, servers: Servers) -> tuple[int, str]:
    """``broadcast run --now NOW`` in the project folder: its exit status and output."""
    done = subprocess.run(
        [str(broadcast), "run", "--config", str(config), "--now", NOW],
        cwd=config.parent,
        env=run_env(servers),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout


def own_overrides(config: Path) -> None:
    """write_project points ``templates:`` into the checkout; use a folder of the project's
    own, so nothing outside FOLDER is read."""
    overrides = config.parent / "templates"
    overrides.mkdir(exist_ok=True)
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [f'templates: "{overrides}"\n' if s.startswith("templates:") else s for s in lines]
    config.write_text("".join(lines), encoding="utf-8")


def check(broadcast: Path, folder: Path) -> list[str]:
    """Every problem found (empty: all well)."""
    problems: list[str] = []
    database = f"sqlite:///{folder / 'ledger.db'}"
    with Servers(folder / "site/notices") as servers:
        config, _banner = write_project(folder, servers, SUBSCRIBERS, database)
        own_overrides(config)
        began = time.monotonic()
        code, first = run(broadcast, config, servers)
        print(f"first run: exit {code} in {time.monotonic() - began:.1f} s")
        if code != 0:
            problems.append(f"the first run exited {code}:\n{first}")
        keys = servers.webhook_keys()
        got = what_arrived(servers, SUBSCRIBERS, keys)
        code, second = run(broadcast, config, servers)
        print(f"second run: exit {code}")
        if code != 0:
            problems.append(f"the second run exited {code}:\n{second}")
        again = what_arrived(servers, SUBSCRIBERS, keys)
    tallies, notes = judge(database, SUBSCRIBERS, got, keys)
    problems += notes
    for channel in CHANNELS:
        tally = tallies[channel]
        print(f"  {channel:16} {tally.once}/{tally.targets} once, ledger {dict(tally.states)}")
        if tally.targets == 0 or tally.once != tally.targets:
            problems.append(f"{channel}: {tally.once} of {tally.targets} deliveries arrived once")
        if set(tally.states) != {"sent"}:
            problems.append(f"{channel}: ledger states {dict(tally.states)}, expected only sent")
    if again.counts != got.counts or again.requests != got.requests:
        problems.append(f"the second run sent again: {again.counts - got.counts}")
    for name, output in (("first", first), ("second", second)):
        if "Traceback" in output:
            problems.append(f"the {name} run printed a traceback:\n{output}")
    return problems


def main() -> int:
    broadcast, folder = Path(sys.argv[1]), Path(sys.argv[2])
    problems = check(broadcast, folder)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    print(f"every channel: {len(CHANNELS)} channels, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
