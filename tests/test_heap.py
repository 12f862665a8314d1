"""The heap policy while models run: glibc keeps freed large blocks, and the settings go back after the last model."""

import threading

import numpy as np
import pytest
from skimage import data

import napari_superres
from napari_superres import heap


class FakeLibc:
    """Records the calls the policy makes."""

    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake_libc(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", libc)
    return libc


KEEP = [("mallopt", heap.M_MMAP_MAX, 0), ("mallopt", heap.M_TRIM_THRESHOLD, heap.KEEP_FREED)]
RESTORE = [("mallopt", heap.M_MMAP_MAX, heap.DEFAULT_MMAP_MAX), ("mallopt", heap.M_TRIM_THRESHOLD, heap.TRIM_AFTER),
           ("malloc_trim", 0)]


def test_settings_change_at_the_first_context_and_go_back_after_the_last(fake_libc):
    with heap.reused_heap():
        assert fake_libc.calls == KEEP and heap.active()
        with heap.reused_heap():
            assert fake_libc.calls == KEEP
        assert fake_libc.calls == KEEP
    assert fake_libc.calls == KEEP + RESTORE and not heap.active()


def test_overlapping_contexts_in_threads_restore_once(fake_libc):
    inside, release = threading.Barrier(3), threading.Event()

    def model_call():
        with heap.reused_heap():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=model_call) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert fake_libc.calls == KEEP
    release.set()
    for thread in threads:
        thread.join()
    assert fake_libc.calls == KEEP + RESTORE


def test_an_error_inside_still_restores(fake_libc):
    with pytest.raises(RuntimeError), heap.reused_heap():
        raise RuntimeError("out of memory")
    assert fake_libc.calls == KEEP + RESTORE


def test_a_learned_upscale_runs_inside_the_policy(fake_libc):
    napari_superres.upscale(data.camera()[:32, :32], 2, method="espcn")
    assert fake_libc.calls == KEEP + RESTORE


def test_the_user_can_opt_out(monkeypatch):
    monkeypatch.setenv("NAPARI_SUPERRES_HEAP", "mmap")
    assert heap._glibc() is None


def test_the_policy_changes_no_result(monkeypatch):
    """The real C library where it is glibc: the same bytes with and without."""
    image = data.astronaut()[:96, :80]
    kept = napari_superres.upscale(image, 4, method="edsr", channel_axis=-1)
    monkeypatch.setattr(heap, "_LIBC", None)
    plain = napari_superres.upscale(image, 4, method="edsr", channel_axis=-1)
    np.testing.assert_array_equal(kept, plain)
