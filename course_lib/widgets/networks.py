"""Controls over a course model: a page of one layer's feature maps, and Grad-CAM or occlusion over an image.

The maps come from :mod:`course_lib.visualize`; the attribution map is drawn over the image by
:mod:`course_lib.plotting`'s heat-map overlay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..drawing.colors import IMAGE_CMAP, SEQUENTIAL_CMAP
from ..plotting.inspection import draw_heat
from ..validation import check_choice, check_float, check_int, check_str
from .core import live, new_figure, static_grid, static_mode

__all__ = ["feature_maps_figure", "show_feature_maps", "attribution_figure", "show_attribution"]


def _model_and_image(model: Any, image: Any,
                     model_kwargs: Mapping[str, Any] | None) -> tuple[Any, np.ndarray]:
    if isinstance(model, str):
        from ..models import get_model

        model = get_model(model, **dict(model_kwargs or {}))
    h, w, c = (int(d) for d in model.input_shape[1:4])
    if image is None:
        from ..data import load_photo

        image = load_photo("chelsea", size=(h, w), gray=(c == 1))
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (h, w, c):
        raise ValueError(f"image must have the model's input shape {(h, w, c)}, got {arr.shape}")
    return model, arr


def _check_fontsize(fontsize: Any) -> float | None:
    return None if fontsize is None else check_float(fontsize, "fontsize", minimum=0, include_minimum=False)


def _draw_feature_maps(fig: Any, *, model: Any, image: np.ndarray, layer_name: str, first: int,
                       count: int, fontsize: float | None = None) -> None:
    from ..visualize import feature_maps

    maps = feature_maps(model, image, [check_str(layer_name, "layer_name")])[layer_name]
    channels = maps.shape[-1]
    first = check_int(first, "first", minimum=0, maximum=channels - 1)
    count = check_int(count, "count", minimum=1, maximum=64)
    chosen = list(range(first, min(first + count, channels)))
    ncols = min(8, len(chosen))
    axes = np.atleast_1d(fig.subplots(-(-len(chosen) // ncols), ncols, squeeze=False)).ravel()
    page = maps[..., chosen]
    lo, hi = float(page.min()), max(float(page.max()), float(page.min()) + 1e-9)
    shown = None
    for ax, ch in zip(axes, chosen):
        shown = ax.imshow(maps[..., ch], cmap=SEQUENTIAL_CMAP, vmin=lo, vmax=hi)
        ax.set_title(f"ch {ch}", fontsize=7 if fontsize is None else fontsize)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="activation")
    h, w = maps.shape[:2]
    fig.suptitle(f"{layer_name}: {h}x{w}x{channels}, channels {chosen[0]}-{chosen[-1]}",
                 fontsize=10 if fontsize is None else max(10, fontsize))


def feature_maps_figure(model: Any, image: Any = None, layer_name: str | None = None, *, first: int = 0,
                        count: int = 16, model_kwargs: Mapping[str, Any] | None = None,
                        fontsize: float | None = None) -> Figure:
    """A page of one layer's feature maps for an image, on one shared colour scale with a colour bar.

    Args:
        model: a Keras model, or a name for ``course_lib.models.get_model`` (built with ``model_kwargs``).
        image: (H, W, C) in [0, 1] matching the model's input; default a photograph resized to it.
        layer_name: a layer with a spatial output; default the first convolution.
        first: first channel shown.
        count: channels shown (1 to 64), eight per row.
        model_kwargs: keywords for ``get_model`` when ``model`` is a name.
        fontsize: points for the channel captions (default 7; the layer's caption is at least 10).

    Returns:
        The Figure.

    Raises:
        TypeError / ValueError: an unknown model or layer (the message lists the candidates), an image of
            the wrong shape, channels out of range, fontsize <= 0.
    """
    from ..visualize import conv_layer_names

    fontsize = _check_fontsize(fontsize)
    model, arr = _model_and_image(model, image, model_kwargs)
    layer_name = conv_layer_names(model)[0] if layer_name is None else layer_name
    fig = plt.figure(figsize=(10, 1.4 * -(-min(count, 64) // 8) + 0.8), layout="constrained")
    _draw_feature_maps(fig, model=model, image=arr, layer_name=layer_name, first=first, count=count,
                       fontsize=fontsize)
    return fig


def show_feature_maps(model: Any, image: Any = None, *, layers: Sequence[str] | None = None, count: int = 8,
                      model_kwargs: Mapping[str, Any] | None = None, static: bool | None = None,
                      fontsize: float | None = None) -> Any:
    """Feature-map browser: a layer menu and a channel slider; statically, ``count`` maps of a few layers.

    Args:
        model, image, model_kwargs: as :func:`feature_maps_figure`.
        layers: layers offered (static: drawn); default the first, a middle and the last convolution.
        count: channels per page.
        static: see :func:`~course_lib.widgets.static_mode`.
        fontsize: as :func:`feature_maps_figure`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`feature_maps_figure`.
    """
    from ..visualize import conv_layer_names, spatial_layer_names

    fontsize = _check_fontsize(fontsize)
    model, arr = _model_and_image(model, image, model_kwargs)
    if layers is None:
        convs = conv_layer_names(model)
        if not convs:
            raise ValueError(f"model {model.name!r} has no convolution layer; pass layers")
        layers = list(dict.fromkeys([convs[0], convs[len(convs) // 2], convs[-1]]))
    layers = [check_str(n, "layers") for n in layers]
    if static_mode(static):
        settings = [dict(model=model, image=arr, layer_name=n, first=0, count=count, fontsize=fontsize)
                    for n in layers]
        return static_grid(_draw_feature_maps, settings, ncols=1, panel=(10, 1.6 * -(-count // 8) + 0.6),
                            title=f"feature maps of {model.name}")
    import ipywidgets as w

    controls = {
        "layer_name": w.Dropdown(options=spatial_layer_names(model), value=layers[0], description="layer"),
        "first": w.IntSlider(value=0, min=0, max=1023, step=count, description="first channel"),
    }

    def render(layer_name, first):
        channels = int(model.get_layer(layer_name).output.shape[-1])
        return feature_maps_figure(model, arr, layer_name, first=min(first, channels - 1), count=count,
                                   fontsize=fontsize)

    return live(render, controls)


_METHODS = ("grad_cam", "occlusion")


def _draw_attribution(fig: Any, *, model: Any, image: np.ndarray, method: str, layer_name: str | None,
                      class_index: int | None, patch: int, stride: int) -> None:
    from ..visualize import class_scores, conv_layer_names, grad_cam, occlusion_sensitivity

    method = check_choice(method, "method", _METHODS)
    if method == "grad_cam" and layer_name is None:
        layer_name = conv_layer_names(model)[-1]
    scores = class_scores(model, image[None])[0]
    k = int(np.argmax(scores)) if class_index is None else check_int(class_index, "class_index", minimum=0,
                                                                      maximum=len(scores) - 1)
    if method == "grad_cam":
        heat = grad_cam(model, image, layer_name, k)
        label, signed, limits = "Grad-CAM (0 to 1)", False, (0.0, 1.0)
    else:
        heat = occlusion_sensitivity(model, image, patch=patch, stride=stride, class_index=k)
        label, signed, limits = "drop in probability", True, None
    ax_img, ax_map = fig.subplots(1, 2)
    shown_img = image[..., 0] if image.shape[-1] == 1 else image
    ax_img.imshow(shown_img, cmap=IMAGE_CMAP if shown_img.ndim == 2 else None, vmin=0, vmax=1)
    shown = draw_heat(ax_map, shown_img, np.asarray(heat, np.float32), 0.5, signed=signed, limits=limits)
    for ax in (ax_img, ax_map):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=ax_map, shrink=0.8, label=label)
    ax_img.set_title("image", fontsize=9)
    if method == "grad_cam":
        detail = f"layer {layer_name}"
    else:
        detail = f"{patch}x{patch} squares, step {stride}"
    ax_map.set_title(f"{method.replace('_', '-')}, class {k} ({detail})", fontsize=9)


def attribution_figure(model: Any, image: Any = None, method: str = "grad_cam", *,
                       layer_name: str | None = None, class_index: int | None = None, patch: int = 8,
                       stride: int = 4,
                       model_kwargs: Mapping[str, Any] | None = None) -> Figure:
    """Grad-CAM or occlusion sensitivity over an image, with a colour bar.

    The map is drawn over the image by :func:`course_lib.plotting.inspection.draw_heat`, in the course's
    colours: Grad-CAM maps are scaled to [0, 1] (sequential colours); occlusion maps are signed (diverging
    colours centred on 0: red where hiding a square lowers the class probability).

    Args:
        model, image, model_kwargs: as :func:`feature_maps_figure`.
        method: "grad_cam" or "occlusion".
        layer_name: Grad-CAM's layer; default the last convolution.
        class_index: the class explained; default the predicted one.
        patch, stride: occlusion square side and step.

    Returns:
        The Figure: image (left), map over the image (right).

    Raises:
        TypeError / ValueError: as ``course_lib.visualize.grad_cam`` and ``occlusion_sensitivity``, an
            unknown method, an image of the wrong shape.

    Reference: Selvaraju et al., "Grad-CAM", ICCV 2017; Zeiler and Fergus, "Visualizing and Understanding
        Convolutional Networks", ECCV 2014.
    """
    model, arr = _model_and_image(model, image, model_kwargs)
    return new_figure(_draw_attribution, (7, 3.2), model=model, image=arr, method=method,
                       layer_name=layer_name, class_index=class_index, patch=patch, stride=stride)


def show_attribution(model: Any, image: Any = None, *, layer_name: str | None = None, patch: int = 8,
                     stride: int = 4, model_kwargs: Mapping[str, Any] | None = None,
                     static: bool | None = None) -> Any:
    """Grad-CAM/occlusion explorer: method, layer, class and square size; statically both methods.

    Args:
        model, image, layer_name, patch, stride, model_kwargs: as :func:`attribution_figure`.
        static: see :func:`~course_lib.widgets.static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`attribution_figure`.
    """
    from ..visualize import conv_layer_names, spatial_layer_names

    model, arr = _model_and_image(model, image, model_kwargs)
    if static_mode(static):
        base = dict(model=model, image=arr, layer_name=layer_name, class_index=None, patch=patch,
                    stride=stride)
        settings = [dict(base, method=m) for m in _METHODS]
        return static_grid(_draw_attribution, settings, ncols=2, panel=(6.5, 3),
                            title="where the evidence is")
    import ipywidgets as w

    n_classes = int(model.output_shape[-1])
    controls = {
        "method": w.Dropdown(options=list(_METHODS), value="grad_cam", description="method"),
        "layer_name": w.Dropdown(options=spatial_layer_names(model),
                                 value=layer_name or conv_layer_names(model)[-1], description="layer"),
        "class_index": w.Dropdown(options=[("predicted", None)] + [(str(i), i) for i in range(n_classes)],
                                  value=None, description="class"),
        "patch": w.IntSlider(value=patch, min=2, max=min(arr.shape[:2]) // 2, description="square"),
    }
    return live(lambda method, layer_name, class_index, patch: attribution_figure(
        model, arr, method, layer_name=layer_name, class_index=class_index, patch=patch,
        stride=max(1, patch // 2)), controls)
