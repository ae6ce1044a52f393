"""FakeGraph behaves like the Graph API described in channel-apis.md §4, §5 and §10."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from .conftest import Running, running
from .graph import FakeGraph, static_site
from .server import serve

Graph = Running[FakeGraph]


@pytest.fixture
def graph() -> Iterator[Graph]:
    with running(FakeGraph(polls_until_finished=1, quota_total=1)) as r:
        yield r


@pytest.fixture
def website(tmp_path: Path) -> Iterator[str]:
    def jpeg(size: tuple[int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", size, (20, 50, 60)).save(out, "JPEG")
        return out.getvalue()

    (tmp_path / "card.jpg").write_bytes(jpeg((1080, 1350)))
    (tmp_path / "tall.jpg").write_bytes(jpeg((1080, 2000)))
    (tmp_path / "card.png").write_bytes(b"\x89PNG\r\n")
    with serve(static_site(tmp_path)) as url:
        yield url


def page(graph: Graph) -> dict[str, str]:
    return {"Authorization": f"Bearer {graph.fake.page_token}"}


def ig(graph: Graph) -> dict[str, str]:
    return {"Authorization": f"Bearer {graph.fake.ig_token}"}


def test_page_posts_answer_an_id_and_the_usage_header(graph: Graph) -> None:
    response = graph.client.post(
        f"/v24.0/{graph.fake.page_id}/feed", data={"message": "Hello"}, headers=page(graph)
    )
    assert response.status_code == 200
    assert response.json()["id"].startswith(graph.fake.page_id + "_")
    usage = json.loads(response.headers["x-business-use-case-usage"])
    assert usage[graph.fake.page_id][0]["type"] == "pages"


def test_errors_are_http_400_with_the_meaning_in_the_code(graph: Graph) -> None:
    url = f"/v24.0/{graph.fake.page_id}/feed"
    assert graph.client.post(url, data={"message": "Hi"}, headers=page(graph)).status_code == 200
    duplicate = graph.client.post(url, data={"message": "Hi"}, headers=page(graph))
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (400, 506)
    empty = graph.client.post(url, data={}, headers=page(graph))
    assert empty.json()["error"]["code"] == 100
    wrong = graph.client.post(url, data={"message": "x"}, headers=ig(graph))
    assert wrong.json()["error"]["code"] == 190
    graph.fake.fail_with_graph_error(32, "(#32) Page request limit reached", regain_minutes=4)
    throttled = graph.client.post(url, data={"message": "y"}, headers=page(graph))
    assert (throttled.status_code, throttled.json()["error"]["code"]) == (400, 32)
    usage = json.loads(throttled.headers["x-business-use-case-usage"])
    assert usage[graph.fake.page_id][0]["estimated_time_to_regain_access"] == 4


def test_a_container_goes_in_progress_then_finished_then_published(
    graph: Graph, website: str
) -> None:
    user = f"/v24.0/{graph.fake.ig_user_id}"
    made = graph.client.post(
        f"{user}/media",
        data={"image_url": f"{website}/card.jpg", "caption": "c"},
        headers=ig(graph),
    )
    container = made.json()["id"]
    status = [
        graph.client.get(f"/v24.0/{container}", headers=ig(graph)).json()["status_code"]
        for _ in range(2)
    ]
    assert status == ["IN_PROGRESS", "FINISHED"]
    publish = graph.client.post(
        f"{user}/media_publish", data={"creation_id": container}, headers=ig(graph)
    )
    assert publish.status_code == 200 and publish.json()["id"]
    again = graph.client.post(
        f"{user}/media_publish", data={"creation_id": container}, headers=ig(graph)
    )
    assert again.json()["error"]["code"] == 9007
    limit = graph.client.get(f"{user}/content_publishing_limit", headers=ig(graph)).json()
    assert limit["data"][0] == {
        "quota_usage": 1,
        "config": {"quota_total": 1, "quota_duration": 86400},
    }


def test_the_image_is_fetched_and_checked(graph: Graph, website: str) -> None:
    user = f"/v24.0/{graph.fake.ig_user_id}"

    def create(name: str) -> dict[str, object]:
        data = {"image_url": f"{website}/{name}", "caption": "c"}
        body: dict[str, object] = graph.client.post(
            f"{user}/media", data=data, headers=ig(graph)
        ).json()
        return body

    missing = create("nothing-here.jpg")["error"]
    assert isinstance(missing, dict)
    assert (missing["code"], missing["error_subcode"]) == (9004, 2207052)
    assert "error" in create("card.png") and "error" in create("tall.jpg")
    assert "id" in create("card.jpg")


def test_over_quota_is_code_9_subcode_2207042(graph: Graph, website: str) -> None:
    user = f"/v24.0/{graph.fake.ig_user_id}"
    for _ in range(2):
        made = graph.client.post(
            f"{user}/media", data={"image_url": f"{website}/card.jpg"}, headers=ig(graph)
        ).json()["id"]
        graph.fake.containers[made]["status_code"] = "FINISHED"
        last = graph.client.post(
            f"{user}/media_publish", data={"creation_id": made}, headers=ig(graph)
        )
    error = last.json()["error"]
    assert (error["code"], error["error_subcode"]) == (9, 2207042)


def test_errored_and_expired_containers(graph: Graph, website: str) -> None:
    user = f"/v24.0/{graph.fake.ig_user_id}"
    graph.fake.polls_until_finished = 0
    graph.fake.next_container = ("ERROR", "ERROR: 2207026")
    made = graph.client.post(
        f"{user}/media", data={"image_url": f"{website}/card.jpg"}, headers=ig(graph)
    ).json()["id"]
    body = graph.client.get(f"/v24.0/{made}", headers=ig(graph)).json()
    assert body == {"id": made, "status_code": "ERROR", "status": "ERROR: 2207026"}
    other = graph.client.post(
        f"{user}/media", data={"image_url": f"{website}/card.jpg"}, headers=ig(graph)
    ).json()["id"]
    graph.fake.expire_containers()
    assert graph.client.get(f"/v24.0/{other}", headers=ig(graph)).json()["status_code"] == "EXPIRED"


def test_versions_are_checked(graph: Graph) -> None:
    response = graph.client.get(f"/24/{graph.fake.page_id}", headers=page(graph))
    assert response.json()["error"]["code"] == 2500
