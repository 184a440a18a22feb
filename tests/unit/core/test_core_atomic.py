"""Atomic writes: the target holds the old or the new content, never a mix, and no
temporary file is left behind, also when the writer fails or threads race."""

import os
import stat
import threading

import pytest

from firesight._atomic import atomic_path, write_bytes_atomic, write_text_atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_bytes_and_text_replace_the_whole_file(tmp_path):
    target = tmp_path / "sub" / "state.json"
    write_bytes_atomic(target, b"x" * 10_000)
    write_text_atomic(target, "short \u00b0C")
    assert target.read_text(encoding="utf-8") == "short \u00b0C"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_bytes_atomic(target, b"secret", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _leftovers(target.parent) == []


def test_failed_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_bytes_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_path_keeps_the_suffix_and_cleans_up_on_error(tmp_path):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp != target
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # not visible until the block ends
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_racing_threads_leave_one_whole_payload(tmp_path):
    target = tmp_path / "digest.json"
    payloads = [bytes([65 + i]) * (50_000 + i) for i in range(8)]
    errors = []

    def writer(data):
        try:
            for _ in range(5):
                write_bytes_atomic(target, data)
        except Exception as exc:  # collected: a shared temporary name would fail here
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert _leftovers(tmp_path) == []
    assert os.listdir(tmp_path) == ["digest.json"]
