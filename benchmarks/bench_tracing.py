"""How much of a short CPU training run is TensorFlow tracing, and what ``build_training_state`` saves.

Run: ``.venv/bin/python benchmarks/bench_tracing.py [--repeats 3]`` (``make bench`` runs it).

For each network the notebooks train (ResNet-20 at half width on 16x16 images, as in 12; GoogLeNet at 1/8
width with its auxiliary heads on 65x65 images, as in 11) it times, in fresh processes so nothing is cached:

- ``plain``: ``model.compile`` then one epoch of ``model.fit`` (768 images, batch 32): Keras creates the
  optimizer slots and metric variables inside the first trace of its training step, so TF traces it twice;
- ``prebuilt``: the same, after ``cl.training.build_training_state`` (one eager call on one sample), so the
  step is traced once;
- ``epoch``: a second epoch of the same model (no tracing at all): what the training itself costs.

The processes run round-robin, so load from other jobs hits the variants alike; the median over ``--repeats``
is printed with the ratios side by side. It asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One measurement in a child process: prints {"first": s, "epoch": s} as JSON.
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[3])
import numpy as np
import course_lib as cl
net, prebuilt = sys.argv[1], sys.argv[2] == "1"
size = 16 if net == "resnet20" else 65
(x, y), _ = cl.data.load_dataset("shapes10", n_train=768, n_test=10, image_size=size, seed=0)
x = cl.data.standardize_per_image(x)
cl.config.set_seed(0)
if net == "resnet20":
    model = cl.models.cifar_resnet(20, input_shape=x.shape[1:], num_classes=10, width_multiplier=0.5)
else:
    model = cl.models.googlenet(aux_logits=True, input_shape=x.shape[1:], num_classes=10,
                                width_multiplier=0.125, lrn=False, dropout=0.0)
cl.training.compile_model(model, recipe="adam")
targets = {name: y for name in model.output_names} if len(model.outputs) > 1 else y
start = time.perf_counter()
if prebuilt:
    cl.training.build_training_state(model, x, targets)
model.fit(x, targets, epochs=1, batch_size=32, verbose=0)
first = time.perf_counter() - start
start = time.perf_counter()
model.fit(x, targets, epochs=1, batch_size=32, verbose=0)
print(json.dumps({"first": first, "epoch": time.perf_counter() - start}))
"""


def measure(net: str, prebuilt: bool) -> dict[str, float]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", COURSE_MODE="quick")
    out = subprocess.run([sys.executable, "-c", CHILD, net, str(int(prebuilt)), str(ROOT)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for net in ("resnet20", "googlenet"):
        runs = {False: [], True: []}
        for _ in range(args.repeats):
            for prebuilt in (False, True):
                runs[prebuilt].append(measure(net, prebuilt))
        plain = statistics.median(r["first"] for r in runs[False])
        prebuilt = statistics.median(r["first"] for r in runs[True])
        epoch = statistics.median(r["epoch"] for r in runs[False] + runs[True])
        rows.append((net, plain, prebuilt, epoch))
    print(f"{'network':<10} {'plain first epoch':>18} {'prebuilt':>9} {'later epoch':>12} "
          f"{'plain/prebuilt':>15} {'tracing saved / epoch':>22}")
    for net, plain, prebuilt, epoch in rows:
        print(f"{net:<10} {plain:>17.2f}s {prebuilt:>8.2f}s {epoch:>11.2f}s {plain / prebuilt:>14.2f}x "
              f"{(plain - prebuilt) / epoch:>21.1f}x")


if __name__ == "__main__":
    main()
