"""Look up a model builder by name: ``get_model("resnet18", num_classes=10)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import keras

from .alexnet import alexnet, zfnet
from .googlenet import googlenet
from .lenet import lenet5
from .nin import nin
from .resnet import CIFAR_RESNET_DEPTHS, RESNET_SPECS, cifar_resnet, resnet
from .vgg import vgg

_VGG_NAMES = {"vgg11": "A", "vgg11_lrn": "A-LRN", "vgg13": "B", "vgg16c": "C", "vgg16": "D", "vgg19": "E"}

_REGISTRY: dict[str, Callable[..., keras.Model]] = {
    "lenet5": lenet5,
    "lenet5_classic": partial(lenet5, "classic"),
    "lenet5_modern": partial(lenet5, "modern"),
    "alexnet": alexnet,
    "alexnet_cifar": partial(alexnet, stem="cifar"),
    "zfnet": zfnet,
    "vgg": vgg,
    **{name: partial(vgg, config) for name, config in _VGG_NAMES.items()},
    "nin": nin,
    "nin_cifar": partial(nin, variant="cifar"),
    "nin_imagenet": partial(nin, variant="imagenet"),
    "googlenet": googlenet,
    "inception_v1": googlenet,
    "resnet": resnet,
    **{f"resnet{d}": partial(resnet, d) for d in RESNET_SPECS},
    **{f"plain{d}": partial(resnet, d, plain=True) for d in (18, 34)},
    "cifar_resnet": cifar_resnet,
    **{f"cifar_resnet{d}": partial(cifar_resnet, d) for d in CIFAR_RESNET_DEPTHS},
    **{f"cifar_plain{d}": partial(cifar_resnet, d, plain=True) for d in CIFAR_RESNET_DEPTHS},
}


def _normalise(name: str) -> str:
    # "ResNet-50", "resnet_50" and "resnet50" all mean the same network.
    key = name.strip().lower().replace("-", "")
    for prefix in ("resnet_", "vgg_", "plain_"):
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            key = prefix[:-1] + key[len(prefix):]
    return key


def available_models() -> list[str]:
    """Names ``get_model`` accepts, sorted."""
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs) -> keras.Model:
    """Build a model by name.

    Args:
        name: a name from ``available_models()`` ("lenet5", "alexnet", "zfnet", "vgg16", "nin", "googlenet",
            "resnet50", "cifar_resnet20", "cifar_plain56", ...); case and hyphens are ignored ("ResNet-50").
        **kwargs: passed to the builder (``input_shape=``, ``num_classes=``, ``width_multiplier=`` ...).

    Returns:
        A new ``keras.Model``.

    Raises:
        TypeError: name is not a str.
        ValueError: unknown name (the message lists the known ones), or the builder's own argument errors.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    key = _normalise(name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown model name {name!r}; known models: {', '.join(available_models())}")
    return _REGISTRY[key](**kwargs)
