"""Who the email channel reaches: the CSV, plus the confirmed subscribers in the database,
each once, and each as they chose (closures only, or articles too).

A real pass (the dispatcher) against a real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from broadcaster.config import Secrets
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.report import Report
from broadcaster.runtime import dispatcher

from .conftest import Project

ANNOUNCE = "2024-03-20T09:00:00+08:00"  # the closure is announced
ARTICLE = "2024-03-21T12:00:00+08:00"  # the article is published


async def run_pass(project: Project, now: str) -> Report:
    async with dispatcher(project.loaded(), Secrets()) as d:
        return await d.run(datetime.fromisoformat(now))


def received(project: Project) -> Counter[str]:
    return project.sink.handler.per_address()


def book(project: Project) -> SubscriberBook:
    ledger = project.ledger()
    return SubscriberBook(ledger.engine)


async def test_confirmed_subscribers_get_each_notice_once_and_pending_ones_none(
    project: Project,
) -> None:
    subscribers = book(project)
    now = datetime.now(UTC)
    subscribers.request("pending@example.com", "", None, "form", now)
    subscribers.confirm("joined@example.com", "Joined", now)
    subscribers.import_rows([("ann@example.com", "Ann")], "import:x.csv", now)  # also in the CSV

    await run_pass(project, ANNOUNCE)
    await run_pass(project, ANNOUNCE)

    assert received(project) == {"ann@example.com": 1, "joined@example.com": 1}


async def test_a_subscriber_confirmed_while_a_notice_is_due_still_gets_it(
    project: Project,
) -> None:
    await run_pass(project, ANNOUNCE)
    book(project).confirm("late@example.com", "", datetime.now(UTC))

    await run_pass(project, ANNOUNCE)  # the list is not "done": it changed

    assert received(project) == {"ann@example.com": 1, "late@example.com": 1}


async def test_closures_only_means_no_articles(project: Project) -> None:
    subscribers = book(project)
    now = datetime.now(UTC)
    subscribers.confirm("closures@example.com", "", now)
    subscribers.set_topics("closures@example.com", "closures", now)
    subscribers.set_topics("ann@example.com", "closures", now)  # a CSV subscriber chose too
    subscribers.confirm("everything@example.com", "", now)

    await run_pass(project, ANNOUNCE)
    await run_pass(project, ARTICLE)

    assert received(project) == {
        "ann@example.com": 1,  # the closure only
        "closures@example.com": 1,
        "everything@example.com": 2,  # the closure and the article
    }


async def test_a_suppressed_database_subscriber_gets_nothing(project: Project) -> None:
    book(project).confirm("gone@example.com", "", datetime.now(UTC))
    ledger = project.ledger()
    ledger.suppress(["gone@example.com"], "test")

    await run_pass(project, ANNOUNCE)

    assert "gone@example.com" not in received(project)
