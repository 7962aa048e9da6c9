"""Look inside a trained CNN: filters, feature maps, top-activating patches, saliency, Grad-CAM, occlusion.

One module per job, every public name re-exported here (``cl.visualize.grad_cam(...)``):

- :mod:`~course_lib.visualize.layers`: finding layers by name, first-layer filters and their smoothness,
  feature maps, class scores;
- :mod:`~course_lib.visualize.receptive`: receptive-field geometry and top-activating patches;
- :mod:`~course_lib.visualize.attribution`: saliency, Grad-CAM, occlusion sensitivity;
- :mod:`~course_lib.visualize.synthesis`: activation maximisation;
- :mod:`~course_lib.visualize.sanity`: randomised copies and rank correlation (sanity checks for maps);
- :mod:`~course_lib.visualize.snapshots`: a callback recording a kernel during training;
- :mod:`~course_lib.visualize.gradients`: gradients on any Keras backend (``tf.GradientTape``, ``jax.grad``,
  ``torch.autograd``), which saliency, Grad-CAM and activation maximisation use; its functions are reached
  as ``cl.visualize.gradients.input_gradient`` and are not re-exported one by one.

Every function takes a Keras model built with the functional API (or a built ``Sequential``), such as those of
``course_lib.models`` and ``keras.applications``, and finds layers by name. A name that is not in the model,
or names a layer without a spatial ``(batch, height, width, channels)`` output, raises a ``ValueError`` that
quotes the name and lists close matches and the model's convolution layers. Arguments are checked with
:mod:`course_lib.validation`: a wrong type raises ``TypeError``, a wrong value ``ValueError``.

Scores. Gradient methods (saliency, Grad-CAM) differentiate the class *score* before the softmax, as the
papers do: through the softmax, a class's probability can also rise because the others fall, which mixes the
evidence of every class into the picture. :func:`class_scores` finds those logits. The simple way is a model
that outputs them: every classifier of :mod:`course_lib.models` takes ``classifier_activation=None``, as
``keras.applications`` does (the same layers and weights, a linear ``predictions`` layer), and such a model's
output is used as it is. For a model that ends in a softmax (the builders' default, ``keras.applications``
with its default, a hand-built classifier) the scores are recovered: the input of a final ``Softmax`` or
``Activation`` layer, or, for ``Dense(..., activation="softmax")``, ``input @ kernel + bias`` recomputed from
that layer's weights. Occlusion measures the drop of the class *probability* (Zeiler and Fergus plot
probabilities).

Images are NHWC like everything in the kit: one image is ``(H, W, C)`` (a leading batch axis of 1 is
accepted), a batch ``(N, H, W, C)``, in the value range the model was trained on ([0, 1] for the kit's
data).
"""

from __future__ import annotations

from . import gradients  # noqa: F401 - cl.visualize.gradients, the per-backend helper
from .attribution import grad_cam, occlusion_sensitivity, saliency_map
from .layers import (
    class_scores,
    conv_layer_names,
    feature_maps,
    first_layer_filters,
    neighbour_correlation,
    spatial_layer_names,
)
from .receptive import FieldGeometry, TopPatches, receptive_field_geometry, top_activating_patches
from .sanity import randomized_copy, rank_correlation
from .snapshots import KernelSnapshots
from .synthesis import activation_maximization

__all__ = [
    "conv_layer_names",
    "spatial_layer_names",
    "first_layer_filters",
    "neighbour_correlation",
    "feature_maps",
    "class_scores",
    "receptive_field_geometry",
    "FieldGeometry",
    "top_activating_patches",
    "TopPatches",
    "activation_maximization",
    "saliency_map",
    "grad_cam",
    "occlusion_sensitivity",
    "randomized_copy",
    "rank_correlation",
    "KernelSnapshots",
]
