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

Each name has a task: ``"classification"`` (every family of ``course_lib.models`` and the course's own
network, all taking ``classifier_activation=``), ``"segmentation"`` (FCN, U-Net) or ``"detection"`` (the
grid detector); ``list_models(task)`` lists one task. The models defined outside this package (the last
section of this file) are imported when they are built, so this package does not import their modules.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

import keras

from ..validation import check_choice, check_str

__all__ = ["TASKS", "get_model", "list_models", "model_family", "register_model"]

TASKS = ("classification", "segmentation", "detection")

_REGISTRY: dict[str, Callable[..., keras.Model]] = {}
_TASK_OF: dict[str, str] = {}


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
                   task: str = "classification", **fixed: Any):
    """Register a model builder under a name, once.

    Use it as a decorator on a family builder (``@register_model`` registers it under its function name), or
    call it with ``name=`` and the keywords that a named variant fixes
    (``register_model(resnet, name="resnet18", depth=18)``).

    Args:
        builder: a function returning a ``keras.Model``; omitted when used as ``@register_model(name=...)``.
        name: the registry name; default ``builder.__name__``. Lower case, as ``get_model`` normalises.
        task: one of ``TASKS``; a ``"classification"`` builder takes ``classifier_activation=``.
        **fixed: keywords the variant passes to ``builder`` (a caller may not override them).

    Returns:
        ``builder`` itself (so the decorated function is unchanged), or a decorator when ``builder`` is None.

    Raises:
        ValueError: the name is already registered (each name is written once), not lower case, or an
            unknown task.
    """
    check_choice(task, "task", TASKS)

    def register(fn: Callable[..., keras.Model]):
        key = check_str(name if name is not None else fn.__name__, "name")
        if key != _normalise(key):
            raise ValueError(f"model names are registered lower case, got {key!r}; use {_normalise(key)!r}")
        if key in _REGISTRY:
            raise ValueError(f"model name {key!r} is already registered (by {_REGISTRY[key]!r})")
        _REGISTRY[key] = _Variant(fn, key, fixed) if fixed else fn
        _TASK_OF[key] = task
        return fn

    return register if builder is None else register(builder)


def _normalise(name: str) -> str:
    # "ResNet-50", "resnet_50" and "resnet50" all mean the same network.
    key = name.strip().lower().replace("-", "")
    for prefix in ("resnet_", "vgg_", "plain_"):
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            key = prefix[:-1] + key[len(prefix):]
    return key


def list_models(task: str | None = None) -> list[str]:
    """Names ``get_model`` accepts, sorted: the family builders and their named variants.

    Args:
        task: None for every name, or one of ``TASKS`` (``"classification"``, ``"segmentation"``,
            ``"detection"``) for that task's models only.

    Returns:
        The registered names, sorted.

    Raises:
        ValueError: an unknown task.
    """
    if task is None:
        return sorted(_REGISTRY)
    check_choice(task, "task", TASKS)
    return sorted(key for key in _REGISTRY if _TASK_OF[key] == task)


def _lookup(name: Any) -> str:
    """The registry key of ``name`` (normalised), else a ValueError suggesting the close names."""
    key = _normalise(check_str(name, "name"))
    if key not in _REGISTRY:
        names = list_models()
        close = difflib.get_close_matches(key, names, n=3)
        suggestion = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}{suggestion} (list_models() lists all {len(names)})")
    return key


def model_family(name: str) -> str:
    """The family builder a registered name belongs to: ``"vgg"`` for ``"vgg16"``, ``"alexnet"`` for
    ``"caffenet"``, the name itself for a family builder.

    Raises:
        TypeError / ValueError: as ``get_model`` for a name that is not a str or not registered.
    """
    entry = _REGISTRY[_lookup(name)]
    return entry.builder.__name__ if isinstance(entry, _Variant) else entry.__name__


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
        ValueError: unknown name (the message suggests the close ones: ``unknown model 'resnet51'; did you
            mean resnet50, resnet18, resnet?``), or the builder's own argument errors.
    """
    return _REGISTRY[_lookup(name)](**kwargs)


# ----------------------------------------------------------------------------------------------------------
# Models defined outside course_lib.models: imported when built, wherever their modules keep them
# ----------------------------------------------------------------------------------------------------------
def _imported(module: str, attr: str, what: str) -> Callable[..., keras.Model]:
    """A builder that imports ``module.attr`` when it is called and passes its keywords on."""

    def build(**kwargs) -> keras.Model:
        return getattr(importlib.import_module(module), attr)(**kwargs)

    build.__name__ = build.__qualname__ = attr
    build.__doc__ = f"{what}: ``{module}.{attr}(**kwargs)``, imported when built; keywords as there."
    return build


register_model(_imported("course_lib.segmentation", "fcn", "FCN without skips (segmentation)"),
               task="segmentation")
register_model(_imported("course_lib.segmentation", "unet", "U-Net (segmentation)"), task="segmentation")
register_model(_imported("course_lib.detection", "grid_detector", "The single-shot grid detector"),
               task="detection")
register_model(_imported("course_lib.pretrained", "course_net",
                         "The course's own network, untrained (course_model() loads its weights)"))
