"""The Sender: claims in batches, but a delivery is ``sending`` only once its attempt starts.

That order is what lets a killed process leave only its started attempts as ``unknown``: the
rest of its batch is merely ``claimed``, and the next pass releases and sends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from broadcaster.channels.base import Channel, Outgoing, Receipt, Target
from broadcaster.errors import DeliveryError
from broadcaster.ledger import Group, Ledger
from broadcaster.notices import ClosureNotice
from broadcaster.report import Row
from broadcaster.retry import RetryPolicy
from broadcaster.send import Parcel, Sender
from broadcaster.send_stream import START_AHEAD

NOW = datetime(2024, 3, 20, 1, 0, tzinfo=UTC)
GROUP = Group("closure-2024-03-26", "announce", "list")


class Watching(Channel):
    """A fan-out channel that notes, as it takes each delivery, what the ledger says of all."""

    name = "list"
    accepts = frozenset({"announce"})
    claim_batch = 12 * START_AHEAD

    def __init__(self, ledger: Ledger, size: int, concurrency: int = 1) -> None:
        self.ledger = ledger
        self.size = size
        self.concurrency = concurrency  # as its section says: marks a quarter ahead
        self.seen: list[dict[str, str]] = []  # per delivery taken: target -> state then

    def targets(self) -> Iterator[Target]:
        return (Target(f"r{i:03d}@x.example") for i in range(self.size))

    def build(self, outgoing: Outgoing) -> str:
        return outgoing.target.key

    async def send(self, payload: str) -> Receipt:
        return {"to": payload}

    async def deliver(
        self, batch: Iterable[Outgoing]
    ) -> AsyncIterator[tuple[int, Receipt | DeliveryError]]:
        for outgoing in batch:
            self.seen.append({d.target: d.state for d in self.ledger.iter_history()})
            yield outgoing.delivery_id, await self.send(self.build(outgoing))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    instance = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield instance
    instance.close()


def closure() -> ClosureNotice:
    return ClosureNotice(
        id=GROUP.notice_id,
        start=date(2024, 3, 26),
        end=date(2024, 3, 27),
        resume=date(2024, 3, 28),
        reason="our annual team bonding event",
        outlets=("Orchard",),
        all_outlets=True,
        announce_days_before=7,
        remind_days_before=1,
    )


async def send_all(ledger: Ledger, channel: Channel) -> Row:
    sender = Sender(ledger, RetryPolicy(wait_scale=0), NOW, asyncio.Event())
    parcel = Parcel(closure(), GROUP, {"text": "closed"}, None)
    return await sender.send(channel, parcel, Row(GROUP.notice_id, "announce", "list", "due"))


@pytest.mark.parametrize(("concurrency", "group"), [(1, START_AHEAD), (64, 16)])
async def test_a_delivery_is_sending_when_taken_and_the_rest_of_its_batch_only_claimed(
    ledger: Ledger, concurrency: int, group: int
) -> None:
    channel = Watching(ledger, size=160, concurrency=concurrency)
    row = await send_all(ledger, channel)
    assert (row.status, row.count) == ("sent", 160)
    first = channel.seen[0]
    assert first["r000@x.example"] == "sending"
    started = [t for t, state in first.items() if state == "sending"]
    # marked a few at a time (a quarter of what the channel has in flight, 4 at least), a
    # group ahead of the attempt (the next group's mark may still be on its way)
    assert group <= len(started) <= 2 * group
    assert {s for t, s in first.items() if t not in started} == {"claimed"}
    # the rest of the list is not even claimed yet: at most this batch and the next one, which
    # is claimed (on the writer's thread, so it may already be there) halfway through this one
    assert channel.claim_batch <= len(first) <= 2 * channel.claim_batch < channel.size
    for position, states in enumerate(channel.seen):
        taken = f"r{position:03d}@x.example"
        assert states[taken] == "sending", position  # written before it was handed over
        ahead = [t for t, s in states.items() if s == "sending" and t > taken]
        assert len(ahead) <= 2 * group  # never attempted, yet in doubt after a kill
        claimed = [t for t in states if t > taken]
        assert len(claimed) <= 2 * channel.claim_batch  # the next batch is claimed halfway


async def test_a_list_already_sent_is_not_walked_again_unless_it_changes(
    ledger: Ledger,
) -> None:
    class Versioned(Watching):
        version = "v1"

        def targets_version(self) -> str | None:
            return self.version

    channel = Versioned(ledger, size=5)
    await send_all(ledger, channel)
    assert len(channel.seen) == 5
    again = await send_all(ledger, channel)
    assert (again.status, again.count) == ("already sent", 5)
    channel.size, channel.version = 6, "v2"
    newcomer = await send_all(ledger, channel)
    assert (newcomer.status, newcomer.count) == ("sent", 1)
    assert len(channel.seen) == 6
