"""typeinf.memo.BoundedCache: bounded, least recently used first, safe across threads."""

import threading

from typeinf.memo import BoundedCache


def test_least_recently_used_dropped_first():
    c: BoundedCache[str, int] = BoundedCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert c.get("b") is None and c.get("a") == 1 and c.get("c") == 3
    assert len(c) == 2
    c.clear()
    assert len(c) == 0 and c.get("a") is None


def test_shared_between_threads_stays_bounded():
    c: BoundedCache[int, int] = BoundedCache(100)

    def work(base: int) -> None:
        for i in range(2000):
            c.put(base + i, i)
            c.get(base + i // 2)

    threads = [threading.Thread(target=work, args=(k * 10_000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c) == 100
