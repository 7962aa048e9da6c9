"""course_lib.pretrained: ImageNet weight files found, missing, corrupt or of the wrong hash; the course net.

No test touches the network. The weight files are made here in the format keras.applications downloads
(a legacy Keras HDF5 weights file: one group per layer at the root, ``layer_names`` in its attributes), from
a small MobileNetV2 (width 0.35, 96x96, no classifier) with random weights, saved under the exact file name
Keras would look for; the table's hash is patched to the file's own MD5 computed here with hashlib.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from course_lib import pretrained
from course_lib.data import files

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SMALL = {"alpha": 0.35, "input_shape": (96, 96, 3)}
SMALL_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
KERAS_APPS = Path(keras.__file__).resolve().parent / "src" / "applications"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A random-weight MobileNetV2 saved as a weights-only legacy HDF5 file; returns (file, its weights)."""
    keras.utils.set_random_seed(1)
    model = keras.applications.MobileNetV2(weights=None, include_top=False, **SMALL)
    folder = tmp_path_factory.mktemp("made")
    full = folder / "full.h5"
    model.save(full)  # Keras's legacy HDF5 writer; the weights sit in its "model_weights" group
    path = folder / SMALL_FILE
    with h5py.File(full, "r") as src, h5py.File(path, "w") as out:  # move them to the root, as published
        group = src["model_weights"]
        for key, value in group.attrs.items():
            out.attrs[key] = value
        for key in group:
            group.copy(key, out)
    return path, [np.array(w) for w in model.get_weights()]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty course data folder and empty Keras caches (KERAS_HOME and HOME both inside tmp_path)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(files, "_get_file", _no_network)  # under the kit's one downloader (data.files)
    return tmp_path / "data"


def _no_network(*args, **kwargs):
    raise OSError("network disabled in the tests")


def _place(made_file: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(made_file, folder / SMALL_FILE))


def _load_small(data_dir, **kwargs):
    return pretrained.imagenet_model("mobilenet_v2", include_top=False, data_dir=data_dir, **SMALL, **kwargs)


# ------------------------------------------------------------------------------------------- the table


@pytest.mark.parametrize("name", pretrained.IMAGENET_MODELS)
def test_table_matches_the_keras_applications_sources(name):
    # The installed Keras's own source, read as text: file names, addresses and hashes must appear there.
    constructor, with_top, no_top = pretrained.IMAGENET_WEIGHTS[name]
    assert hasattr(keras.applications, constructor)
    source = {"vgg16": "vgg16", "resnet50": "resnet", "mobilenet_v2": "mobilenet_v2",
              "efficientnet_b0": "efficientnet", "xception": "xception", "inception_v3": "inception_v3"}[name]
    text = (KERAS_APPS / f"{source}.py").read_text()
    for wf in (with_top, no_top):
        assert wf.origin.endswith("/" + wf.fname)
        if name == "mobilenet_v2":  # names built from alpha and rows; no hash passed to get_file
            assert "BASE_WEIGHT_PATH + model_name" in text
            assert "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" in text
            assert wf.file_hash is None and "file_hash" not in text
        elif name == "resnet50":
            hashes = re.search(r'"resnet50": \(\s*"(\w+)",\s*"(\w+)"', text).groups()
            assert (with_top.file_hash, no_top.file_hash) == hashes
            assert wf.origin == f"https://storage.googleapis.com/tensorflow/keras-applications/resnet/{wf.fname}"
        elif name == "efficientnet_b0":
            hashes = re.search(r'"b0": \(\s*"(\w+)",\s*"(\w+)"', text).groups()
            assert (with_top.file_hash, no_top.file_hash) == hashes
            assert 'name="efficientnetb0"' in text
            assert 'BASE_WEIGHTS_PATH = "' + wf.origin[:-len(wf.fname)] in text
        else:
            assert f'"{wf.fname}"' in text and f'file_hash="{wf.file_hash}"' in text
    # the hash given with the top file comes first in the source, as keras passes them
    if with_top.file_hash and name not in ("resnet50", "efficientnet_b0"):
        assert text.index(with_top.file_hash) < text.index(no_top.file_hash)


def test_class_index_matches_keras():
    text = (KERAS_APPS / "imagenet_utils.py").read_text()
    assert pretrained.CLASS_INDEX.file_hash in text and pretrained.CLASS_INDEX.fname in text
    origin = re.search(r'CLASS_INDEX_PATH = \(\s*"([^"]+)"\s*"([^"]+)"', text).groups()
    assert pretrained.CLASS_INDEX.origin == "".join(origin)


def test_mobilenet_file_names_follow_alpha_and_rows():
    wf = pretrained.weight_file("mobilenet_v2", include_top=False, alpha=0.35, rows=96)
    assert wf.fname == SMALL_FILE
    assert pretrained.weight_file("mobilenet_v2", rows=150).fname.endswith("_1.0_224.h5")  # Keras's default
    with pytest.raises(ValueError, match="alpha"):
        pretrained.weight_file("mobilenet_v2", alpha=0.6)
    with pytest.raises(ValueError, match="name must be"):
        pretrained.weight_file("alexnet")


def test_search_order_is_data_then_keras_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ours = tmp_path / "data" / "keras" / "models"
    assert pretrained.weights_dirs(tmp_path / "data") == [
        ours, tmp_path / "kh" / "models", tmp_path / "home" / ".keras" / "models"]
    assert pretrained.weights_dirs(tmp_path / "data", keras_cache=False) == [ours]


# ------------------------------------------------------------------------------------ found / missing


def test_found_in_data_loads_back_identically(made, places, monkeypatch):
    path, weights = made
    placed = _place(path, places / "keras" / "models")
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, md5(path))
    model = _load_small(places, download=False)
    loaded = model.get_weights()
    assert len(loaded) == len(weights) and all(np.array_equal(a, b) for a, b in zip(loaded, weights))
    assert pretrained.locate_weights("mobilenet_v2", include_top=False, alpha=0.35, rows=96,
                                     data_dir=places, download=False) == placed


def test_found_in_keras_cache(made, places, monkeypatch, tmp_path):
    path, weights = made
    placed = _place(path, tmp_path / "keras_home" / "models")
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, md5(path))
    assert pretrained.locate_weights("mobilenet_v2", include_top=False, alpha=0.35, rows=96,
                                     data_dir=places, download=False) == placed
    with pytest.raises(pretrained.WeightsUnavailable):  # when told not to look there
        pretrained.locate_weights("mobilenet_v2", include_top=False, alpha=0.35, rows=96, data_dir=places,
                                  download=False, keras_cache=False)


def test_missing_without_download_names_file_url_and_place(places):
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.imagenet_model("vgg16", data_dir=places, download=False)
    message = str(info.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" in message
    assert str(places / "keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels.h5") in message
    assert "make weights" in message


def test_missing_and_offline_download_fails_clearly(places):
    with pytest.raises(pretrained.WeightsUnavailable, match="could not be downloaded.*network disabled"):
        pretrained.imagenet_model("resnet50", include_top=False, data_dir=places)


def test_download_goes_through_keras_get_file_with_the_published_hash(made, places, monkeypatch):
    path, weights = made
    calls = []

    def serve_made_file(fname, origin, *, file_hash, hash_algorithm, cache_subdir, cache_dir):
        # The real get_file, given the made file as the address: its own hash check runs.
        calls.append((fname, origin, file_hash, hash_algorithm, cache_subdir, cache_dir))
        return keras.utils.get_file(fname, path.as_uri(), file_hash=file_hash, hash_algorithm=hash_algorithm,
                                    cache_subdir=cache_subdir, cache_dir=cache_dir)

    monkeypatch.setattr(files, "_get_file", serve_made_file)
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, md5(path))
    model = _load_small(places)
    assert calls == [(SMALL_FILE, pretrained.lookup._KA + "mobilenet_v2/" + SMALL_FILE, md5(path), "md5",
                      "models", str(places / "keras"))]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
    assert (places / "keras" / "models" / SMALL_FILE).is_file()


def test_a_download_with_the_wrong_hash_is_refused_and_not_kept(made, places, monkeypatch):
    path, _ = made

    def serve_made_file(fname, origin, **kwargs):
        return keras.utils.get_file(fname, path.as_uri(), **kwargs)

    monkeypatch.setattr(files, "_get_file", serve_made_file)
    wrong = hashlib.md5(b"another file").hexdigest()
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, wrong)
    with pytest.raises(pretrained.WeightsUnavailable, match=f"not the published {wrong}") as info:
        _load_small(places)
    assert md5(path) in str(info.value)  # the digest of what was received
    assert not (places / "keras" / "models" / SMALL_FILE).exists()


def test_fallback_random_and_course(places, capsys):
    model = _load_small(places, download=False, fallback="random")
    reference = keras.applications.MobileNetV2(weights=None, include_top=False, **SMALL)
    assert [w.shape for w in model.weights] == [w.shape for w in reference.weights]
    assert "random weights" in capsys.readouterr().out
    course = pretrained.imagenet_model("xception", include_top=False, data_dir=places, download=False,
                                       fallback="course")
    assert course.output.shape == (None, 128) and "course's offline network" in capsys.readouterr().out
    with pytest.raises(ValueError, match="fallback must be"):
        pretrained.imagenet_model("vgg16", data_dir=places, fallback="imagenet")


# ------------------------------------------------------------------------------- corrupt / wrong hash


def test_corrupt_file_with_a_hash_is_refused_before_loading(made, places, monkeypatch):
    path, _ = made
    placed = _place(path, places / "keras" / "models")
    placed.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # an interrupted copy
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, md5(path))
    with pytest.raises(pretrained.WeightsCorrupt) as info:
        _load_small(places, download=False)
    assert str(placed) in str(info.value) and md5(path) in str(info.value) and "MD5" in str(info.value)


def test_corrupt_file_without_a_published_hash_fails_to_load_clearly(made, places):
    path, _ = made
    placed = _place(path, places / "keras" / "models")
    placed.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert pretrained.weight_file("mobilenet_v2", include_top=False, alpha=0.35, rows=96).file_hash is None
    with pytest.raises(pretrained.WeightsCorrupt, match=re.escape(str(placed))):
        _load_small(places, download=False)


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_wrong_hash_is_refused(made, places, monkeypatch, algorithm):
    path, _ = made
    placed = _place(path, places / "keras" / "models")
    wrong = hashlib.new(algorithm, b"another file").hexdigest()
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, wrong)
    with pytest.raises(pretrained.WeightsCorrupt) as info:
        pretrained.locate_weights("mobilenet_v2", include_top=False, alpha=0.35, rows=96, data_dir=places)
    message = str(info.value)
    assert str(placed) in message and wrong in message
    assert hashlib.new(algorithm, path.read_bytes()).hexdigest() in message  # the file's real digest


def test_bad_arguments(places):
    with pytest.raises(TypeError, match="weights"):
        pretrained.imagenet_model("vgg16", weights="imagenet", data_dir=places)
    with pytest.raises(ValueError, match="classes must be 1000"):
        pretrained.imagenet_model("vgg16", classes=10, data_dir=places)


# ---------------------------------------------------------------------------- class names and top-k


def test_top_k_against_a_plain_sort():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(12), size=4)
    names = [(f"n{i:08d}", f"class {i}") for i in range(12)]
    got = pretrained.top_k(p, names, k=5)
    for row, result in zip(p, got):
        expected = sorted(range(12), key=lambda j: -row[j])[:5]
        assert [n for n, _ in result] == [f"class {j}" for j in expected]
        assert [s for _, s in result] == pytest.approx([row[j] for j in expected])
    with pytest.raises(ValueError, match="columns"):
        pretrained.top_k(p, names[:3])
    with pytest.raises(ValueError, match="k must be"):
        pretrained.top_k(p, names, k=13)


def test_imagenet_classes_read_hash_checked(places, monkeypatch, tmp_path):
    folder = places / "keras" / "models"
    folder.mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"thing_{i}"] for i in range(1000)}
    path = folder / pretrained.CLASS_INDEX.fname
    path.write_text(json.dumps(index))
    with pytest.raises(pretrained.WeightsCorrupt, match="imagenet_class_index.json"):
        pretrained.imagenet_classes(data_dir=places)  # a made-up file does not have Keras's hash
    patched = pretrained.CLASS_INDEX._replace(file_hash=md5(path))
    monkeypatch.setattr(pretrained.lookup, "CLASS_INDEX", patched)
    classes = pretrained.imagenet_classes(data_dir=places)
    assert len(classes) == 1000 and classes[7] == ("n00000007", "thing_7")


def test_preprocess_uses_each_networks_convention():
    x = np.linspace(0, 1, 2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    np.testing.assert_allclose(pretrained.preprocess("mobilenet_v2", x), 2 * x - 1, atol=1e-6)
    # VGG16: RGB -> BGR, minus the ImageNet channel means on the 0-255 scale (Simonyan & Zisserman's recipe)
    means = np.array([103.939, 116.779, 123.68], np.float32)
    np.testing.assert_allclose(pretrained.preprocess("vgg16", x), x[..., ::-1] * 255 - means, atol=1e-3)


# ------------------------------------------------------------------------------------ command line


def test_cli_status_and_fetch(made, places, monkeypatch, capsys):
    path, _ = made
    assert set(pretrained.status(data_dir=places).values()) == {"missing"}
    assert not pretrained.fetch(data_dir=places)  # offline: every file fails, with the address to use
    out = capsys.readouterr().out
    assert "FAILED" in out and "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5" in out
    _place(path, places / "keras" / "models")
    monkeypatch.setitem(pretrained.MOBILENET_V2_HASHES, SMALL_FILE, md5(path))
    assert pretrained.fetch(["mobilenet_v2"], data_dir=places) is False  # 1.0 files and class names missing
    assert SMALL_FILE not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        pretrained.main(["fetch", "alexnet"])


# ---------------------------------------------------------------------------------- the course network


def test_course_checkpoint_hash_matches_record_computed_independently():
    record = pretrained.course_record()
    path = pretrained.CHECKPOINT_DIR / record["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]
    assert path.stat().st_size == record["bytes"] < 2_000_000
    assert record["accuracy"]["val_top1"] > 10 * record["accuracy"]["chance"]


def test_course_model_is_trained_on_its_source_task():
    model = pretrained.course_model()
    assert model.input.shape == (None, 32, 32, 3) and model.output.shape == (None, 100)
    x, y = pretrained.make_glyphs(600, seed=777)  # a stream the recipe never drew from
    accuracy = float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))
    assert accuracy > 0.8 * pretrained.course_record()["accuracy"]["val_top1"] > 0.3
    features = pretrained.course_model(include_top=False)
    assert features.output.shape == (None, 128)
    np.testing.assert_allclose(features.predict(x[:8], verbose=0),
                               keras.Model(model.input, model.get_layer("avg_pool").output)(x[:8]), atol=1e-5)


def test_course_model_first_layer_is_smoother_than_random():
    # Trained first-layer filters vary slowly across neighbouring pixels (edges, blobs); He-initialised ones
    # do not. Ratio of neighbour-difference energy to total energy: about 3.2 for 5x5 white noise.
    def roughness(kernels):
        k = kernels - kernels.mean(axis=(0, 1), keepdims=True)
        diffs = np.sum(np.diff(k, axis=0) ** 2) + np.sum(np.diff(k, axis=1) ** 2)
        return diffs / np.sum(k ** 2)

    trained = pretrained.course_model().get_layer("block1_conv").get_weights()[0]
    assert trained.shape == (5, 5, 3, 16)
    rng = np.random.default_rng(0)
    noise = np.mean([roughness(rng.standard_normal(trained.shape)) for _ in range(50)])
    assert 3.0 < noise < 3.4  # white noise, computed here: the scale the threshold is read against
    assert roughness(trained) < 0.65 * noise


def test_course_model_refuses_a_changed_or_missing_checkpoint(tmp_path):
    for name in (pretrained.CHECKPOINT_NAME, pretrained.RECORD_NAME):
        shutil.copy(pretrained.CHECKPOINT_DIR / name, tmp_path / name)
    damaged = bytearray((tmp_path / pretrained.CHECKPOINT_NAME).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / pretrained.CHECKPOINT_NAME).write_bytes(bytes(damaged))
    with pytest.raises(pretrained.WeightsCorrupt, match=re.escape(pretrained.CHECKPOINT_NAME)):
        pretrained.course_model(directory=tmp_path)
    (tmp_path / pretrained.CHECKPOINT_NAME).unlink()
    with pytest.raises(pretrained.WeightsUnavailable, match="missing"):
        pretrained.course_model(directory=tmp_path)


def test_checkpoint_is_installed_with_the_kit():
    # an installed (non-editable) kit carries the checkpoint and its record beside its modules
    for name in (pretrained.CHECKPOINT_NAME, pretrained.RECORD_NAME):
        assert (Path(pretrained.__file__).parents[1] / "checkpoints" / name).stat().st_size > 0, name


@pytest.mark.checkout
def test_checkpoint_is_package_data():
    # what makes the wheel carry them: the package-data patterns in the checkout's pyproject.toml
    project = tomllib.loads((Path(pretrained.__file__).parents[2] / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["course_lib"]
    for name in (pretrained.CHECKPOINT_NAME, pretrained.RECORD_NAME):
        assert any(fnmatch.fnmatch(f"checkpoints/{name}", p) for p in patterns), (name, patterns)


# --------------------------------------------------------------------------------------- the glyphs


def test_glyphs_are_seeded_balanced_and_in_range():
    x, y = pretrained.make_glyphs(300, seed=3)
    x2, y2 = pretrained.make_glyphs(300, seed=3)
    assert x.shape == (300, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert np.bincount(y, minlength=100).tolist() == [3] * 100
    x3, _ = pretrained.make_glyphs(300, seed=4)
    assert not np.array_equal(x, x3)
    xs, ys = pretrained.make_glyphs(40, num_classes=4, image_size=48)
    assert xs.shape == (40, 48, 48, 3) and set(ys.tolist()) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="num_classes"):
        pretrained.make_glyphs(10, num_classes=101)
    with pytest.raises(TypeError, match="n must be"):
        pretrained.make_glyphs(2.5)
