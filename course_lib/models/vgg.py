"""VGG: the six configurations of Simonyan and Zisserman's Table 1, written as data.

An int is a 3x3 convolution with that many filters, ``(filters, kernel)`` a convolution of another size
(configuration C's 1x1 layers), ``"LRN"`` a local response normalisation and ``"M"`` a 2x2 max-pool of
stride 2, the way torchvision writes them.
"""

from __future__ import annotations

import keras

from ..validation import check_bool, check_choice, check_probability
from .blocks import VGG_POOL, classifier_head, model_input, vgg_block
from .common import Step, check_common, scaled
from .registry import register_model

VGG_CONFIGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}

# Weight layers of each configuration (convolutions + 3 fully connected), the paper's column headings.
VGG_DEPTHS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}

# The registry (and model) name of each configuration: its weight layers, and "c" for C, which has as many
# as D (the usual "VGG-16") but 1x1 convolutions in stages 3-5.
VGG_NAMES = {"A": "vgg11", "A-LRN": "vgg11_lrn", "B": "vgg13", "C": "vgg16c", "D": "vgg16", "E": "vgg19"}

HEADS = ("paper", "gap")


def _stages(config: list) -> list[tuple[list, bool]]:
    """Split a configuration at its "M" entries: one (convolutions, has_lrn_after_first) per stage."""
    stages, convs, lrn_after = [], [], None
    for entry in config:
        if entry == "M":
            stages.append((convs, lrn_after))
            convs, lrn_after = [], None
        elif entry == "LRN":
            lrn_after = len(convs)
        else:
            convs.append(entry)
    return stages


def downsampling_chain(config: list) -> list[Step]:
    """The windows of a configuration in order: its convolutions ("same", stride 1) and its "M" pools."""
    chain = []
    for entry in config:
        if entry == "M":
            chain.append(Step(*VGG_POOL, "valid"))
        elif entry != "LRN":
            kernel = entry[1] if isinstance(entry, tuple) else 3
            chain.append(Step(kernel, 1, "same"))
    return chain


@register_model
def vgg(
    config: str = "D",
    *,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    batch_norm: bool = False,
    width_multiplier: float = 1.0,
    lrn: bool | None = None,
    head: str = "paper",
    fc_units: int = 4096,
    dropout: float = 0.5,
    classifier_activation="softmax",
) -> keras.Model:
    """A VGG network from its configuration letter: five stages of 3x3 convolutions, each ending in a pool.

    224x224x3 -> 112 -> 56 -> 28 -> 14 -> 7x7x512 after the five pools; the paper's head flattens (25,088
    features) into fc1 4096, fc2 4096 (ReLU, dropout 0.5 each) and a softmax. Parameters (millions, as Table 2
    prints them): A and A-LRN 133, B 133, C 134, D 138, E 144; D equals ``keras.applications.VGG16`` and E
    ``VGG19`` exactly.

    Small images: the input must be at least 32x32 (five halvings). For CIFAR-sized inputs use
    ``head="gap"`` (global average pooling straight into the softmax, no fc1/fc2) or shrink ``fc_units`` /
    ``width_multiplier``.

    Args:
        config: ``"A"``, ``"A-LRN"``, ``"B"``, ``"C"``, ``"D"`` or ``"E"`` (keys of ``VGG_CONFIGS``).
        input_shape: ``(h, w, c)``.
        num_classes: width of the output layer (``predictions``).
        batch_norm: conv (no bias) -> BatchNorm -> ReLU in every convolution (the later VGG-BN variant).
        width_multiplier: scales every filter count and ``fc_units``.
        lrn: None follows the configuration; True puts an LRN after the first convolution of any config (as
            A-LRN does), False removes it.
        head: ``"paper"`` (flatten, fc1, fc2, predictions) or ``"gap"`` (global average pool, predictions).
        fc_units: width of fc1 and fc2 before scaling (4096 in the paper).
        dropout: rate after fc1 and fc2.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``vgg11``/``vgg11_lrn``/``vgg13``/``vgg16c``/``vgg16``/``vgg19``; layers
        ``block1_conv1`` ... ``block5_pool``, ``block1_lrn``, ``flatten``, ``fc1``, ``fc2``, ``predictions``.

    Raises:
        TypeError / ValueError: an unknown config or head, bad shared arguments, or an input smaller than
            32x32.

    Reference: Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    ICLR 2015, Tables 1 and 2.
    """
    check_choice(config, "config", VGG_CONFIGS)
    check_choice(head, "head", HEADS)
    batch_norm = check_bool(batch_norm, "batch_norm")
    dropout = check_probability(dropout, "dropout")
    if lrn is not None:
        lrn = check_bool(lrn, "lrn")
    stages = _stages(VGG_CONFIGS[config])
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(VGG_CONFIGS[config]),
        model_name=f"VGG configuration {config}", classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = inputs
    for i, (convs, lrn_after) in enumerate(stages, start=1):
        if i == 1 and lrn is not None:
            lrn_after = 1 if lrn else None
        filters = [scaled(c, wm) if isinstance(c, int) else (scaled(c[0], wm), c[1]) for c in convs]
        x = vgg_block(x, filters, use_batch_norm=batch_norm, lrn_after=lrn_after, name=f"block{i}")
    if head == "paper":  # 7x7x512 -> 25,088 -> fc1 -> fc2 -> predictions
        units = scaled(fc_units, wm)
        outputs = classifier_head(x, num_classes, pool="flatten", hidden=(units, units), dropout=dropout,
                                  classifier_activation=classifier_activation)
    else:
        outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    name = VGG_NAMES[config] + ("_bn" if batch_norm else "")
    return keras.Model(inputs, outputs, name=name)



for _config, _name in VGG_NAMES.items():
    register_model(vgg, name=_name, config=_config)
