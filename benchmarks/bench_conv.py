"""Time the NumPy convolution (loops vs im2col) against TensorFlow's, forward and forward+backward.

Run: ``.venv/bin/python benchmarks/bench_conv.py [--batch 64] [--loop-images 2] [--repeats 7]``

Workload: a batch of 32x32x3 images, 16 filters of 3x3, padding 1, stride 1, float32 (a CIFAR-sized first
layer). The loop version is far too slow for the whole batch, so it runs on a few images and its time is
scaled to the batch (the work is exactly proportional to the number of images); the output says when it does.
Prints times in milliseconds and the ratios side by side; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from course_lib.numpy_cnn import conv_backward, conv_forward  # noqa: E402


def interleaved_min(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """(minimum, median) wall time in seconds of each function, timed round-robin after one warm-up call each.

    Round-robin timing spreads any load from other processes over all methods alike, so the ratios stay fair
    on a shared machine; the minimum is the least disturbed run.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--loop-images", type=int, default=1, help="images the loop version really runs on")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    import tensorflow as tf

    rng = np.random.default_rng(0)
    n, s, c, f = args.batch, args.size, args.channels, args.filters
    x = rng.normal(size=(n, s, s, c)).astype(np.float32)
    w = (rng.normal(size=(3, 3, c, f)) * 0.1).astype(np.float32)
    b = rng.normal(size=f).astype(np.float32)
    dout = rng.normal(size=(n, s, s, f)).astype(np.float32)

    # --- im2col
    def im2col_fwd():
        return conv_forward(x, w, b, stride=1, pad=1, method="im2col")

    def im2col_both():
        out, cache = conv_forward(x, w, b, stride=1, pad=1, method="im2col")
        return conv_backward(dout, cache)

    def im2col_both_on(xs, ds):
        out, cache = conv_forward(xs, w, b, stride=1, pad=1, method="im2col")
        return conv_backward(ds, cache)

    # --- TensorFlow, eagerly, as a student would call it (results copied back to NumPy, like ours)
    tx, tw, tb = tf.constant(x), tf.constant(w), tf.constant(b)
    tpad = [[0, 0], [1, 1], [1, 1], [0, 0]]

    def tf_fwd():
        return (tf.nn.conv2d(tx, tw, 1, tpad) + tb).numpy()

    def tf_both():
        with tf.GradientTape() as tape:
            tape.watch([tx, tw, tb])
            y = tf.nn.conv2d(tx, tw, 1, tpad) + tb
        grads = tape.gradient(y, [tx, tw, tb], output_gradients=tf.constant(dout))
        return [g.numpy() for g in grads]

    # --- loops, on a slice
    k = min(args.loop_images, n)
    xs, ds = x[:k], dout[:k]

    def loop_fwd():
        return conv_forward(xs, w, b, stride=1, pad=1, method="loop")

    def loop_both():
        out, cache = conv_forward(xs, w, b, stride=1, pad=1, method="loop")
        return conv_backward(ds, cache)

    # Correctness first: a benchmark of wrong code is worthless.
    got = im2col_both()
    ref = tf_both()
    loop_grads = loop_both()
    def normwise(a, ref):
        return float(np.max(np.abs(np.float64(a) - ref)) / np.max(np.abs(ref)))

    grad_err = max(normwise(g, r) for g, r in zip(got, ref))
    fwd_err = normwise(im2col_fwd()[0], tf_fwd())
    loop_err = max(normwise(lg, g) for lg, g in zip(loop_grads, im2col_both_on(xs, ds)))

    scale = n / k
    fast = interleaved_min({"im2col fwd": im2col_fwd, "tf fwd": tf_fwd, "im2col both": im2col_both,
                            "tf both": tf_both}, args.repeats)
    slow = interleaved_min({"loop fwd": loop_fwd, "loop both": loop_both}, 1)
    rows = {
        "loop": {"fwd": tuple(v * scale for v in slow["loop fwd"]),
                 "both": tuple(v * scale for v in slow["loop both"])},
        "im2col": {"fwd": fast["im2col fwd"], "both": fast["im2col both"]},
        "tf.nn.conv2d": {"fwd": fast["tf fwd"], "both": fast["tf both"]},
    }

    print(f"conv {n}x{s}x{s}x{c} -> {f} filters 3x3, pad 1, stride 1, float32; NumPy {np.__version__}, "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU(s)")
    print(f"agreement (max |a-b| / max |b|): forward im2col vs TF {fwd_err:.1e}, gradients im2col vs TF "
          f"{grad_err:.1e}, loop vs im2col {loop_err:.1e}")
    if k < n:
        print(f"loop times measured on {k} of {n} images and scaled by {n / k:g} "
              "(the work is linear in the batch)")
    print()
    print(f"{'method':<14}{'forward ms':>14}{'fwd+bwd ms':>14}")
    for name, r in rows.items():
        print(f"{name:<14}{r['fwd'][0] * 1e3:>14.2f}{r['both'][0] * 1e3:>14.2f}")
    print(f"(fastest of {args.repeats} round-robin runs; the loop version: one run; medians below)")
    print()
    print(f"{'ratio':<18}{'forward':>10}{'fwd+bwd':>10}   target")
    ratios = [
        ("im2col / TF", rows["im2col"], rows["tf.nn.conv2d"], "<= 3x"),
        ("loop / im2col", rows["loop"], rows["im2col"], ">= 500x"),
    ]
    for label, num, den, target in ratios:
        fwd, both = num["fwd"][0] / den["fwd"][0], num["both"][0] / den["both"][0]
        print(f"{label:<18}{fwd:>9.1f}x{both:>9.1f}x   {target}")
    print()
    print("medians (ms): " + ", ".join(f"{name} fwd {r['fwd'][1] * 1e3:.2f} / both {r['both'][1] * 1e3:.2f}"
                                       for name, r in rows.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
