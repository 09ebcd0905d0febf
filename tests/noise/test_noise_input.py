"""Bad input gives one clear error (library: DataError/InvalidParameterError; CLI: one line, exit 2)."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from adamcheck import DataError, InvalidParameterError
from adamcheck.noise import GradientScale, GradientSource, estimate, open_gradients


@pytest.fixture
def good(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 64, 5)).astype(np.float32)
    path = tmp_path / "g.npy"
    np.save(path, x)
    return x, path


def test_npy_npz_stored_and_compressed_read_the_same_rows(tmp_path, good):
    x, path = good
    np.savez(tmp_path / "s.npz", grads=x)
    np.savez_compressed(tmp_path / "c.npz", other=np.zeros(3), gradients=x)
    for p in (path, tmp_path / "s.npz", tmp_path / "c.npz"):
        with open_gradients(p) as src:
            assert src.shape == (2, 64, 5)
            idx = np.array([63, 0, 17, 18, 19, 5])
            np.testing.assert_array_equal(src.take(1, idx), x[1, idx].astype(np.float64))
            chunks = [blk.copy() for _, blk in src.iter_chunks(0, 3, 50, rows=7)]
            np.testing.assert_array_equal(np.concatenate(chunks), x[0, 3:50])


def test_several_files_concatenate_along_examples(tmp_path):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(10, 4)), rng.normal(size=(7, 4)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    with open_gradients([tmp_path / "a.npy", tmp_path / "b.npy"]) as src:
        assert src.shape == (1, 17, 4)
        both = np.concatenate([a, b.astype(np.float64)])
        np.testing.assert_array_equal(src.take(0, np.arange(17)[::-1]), both[::-1])


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: np.save(p, np.zeros((3, 4, 5, 6))), "rank 4"),
        (lambda p: np.save(p, np.zeros(7)), "rank 1"),
        (lambda p: np.save(p, np.zeros((0, 4))), "no entries"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True), "pickled"),
        (lambda p: p.write_bytes(pickle.dumps(np.zeros((4, 2)))), "pickle"),
        (lambda p: np.save(p, np.zeros((4, 3), dtype=np.int64)), "float32 or float64"),
        (lambda p: np.save(p, np.asfortranarray(np.zeros((4, 3)))), "Fortran"),
        (lambda p: p.write_bytes(b"hello world"), "not a .npy"),
    ],
)
def test_bad_files_raise_data_error(tmp_path, make, words):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises(DataError, match=words):
        open_gradients(path)


def test_truncated_file(tmp_path, good):
    x, path = good
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(DataError, match="truncated"):
        open_gradients(path)


def test_d_mismatch_across_files(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 3)))
    np.save(tmp_path / "b.npy", np.zeros((4, 5)))
    with pytest.raises(DataError, match="d = 5"):
        open_gradients([tmp_path / "a.npy", tmp_path / "b.npy"])


def test_nan_and_inf_are_located(tmp_path):
    x = np.ones((2, 40, 3))
    x[1, 33, 2] = np.nan
    with pytest.raises(DataError, match=r"point 1, example 33, coordinate 2"):
        estimate(x, 4)
    x[1, 33, 2] = np.inf
    with pytest.raises(DataError, match=r"NaN or inf"):
        estimate(x, 4)


def test_fewer_examples_than_batch(good):
    x, _ = good
    with pytest.raises(DataError, match="fewer than the batch size"):
        estimate(x, 65)


def test_unknown_reduction_and_bad_scale():
    with pytest.raises(InvalidParameterError, match="reduction 'median' is unknown"):
        GradientScale("median")
    with pytest.raises(InvalidParameterError):
        GradientScale("mean", loss_scale=0.0)
    with pytest.raises(InvalidParameterError, match="dataset size"):
        estimate(np.ones((10, 2)), 2, dataset_size=5)


def test_npz_key_choice(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros((4, 2)), b=np.zeros((4, 2)))
    with pytest.raises(DataError, match="--key"):
        open_gradients(tmp_path / "two.npz")
    with open_gradients(tmp_path / "two.npz", key="b") as src:
        assert src.shape == (1, 4, 2)
    with pytest.raises(DataError, match="no array 'c'"):
        open_gradients(tmp_path / "two.npz", key="c")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(DataError):
        open_gradients(tmp_path / "empty.npz")


def test_from_array_rejects_objects():
    with pytest.raises(DataError):
        GradientSource.from_array(np.array([None, 1], dtype=object))


def test_chunks_cover_every_row_once_at_any_chunk_size(tmp_path):
    x = np.random.default_rng(2).normal(size=(3, 101, 7)).astype(np.float32)
    np.save(tmp_path / "m.npy", x)
    with open_gradients(tmp_path / "m.npy") as src:
        for rows in (1, 9, 101, 500):
            for p in range(3):
                got = [(j, b.copy()) for j, b in src.iter_chunks(p, 5, 101, rows=rows)]
                assert [j for j, _ in got] == list(range(5, 101, rows))
                np.testing.assert_array_equal(np.concatenate([b for _, b in got]), x[p, 5:])
