"""Tests of course_lib.exercises: every check accepts the hand-worked answer, rejects typical mistakes with a
hint, and never prints the reference answer.

The right answers here are worked by hand (or from the papers), not taken from the references module.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks, exercises


def lecture_dj_dk(flatten="F", op="convolve", pool="max"):
    """Notebook 05's dJ/dK worked with loops: y = 0 and y_hat = 1, so dJ/dnet = -1."""
    x = np.arange(1, 65, dtype=float).reshape(8, 8)
    k = np.arange(1, 10, dtype=float).reshape(3, 3)
    kk = k[::-1, ::-1] if op == "convolve" else k  # convolution = correlation with the flipped kernel
    f = np.array([[np.sum(x[a:a + 3, b:b + 3] * kk) for b in range(6)] for a in range(6)])
    theta = np.array([1.0, 2.0, 3.0, 4.0])
    dz = -theta.reshape(2, 2, order=flatten)
    df = np.zeros((6, 6))
    for r in range(2):
        for s in range(2):
            win = f[3 * r:3 * r + 3, 3 * s:3 * s + 3]
            if pool == "max":
                i, j = np.unravel_index(np.argmax(win), win.shape)
                df[3 * r + i, 3 * s + j] = dz[r, s]
            else:
                df[3 * r:3 * r + 3, 3 * s:3 * s + 3] = dz[r, s] / 9
    dkk = np.array([[np.sum(df * x[i:i + 6, j:j + 6]) for j in range(3)] for i in range(3)])
    return dkk[::-1, ::-1] if op == "convolve" else dkk


def separable_vgg16():
    params = macs = 0
    size, c_in = 224, 3
    for convs, filters in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        for _ in range(convs):
            params += 9 * c_in + c_in * filters + filters
            macs += size * size * c_in * (9 + filters)
            c_in = filters
        size //= 2
    return {"params": params, "macs": macs}


def grad_cam_13_8():
    """Exercise 13.8 by hand: score = w . mean(A), so dy/dA_k = w_k / 4 everywhere and alpha_k = w_k / 4."""
    maps = np.array([[[1.0, 2], [0, 3]], [[4, 0], [1, 1]], [[0, 1], [2, 0]]])
    cam = np.maximum(np.tensordot(np.array([0.5, -1.0, 0.25]) / 4, maps, axes=1), 0)
    return cam / cam.max()


def lost_objects(boxes, grid_size, image_size):
    """Exercise 16.3: objects minus occupied cells, image by image."""
    side = image_size / grid_size
    lost = 0
    for b in boxes:
        centres = [((y0 + y1) / 2, (x0 + x1) / 2) for x0, y0, x1, y1 in np.asarray(b).reshape(-1, 4)]
        cells = {(min(int(y // side), grid_size - 1), min(int(x // side), grid_size - 1)) for y, x in centres}
        lost += len(b) - len(cells)
    return lost


def lost_objects_rounded(boxes, grid_size, image_size):
    side = image_size / grid_size
    return sum(len(b) - len({(round((y0 + y1) / 2 / side), round((x0 + x1) / 2 / side))
                             for x0, y0, x1, y1 in b}) for b in boxes)


def shared_cells(boxes, grid_size, image_size):
    side = image_size / grid_size
    total = 0
    for b in boxes:
        centres = [(int((y0 + y1) / 2 // side), int((x0 + x1) / 2 // side)) for x0, y0, x1, y1 in b]
        total += sum(1 for c in set(centres) if centres.count(c) > 1)
    return total


def dense_block(k, c0=64, layers=6, bn=True):
    """Section 7's block: per layer BN(c) + 1x1 conv c -> 4k + BN(4k) + 3x3 conv 4k -> k (no biases)."""
    total = 0
    for i in range(layers):
        c = c0 + i * k
        total += c * 4 * k + 9 * 4 * k * k + (4 * c + 4 * 4 * k if bn else 0)
    return total


def se_gates(r, bias=True):
    return sum(n * (2 * c * (c // r) + (c // r + c if bias else 0))
               for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3)))


RIGHT = {
    "00.3": (True, False),
    "01.1": dict(conv_params=3 * 3 * 16 * 32 + 32, dense_params=65536 * 131072 + 131072,
                 conv_macs=64 * 64 * 32 * 144, dense_macs=65536 * 131072),
    "01.2": 4,
    "01.4": dict(top=3, left=3, bottom=3, right=3),  # the half-width of 7
    "01.5": np.array([[1.0, 2, 1], [2, -12, 2], [1, 2, 1]]),
    "02.1": dict(value=59.28, x_entry=(3, 3)),
    "02.4": 7,
    "02.5": np.stack([np.full(3, 1 / 3), [0.0, 1.0, 0.0]], axis=-1)[None, None],
    "03.1": dict(sizes=[112, 56, 28, 14, 7], receptive_field=212),
    "03.2": [1, 2, 3, 4, 6, 8],
    "03.3": dict(most_params="fc1", most_macs="block3_conv2", most_activations="block1_conv2"),
    "03.6": dict(plain=112, dilated=7),  # 1 + 2*112 = 225 >= 224; 2^(7+1) - 1 = 255 >= 224 > 127
    "04.2": [0, 4, 8],
    "04.3": (0, 0),
    "04.4": lambda x, p: x ** (p - 1) / np.sum(x ** p) ** ((p - 1) / p),
    "05.1": lecture_dj_dk(flatten="C"),
    "05.2": lecture_dj_dk(op="correlate"),
    "05.3": lecture_dj_dk(pool="avg"),
    "05.5": -18525.0,
    "06.1": dict(kernel_shape=(5, 5, 64, 128), params=5 * 5 * 64 * 128 + 128),
    "06.5": np.zeros((1, 2)),
    "06.6": 44,  # 0.9**43 = 0.0108, 0.9**44 = 0.0097
    # "same" 5x5 convolutions: 28 -> 14 -> 7 (7*7*50 = 2450 flattened), 32 -> 16 -> 8 (3200)
    "07.2": {"fc1": (8 * 8 * 50 - 7 * 7 * 50) * 500},
    "07.4": dict(fc1_50=(2450 * 500 + 500 + 5010) - (2450 * 50 + 50 + 510),
                 gap=(2450 * 500 + 500 + 5010) - 510),
    "08.1": 1 / (1 - 0.2),  # inverted dropout divides the kept activations by the keep probability
    "08.2": 0.9985 ** 120,  # AdamW: w <- w - lr * wd * w at each step, lr * wd = 0.003 * 0.5
    "08.3": (6 / (9 * 16 + 9 * 16)) / 3,  # U(-a, a) has variance a^2 / 3, a = sqrt(6 / (fan_in + fan_out))
    "09.1": dict(alexnet=195, zfnet=171),
    "09.5": (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000) - (256 * 1000 + 1000),
    "10.2": dict(C=140, D=196),
    "11.1": {"3x3_reduce": 28 * 28 * 192 * 96, "5x5_reduce": 28 * 28 * 192 * 16},
    "11.2": 256 + 320 + 128 + 528,
    "11.3": (50176 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000),
    # conv3 of small_cnn: field 21, jump 4, start -8; unit 3 starts at -8 + 12, unit 5 at -8 + 20 (cut at 31)
    "13.6": dict(rows=(4, 24), cols=(12, 31)),
    "13.8": grad_cam_13_8(),
    "14.1": separable_vgg16(),
    # 1x1 256 -> Cd, grouped 3x3 (each output reads d channels), 1x1 Cd -> 256
    "14.2": {(c, d): 256 * c * d + 9 * c * d * d + c * d * 256
             for c, d in ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))},
    "14.4": {4: se_gates(4), 64: se_gates(64)},
    "14.5": {12: dense_block(12), 48: dense_block(48)},
    # 9ck > 4kc + 36k^2 with k = 32: 160c > 36864, c > 230.4; block 2 reads 128 + 32 (i - 1): 256 at i = 5
    "14.6": dict(channels=231, block2_layer=5),
    # conv kernels 5*5*3*16 + 9*16*32 + 9*32*64 + 9*64*128 (no biases, BN frozen), head 128*10 + 10
    "15.2": dict(everything=1200 + 4608 + 18432 + 73728 + 1290, last_block=73728 + 1290),
    # IoU (10 - d) / (10 + d) falls below 1/2 once d > 10/3
    "16.1": dict(iou=[(10 - d) / (10 + d) for d in range(11)], first_miss=4),
    "16.3": lost_objects,
    "16.7": (600 // 16) * (1000 // 16) * 9,  # four floor-halvings: 37 x 62 positions
    "17.1": dict(stride2=[[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]],
                 stride1=[[1, 2, 0], [3, 5, 2], [0, 3, 4]]),
    "17.7": dict(k8_valid=7 * 4 + 8, k8_same=8 * 4, k3_valid=15 * 2 + 3, k3_same=16 * 2),
    # class 0: 8 shared of 9 true, 10 predicted; class 1: 3 of 4 and 4; class 2: 2 of 3 and 2
    "17.8": dict(iou=[8 / 11, 3 / 5, 2 / 3], mean_iou=(8 / 11 + 3 / 5 + 2 / 3) / 3,
                 mean_dice=(16 / 19 + 6 / 8 + 4 / 5) / 3),
    "18.3": [0, 3, 2, 1],  # mirror . rot^r = rot^-r . mirror
    # g h: R(Rp + (0, 3)) + (2, 0) = R^2 p + (-3, 0) + (2, 0); g^-1: R^3 p - R^3 (2, 0) = R^3 p + (0, 2)
    "18.8": dict(gh=(2, (-1, 0)), g_inv=(3, (0, 2))),
    "18.9": dict(lift=16 * 5 * 5 * 3 + 16, group=16 * 4 * 12 * 5 * 5 + 16),
}

# (key, wrong answer, a word the hint must contain)
WRONG = [
    ("00.3", (True, True), "compare"),
    ("01.1", dict(RIGHT["01.1"], conv_params=4608), "biases"),
    ("08.1", 0.8, "inverse"),
    ("08.2", 1 - 120 * 0.0015, "compounds"),
    ("08.3", (6 / 288) ** 0.5, "limit"),
    ("01.2", 8, "stride"),
    ("01.4", dict(top=6, left=6, bottom=3, right=3), "half-width"),
    ("01.5", np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]), "rotated"),
    ("01.5", np.eye(3)[[1]].T @ np.eye(3)[[1]] * 5, "identity"),
    ("02.1", dict(value=59.28, x_entry=(4, 4)), "1-based"),
    ("02.1", dict(value=59.28, x_entry=(1, 1)), "correlation"),
    ("02.4", 9, "a + b - 1"),
    ("02.5", np.moveaxis(RIGHT["02.5"], 3, 2), "swapped"),
    ("02.5", RIGHT["02.5"][..., ::-1], "swapped"),
    ("02.5", RIGHT["02.5"] * [3, 1], "divide by 3"),
    ("03.1", dict(sizes=[224, 112, 56, 28, 14], receptive_field=212), "first size"),
    ("03.1", dict(sizes=[112, 56, 28, 14, 7], receptive_field=196), "block5_conv3"),
    ("03.1", dict(sizes=[112, 56, 28, 14, 7], receptive_field=107), "central unit"),  # a corner unit, ones
    ("03.2", [1, 2, 4, 8], "missing"),
    ("03.3", dict(most_params="block5_conv3", most_macs="fc1", most_activations="block1_conv1"), "dense"),
    ("03.6", dict(plain=111, dilated=7), "round up"),
    ("03.6", dict(plain=112, dilated=8), "2^(L+1) - 1"),
    ("03.6", dict(plain=225, dilated=7), "too large"),
    ("04.2", [0, 4], "missing"),
    ("04.3", (1, 1), "maximum"),
    ("04.4", lambda x, p: p * x ** (p - 1), "chain rule"),
    ("04.4", 3.0, "function"),
    ("05.1", lecture_dj_dk(), "column-major"),
    ("05.2", lecture_dj_dk(), "convolution"),
    ("05.3", 9 * lecture_dj_dk(pool="avg"), "1/9"),
    ("05.5", float("-inf"), "naive"),
    ("06.1", dict(kernel_shape=(128, 64, 5, 5), params=204928), "channels-first"),
    ("06.1", dict(kernel_shape=(5, 5, 64, 128), params=204800), "biases"),
    ("06.5", np.ones((1, 2)), "differ"),
    ("06.6", 43, "round up"),
    ("06.6", 459, "0.99"),
    ("07.2", {"fc1": 375000, "conv1": 100}, "input size"),
    ("07.4", dict(fc1_50=1225500 - 122550, gap=1225500), "output layer"),
    ("09.1", dict(alexnet=163, zfnet=171), "too small"),
    ("09.5", 37752832 + 16781312, "output layer"),
    ("10.2", dict(C=196, D=196), "1x1"),
    ("11.2", 1232 - 400, "528"),
    ("11.3", 50176 * 4096 + 4096 * 4096 + 4096 * 1000, "biases"),
    ("14.1", dict(separable_vgg16(), params=separable_vgg16()["params"] - 4224), "without biases"),
    ("13.6", dict(rows=(4, 24), cols=(12, 32)), "padding"),
    ("13.6", dict(rows=(12, 31), cols=(4, 24)), "swapped"),
    ("13.8", grad_cam_13_8() * 4, "scale"),
    ("13.8", np.array([[-3.5, 1.25], [-0.5, 0.5]]), "ReLU"),
    ("14.2", {(c, d): 512 * c * d + 9 * (c * d) ** 2
              for c, d in ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))}, "grouped"),
    ("14.4", {4: se_gates(4, bias=False), 64: se_gates(64)}, "biases"),
    ("14.4", {"r4": se_gates(4), "r64": se_gates(16)}, "r = 16"),
    ("14.5", {12: dense_block(12, bn=False), 48: dense_block(48)}, "BN"),
    ("14.6", dict(channels=230, block2_layer=5), "round up"),
    ("14.6", dict(channels=234, block2_layer=5), "convolution weights only"),
    ("15.2", dict(everything=99258 + 2 * (16 + 32 + 64 + 128), last_block=75018), "frozen"),
    ("15.2", dict(everything=99258, last_block=73728), "head"),
    ("16.1", dict(iou=[1 - d / 10 for d in range(11)], first_miss=4), "union"),
    ("16.1", dict(iou=[(10 - d) / (10 + d) for d in range(11)], first_miss=5), "half"),
    ("16.3", lost_objects_rounded, "floor"),
    ("16.3", shared_cells, "count objects"),
    ("16.3", 6, "function"),
    ("16.7", 37 * 62, "positions"),
    ("16.7", 38 * 63 * 9, "rounds down"),
    ("16.7", 18 * 31 * 9, "stride is 16"),
    ("17.1", dict(stride2=[[4, 3, 0, 0], [2, 1, 0, 0], [0, 0, 4, 3], [0, 0, 2, 1]],
                  stride1=[[1, 2, 0], [3, 5, 2], [0, 3, 4]]), "as it is"),
    ("17.1", dict(stride2=[[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]], stride1=[[1, 2], [3, 5]]),
     "(n - 1) x stride + kernel"),
    ("17.7", dict(k8_valid=32, k8_same=32, k3_valid=33, k3_same=32), "overhang"),
    ("17.7", dict(k8_valid=36, k8_same=36, k3_valid=33, k3_same=32), "n x s"),
    ("17.8", dict(iou=[16 / 19, 6 / 8, 4 / 5], mean_iou=0.6646, mean_dice=0.7974), "Dice scores"),
    ("17.8", dict(iou=[8 / 11, 3 / 5, 2 / 3], mean_iou=13 / 16, mean_dice=0.7974), "pixel accuracy"),
    ("17.8", dict(iou=[8 / 11, 3 / 5, 2 / 3], mean_iou=(3 / 5 + 2 / 3) / 2, mean_dice=0.7974), "background"),
    ("18.3", [0, 1, 2, 3], "do move"),
    ("18.3", [1, 2, 3, 0], "not a rotation"),
    ("18.8", dict(gh=(2, (0, 5)), g_inv=(3, (0, 2))), "h first"),
    ("18.8", dict(gh=(2, (2, 3)), g_inv=(3, (0, 2))), "turned"),
    ("18.8", dict(gh=(2, (-1, 0)), g_inv=(1, (-2, 0))), "rotation part"),
    ("18.9", dict(lift=4 * 1200 + 16, group=16 * 12 * 25 + 16), "store them once"),
    ("18.9", dict(lift=1216 + 48, group=19216 * 4 - 48), "shared by its four rotations"),
]


def test_every_key_has_a_right_answer_here():
    assert sorted(RIGHT) == exercises.available()


@pytest.mark.parametrize("key", sorted(RIGHT))
def test_right_answer_is_accepted(key, capsys):
    assert exercises.check(key, RIGHT[key]) is True
    assert capsys.readouterr().out.startswith(f"{key}: right")


@pytest.mark.parametrize(("key", "answer", "hint"), WRONG)
def test_wrong_answer_is_refused_with_a_reason(key, answer, hint, capsys):
    assert exercises.check(key, answer) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{key}: not yet: ") and hint in out, out


@pytest.mark.parametrize("key", ["01.1", "03.2", "06.1", "09.5", "11.3", "14.1", "15.2", "16.7",
                                 "18.9"])
def test_messages_do_not_reveal_the_answer(key, capsys):
    # a wrong answer of the right form: every number in the message must differ from the right values
    right = RIGHT[key]
    wrong = ({k: (v + 7 if isinstance(v, int) else v) for k, v in right.items()} if isinstance(right, dict)
             else [2, 5] if isinstance(right, list) else right + 7)
    exercises.check(key, wrong)
    out = capsys.readouterr().out
    values = right.values() if isinstance(right, dict) else (right if isinstance(right, list) else [right])
    for v in values:
        if isinstance(v, int) and v > 9:
            assert str(v) not in out.replace(",", "") and f"{v:,}" not in out


def test_checks_exercise_is_the_same_check(capsys):
    assert checks.exercise("01.2", 4) is True
    assert "01.2: right" in capsys.readouterr().out
    assert checks.exercise("01.2", 3, quiet=True) is False
    assert capsys.readouterr().out == ""


def test_bad_keys_and_forms():
    with pytest.raises(ValueError, match="03.2"):
        exercises.check("99.1", 1)
    with pytest.raises(TypeError):
        exercises.check(3.2, 1)
    with pytest.raises(TypeError):
        exercises.check("01.2", 4, quiet="no")
    assert exercises.check("01.1", 5, quiet=True) is False  # not a dict: refused, not raised
    assert exercises.check("02.5", "kernel", quiet=True) is False
    assert "(KH, KW, 3, 2)" in exercises.describe("02.5")


# ------------------------------------------------------------------------------------------------ 19
# Worked by hand: 1024 / (2 x 4) = 128; 0.1 x 8192 / 256 = 3.2; ceil(1,281,167 / 8,192) = 157 (156 full
# batches and one of 3,215 images).
RIGHT_19 = {"19.1": 128, "19.2": 3.2, "19.3": 157}
RIGHT.update(RIGHT_19)  # test_every_key_has_a_right_answer_here reads RIGHT when it runs


@pytest.mark.parametrize("key", sorted(RIGHT_19))
def test_data_parallel_right_answers_and_no_leak(key, capsys):
    assert exercises.check(key, RIGHT_19[key]) is True
    assert capsys.readouterr().out.startswith(f"{key}: right")
    exercises.check(key, RIGHT_19[key] + 7)
    out = capsys.readouterr().out
    assert out.startswith(f"{key}: not yet") and str(RIGHT_19[key]) not in out


@pytest.mark.parametrize(("key", "answer", "hint"), [
    ("19.1", 1024, "global batch"),
    ("19.1", 512, "one machine's share"),
    ("19.1", 256, "every replica of the cluster"),
    ("19.1", 128.5, "whole number"),
    ("19.2", 0.1 * 32 ** 0.5, "square-root"),
    ("19.2", 0.1 / 32, "grows with the batch"),
    ("19.2", 0.1, "warm-up starts"),
    ("19.3", 156, "round up"),
    ("19.3", 157 * 256, "not count it per GPU"),
    ("19.3", 40037, "one GPU's share"),  # ceil(1,281,167 / 32)
])
def test_data_parallel_wrong_answers_get_a_hint(key, answer, hint, capsys):
    assert exercises.check(key, answer) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{key}: not yet: ") and hint in out, out
