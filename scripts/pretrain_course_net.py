"""Pretrain the course's network on the glyphs source task and write its checkpoint and record.

Reproduces ``course_lib/checkpoints/course_net.weights.h5`` and ``course_net.json`` (the recipe, the accuracy
on a held-out set and the file's SHA-256)::

    .venv/bin/python scripts/pretrain_course_net.py            # about 200 CPU-seconds (3 min on 2 cores)
    .venv/bin/python scripts/pretrain_course_net.py --out build/course_net   # anywhere else

The run is seeded (``course_lib.config.set_seed``), so it draws the same data and initial weights every time;
the trained weights agree across machines only up to floating-point round-off, which is why the recorded
SHA-256 is that of the committed file, not a promise about every rerun.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import course_lib as cl  # noqa: E402 - sets TensorFlow's environment before keras is imported
from course_lib import pretrained  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=40_000, help="training images (default 40,000)")
    parser.add_argument("--n-val", type=int, default=5_000, help="held-out images (default 5,000)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.1, help="peak SGD rate (cosine decay)")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=pretrained.CHECKPOINT_DIR,
                        help="folder for course_net.weights.h5 and course_net.json (default: the package's)")
    args = parser.parse_args(argv)

    cl.config.quiet_tensorflow()
    cl.config.set_seed(args.seed)
    import keras

    start, cpu0 = time.time(), time.process_time()
    x_train, y_train = pretrained.make_glyphs(args.n_train, seed=args.seed)
    x_val, y_val = pretrained.make_glyphs(args.n_val, seed=args.seed + 1_000_003)  # a separate stream
    model = pretrained.course_net()
    steps = args.epochs * -(-args.n_train // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps)
    # SGD with momentum rather than Adam: an SGD step on a first-layer kernel is a weighted sum of image
    # patches, so the filters it learns are as smooth as the images; Adam rescales every weight separately and
    # leaves them speckled.
    optimizer = keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=args.weight_decay)
    model.compile(optimizer, "sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=2,
                        validation_data=(x_val, y_val), shuffle=True)
    _, val_acc, val_top5 = model.evaluate(x_val, y_val, batch_size=512, verbose=0)
    _, train_acc, _ = model.evaluate(x_train[:5000], y_train[:5000], batch_size=512, verbose=0)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / pretrained.CHECKPOINT_NAME
    # Saved from a fresh, uncompiled copy: the file then holds the weights alone, not Adam's moments.
    clean = pretrained.course_net()
    clean.set_weights(model.get_weights())
    clean.save_weights(weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    record = {
        "file": weights.name,
        "sha256": digest,
        "bytes": weights.stat().st_size,
        "architecture": {"builder": "course_lib.pretrained.course_net",
                         "widths": list(pretrained.COURSE_WIDTHS),
                         "input_shape": list(pretrained.COURSE_INPUT_SHAPE),
                         "num_classes": pretrained.NUM_GLYPH_CLASSES, "params": int(model.count_params())},
        "input": "RGB float32 in [0, 1], 32x32; the model rescales to [-1, 1] itself (layer 'rescale')",
        "source_task": {"generator": "course_lib.pretrained.make_glyphs",
                        "classes": pretrained.NUM_GLYPH_CLASSES,
                        "n_train": args.n_train, "train_seed": args.seed, "n_val": args.n_val,
                        "val_seed": args.seed + 1_000_003},
        "recipe": {"optimizer": "SGD, momentum 0.9", "learning_rate": args.learning_rate,
                   "weight_decay": args.weight_decay, "schedule": "cosine decay to 0",
                   "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                   "command": "python scripts/pretrain_course_net.py" + "".join(
                       f" {a}" for a in (argv if argv is not None else sys.argv[1:]))},
        "accuracy": {"val_top1": round(float(val_acc), 4), "val_top5": round(float(val_top5), 4),
                     "train_top1_first5000": round(float(train_acc), 4),
                     "chance": 1 / pretrained.NUM_GLYPH_CLASSES},
        "history_val_accuracy": [round(float(a), 4) for a in history.history["val_accuracy"]],
        "trained_with": {"keras": keras.__version__, "tensorflow": __import__("tensorflow").__version__,
                         "python": platform.python_version(), "cpus": os.cpu_count(),
                         "wall_seconds": round(time.time() - start, 1),
                         "cpu_seconds": round(time.process_time() - cpu0, 1)},
    }
    (args.out / pretrained.RECORD_NAME).write_text(json.dumps(record, indent=1) + "\n")
    print(f"val accuracy {val_acc:.4f} (top-5 {val_top5:.4f}); wrote {weights} ({record['bytes']:,} bytes, "
          f"SHA-256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
