"""Keras 3 builders of the classic CNNs, with the papers' tables written as data.

Every builder takes ``input_shape=``, ``num_classes=`` and ``width_multiplier=`` (a float that scales all
filter and hidden-unit counts, for small models that train on a CPU), validates its arguments before building,
and names layers the keras.applications way so that notebooks can look them up.

    >>> from course_lib import models
    >>> m = models.get_model("cifar_resnet20")                    # or models.cifar_resnet(20)
    >>> m = models.vgg("D", input_shape=(32, 32, 3), num_classes=10, head="gap", width_multiplier=0.25)
    >>> m = models.googlenet(aux_logits=True)                     # outputs: predictions, aux1, aux2
    >>> with models.architecture_only():                          # shapes and counts, no weights allocated
    ...     print(models.get_model("vgg16").count_params())
    138357544

Families: ``lenet5`` (published / classic / modern), ``alexnet`` (and ``caffenet``) and ``zfnet``, ``vgg``
(``VGG_CONFIGS`` A..E), ``nin``, ``googlenet`` (``GOOGLENET_TABLE``) and ``inception_v3_module``, ``resnet``
(``RESNET_SPECS``, and the ImageNet errors of the paper's Tables 2 and 3) and ``cifar_resnet``. After ResNet:
``inception_v3``, ``resnext`` and ``se_resnet``, ``preact_resnet`` and ``wide_resnet``, ``mobilenet`` and
``mobilenet_v2``, ``efficientnet`` (B0-B7, ``compound_scaling``), ``densenet``, ``xception``, ``nfnet``
(``WSConv2D``, ``with_adaptive_gradient_clipping``).

Each family builder and each named variant (``vgg16``, ``resnet50``, ``cifar_plain56``, ...) is registered
once, where it is defined (``registry.register_model``); ``list_models()`` lists the names that
``get_model`` accepts, ``list_models("classification")`` the classifiers (FCN, U-Net, the grid detector and
the course's own network are registered too). Every classifier takes ``classifier_activation=`` as
``keras.applications`` does (None: the model outputs logits) and ends in the one head,
``blocks.classifier_head``; the convolution-BN-activation layers of every family come from ``blocks.conv_bn``.
Custom layers: ``LocalResponseNormalization``, ``ConnectionTableConv2D``, ``Subsampling2D``, ``EuclideanRBF``
(and the activation ``scaled_tanh``), ``ZeroPadShortcut``, and the p4 group convolutions ``P4ConvLift2D``,
``P4Conv2D``, ``OrientationPooling`` and ``Maxout`` (``group_conv.py``, re-exported by ``layers``).
"""

from __future__ import annotations

from . import blocks, layers
from .alexnet import (
    ALEXNET_CIFAR_ROWS,
    ALEXNET_ROWS,
    ZFNET_ROWS,
    ZFNET_WIDE_ROWS,
    ConvRow,
    alexnet,
    alexnet_family,
    zfnet,
)
from .blocks import (
    InceptionRow,
    InceptionV3Filters,
    basic_block,
    bottleneck_block,
    classifier_head,
    conv_bn,
    inception_module,
    inception_v3_module,
    mlpconv_block,
    vgg_block,
)
from .common import Step, architecture_only, min_input_size, scaled
from .densenet import DENSENET_BLOCKS, densenet
from .efficientnet import EFFICIENTNET_SCALING, compound_scaling, efficientnet
from .googlenet import (
    GOOGLENET_STAGES,
    GOOGLENET_STEM,
    GOOGLENET_TABLE,
    aux_loss_weights,
    googlenet,
    inception_aux_head,
)
from .inception_v3 import INCEPTION_V3_MODULES, inception_v3
from .layers import (
    ConnectionTableConv2D,
    EuclideanRBF,
    LocalResponseNormalization,
    Subsampling2D,
    ZeroPadShortcut,
    scaled_tanh,
)
from .lenet import LENET5_C3_TABLE, LENET5_RBF_BITMAPS, LENET5_ROWS, lenet5, rbf_codes
from .mobilenet import mobilenet, mobilenet_v2
from .nfnet import WSConv2D, adaptive_gradient_clip, nfnet, with_adaptive_gradient_clipping
from .nin import NIN_CIFAR_ROWS, NIN_IMAGENET_ROWS, nin
from .preact_resnet import preact_resnet, wide_resnet
from .registry import TASKS, get_model, list_models, model_family, register_model
from .resnet import (
    CIFAR_RESNET_DEPTHS,
    RESNET_IMAGENET_TABLE2,
    RESNET_IMAGENET_TABLE3,
    RESNET_SPECS,
    ImageNetError,
    cifar_resnet,
    resnet,
)
from .resnext import resnext, se_resnet
from .vgg import VGG_CONFIGS, VGG_DEPTHS, VGG_NAMES, vgg
from .xception import xception

__all__ = [
    "ALEXNET_CIFAR_ROWS", "ALEXNET_ROWS", "CIFAR_RESNET_DEPTHS", "ConnectionTableConv2D", "ConvRow",
    "EuclideanRBF", "GOOGLENET_STAGES", "GOOGLENET_STEM", "GOOGLENET_TABLE", "ImageNetError", "InceptionRow",
    "InceptionV3Filters", "LENET5_C3_TABLE", "LENET5_RBF_BITMAPS", "LENET5_ROWS",
    "LocalResponseNormalization", "NIN_CIFAR_ROWS", "NIN_IMAGENET_ROWS", "RESNET_IMAGENET_TABLE2",
    "RESNET_IMAGENET_TABLE3", "RESNET_SPECS", "Step", "TASKS",
    "Subsampling2D", "VGG_CONFIGS", "VGG_DEPTHS", "VGG_NAMES", "ZFNET_ROWS", "ZFNET_WIDE_ROWS",
    "ZeroPadShortcut", "alexnet", "alexnet_family", "architecture_only", "aux_loss_weights",
    "basic_block", "blocks", "bottleneck_block", "cifar_resnet", "classifier_head", "conv_bn", "get_model",
    "googlenet",
    "inception_aux_head", "inception_module", "inception_v3_module", "layers", "lenet5", "list_models",
    "min_input_size", "mlpconv_block", "model_family", "nin", "rbf_codes", "register_model", "resnet",
    "scaled", "scaled_tanh", "vgg", "vgg_block", "zfnet",
]
# After ResNet (issue 15): one module per family, each registering its builders where they are defined.
__all__ += [
    "DENSENET_BLOCKS", "EFFICIENTNET_SCALING", "INCEPTION_V3_MODULES", "WSConv2D", "adaptive_gradient_clip",
    "compound_scaling", "densenet", "efficientnet", "inception_v3", "mobilenet", "mobilenet_v2", "nfnet",
    "preact_resnet", "resnext", "se_resnet", "wide_resnet", "with_adaptive_gradient_clipping", "xception",
]
