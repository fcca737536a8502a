"""typeinf.lsp.schedule: the language server's debounce and staleness rule, without a server."""

import asyncio

from typeinf.lsp.schedule import Decision, Scheduler, decide

START = Decision(start=True, cancel=False)
RESTART = Decision(start=True, cancel=True)
REUSE = Decision(start=False, cancel=False)


def test_decide_no_task_starts_one():
    assert decide(None, 1, False, 0.0) == START
    assert decide(None, 1, True, 0.3) == START


def test_decide_reuses_the_task_of_the_current_version():
    assert decide((1, True, False, False), 1, True, 0.0) == REUSE
    assert decide((1, True, True, False), 1, True, 0.3) == REUSE  # another edit's debounce: keep waiting


def test_decide_cancels_a_task_for_an_older_version():
    assert decide((1, True, False, False), 2, True, 0.0) == RESTART
    assert decide((1, True, True, False), 2, True, 0.3) == RESTART


def test_decide_a_request_does_not_wait_out_a_debounce():
    assert decide((1, True, True, False), 1, True, 0.0) == RESTART


def test_decide_index_completed_starts_anew_without_cancelling():
    # the task made before the index was complete still answers its waiters
    assert decide((1, False, False, False), 1, True, 0.0) == START
    assert decide((1, False, True, False), 1, True, 0.0) == START


def test_decide_a_finished_task_is_replaced_never_cancelled():
    assert decide((1, True, False, True), 1, True, 0.0) == START
    assert decide((1, True, False, True), 2, True, 0.0) == START


def test_scheduler_tasks():
    async def main() -> None:
        s: Scheduler[str] = Scheduler()
        gate = asyncio.Event()

        async def work(tag: str) -> str:
            await gate.wait()
            return tag

        first = s.schedule("u", 1, True, 0.3, lambda: work("v1"))
        assert s.schedule("u", 1, True, 0.3, lambda: work("again")) is first  # debounced edit: same task
        hurried = s.schedule("u", 1, True, 0.0, lambda: work("now"))  # a request: no waiting
        assert hurried is not first and s.task("u") is hurried
        await asyncio.sleep(0)
        assert first.cancelled()
        assert s.schedule("u", 1, True, 0.0, lambda: work("x")) is hurried  # not waiting: reused
        newer = s.schedule("u", 2, True, 0.3, lambda: work("v2"))
        s.debounce_over("u")  # its debounce over: a request now reuses it
        assert s.schedule("u", 2, True, 0.0, lambda: work("y")) is newer
        gate.set()
        assert await newer == "v2"
        s.cancel("u")
        assert s.task("u") is None
        s.cancel("u")  # closing twice is harmless
        s.debounce_over("gone")

        open_ = s.schedule("w", 1, True, 0.0, lambda: work("w"))
        s.cancel("w")
        await asyncio.sleep(0)
        assert open_.cancelled()

    asyncio.run(main())
