"""A training callback that records a convolution kernel, to watch the filters form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from .. import validation
from .layers import first_layer_filters, spatial_layer

__all__ = ["KernelSnapshots"]


class KernelSnapshots(keras.callbacks.Callback):
    """Keras callback that copies one convolution kernel during training, to watch the filters form.

    A snapshot is taken before the first step, after each of the global steps listed in ``steps`` (counted
    from 1 across epochs) and at the end of every epoch. Draw them with ``plotting.plot_kernel_evolution``.

    Args:
        layer_name: the convolution layer to record (usually the first).
        steps: optional global step numbers at which to record as well (early steps change filters most).

    Attributes:
        snapshots: list of (KH, KW, C_in, C_out) arrays.
        labels: matching list of strings ("init", "step 20", "epoch 1", ...).

    Raises:
        TypeError: layer_name is not a str, or a step is not an int.
        ValueError: a step below 1; when training starts, a layer_name the model does not have.
    """

    def __init__(self, layer_name: str, *, steps: Sequence[int] = ()):
        super().__init__()
        self.layer_name = validation.check_str(layer_name, "layer_name")
        self.record_steps = {validation.check_positive_int(s, f"steps[{i}]") for i, s in enumerate(steps)}
        self.snapshots: list[np.ndarray] = []
        self.labels: list[str] = []
        self._step = 0

    def _record(self, label: str) -> None:
        self.snapshots.append(first_layer_filters(self.model, self.layer_name))
        self.labels.append(label)

    def on_train_begin(self, logs: Any = None) -> None:
        spatial_layer(self.model, self.layer_name)  # fail before the first step, not after an epoch
        self._step = 0
        self._record("init")

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._step += 1
        if self._step in self.record_steps:
            self._record(f"step {self._step}")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._record(f"epoch {epoch + 1}")
