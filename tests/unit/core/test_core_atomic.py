"""Atomic writes: the target holds the old or the new content, never a mix, and no
temporary file is left behind, also when the writer fails or threads race."""

import os
import stat
import threading

import pytest

from firesight._atomic import atomic_folder, atomic_path, write_bytes_atomic, write_text_atomic


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


def _folder(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("one_step", [True, False], ids=["exchange", "move-aside"])
def test_atomic_folder_replaces_the_whole_folder(tmp_path, monkeypatch, one_step):
    import firesight._atomic as atomic

    if not one_step:  # a system without renameat2: the move-aside path
        monkeypatch.setattr(atomic, "_exchange", lambda new, target: False)
    target = tmp_path / "model"
    with atomic_folder(target) as tmp:
        (tmp / "a").mkdir()
        (tmp / "a" / "x.json").write_text("1")
        (tmp / "old-only.bin").write_bytes(b"o")
    assert _folder(target) == {"a/x.json": b"1", "old-only.bin": b"o"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    with atomic_folder(target) as tmp:
        (tmp / "a").mkdir()
        (tmp / "a" / "x.json").write_text("2")
        assert _folder(target)["a/x.json"] == b"1"  # not visible until the block ends
    assert _folder(target) == {"a/x.json": b"2"}  # nothing of the old folder survives
    assert _leftovers(tmp_path) == []


def test_atomic_folder_failure_keeps_the_old_folder(tmp_path):
    target = tmp_path / "model"
    with atomic_folder(target) as tmp:
        (tmp / "bundle.json").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "bundle.json").write_text("half")
            raise RuntimeError("writer failed")
    assert _folder(target) == {"bundle.json": b"old"}
    assert _leftovers(tmp_path) == []


def test_atomic_folder_puts_the_old_folder_back_when_the_move_fails(tmp_path, monkeypatch):
    import firesight._atomic as atomic

    target = tmp_path / "model"
    with atomic_folder(target) as tmp:
        (tmp / "bundle.json").write_text("old")
    monkeypatch.setattr(atomic, "_exchange", lambda new, target: False)
    real_rename = os.rename

    def rename(src, dst):
        if str(src).endswith(".tmp") and str(dst) == str(target):
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", rename)
    with pytest.raises(OSError, match="No space"):
        with atomic_folder(target) as tmp:
            (tmp / "bundle.json").write_text("new")
    assert _folder(target) == {"bundle.json": b"old"}
    assert _leftovers(tmp_path) == []


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    """Positive control for the parametrised test above: on Linux the one-step swap is taken."""
    import sys

    from firesight._atomic import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from-a").write_bytes(b"")
    (b / "from-b").write_bytes(b"")
    swapped = _exchange(a, b)
    assert swapped is sys.platform.startswith("linux")
    if swapped:
        assert os.listdir(a) == ["from-b"] and os.listdir(b) == ["from-a"]
