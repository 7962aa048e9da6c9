"""Dataset loaders: shapes, ranges, determinism, the real parsers on hand-made files, Keras's cache, downloads
(with a fake network), `make data`, and every failure."""

import gzip
import hashlib
import io
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from course_lib import config, data
from course_lib.data import files

OFFLINE_EXPECTATIONS = [
    # name, kwargs, train sample shape, number of classes
    ("digits", {}, (8, 8, 1), 10),
    ("digits", {"image_size": 28}, (28, 28, 1), 10),
    ("digits", {"image_size": 32}, (32, 32, 1), 10),
    ("faces", {}, (25, 25, 1), 2),
    ("photos", {"image_size": 64}, (64, 64, 3), len(data.photo_names())),
    ("shapes10", {"n_train": 300, "n_test": 100}, (32, 32, 3), 10),
]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path_factory):
    """No test may reach the network, nor see the machine's own Keras cache or data/ folder.

    Any download behaves like a machine without internet; HOME is an empty folder and KERAS_HOME is unset, so
    ~/.keras/datasets is empty unless a test fills it; data/ is an empty folder.
    """

    def no_network(fname, origin, **kwargs):
        # what keras.utils.get_file raises when urllib cannot reach the address
        raise Exception(f"URL fetch failure on {origin}: None -- network is unreachable (test)")

    monkeypatch.setattr(files, "_get_file", no_network)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(config, "DATA_DIR", tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize(("name", "kwargs", "sample_shape", "classes"), OFFLINE_EXPECTATIONS)
def test_offline_sets_shapes_dtypes_ranges(name, kwargs, sample_shape, classes):
    ds = data.load_dataset(name, **kwargs)
    (x_train, y_train), (x_test, y_test) = ds
    assert x_train.shape[1:] == sample_shape and x_test.shape[1:] == sample_shape
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert ds.num_classes == classes == len(ds.class_names)
    assert set(np.unique(y_train)) <= set(range(classes))
    assert len(x_train) == len(y_train) and len(x_test) == len(y_test)
    assert ds.source == "offline" and ds.name == ds.requested == name


def test_digits_match_scikit_learn_pixel_for_pixel():
    from sklearn.datasets import load_digits

    ds = data.load_dataset("digits")
    raw = load_digits()
    assert len(ds.x_train) + len(ds.x_test) == len(raw.images) == 1797
    # every training image is one of scikit-learn's, divided by 16, with its own label
    flat = {(tuple((im / 16).astype(np.float32).ravel()), int(t)) for im, t in zip(raw.images, raw.target)}
    assert all((tuple(x.ravel()), int(y)) in flat for x, y in zip(ds.x_train[:50], ds.y_train[:50]))


def test_digits_resized_like_mnist_keeps_a_four_pixel_border():
    x = data.load_dataset("digits", image_size=28).x_train
    assert x[:, :4].max() == 0 and x[:, -4:].max() == 0 and x[:, 4:24, 4:24].max() > 0.9


def test_faces_are_balanced():
    ds = data.load_dataset("faces")
    labels = np.concatenate([ds.y_train, ds.y_test])
    assert np.bincount(labels).tolist() == [100, 100]


def test_mnist1d_is_the_papers_split_and_not_in_unit_range(tmp_path):
    np.random.seed(7)
    ds = data.load_dataset("mnist1d", data_dir=tmp_path)
    after = np.random.random()
    np.random.seed(7)
    assert after == np.random.random()  # the generator reseeds NumPy globally; the loader must undo that
    assert ds.x_train.shape == (4000, 40, 1) and ds.x_test.shape == (1000, 40, 1)
    assert ds.x_train.min() < 0  # documented: the generator's zero-centred signals, not [0, 1]
    again = data.load_dataset("mnist1d", data_dir=tmp_path)  # from the cache written by the first call
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    from mnist1d.data import get_dataset_args, make_dataset

    independent = make_dataset(get_dataset_args())
    np.testing.assert_allclose(ds.x_train[..., 0], independent["x"], rtol=1e-6)


@pytest.mark.parametrize("name", ["digits", "faces", "shapes10"])
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    kwargs = {"n_train": 100, "n_test": 40}
    a = data.load_dataset(name, seed=1, **kwargs)
    b = data.load_dataset(name, seed=1, **kwargs)
    c = data.load_dataset(name, seed=2, **kwargs)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_shapes10_is_balanced_and_train_differs_from_test():
    ds = data.load_dataset("shapes10", n_train=500, n_test=200)
    assert np.bincount(ds.y_train, minlength=10).tolist() == [50] * 10
    assert not np.array_equal(ds.x_train[:200], ds.x_test)


def test_shapes10_needs_a_cnn_a_linear_model_on_pixels_stays_weak():
    # The set is meant to be learnable by convolution but not by a linear read-out of pixel positions.
    from sklearn.linear_model import RidgeClassifier

    (x_train, y_train), (x_test, y_test) = data.load_dataset("shapes10", n_train=2000, n_test=500)
    linear = RidgeClassifier(alpha=10.0).fit(x_train.reshape(len(x_train), -1), y_train)
    assert linear.score(x_test.reshape(len(x_test), -1), y_test) < 0.35


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"n_train": 0}, ValueError, "n_train must be a positive int or None, got 0"),
    ({"n_train": -5}, ValueError, "n_train must be a positive int or None, got -5"),
    ({"n_test": 2.5}, TypeError, "n_test must be a positive int or None, got float 2.5"),
    ({"n_train": 10**6}, ValueError, "larger than the"),
    ({"image_size": 2}, ValueError, r"image_size must be an int in \[4, 512\], got 2"),
    ({"image_size": 32.0}, TypeError, "image_size must be an int in"),
    ({"seed": -1}, ValueError, "seed must be a non-negative int, got -1"),
    ({"fallback": "mnist"}, ValueError, "fallback must be an offline dataset"),
    ({"fallback": "nope"}, ValueError, "fallback must be one of .*'digits'.*got 'nope'"),
    ({"fallback": 3}, TypeError, "fallback must be one of .*got int 3"),
])
def test_bad_arguments_name_the_argument(kwargs, error, message):
    # the kit's rule: a wrong type is a TypeError, a wrong value a ValueError, and the message names both
    with pytest.raises(error, match=message):
        data.load_dataset("digits", **kwargs)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="name must be one of .*'mnist'.*'shapes10'.*got 'imagenet'"):
        data.load_dataset("imagenet")


def test_quick_mode_fallback_prints_one_line_and_loads_the_stand_in(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(config, "_mode_cache", "quick")
    ds = data.load_dataset("mnist", fallback="digits", data_dir=tmp_path)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "mnist" in lines[0] and "digits" in lines[0] and str(tmp_path) in lines[0]
    assert ds.name == "digits" and ds.requested == "mnist" and ds.x_train.shape[1:] == (28, 28, 1)
    assert ds.note == lines[0]


def test_full_mode_tries_the_download_then_falls_back(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(config, "_mode_cache", "full")
    ds = data.load_dataset("cifar10", fallback="shapes10", n_train=100, n_test=20, data_dir=tmp_path)
    out = capsys.readouterr().out
    assert "could not be downloaded" in out and "shapes10" in out
    assert ds.name == "shapes10" and ds.x_train.shape == (100, 32, 32, 3)


@pytest.mark.parametrize("name", data.DOWNLOADED)
def test_missing_cache_without_fallback_says_where_to_put_the_file(tmp_path, name):
    with pytest.raises(data.DatasetUnavailable) as info:
        data.load_dataset(name, data_dir=tmp_path)
    message = str(info.value)
    assert name in message and str(tmp_path / "keras") in message and "https://" in message


# ---- the real parsers, on small files written in the real formats -------------------------------------


def _fake_mnist(tmp_path, rng):
    (tmp_path / "keras").mkdir(parents=True, exist_ok=True)
    arrays = {"x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), "y_train": np.arange(12) % 10,
              "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_test": np.arange(5)}
    np.savez(tmp_path / "keras" / "mnist.npz", **arrays)
    return arrays


def _idx_bytes(array):
    header = (0x08 << 8 | array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _fake_fashion(tmp_path, rng):
    (tmp_path / "keras").mkdir(parents=True, exist_ok=True)
    arrays = {"train-labels-idx1-ubyte.gz": np.arange(7) % 10,
              "train-images-idx3-ubyte.gz": rng.integers(0, 256, (7, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": np.arange(3),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28))}
    for fname, array in arrays.items():
        with gzip.open(tmp_path / "keras" / fname, "wb") as f:
            f.write(_idx_bytes(array))
    return arrays


def _fake_cifar(tmp_path, rng, target=None):
    (tmp_path / "keras").mkdir(parents=True, exist_ok=True)
    batches = {}
    with tarfile.open(target or tmp_path / "keras" / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, count in [("data_batch_1", 4), ("data_batch_2", 3), ("test_batch", 2)]:
            batch = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                     b"labels": list(rng.integers(0, 10, count))}
            batches[name] = batch
            raw = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return batches


def test_mnist_npz_parser(tmp_path):
    arrays = _fake_mnist(tmp_path, np.random.default_rng(0))
    ds = data.load_dataset("mnist", data_dir=tmp_path, verify_hash=False)
    assert ds.source == "cache" and ds.x_train.shape == (12, 28, 28, 1)
    np.testing.assert_allclose(ds.x_train[..., 0] * 255, arrays["x_train"], atol=1e-4)
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])
    assert data.available_datasets(tmp_path)["mnist"] == "cached"
    padded = data.load_dataset("mnist", data_dir=tmp_path, verify_hash=False, image_size=32)
    assert padded.input_shape == (32, 32, 1)


def test_fashion_idx_parser(tmp_path):
    arrays = _fake_fashion(tmp_path, np.random.default_rng(1))
    ds = data.load_dataset("fashion_mnist", data_dir=tmp_path, verify_hash=False)
    np.testing.assert_allclose(ds.x_train[..., 0] * 255, arrays["train-images-idx3-ubyte.gz"], atol=1e-4)
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte.gz"])
    assert ds.class_names[9] == "Ankle boot"


def test_cifar_tar_parser_gives_nhwc(tmp_path):
    batches = _fake_cifar(tmp_path, np.random.default_rng(2))
    ds = data.load_dataset("cifar10", data_dir=tmp_path, verify_hash=False)
    assert ds.x_train.shape == (7, 32, 32, 3) and ds.x_test.shape == (2, 32, 32, 3)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)  # CHW rows -> HWC
    np.testing.assert_allclose(ds.x_train[0] * 255, first, atol=1e-4)
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][b"labels"])


def test_cached_file_with_wrong_hash_is_reported_as_corrupt(tmp_path):
    _fake_mnist(tmp_path, np.random.default_rng(0))  # a valid npz, but not the published file
    with pytest.raises(data.DatasetUnavailable, match="corrupt.*Delete it"):
        data.load_dataset("mnist", data_dir=tmp_path)


def test_fashion_files_are_checked_against_the_published_md5(tmp_path):
    _fake_fashion(tmp_path, np.random.default_rng(1))
    with pytest.raises(data.DatasetUnavailable, match="train-labels-idx1-ubyte.gz.*MD5 does not match"):
        data.load_dataset("fashion_mnist", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_truncated_cache_gives_a_clear_error_not_a_traceback(tmp_path, name):
    {"mnist": _fake_mnist, "fashion_mnist": _fake_fashion, "cifar10": _fake_cifar}[name](
        tmp_path, np.random.default_rng(0))
    for path in data.cache_paths(name, tmp_path):
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(data.DatasetUnavailable, match="corrupt or truncated") as info:
        data.load_dataset(name, data_dir=tmp_path, verify_hash=False)
    assert str(data.cache_paths(name, tmp_path)[0]) in str(info.value)


def test_cifar_unpickler_refuses_code(tmp_path):
    (tmp_path / "keras").mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with tarfile.open(tmp_path / "keras" / "cifar-10-python.tar.gz", "w:gz") as tar:
        raw = pickle.dumps({b"data": Evil(), b"labels": []})
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    with pytest.raises(data.DatasetUnavailable, match="refusing to load"):
        data.load_dataset("cifar10", data_dir=tmp_path, verify_hash=False)


def test_photos_and_load_photo():
    assert "astronaut" in data.photo_names() and "china" in data.photo_names()
    grey = data.load_photo("camera", size=(40, 60), gray=True)
    assert grey.shape == (40, 60, 1) and grey.dtype == np.float32
    colour = data.load_photo("chelsea")
    assert colour.shape == (300, 451, 3) and 0 <= colour.min() and colour.max() <= 1
    with pytest.raises(ValueError, match="unknown photo name='lena'"):
        data.load_photo("lena")
    with pytest.raises(ValueError, match="size must be"):
        data.load_photo("camera", size=0)


def test_available_datasets_reports_every_name(tmp_path):
    status = data.available_datasets(tmp_path)
    assert set(status) == set(data.known_datasets())
    assert status["cifar10"] == "download needed" and status["shapes10"] == "offline"


# ---- Keras's own cache: found under Keras's names, read in place, never written ----------------------------


def _tree(root):
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _keras_cache_with_every_set(datasets, rng):
    """Files in ~/.keras/datasets laid out as keras.datasets (Keras 3.15) leaves them; returns the arrays."""
    staging = datasets.parent.parent / "staging"  # removed again below
    staging.mkdir(parents=True)
    mnist = _fake_mnist(staging, rng)
    fashion = _fake_fashion(staging, rng)
    cifar_tar = datasets / "cifar-10-batches-py-target_archive"
    datasets.mkdir(parents=True)
    cifar = _fake_cifar(staging, rng, target=cifar_tar)
    shutil.copy(staging / "keras" / "mnist.npz", datasets / "mnist.npz")
    (datasets / "fashion-mnist").mkdir()
    for fname in fashion:
        shutil.copy(staging / "keras" / fname, datasets / "fashion-mnist" / fname)
    shutil.rmtree(staging)
    return mnist, fashion, cifar


def test_sets_that_keras_downloaded_are_read_from_its_cache_and_left_untouched(monkeypatch):
    home = Path.home()
    datasets = home / ".keras" / "datasets"
    mnist, fashion, cifar = _keras_cache_with_every_set(datasets, np.random.default_rng(5))
    before = _tree(home)
    assert data.available_datasets()["mnist"] == "cached by Keras"
    monkeypatch.setattr(config, "_mode_cache", "quick")  # quick mode uses real sets that are on disk

    ds = data.load_dataset("mnist", fallback="digits", verify_hash=False)
    assert ds.name == "mnist" and ds.source == "cache" and "Keras's cache" in ds.note
    np.testing.assert_allclose(ds.x_train[..., 0] * 255, mnist["x_train"], atol=1e-4)
    ds = data.load_dataset("fashion_mnist", verify_hash=False)
    np.testing.assert_array_equal(ds.y_train, fashion["train-labels-idx1-ubyte.gz"])
    ds = data.load_dataset("cifar10", fallback="shapes10", verify_hash=False)
    first = cifar["data_batch_1"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_allclose(ds.x_train[0] * 255, first, atol=1e-4)
    assert _tree(home) == before  # read only: nothing written, nothing touched


def test_keras_extracted_cifar_folder_is_read_when_the_archive_is_gone():
    datasets = Path.home() / ".keras" / "datasets"
    datasets.mkdir(parents=True)
    rng = np.random.default_rng(6)
    folder = datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name, count in [("data_batch_1", 2), ("data_batch_2", 1), ("data_batch_3", 1), ("data_batch_4", 1),
                        ("data_batch_5", 1), ("test_batch", 3)]:
        batches[name] = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                         b"labels": list(rng.integers(0, 10, count))}
        (folder / name).write_bytes(pickle.dumps(batches[name]))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": []}))
    ds = data.load_dataset("cifar10")  # no checksum exists for extracted files: read as they are
    assert ds.x_train.shape == (6, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][b"labels"])
    last = batches["data_batch_5"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_allclose(ds.x_train[-1] * 255, last, atol=1e-4)


def test_keras_home_is_searched_and_data_dir_comes_first(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (tmp_path / "kh" / "datasets").mkdir(parents=True)
    in_keras = _fake_mnist(tmp_path / "kh" / "datasets", rng)
    (tmp_path / "kh" / "datasets" / "keras" / "mnist.npz").rename(tmp_path / "kh" / "datasets" / "mnist.npz")
    ds = data.load_dataset("mnist", verify_hash=False)
    np.testing.assert_allclose(ds.x_test[..., 0] * 255, in_keras["x_test"], atol=1e-4)
    in_data = _fake_mnist(config.DATA_DIR, rng)
    ds = data.load_dataset("mnist", verify_hash=False)
    assert ds.note == ""  # from data/keras, nothing to say
    np.testing.assert_allclose(ds.x_test[..., 0] * 255, in_data["x_test"], atol=1e-4)
    # an explicit data_dir is the only place looked in
    with pytest.raises(data.DatasetUnavailable, match="not cached"):
        data.load_dataset("mnist", data_dir=tmp_path / "elsewhere", download=False)


def test_damaged_file_in_keras_cache_is_reported_not_deleted():
    datasets = Path.home() / ".keras" / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "mnist.npz").write_bytes(b"not the published file")
    with pytest.raises(data.DatasetUnavailable, match="SHA256 does not match.*Keras's cache"):
        data.load_dataset("mnist")
    assert (datasets / "mnist.npz").read_bytes() == b"not the published file"


# ---- downloads and `make data`, with a fake network ----------------------------------------------------


def _serve(monkeypatch, served, folder):
    """Replace the network under keras.utils.get_file: URL -> bytes; records the URLs asked for.

    Each payload is written to ``folder`` and the real ``keras.utils.get_file`` downloads it from there (a
    file:// address), so its hash check and error handling are the ones that run.
    """
    import keras

    asked = []

    def get_file(fname, origin, **kwargs):
        asked.append(origin)
        if origin not in served:
            raise Exception(f"URL fetch failure on {origin}: 404 -- Not Found (test)")
        staged = folder / f"served-{len(asked)}"
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(served[origin])
        return keras.utils.get_file(fname, staged.as_uri(), **kwargs)

    monkeypatch.setattr(files, "_get_file", get_file)
    return asked


def _publish(monkeypatch, name, payloads):
    """Pretend the published checksums are those of ``payloads`` (file name -> bytes), computed here."""
    table = {n: list(entries) for n, entries in files.KERAS_FILES.items()}
    table[name] = [(f, origin, (algorithm, hashlib.new(algorithm, payloads[f]).hexdigest()))
                   for f, origin, (algorithm, _) in files.KERAS_FILES[name]]
    monkeypatch.setattr(files, "KERAS_FILES", table)
    return {origin: payloads[f] for f, origin, _ in table[name]}


def test_fetch_downloads_verifies_and_is_idempotent(tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    _fake_mnist(staging, np.random.default_rng(8))
    payload = (staging / "keras" / "mnist.npz").read_bytes()
    asked = _serve(monkeypatch, _publish(monkeypatch, "mnist", {"mnist.npz": payload}), tmp_path / "net")
    out = io.StringIO()
    assert data.fetch(["mnist"], out=out)
    target = config.DATA_DIR / "keras" / "mnist.npz"
    assert target.read_bytes() == payload and asked == [files.KERAS_FILES["mnist"][0][1]]
    assert out.getvalue().startswith("MNIST: downloaded 1 file(s)") and "checksums verified" in out.getvalue()
    out = io.StringIO()
    assert data.fetch(["mnist"], out=out)
    assert len(asked) == 1 and out.getvalue().startswith("MNIST: already in")
    assert data.load_dataset("mnist").source == "cache"  # and the checksum holds for the loader too


def test_fetch_refuses_a_download_with_the_wrong_checksum(monkeypatch, tmp_path):
    served = {origin: b"a corrupted payload" for _, origin, _ in files.KERAS_FILES["mnist"]}
    _serve(monkeypatch, served, tmp_path / "net")
    out = io.StringIO()
    assert not data.fetch(["mnist"], out=out)
    assert "MNIST: FAILED" in out.getvalue() and "not the published" in out.getvalue()
    assert list((config.DATA_DIR / "keras").iterdir()) == []  # neither the file nor a .part is left


def test_fetch_without_network_says_so_and_how_to_copy_by_hand(capsys):
    assert data.main(["fetch", "cifar10"]) == 1
    out = capsys.readouterr().out
    assert "CIFAR-10: FAILED: could not download" in out and "network" in out
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in out
    assert str(config.DATA_DIR / "keras" / "cifar-10-python.tar.gz") in out
    assert not (config.DATA_DIR / "keras" / "cifar-10-python.tar.gz").exists()


def test_fetch_uses_keras_cache_instead_of_downloading(monkeypatch, capsys, tmp_path):
    datasets = Path.home() / ".keras" / "datasets"
    _keras_cache_with_every_set(datasets, np.random.default_rng(9))
    asked = _serve(monkeypatch, {}, tmp_path / "net")
    assert data.main(["fetch"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["MNIST", "Fashion-MNIST", "CIFAR-10"]
    assert all("found in Keras's cache" in line for line in out) and asked == []


def test_fetch_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        data.main(["fetch", "imagenet"])
    assert "unknown dataset(s) imagenet" in capsys.readouterr().err
    with pytest.raises(ValueError, match="name must be one of mnist"):
        data.fetch(["digits"])


def test_full_mode_load_downloads_into_data(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_mode_cache", "full")
    staging = tmp_path / "staging"
    _fake_mnist(staging, np.random.default_rng(10))
    payload = (staging / "keras" / "mnist.npz").read_bytes()
    _serve(monkeypatch, _publish(monkeypatch, "mnist", {"mnist.npz": payload}), tmp_path / "net")
    ds = data.load_dataset("mnist", fallback="digits")
    assert ds.source == "download" and ds.name == "mnist"
    assert (config.DATA_DIR / "keras" / "mnist.npz").read_bytes() == payload


def test_download_file_keeps_a_good_copy_replaces_a_damaged_one_and_fails_cleanly(tmp_path, monkeypatch):
    # The one downloader behind datasets, Penn-Fudan and ImageNet weights (keras.utils.get_file underneath).
    payload = b"the published bytes"
    origin = "https://example.org/file.bin"
    asked = _serve(monkeypatch, {origin: payload}, tmp_path / "net")
    target = tmp_path / "data" / "keras" / "file.bin"
    md5 = hashlib.md5(payload).hexdigest()  # 32 hex digits: "auto" reads MD5, as get_file does
    assert files.download_file(origin, target, file_hash=md5) == len(payload)
    assert target.read_bytes() == payload and len(asked) == 1
    assert files.download_file(origin, target, file_hash=md5) == 0 and len(asked) == 1  # kept, not fetched
    target.write_bytes(b"the published")  # an interrupted copy: fetched again
    assert files.download_file(origin, target, file_hash=md5) == len(payload) and len(asked) == 2
    assert target.read_bytes() == payload
    with pytest.raises(files.ChecksumMismatch, match="SHA256 .* not the published 0{64}: it was not kept"):
        files.download_file(origin, tmp_path / "other" / "file.bin", file_hash="0" * 64)
    assert not (tmp_path / "other" / "file.bin").exists()
    with pytest.raises(OSError, match="the request for https://example.org/missing.bin failed"):
        files.download_file("https://example.org/missing.bin", tmp_path / "other" / "missing.bin")
    assert list((tmp_path / "other").iterdir()) == []


def test_download_false_never_calls_the_network(tmp_path, monkeypatch):
    def must_not_be_called(*args, **kwargs):
        raise AssertionError("download attempted")

    monkeypatch.setattr(files, "download_dataset", must_not_be_called)
    with pytest.raises(data.DatasetUnavailable, match="download=False"):
        data.load_dataset("mnist", data_dir=tmp_path, download=False)
    monkeypatch.setattr(config, "_mode_cache", "full")
    ds = data.load_dataset("mnist", data_dir=tmp_path, download=False, fallback="digits")
    assert ds.name == "digits"


def test_standardize_per_image_matches_a_loop_over_images_and_channels():
    images = np.random.default_rng(0).uniform(0, 1, (3, 5, 4, 2)).astype(np.float32)
    images[1, :, :, 0] = 0.25  # a flat channel must become zeros, not NaN
    got = data.standardize_per_image(images)
    for n in range(3):
        for c in range(2):
            channel = images[n, :, :, c].astype(np.float64)
            expected = (channel - channel.mean()) / np.sqrt(channel.var() + 1e-3)
            np.testing.assert_allclose(got[n, :, :, c], expected, rtol=1e-5, atol=1e-6)
    assert np.all(got[1, :, :, 0] == 0)
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W, C\), got shape \(5, 4\)"):
        data.standardize_per_image(np.zeros((5, 4)))


def test_shapes10_masks_mark_the_shape_and_leave_the_images_unchanged():
    images, labels = data.make_shapes10(200, seed=3)
    again, labels_again, masks = data.make_shapes10(200, seed=3, return_masks=True)
    np.testing.assert_array_equal(images, again)  # asking for masks changes nothing else
    np.testing.assert_array_equal(labels, labels_again)
    assert masks.shape == (200, 32, 32) and masks.dtype == bool
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10
    # Independent check: inside the mask every pixel is one colour plus the generator's noise (sd 0.04),
    # so its spread is small; the whole image (background, gradient, stroke, shape) spreads far more.
    for img, m in zip(images[:50], masks[:50]):
        assert 10 < m.sum() < m.size / 2  # radius 7-12 px: a real but partial region of the 32x32 frame
        inside = img[m]
        assert np.all(inside.std(axis=0) < 0.06)
        assert np.abs(inside.mean(axis=0) - img[~m].mean(axis=0)).max() > 0.1
    # The shape is brighter than the background on average (foreground 0.55-1, background 0-0.45 per channel).
    assert all(img[m].mean() > img[~m].mean() for img, m in zip(images, masks))
    with pytest.raises(TypeError, match="return_masks"):
        data.make_shapes10(10, return_masks=1)


def test_shown_path_keeps_machine_paths_out_of_messages(tmp_path, monkeypatch):
    from course_lib import config
    from course_lib.data import files

    assert files.shown_path(config.REPO_ROOT / "data" / "keras") == "data/keras"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.shown_path(tmp_path / ".cache" / "x") == "~/.cache/x"
    assert files.shown_path("/opt/elsewhere") == "/opt/elsewhere"
