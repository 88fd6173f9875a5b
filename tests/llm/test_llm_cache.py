from __future__ import annotations

import multiprocessing

from mathscale.llm.cache import ResponseCache, cache_key


def test_key_depends_on_every_part():
    base = dict(model="m", messages=[{"role": "user", "content": "x"}], params={"t": 0}, seed=1, prompt="p/1")
    keys = {cache_key(**base)}
    for part, other in [("model", "m2"), ("seed", 2), ("prompt", "p/2"), ("params", {"t": 1}),
                        ("messages", [{"role": "user", "content": "y"}])]:  # fmt: skip
        keys.add(cache_key(**{**base, part: other}))
    assert len(keys) == 6
    assert cache_key(**base) == cache_key(**dict(reversed(base.items())))  # order-free


def test_put_get_persist(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    assert cache.get("k") is None
    cache.put("k", {"text": "hello"})
    cache.close()
    again = ResponseCache(path)
    assert again.get("k") == {"text": "hello"} and len(again) == 1


def _writer(path: str, worker: int) -> None:
    cache = ResponseCache(path)
    for i in range(200):
        cache.put(f"{worker}-{i}", {"text": str(i)})
    cache.close()


def test_many_processes_share_one_file(tmp_path):
    path = str(tmp_path / "c.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(ResponseCache(path)) == 800
