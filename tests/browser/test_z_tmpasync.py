import asyncio


async def test_async_runs() -> None:
    await asyncio.sleep(0.01)
    assert asyncio.get_running_loop() is not None


def test_no_running_loop_left() -> None:
    assert asyncio._get_running_loop() is None
