"""course_lib.scenes: the generated scenes against independent readings of their own masks (scipy's
find_objects for the boxes), determinism, the loader, and the Penn-Fudan path with a hand-made archive."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from scipy import ndimage

from course_lib import config, data, scenes


@pytest.fixture(scope="module")
def sample():
    return scenes.make_scenes(200, seed=3)


def test_shapes_dtypes_and_ranges(sample):
    assert sample.images.shape == (200, 64, 64, 3) and sample.images.dtype == np.float32
    assert 0.0 <= sample.images.min() and sample.images.max() <= 1.0
    assert sample.instance_masks.shape == sample.class_masks.shape == (200, 64, 64)
    assert len(sample.boxes) == len(sample.labels) == len(sample) == 200
    for boxes, labels in zip(sample.boxes, sample.labels):
        assert boxes.shape == (len(labels), 4) and boxes.dtype == np.float32 and labels.dtype == np.int64
        assert 1 <= len(labels) <= 4
        assert ((labels >= 0) & (labels < 10)).all()
    assert sample.class_names == data.CLASS_NAMES["shapes10"]


def test_boxes_are_the_tight_boxes_of_the_instance_masks(sample):
    # scipy's find_objects gives each label's bounding slices: an independent reading of the same mask.
    for inst, boxes in zip(sample.instance_masks, sample.boxes):
        slices = ndimage.find_objects(inst)
        assert len(slices) == len(boxes)
        for (rows, cols), box in zip(slices, boxes):
            np.testing.assert_array_equal(box, [cols.start, rows.start, cols.stop, rows.stop])


def test_class_map_agrees_with_instances_and_labels(sample):
    for inst, cls, labels in zip(sample.instance_masks, sample.class_masks, sample.labels):
        for j, label in enumerate(labels):
            assert (cls[inst == j + 1] == label + 1).all()
        assert (cls[inst == 0] == 0).all()


def test_objects_vary_and_some_overlap(sample):
    counts = np.array([len(lab) for lab in sample.labels])
    assert set(counts) == {1, 2, 3, 4}
    sides = np.concatenate([b[:, 2] - b[:, 0] for b in sample.boxes])
    assert sides.min() <= 14 and sides.max() >= 24  # sizes spread over the range asked for (12 to 28)
    overlapping = 0
    for boxes in sample.boxes:
        b = boxes.astype(float)
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                w = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
                h = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
                overlapping += w > 0 and h > 0
    assert overlapping >= 10
    all_labels = np.concatenate(sample.labels)
    assert set(all_labels) == set(range(10))


def test_each_object_keeps_most_of_its_pixels():
    s = scenes.make_scenes(60, seed=1, min_visible=0.6)
    # An object's visible pixels never vanish, so every instance id up to the count is in the map.
    for inst, labels in zip(s.instance_masks, s.labels):
        assert set(np.unique(inst)) == set(range(len(labels) + 1))


def test_a_lone_circle_fills_pi_over_four_of_its_box():
    s = scenes.make_scenes(40, seed=2, classes=["circle"], min_objects=1, max_objects=1, min_size=20,
                           max_size=28, noise=0.0)
    ratios = [(inst > 0).sum() / float(np.prod(b[0, 2:] - b[0, :2]))
              for inst, b in zip(s.instance_masks, s.boxes)]
    # The drawn disc has radius 0.9 of the half-side drawn; its box is the disc's own box: ratio pi / 4.
    assert abs(np.mean(ratios) - np.pi / 4) < 0.04
    assert s.class_names == ("circle",)
    assert all((lab == 0).all() for lab in s.labels)


def test_deterministic_in_the_seed():
    a = scenes.make_scenes(20, seed=5)
    b = scenes.make_scenes(20, seed=5)
    c = scenes.make_scenes(20, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.instance_masks, b.instance_masks)
    assert all((x == y).all() for x, y in zip(a.boxes, b.boxes))
    assert not np.array_equal(a.images, c.images)


def test_class_subset_and_subset_method():
    s = scenes.make_scenes(30, seed=0, classes=("square", 4), image_size=32, max_size=16)
    assert s.class_names == ("square", "triangle")
    assert s.images.shape == (30, 32, 32, 3)
    assert set(np.concatenate(s.labels)) <= {0, 1}
    part = s.subset(np.array([2, 5]))
    assert len(part) == 2 and part.boxes[1] is s.boxes[5]
    np.testing.assert_array_equal(part.images[0], s.images[2])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n": 0}, ValueError, "n must be a positive int"),
    ({"n": 2, "classes": "circle"}, TypeError, "classes must be None or a non-empty sequence"),
    ({"n": 2, "classes": ["blob"]}, ValueError, "classes must name shapes"),
    ({"n": 2, "classes": ["circle", 0]}, ValueError, "must not repeat"),
    ({"n": 2, "image_size": 8}, ValueError, "image_size must be an int >= 16"),
    ({"n": 2, "max_overlap": 1.0}, ValueError, "max_overlap must be a float in"),
    ({"n": 2, "min_size": 20, "max_size": 10}, ValueError, "max_size must be a float in"),
])
def test_bad_arguments(kwargs, error, match):
    n = kwargs.pop("n")
    with pytest.raises(error, match=match):
        scenes.make_scenes(n, **kwargs)


def test_load_dataset_scenes_follows_the_return_conventions():
    ds = scenes.load_scene_dataset("scenes", n_train=12, n_test=5, seed=1)
    assert isinstance(ds, data.Dataset) and isinstance(ds, scenes.SceneDataset)
    (x_train, y_train), (x_test, y_test) = ds
    assert x_train.shape == (12, 64, 64, 3) and x_test.shape == (5, 64, 64, 3)
    assert y_train.shape == (12, 64, 64) and y_train.dtype == np.int64
    assert ds.class_names == ("background", *data.CLASS_NAMES["shapes10"])
    assert ds.num_classes == 11 and ds.name == "scenes" and ds.source == "offline"
    np.testing.assert_array_equal(ds.y_train, ds.train.class_masks)
    assert len(ds.train.boxes) == 12 and len(ds.test.boxes) == 5
    # the test scenes come from another stream of the generator
    assert not np.array_equal(ds.train.images[:5], ds.test.images)
    small = scenes.load_scene_dataset("scenes", n_train=3, n_test=2, image_size=32)
    assert small.x_train.shape == (3, 32, 32, 3)


# ------------------------------------------------------------------------------------------- Penn-Fudan


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _fake_pennfudan(count=170) -> bytes:
    """A stand-in archive with the real layout: an image and a mask (0 background, 1..k people) per file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(count):
            image = np.full((40, 60, 3), i % 255, np.uint8)
            mask = np.zeros((40, 60), np.uint8)
            mask[4:36, 6:18] = 1      # person 1: columns 6..17, rows 4..35
            if i % 2:
                mask[10:30, 40:50] = 2  # person 2 on odd images
            stem = f"PennFudanPed/PNGImages/FudanPed{i:05d}"
            z.writestr(stem + ".png", _png(image))
            z.writestr(stem.replace("PNGImages", "PedMasks") + "_mask.png", _png(mask))
    return buf.getvalue()


@pytest.fixture(scope="module")
def fake_archive():
    return _fake_pennfudan()


def test_pennfudan_in_quick_mode_falls_back_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "_mode_cache", "quick")
    ds = scenes.load_scene_dataset("pennfudan", fallback="scenes", data_dir=tmp_path, n_train=4, n_test=2)
    assert ds.name == "scenes" and ds.requested == "pennfudan"
    out = capsys.readouterr().out
    assert "quick mode does not download: using scenes instead" in out and out.count("\n") == 1
    with pytest.raises(data.DatasetUnavailable, match="PennFudanPed.zip"):
        scenes.load_scene_dataset("pennfudan", data_dir=tmp_path)


def test_pennfudan_reads_the_archive_in_place(tmp_path, fake_archive):
    path = scenes.pennfudan_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(fake_archive)
    ds = scenes.load_scene_dataset("pennfudan", data_dir=tmp_path, image_size=30)
    assert ds.name == "pennfudan" and ds.source == "cache"
    assert len(ds.train) == 120 and len(ds.test) == 50 and ds.x_train.shape[1:] == (30, 30, 3)
    assert ds.class_names == ("background", "pedestrian")
    counts = sorted({len(b) for b in ds.train.boxes})
    assert counts == [1, 2]
    # The 60 x 40 photograph is squashed to 30 x 30: columns scale by 1/2, rows by 3/4. Person 1 covers
    # columns 6..17 and rows 4..35, so its box is about (3, 3, 9, 27) (nearest-neighbour resizing moves an
    # edge by at most one pixel).
    for boxes in ds.train.boxes:
        np.testing.assert_allclose(boxes[0], [3, 3, 9, 27], atol=1)
    assert set(np.unique(ds.y_train)) == {0, 1}


def test_pennfudan_downloads_in_full_mode_and_checks_the_content(tmp_path, monkeypatch, fake_archive, capsys):
    monkeypatch.setattr(config, "_mode_cache", "full")
    asked = []

    def serve(fname, origin, **kwargs):
        # The network under the kit's downloader: the real keras.utils.get_file, from a local file.
        import keras

        asked.append(origin)
        staged = tmp_path / "net" / f"served-{len(asked)}"
        staged.parent.mkdir(exist_ok=True)
        staged.write_bytes(payload)
        return keras.utils.get_file(fname, staged.as_uri(), **kwargs)

    monkeypatch.setattr(data.files, "_get_file", serve)
    payload = b"not a zip file"
    ds = scenes.load_scene_dataset("pennfudan", fallback="scenes", data_dir=tmp_path, n_train=2, n_test=2)
    assert ds.name == "scenes" and "could not be downloaded" in ds.note
    assert not scenes.pennfudan_path(tmp_path).exists()  # nothing half-written is kept
    payload = fake_archive
    ds = scenes.load_scene_dataset("pennfudan", data_dir=tmp_path, image_size=32)
    assert ds.name == "pennfudan" and ds.source == "download" and asked == [scenes.PENNFUDAN_URL] * 2
    assert hashlib.sha256(fake_archive).hexdigest() in capsys.readouterr().out
    # with a pinned digest, a file that does not match it is refused
    monkeypatch.setattr(scenes, "PENNFUDAN_SHA256", "0" * 64)
    with pytest.raises(data.DatasetUnavailable, match="not the pinned"):
        scenes.load_scene_dataset("pennfudan", data_dir=tmp_path)


def test_pennfudan_with_a_wrong_archive_is_refused(tmp_path):
    path = scenes.pennfudan_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(_fake_pennfudan(count=3))
    with pytest.raises(data.DatasetUnavailable, match="3 image/mask pairs"):
        scenes.load_scene_dataset("pennfudan", data_dir=tmp_path)


def test_data_load_dataset_points_to_the_scene_loader():
    with pytest.raises(ValueError, match="load_scene_dataset"):
        data.load_dataset("scenes")
