"""Many targets at once: a bounded window of attempts, a few per host.

A channel with many targets, each its own server (webhook URLs, Apprise services), spends
its time waiting for replies, so one attempt after another leaves it idle. :func:`fan_out`
keeps up to ``limit`` attempts in flight and at most ``per_host`` of them to any one host (a
receiver is never flooded because it appears many times in the list). A slow or hanging
target holds one slot, not the list.

Each delivery is taken from the batch only when a slot is free for it (taking it is what
marks it ``sending`` in the ledger), so at most ``limit`` deliveries have been taken and not
finished at any moment; outcomes come back in the order they are known.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Protocol, TypeVar


class Delivery(Protocol):
    """What fan_out needs of a delivery (an ``Outgoing``): the id its outcome is told by.
    Declared here, so this module needs nothing from the channel base that uses it."""

    @property
    def delivery_id(self) -> int: ...


D = TypeVar("D", bound=Delivery)
R = TypeVar("R")  # an attempt's outcome: a receipt or the DeliveryError that ended it


async def fan_out(
    batch: Iterable[D],
    attempt: Callable[[D], Awaitable[R]],
    *,
    limit: int,
    per_host: int,
    host: Callable[[D], str],
) -> AsyncGenerator[tuple[int, R], None]:
    """Run ``attempt`` on every item of ``batch``, ``limit`` at once, ``per_host`` per host;
    yield ``(delivery_id, outcome)`` as each finishes. Cancelling the iteration cancels the
    attempts still running."""
    items = iter(batch)
    gates: dict[str, asyncio.Semaphore] = {}
    finished: asyncio.Queue[tuple[int, R] | BaseException] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()

    async def one(outgoing: D) -> None:
        gate = gates.setdefault(host(outgoing), asyncio.Semaphore(per_host))
        try:
            async with gate:
                finished.put_nowait((outgoing.delivery_id, await attempt(outgoing)))
        except Exception as exc:  # a bug, not an outcome: surface it rather than hang
            finished.put_nowait(exc)

    running, exhausted = 0, False
    try:
        while True:
            while not exhausted and running < limit:
                outgoing = next(items, None)
                if outgoing is None:
                    exhausted = True
                    break
                task = asyncio.create_task(one(outgoing))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                running += 1
            if not running:
                return
            result = await finished.get()
            running -= 1
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
