"""fan_out: many targets at once, a bounded window, a few per host, each exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from broadcaster.channels.base import Outgoing, Receipt, Target
from broadcaster.channels.fanout import fan_out
from broadcaster.errors import DeliveryError, RetryableError
from tests.fakes.support import outgoing


def deliveries(hosts: list[str]) -> list[Outgoing]:
    base = outgoing("Closed 26–27 Mar.", channel="webhook")
    return [
        replace(base, delivery_id=i, target=Target(f"{host}#{i:016x}"))
        for i, host in enumerate(hosts)
    ]


class Receivers:
    """Attempts that wait for the test's go-ahead, counting what is in flight."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.most_at_once = 0
        self.most_per_host: Counter[str] = Counter()
        self.attempted: list[int] = []
        self.release = asyncio.Event()

    async def attempt(self, item: Outgoing) -> Receipt | DeliveryError:
        host = host_of(item)
        self.in_flight[host] += 1
        self.attempted.append(item.delivery_id)
        self.most_at_once = max(self.most_at_once, self.in_flight.total())
        self.most_per_host[host] = max(self.most_per_host[host], self.in_flight[host])
        try:
            await self.release.wait()
            await asyncio.sleep(0)
        finally:
            self.in_flight[host] -= 1
        if item.delivery_id % 5 == 0:
            return RetryableError("try again")
        return {"id": item.delivery_id}


def host_of(item: Outgoing) -> str:
    return item.target.key.partition("#")[0]


async def test_every_delivery_once_within_the_window_and_per_host_bounds() -> None:
    receivers = Receivers()
    batch = deliveries([f"host{i % 3}" for i in range(40)])
    window = fan_out(batch, receivers.attempt, limit=8, per_host=2, host=host_of)

    async def collect() -> list[tuple[int, Receipt | DeliveryError]]:
        return [outcome async for outcome in window]

    collecting = asyncio.create_task(collect())
    async with asyncio.timeout(10):
        while receivers.in_flight.total() < 6:  # 3 hosts x 2: the window waits on hosts
            await asyncio.sleep(0.01)
        receivers.release.set()
        outcomes = await collecting
    assert sorted(i for i, _ in outcomes) == list(range(40))
    assert sorted(receivers.attempted) == list(range(40))
    assert receivers.most_at_once <= 8
    assert max(receivers.most_per_host.values()) == 2
    failed = {i for i, outcome in outcomes if isinstance(outcome, RetryableError)}
    assert failed == {i for i in range(40) if i % 5 == 0}


async def test_items_are_taken_only_as_slots_free() -> None:
    """Taking a delivery marks it ``sending``: no more than the window is taken ahead."""
    receivers = Receivers()
    taken: list[int] = []

    def lazily(batch: list[Outgoing]) -> Iterator[Outgoing]:
        for item in batch:
            taken.append(item.delivery_id)
            yield item

    batch = deliveries([f"host{i}" for i in range(20)])
    window = fan_out(lazily(batch), receivers.attempt, limit=4, per_host=1, host=host_of)
    first = asyncio.ensure_future(anext(window))
    async with asyncio.timeout(10):
        while receivers.in_flight.total() < 4:
            await asyncio.sleep(0.01)
        assert taken == [0, 1, 2, 3]
        receivers.release.set()
        await first
    await window.aclose()


async def test_a_bug_in_an_attempt_surfaces_instead_of_hanging() -> None:
    async def broken(item: Outgoing) -> Receipt | DeliveryError:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        async with asyncio.timeout(10):
            async for _outcome in fan_out(
                deliveries(["a", "b"]), broken, limit=2, per_host=1, host=host_of
            ):
                pass
