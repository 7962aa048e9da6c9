"""The one table of model names: builders register themselves where they are defined (timm's habit).

A family builder is registered with the decorator on its ``def``::

    @register_model
    def vgg(config="D", *, input_shape=..., ...): ...

and a named variant of a family (a paper's column, a depth of Table 1) is registered next to the table it
comes from, with the keywords it fixes::

    for config, name in VGG_NAMES.items():
        register_model(vgg, name=name, config=config)

so every name is written once. ``get_model(name, **kwargs)`` builds any of them and ``list_models()`` lists
them (the tests are parametrized over it, so a registered model without an expected parameter count fails).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from ..validation import check_str

__all__ = ["get_model", "list_models", "register_model"]

_REGISTRY: dict[str, Callable[..., keras.Model]] = {}


class _Variant:
    """A family builder with some keywords fixed (``vgg`` with ``config="D"`` is ``vgg16``)."""

    def __init__(self, builder: Callable[..., keras.Model], name: str, fixed: dict[str, Any]):
        self.builder, self.__name__, self.fixed = builder, name, dict(fixed)
        shown = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        self.__doc__ = f"``{builder.__name__}({shown}, ...)``; other keywords as for ``{builder.__name__}``."

    def __call__(self, **kwargs) -> keras.Model:
        clash = sorted(set(kwargs) & set(self.fixed))
        if clash:
            raise TypeError(
                f"model {self.__name__!r} fixes {', '.join(f'{k}={self.fixed[k]!r}' for k in clash)}; "
                f"call {self.builder.__name__}(...) or get_model({self.builder.__name__!r}, ...) to choose it"
            )
        return self.builder(**self.fixed, **kwargs)

    def __repr__(self) -> str:
        return f"<model variant {self.__name__}: {self.__doc__}>"


def register_model(builder: Callable[..., keras.Model] | None = None, /, *, name: str | None = None,
                   **fixed: Any):
    """Register a model builder under a name, once.

    Use it as a decorator on a family builder (``@register_model`` registers it under its function name), or
    call it with ``name=`` and the keywords that a named variant fixes
    (``register_model(resnet, name="resnet18", depth=18)``).

    Args:
        builder: a function returning a ``keras.Model``; omitted when used as ``@register_model(name=...)``.
        name: the registry name; default ``builder.__name__``. Lower case, as ``get_model`` normalises.
        **fixed: keywords the variant passes to ``builder`` (a caller may not override them).

    Returns:
        ``builder`` itself (so the decorated function is unchanged), or a decorator when ``builder`` is None.

    Raises:
        ValueError: the name is already registered (each name is written once), or not lower case.
    """

    def register(fn: Callable[..., keras.Model]):
        key = check_str(name if name is not None else fn.__name__, "name")
        if key != _normalise(key):
            raise ValueError(f"model names are registered lower case, got {key!r}; use {_normalise(key)!r}")
        if key in _REGISTRY:
            raise ValueError(f"model name {key!r} is already registered (by {_REGISTRY[key]!r})")
        _REGISTRY[key] = _Variant(fn, key, fixed) if fixed else fn
        return fn

    return register if builder is None else register(builder)


def _normalise(name: str) -> str:
    # "ResNet-50", "resnet_50" and "resnet50" all mean the same network.
    key = name.strip().lower().replace("-", "")
    for prefix in ("resnet_", "vgg_", "plain_"):
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            key = prefix[:-1] + key[len(prefix):]
    return key


def list_models() -> list[str]:
    """Names ``get_model`` accepts, sorted: the family builders and their named variants."""
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs) -> keras.Model:
    """Build a model by name.

    Args:
        name: a name from ``list_models()`` ("lenet5", "alexnet", "zfnet", "vgg16", "nin", "googlenet",
            "resnet50", "cifar_resnet20", "cifar_plain56", ...); case and hyphens are ignored ("ResNet-50").
        **kwargs: passed to the builder (``input_shape=``, ``num_classes=``, ``width_multiplier=`` ...).

    Returns:
        A new ``keras.Model``.

    Raises:
        TypeError: name is not a str, or a keyword the named variant fixes (``get_model("vgg16",
            config="A")``).
        ValueError: unknown name (the message lists the known ones), or the builder's own argument errors.
    """
    key = _normalise(check_str(name, "name"))
    if key not in _REGISTRY:
        raise ValueError(f"unknown model name {name!r}; known models: {', '.join(list_models())}")
    return _REGISTRY[key](**kwargs)
