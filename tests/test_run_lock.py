"""Runs that share a model or data folder make it once: `making_lock` serialises the making."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from viarl.run_lock import making_lock
from viarl.train import context, needle_data


def _two_at_once(make, first_started: threading.Event, release: threading.Event) -> list[BaseException]:
    """Run `make` in two threads, the second started while the first is inside its (held) making."""
    errors: list[BaseException] = []

    def call():
        try:
            make()
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            errors.append(e)

    a = threading.Thread(target=call)
    a.start()
    assert first_started.wait(30)
    b = threading.Thread(target=call)
    b.start()
    # Give the second call time to reach the point where, unlocked, it would find the folder
    # missing and make it too; if it has not got there yet the test passes anyway (never flakes red).
    time.sleep(0.5)
    release.set()
    a.join(60)
    b.join(60)
    return errors


def test_two_runs_missing_the_same_model_make_it_once(monkeypatch, tmp_path):
    made, started, release = [], threading.Event(), threading.Event()

    def slow_write(path, role, seed):
        made.append(path)
        started.set()
        assert release.wait(30)
        (tmp_path / "m").mkdir()  # the folder appears only when the making is done

    monkeypatch.setattr(context, "write_tiny_model", slow_write)
    cfg = SimpleNamespace(path=str(tmp_path / "m"), tiny_seed=3, pretrain=None)
    assert _two_at_once(lambda: context.ensure_model(cfg, "selector"), started, release) == []
    assert len(made) == 1


def test_two_runs_missing_the_same_needle_split_write_it_once(monkeypatch, tmp_path):
    made, started, release = [], threading.Event(), threading.Event()

    def slow_dataset(path, **kw):
        made.append(path)
        started.set()
        assert release.wait(30)
        (tmp_path / "train" / "json").mkdir(parents=True)

    monkeypatch.setattr(needle_data, "make_needle_dataset", slow_dataset)
    monkeypatch.setattr(needle_data, "synthetic_splits",
                        lambda recipe: [("train", SimpleNamespace(path=str(tmp_path / "train")), 4)])
    recipe = SimpleNamespace(data=SimpleNamespace(synthetic=SimpleNamespace(
        balance_positions=False, shifted_look=None, frames=[48, 64], fps=[8, 8], seed=0, difficulty=0.5,
        size=[32, 32], fixed_options=False, mix=lambda fixed: None)), frames=SimpleNamespace(candidates=8))
    assert _two_at_once(lambda: needle_data.ensure_data(recipe), started, release) == []
    assert len(made) == 1


def test_the_lock_is_dropped_when_its_holder_leaves_the_block(tmp_path):
    with making_lock(tmp_path / "x"):
        pass
    with making_lock(tmp_path / "x"):  # would wait forever if the first had kept it
        pass
    assert (tmp_path / ".x.making").exists() and not (tmp_path / "x").exists()


def test_a_filesystem_that_refuses_flock_makes_it_unlocked(monkeypatch, tmp_path):
    import errno

    import viarl.run_lock as run_lock

    def refuse(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(run_lock.fcntl, "flock", refuse)
    entered = []
    with making_lock(tmp_path / "x"):
        entered.append(True)
    assert entered == [True]
