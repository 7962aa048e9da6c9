"""Time the NumPy convolution (loops vs im2col) against TensorFlow's, forward and forward+backward.

Run: ``.venv/bin/python benchmarks/bench_conv.py [--batch 64] [--repeats 30]`` (``make bench`` runs it).

Workload: a batch of 32x32x3 images, 16 filters of 3x3, padding 1, stride 1, float32 (a CIFAR-sized first
layer). TensorFlow is timed twice, each time in its own process because it reads the flag once, at import:
with its defaults (oneDNN on, as users run it) and with ``TF_ENABLE_ONEDNN_OPTS=0`` (what the course sets for
reproducible notebook outputs, several times slower on CPU). All three are timed round-robin: each repeat runs
im2col here, then asks each TensorFlow process for one timed call, so load from other processes hits them
alike. The loop version is far too slow for the whole batch: it runs on one image, scaled to the batch (the
work is exactly proportional to the number of images). Prints times in milliseconds and ratios; asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# TensorFlow settings compared: label -> TF_ENABLE_ONEDNN_OPTS value (None: unset, TensorFlow's default).
SETTINGS = {"TF defaults (oneDNN on)": None, "TF_ENABLE_ONEDNN_OPTS=0": "0"}


def make_inputs(batch: int, size: int, channels: int, filters: int) -> dict[str, np.ndarray]:
    """The benchmark's arrays, from a fixed seed: x (N,H,W,C), w (3,3,C,F), b (F,), dout (N,H,W,F)."""
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=(batch, size, size, channels)).astype(np.float32),
        "w": (rng.normal(size=(3, 3, channels, filters)) * 0.1).astype(np.float32),
        "b": rng.normal(size=filters).astype(np.float32),
        "dout": rng.normal(size=(batch, size, size, filters)).astype(np.float32),
    }


def worker(inputs_path: str, results_path: str) -> int:
    """TensorFlow side: answer "fwd" / "both" on stdin with one timed call's seconds on stdout."""
    import tensorflow as tf

    arrays = dict(np.load(inputs_path))
    tx, tw, tb = (tf.constant(arrays[k]) for k in ("x", "w", "b"))
    tdout = tf.constant(arrays["dout"])
    tpad = [[0, 0], [1, 1], [1, 1], [0, 0]]

    # eagerly, as a student would call it, with the results copied back to NumPy like the NumPy versions'
    def fwd():
        return (tf.nn.conv2d(tx, tw, 1, tpad) + tb).numpy()

    def both():
        with tf.GradientTape() as tape:
            tape.watch([tx, tw, tb])
            y = tf.nn.conv2d(tx, tw, 1, tpad) + tb
        return [g.numpy() for g in tape.gradient(y, [tx, tw, tb], output_gradients=tdout)]

    out_fwd = fwd()
    dx, dw, db = both()
    np.savez(results_path, out=out_fwd, dx=dx, dw=dw, db=db)
    calls = {"fwd": fwd, "both": both}
    print("ready", tf.__version__, flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        calls[line.strip()]()
        print(time.perf_counter() - start, flush=True)
    return 0


class TensorFlowProcess:
    """One TensorFlow worker with a given TF_ENABLE_ONEDNN_OPTS, timed call by call."""

    def __init__(self, onednn: str | None, inputs_path: str, results_path: str):
        env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
        if onednn is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = onednn
        self.results_path = results_path
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", inputs_path, results_path], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        first = self.proc.stdout.readline().split()
        if not first or first[0] != "ready":
            raise RuntimeError("the TensorFlow worker did not start (run it with --worker to see why)")
        self.version = first[1]

    def time(self, call: str) -> float:
        self.proc.stdin.write(call + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def normwise(a, ref) -> float:
    """max |a - ref| / max |ref|, in float64."""
    return float(np.max(np.abs(np.float64(a) - ref)) / np.max(np.abs(ref)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--loop-images", type=int, default=1, help="images the loop version really runs on")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--worker", nargs=2, metavar=("INPUTS", "RESULTS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker)

    from course_lib.numpy_cnn import conv_backward, conv_forward

    arrays = make_inputs(args.batch, args.size, args.channels, args.filters)
    x, w, b, dout = arrays["x"], arrays["w"], arrays["b"], arrays["dout"]
    n, s, c, f = x.shape[0], x.shape[1], x.shape[3], w.shape[3]

    def im2col_fwd():
        return conv_forward(x, w, b, stride=1, pad=1, method="im2col")

    def im2col_both_on(xs, ds, method="im2col"):
        out, cache = conv_forward(xs, w, b, stride=1, pad=1, method=method)
        return conv_backward(ds, cache)

    with tempfile.TemporaryDirectory() as tmp:
        inputs = str(Path(tmp) / "inputs.npz")
        np.savez(inputs, **arrays)
        workers = {label: TensorFlowProcess(flag, inputs, str(Path(tmp) / f"tf{i}.npz"))
                   for i, (label, flag) in enumerate(SETTINGS.items())}
        try:
            # Correctness first: a benchmark of wrong code is worthless.
            ours_out = im2col_fwd()[0]
            ours_grads = im2col_both_on(x, dout)
            agreement = {}
            for label, proc in workers.items():
                ref = np.load(proc.results_path)
                agreement[label] = (normwise(ours_out, ref["out"]),
                                    max(normwise(g, ref[k]) for g, k in zip(ours_grads, ("dx", "dw", "db"))))
            k = min(args.loop_images, n)
            xs, ds = x[:k], dout[:k]
            loop_err = max(normwise(lg, g) for lg, g in
                           zip(im2col_both_on(xs, ds, "loop"), im2col_both_on(xs, ds)))

            times: dict[str, dict[str, list[float]]] = {
                name: {"fwd": [], "both": []} for name in ["NumPy im2col", *workers]}
            local = {"fwd": im2col_fwd, "both": lambda: im2col_both_on(x, dout)}
            for call in ("fwd", "both"):  # one warm-up call each
                local[call]()
                for proc in workers.values():
                    proc.time(call)
            for _ in range(args.repeats):
                for call in ("fwd", "both"):
                    start = time.perf_counter()
                    local[call]()
                    times["NumPy im2col"][call].append(time.perf_counter() - start)
                    for label, proc in workers.items():
                        times[label][call].append(proc.time(call))
            tf_version = next(iter(workers.values())).version
        finally:
            for proc in workers.values():
                proc.close()

    scale = n / k
    start = time.perf_counter()
    conv_forward(xs, w, b, stride=1, pad=1, method="loop")
    loop_fwd = (time.perf_counter() - start) * scale
    start = time.perf_counter()
    im2col_both_on(xs, ds, "loop")
    loop_both = (time.perf_counter() - start) * scale

    best = {name: {call: min(t) for call, t in calls.items()} for name, calls in times.items()}
    medians = {name: {call: statistics.median(t) for call, t in calls.items()}
               for name, calls in times.items()}
    rows = {"NumPy loops": {"fwd": loop_fwd, "both": loop_both}, **best}
    tf_labels = list(workers)

    print(f"conv {n}x{s}x{s}x{c} -> {f} filters 3x3, pad 1, stride 1, float32; NumPy {np.__version__}, "
          f"TensorFlow {tf_version}, {os.cpu_count()} CPU(s)")
    print("agreement with TensorFlow (max |a-b| / max |b|), forward / gradients: " + "; ".join(
        f"{label} {fwd_err:.1e} / {grad_err:.1e}" for label, (fwd_err, grad_err) in agreement.items())
        + f"; loops vs im2col {loop_err:.1e}")
    if k < n:
        print(f"loop times measured on {k} of {n} images and scaled by {scale:g} (the work is linear in the "
              "batch)")
    print()
    print(f"{'method':<40}{'forward ms':>12}{'fwd+bwd ms':>12}")
    for name, r in rows.items():
        label = name if name.startswith("NumPy") else f"tf.nn.conv2d, {name}"
        print(f"{label:<40}{r['fwd'] * 1e3:>12.2f}{r['both'] * 1e3:>12.2f}")
    print(f"(fastest of {args.repeats} round-robin runs; the loop version: one run)")
    print()
    print(f"{'ratio':<40}{'forward':>9}{'fwd+bwd':>9}   target")
    ratios = [(f"im2col / TF, {label}", best["NumPy im2col"], best[label],
               "<= 3x" if label == tf_labels[0] else "") for label in tf_labels]
    ratios.append(("loops / im2col", rows["NumPy loops"], best["NumPy im2col"], ">= 500x"))
    for label, num, den, target in ratios:
        fwd, both = num["fwd"] / den["fwd"], num["both"] / den["both"]
        digits = 0 if fwd >= 100 else 1
        print(f"{label:<40}{fwd:>8.{digits}f}x{both:>8.{digits}f}x   {target}".rstrip())
    print()
    print("medians (ms): " + "; ".join(f"{name} {m['fwd'] * 1e3:.2f} / {m['both'] * 1e3:.2f}"
                                       for name, m in medians.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
