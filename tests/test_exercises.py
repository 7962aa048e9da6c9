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
    "14.1": separable_vgg16(),
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


@pytest.mark.parametrize("key", ["01.1", "03.2", "06.1", "09.5", "11.3", "14.1"])
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
