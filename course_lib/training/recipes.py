"""The papers' optimisation recipes as data, the optimizers they build, and the callbacks of their schedules.

Weight decay. The 2012-2016 papers write SGD with weight decay as one update,
``v <- mu * v - lr * (grad + lambda * w);  w <- w + v`` (AlexNet, Section 5), so the decay term goes through
the momentum buffer. That is exactly an L2 penalty ``lambda / 2 * ||w||^2`` added to the loss, and it is what
the SGD recipes here do (``SGDWithL2``). Keras' own ``weight_decay=`` argument is *decoupled* (AdamW style:
``w <- w - lr * lambda * w`` outside the momentum), which at momentum 0.9 decays about 1 / (1 - 0.9) = 10
times more weakly for the same lambda; it is used for the Adam-based recipe ("adamw") where that is the point.
Only kernels (variables with two or more dimensions) are decayed; biases and BatchNorm scales/shifts are not,
as in the reference Caffe/Torch code.

Logits. Every classifier of the kit ends in a softmax unless it is built with ``classifier_activation=None``
(as in ``keras.applications``); such a model outputs logits, and ``compile_model`` gives it the cross-entropy
that takes logits (``from_logits=True``, which is also the numerically stable form). A softmax model keeps the
loss it is given, unchanged.

A recipe acts twice: ``compile_model`` builds its optimizer (and a ``"steps"`` schedule, which lives in the
optimizer), and ``fit`` adds the callbacks of its other schedules (``recipe_callbacks``) and takes its batch
size. ``fit`` is told the recipe explicitly (``recipe=``): nothing is stored on the model, so a model from
``keras.models.clone_model`` or ``keras.models.load_model`` trains exactly as the original when given the same
recipe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import keras
from keras import ops

from .. import keras_adapter
from ..validation import check_choice, check_float, value_error
from .pipeline import is_multi_output


# ----------------------------------------------------------------------------------------------------------
# recipes
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """An optimisation recipe from a paper, as data.

    Attributes:
        name: key in ``RECIPES``.
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        learning_rate: initial learning rate.
        momentum: SGD momentum.
        nesterov: Nesterov momentum (SGD).
        weight_decay: lambda.
        weight_decay_mode: ``"l2"`` (gradient += lambda * w, through the momentum: the papers' rule) or
            ``"decoupled"`` (AdamW style).
        batch_size: the paper's mini-batch size (the default of ``fit``).
        schedule: None; ``"plateau"`` (divide by ``1 / lr_factor`` when the validation metric stops
            improving for ``patience`` epochs); ``"steps"`` (multiply by ``lr_factor`` at each of
            ``boundaries``, counted in iterations); ``"epoch_decay"`` (multiply by ``lr_factor`` every
            ``every_epochs``).
        lr_factor: the factor of the schedule.
        patience: epochs without improvement before a plateau step.
        boundaries: iteration counts of the ``"steps"`` schedule.
        every_epochs: period of ``"epoch_decay"``.
        epochs: the paper's training length in epochs, if it states one.
        iterations: the paper's training length in iterations, if it states one.
        monitor: what a ``"plateau"`` schedule watches on the validation data: ``"accuracy"`` (the papers
            watched the validation error) or ``"loss"``. Without validation data the training loss is used.
        reference: where the numbers come from.
        notes: what the paper leaves open and what was chosen.
    """

    name: str
    optimizer: str
    learning_rate: float
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    weight_decay_mode: str = "l2"
    batch_size: int = 128
    schedule: str | None = None
    lr_factor: float = 0.1
    patience: int = 5
    boundaries: tuple[int, ...] = ()
    every_epochs: int | None = None
    epochs: int | None = None
    iterations: int | None = None
    monitor: str = "accuracy"
    reference: str = ""
    notes: str = ""


RECIPES: dict[str, Recipe] = {
    "adam": Recipe(
        "adam", "adam", 1e-3, batch_size=128,
        reference="Kingma and Ba, 'Adam: A Method for Stochastic Optimization', ICLR 2015",
        notes="the course's default for small models: no decay, no schedule",
    ),
    "adamw": Recipe(
        "adamw", "adamw", 1e-3, weight_decay=1e-4, weight_decay_mode="decoupled", batch_size=128,
        reference="Loshchilov and Hutter, 'Decoupled Weight Decay Regularization', ICLR 2019",
    ),
    "sgd": Recipe("sgd", "sgd", 0.01, momentum=0.9, batch_size=128, notes="plain momentum SGD, no decay"),
    "alexnet": Recipe(
        "alexnet", "sgd", 0.01, momentum=0.9, weight_decay=5e-4, batch_size=128, schedule="plateau",
        lr_factor=0.1, epochs=90,
        reference="Krizhevsky, Sutskever and Hinton, NIPS 2012, Section 5",
        notes="the paper divided the rate by 10 by hand when validation error stopped improving (3 times); "
              "ReduceLROnPlateau automates that",
    ),
    "vgg": Recipe(
        "vgg", "sgd", 0.01, momentum=0.9, weight_decay=5e-4, batch_size=256, schedule="plateau",
        lr_factor=0.1, epochs=74,
        reference="Simonyan and Zisserman, ICLR 2015, Section 3.1",
        notes="dropout 0.5 on fc1/fc2 is part of the model; the rate was decreased 3 times in the paper",
    ),
    "googlenet": Recipe(
        "googlenet", "sgd", 0.01, momentum=0.9, batch_size=128, schedule="epoch_decay", lr_factor=0.96,
        every_epochs=8,
        reference="Szegedy et al., CVPR 2015, Section 6",
        notes="the paper gives momentum 0.9 and a 4% decrease every 8 epochs; initial rate and batch size "
              "are not stated (0.01 and 128 chosen here)",
    ),
    "resnet_imagenet": Recipe(
        "resnet_imagenet", "sgd", 0.1, momentum=0.9, weight_decay=1e-4, batch_size=256, schedule="plateau",
        lr_factor=0.1, iterations=600_000,
        reference="He, Zhang, Ren and Sun, CVPR 2016, Section 3.4",
    ),
    "resnet_cifar": Recipe(
        "resnet_cifar", "sgd", 0.1, momentum=0.9, weight_decay=1e-4, batch_size=128, schedule="steps",
        lr_factor=0.1, boundaries=(32_000, 48_000), iterations=64_000,
        reference="He, Zhang, Ren and Sun, CVPR 2016, Section 4.2",
        notes="64k iterations of batch 128 on a 45k/5k train/val split is about 182 epochs",
    ),
}


def get_recipe(recipe: str | Recipe, **overrides) -> Recipe:
    """Look up a recipe by name (or pass one through), with some fields replaced.

    Args:
        recipe: a key of ``RECIPES`` or a ``Recipe``.
        **overrides: fields to change, e.g. ``learning_rate=0.05``; None values are ignored.

    Returns:
        A ``Recipe``.

    Raises:
        ValueError: unknown recipe name or field.
    """
    if isinstance(recipe, Recipe):
        base = recipe
    elif isinstance(recipe, str) and recipe in RECIPES:
        base = RECIPES[recipe]
    else:
        raise value_error("recipe", f"a Recipe or one of {', '.join(RECIPES)}", recipe)
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"unknown recipe field(s) {', '.join(unknown)}; fields are {', '.join(sorted(fields))}"
        )
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(base, **changes) if changes else base


# ----------------------------------------------------------------------------------------------------------
# optimizers
# ----------------------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="course_lib")
class SGDWithL2(keras.optimizers.SGD):
    """SGD (with momentum) whose weight decay is the papers' coupled L2 term.

    Each step uses ``g + l2 * w`` in place of the gradient ``g`` for every kernel (a variable with two or
    more dimensions), so with momentum ``mu`` the update is ``v <- mu v - lr (g + l2 w); w <- w + v``, the
    rule printed in the AlexNet paper. Biases and BatchNorm parameters are not decayed.

    Args:
        learning_rate: a float or a ``keras.optimizers.schedules.LearningRateSchedule``.
        momentum, nesterov: as in ``keras.optimizers.SGD``.
        l2: the decay coefficient lambda (5e-4 in AlexNet/VGG, 1e-4 in ResNet).
        **kwargs: other ``keras.optimizers.SGD`` arguments (not ``weight_decay``, which is decoupled).

    Reference: Krizhevsky, Sutskever and Hinton, NIPS 2012, Section 5.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, l2=0.0, name="sgd_l2", **kwargs):
        if kwargs.get("weight_decay"):
            raise ValueError("SGDWithL2 applies its own L2 decay: pass l2=, not weight_decay=")
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, momentum=float(momentum), nesterov=nesterov, name=name,
                         **kwargs)
        self.l2 = check_float(l2, "l2", minimum=0.0)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2 and len(variable.shape) >= 2:
            gradient = ops.add(ops.cast(gradient, variable.dtype),
                               ops.multiply(ops.cast(self.l2, variable.dtype), variable))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config_ = super().get_config()
        config_["l2"] = self.l2
        return config_


def _learning_rate(recipe: Recipe):
    if recipe.schedule == "steps":
        values = [recipe.learning_rate * recipe.lr_factor**i for i in range(len(recipe.boundaries) + 1)]
        # The optimizer asks for the rate of step t = 0, 1, ... (iterations done so far), and
        # PiecewiseConstantDecay keeps the old value up to and including a boundary: "divide at 32k
        # iterations" means step 32000 (the 32,001st update) is the first at the new rate: boundary 31999.
        return keras.optimizers.schedules.PiecewiseConstantDecay([b - 1 for b in recipe.boundaries], values)
    return recipe.learning_rate


def make_optimizer(recipe: str | Recipe = "adam", **overrides) -> keras.optimizers.Optimizer:
    """Build the optimizer a recipe describes.

    Args:
        recipe: a name in ``RECIPES`` or a ``Recipe``.
        **overrides: recipe fields to change (``learning_rate=``, ``weight_decay=``, ``boundaries=`` ...).

    Returns:
        ``SGDWithL2`` (SGD recipes with ``weight_decay_mode="l2"``), ``keras.optimizers.SGD`` (decoupled
        decay or none), ``Adam`` or ``AdamW``. A ``"steps"`` schedule becomes a ``PiecewiseConstantDecay``
        counted in iterations.

    Raises:
        ValueError: unknown recipe, optimizer or weight_decay_mode.
    """
    r = get_recipe(recipe, **overrides)
    lr = _learning_rate(r)
    if r.weight_decay_mode not in ("l2", "decoupled"):
        raise ValueError(f"weight_decay_mode must be 'l2' or 'decoupled', got {r.weight_decay_mode!r}")
    if r.optimizer == "sgd":
        if r.weight_decay and r.weight_decay_mode == "l2":
            return SGDWithL2(lr, momentum=r.momentum, nesterov=r.nesterov, l2=r.weight_decay)
        opt = keras.optimizers.SGD(lr, momentum=float(r.momentum), nesterov=r.nesterov,
                                   weight_decay=r.weight_decay or None)
    elif r.optimizer == "adam":
        if r.weight_decay:
            raise ValueError("the 'adam' optimizer has no weight decay here: use optimizer 'adamw'")
        return keras.optimizers.Adam(lr)
    elif r.optimizer == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=r.weight_decay)
    else:
        raise ValueError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {r.optimizer!r}")
    if r.weight_decay:
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt


# ----------------------------------------------------------------------------------------------------------
# compile
# ----------------------------------------------------------------------------------------------------------
# The cross-entropies that read probabilities by default, and the loss class that reads logits instead.
_LOGITS_LOSSES: dict[str, type[keras.losses.Loss]] = {
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
}


def _output_layers(model: keras.Model) -> list:
    """The layers that produce ``model``'s outputs, in the order of ``model.outputs``; for a nested model (a
    Sequential whose last layer is a model), the layer that ends it. Empty when the model has no graph yet (an
    unbuilt Sequential, a subclassed model)."""
    try:
        outputs = model.outputs
    except AttributeError:
        return []
    found = []
    for tensor in outputs or []:
        layer = keras_adapter.producing_operation(tensor)
        while isinstance(layer, keras.Model):
            inner = _output_layers(layer)
            if len(inner) != 1:
                break
            layer = inner[0]
        found.append(layer)
    return found


def _emits_logits(layer) -> bool:
    """True when ``layer`` (a model's output layer) outputs logits: its activation is linear.

    That is the output layer of a classifier built with ``classifier_activation=None``, or a plain
    ``Dense(num_classes)``. A softmax, a ``Softmax`` layer, any other activation, or a layer without an
    ``activation`` attribute (an op, a nested model with several outputs) reads as probabilities.
    """
    return getattr(layer, "activation", None) is keras.activations.linear


def _loss_for(layer, loss):
    """``loss`` itself, or its logits form: a name in ``_LOGITS_LOSSES`` where ``layer`` outputs logits."""
    if isinstance(loss, str) and loss in _LOGITS_LOSSES and layer is not None and _emits_logits(layer):
        return _LOGITS_LOSSES[loss](from_logits=True)
    return loss


def compile_model(
    model: keras.Model,
    *,
    recipe: str | Recipe = "adam",
    learning_rate: float | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
    boundaries: Sequence[int] | None = None,
    loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",),
    aux_weight: float = 0.3,
    **compile_kwargs,
) -> keras.Model:
    """Compile ``model`` with a paper's recipe: its optimizer, weight decay and (``"steps"``) schedule.

    This is the kit's one place that compiles a model with auxiliary outputs (``googlenet(aux_logits=True)``):
    the same loss on every output, weighted 1 for ``predictions`` and ``aux_weight`` for the others (0.3 in
    the GoogLeNet paper, Section 5), and metrics on ``predictions`` only.

    The loss follows each output: an output layer with a linear activation (a classifier built with
    ``classifier_activation=None``, or a plain ``Dense(num_classes)``) outputs logits, so a cross-entropy
    given by name (``"sparse_categorical_crossentropy"``, ``"categorical_crossentropy"``) becomes that loss
    with ``from_logits=True``; trained from the same weights, it reaches the same loss as the softmax model.
    A softmax output (every classifier by default), any other loss name and a loss object are used as given.

    Nothing is stored on the model: give ``fit`` the same recipe (``fit(model, data, recipe=...)``) for its
    plateau or epoch schedule and batch size. With overrides, build the recipe once and pass it to both:
    ``r = get_recipe("alexnet", learning_rate=0.05)``.

    Args:
        model: a Keras model (built inside ``strategy.scope()`` if you train with a strategy).
        recipe: a key of ``RECIPES`` or a ``Recipe``.
        learning_rate, momentum, weight_decay, boundaries: override the recipe's values.
        loss: loss for every output (integer labels by default; use "categorical_crossentropy" for one-hot);
            a cross-entropy named here is applied to logits where an output is linear (see above).
        metrics: metrics for the main output.
        aux_weight: loss weight of each auxiliary output.
        **compile_kwargs: passed to ``model.compile``.

    Returns:
        The same model, compiled.

    Raises:
        ValueError: unknown recipe or bad override, or a multi-output model without a ``predictions`` output.
    """
    r = get_recipe(recipe, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay,
                   boundaries=tuple(boundaries) if boundaries is not None else None)
    optimizer = make_optimizer(r)
    layers = _output_layers(model)
    if is_multi_output(model):
        from ..models.googlenet import aux_loss_weights

        names = model.output_names
        if "predictions" not in names:
            raise ValueError(f"a model with several outputs needs one named 'predictions', got {names}")
        compile_kwargs.setdefault("loss_weights", aux_loss_weights(model, aux_weight))
        losses = {name: _loss_for(layer, loss) for name, layer in zip(names, layers)}
        model.compile(optimizer=optimizer, loss=losses, metrics={"predictions": list(metrics)},
                      **compile_kwargs)
    else:
        model.compile(optimizer=optimizer, loss=_loss_for(layers[0] if layers else None, loss),
                      metrics=list(metrics), **compile_kwargs)
    return model


# ----------------------------------------------------------------------------------------------------------
# schedules as callbacks
# ----------------------------------------------------------------------------------------------------------
def _monitor(model: keras.Model, recipe: Recipe, has_validation: bool) -> tuple[str, str]:
    """The log key a plateau schedule watches, and whether it should go up or down.

    Decided from the recipe (``monitor``), whether there is validation data, and the model's outputs (Keras
    prefixes the metric of a multi-output model with the output's name); never from the compile config.
    """
    quantity = check_choice(recipe.monitor, "recipe.monitor", ("accuracy", "loss"))
    if not has_validation or quantity == "loss":
        return ("val_loss" if has_validation else "loss"), "min"
    key = f"predictions_{quantity}" if is_multi_output(model) else quantity
    return f"val_{key}", "max"


class PlateauSchedule(keras.callbacks.ReduceLROnPlateau):
    """``ReduceLROnPlateau`` that stops with a clear error when the quantity it watches is not logged.

    Keras' own callback only warns and never lowers the rate, which would silently drop a paper's schedule
    (for instance when the model was compiled without the accuracy metric).
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.monitor not in logs:
            raise ValueError(
                f"the plateau schedule watches {self.monitor!r}, which training does not log (logged: "
                f"{', '.join(sorted(logs))}); compile with metrics=['accuracy'] or use a recipe with "
                "monitor='loss'"
            )
        super().on_epoch_end(epoch, logs)


def recipe_callbacks(model: keras.Model, recipe: Recipe | None, *, has_validation: bool) -> list:
    """The callbacks a recipe's schedule needs during ``fit``.

    Args:
        model: the model being trained (its number of outputs names the watched metric).
        recipe: a ``Recipe``, or None for no schedule.
        has_validation: whether ``fit`` has validation data.

    Returns:
        ``[PlateauSchedule]`` for ``"plateau"``, ``[LearningRateScheduler]`` for ``"epoch_decay"``, and ``[]``
        for no schedule or ``"steps"`` (that one lives in the optimizer, see ``make_optimizer``).

    Raises:
        ValueError: an unknown schedule or monitor in the recipe.
    """
    if recipe is None or recipe.schedule in (None, "steps"):
        return []
    if recipe.schedule == "plateau":
        monitor, mode = _monitor(model, recipe, has_validation)
        return [PlateauSchedule(monitor=monitor, mode=mode, factor=recipe.lr_factor, patience=recipe.patience,
                                verbose=0)]
    if recipe.schedule == "epoch_decay":
        base, factor, every = recipe.learning_rate, recipe.lr_factor, recipe.every_epochs

        def rate(epoch, lr=None):
            return base * factor ** (epoch // every)

        return [keras.callbacks.LearningRateScheduler(rate, verbose=0)]
    raise ValueError(f"unknown schedule {recipe.schedule!r} in recipe {recipe.name!r}")

