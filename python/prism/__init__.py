"""prism from Python: explanations of neural-network classifiers and measures of their quality, computed by
prism's native engine in the same process as your PyTorch model.

    import torch, prism
    net = prism.Network(torch.jit.script(model), input_shape=(1, 28, 28))
    maps = prism.attribute(net, images, targets)                  # the pruned gradient, [B, C, H, W]
    maps = prism.attribute(net, images, targets, method="integrated-gradients", steps=32)
    dualview = prism.DataAttributor("dualview", C=1e-3).fit(net, train_x, train_y)
    scores = dualview.attribute(images, targets)                   # [B, N] over the training samples

Tensors go in and come out without copies; numpy arrays are accepted wherever a tensor is. Errors are raised
as prism.Error with prism's one-line message. Options are keyword arguments named as in prism's JSON options
(the command line's flags with '_' for '-'); an unknown keyword is an error that lists the valid ones.
"""
import json as _json
import tempfile as _tempfile

import numpy as _np
import torch as _torch

from . import _prism

Error = _prism.Error

__all__ = ["Error", "Network", "attribute", "feature_methods", "data_methods", "DataAttributor", "EbeDnn", "Flint",
           "sanity_check", "perturbation", "map_measures", "data_metrics"]

data_metrics = _prism.data_metrics
"""The data-attribution metrics of the DualView paper's evaluation, on attributions [B, N] you computed:
identical_label(attributions, train_labels, test_labels), mislabel_detection(self_influence, flipped) (a dict with
the detection curve and its area normalised so that random = 0 and optimal = 1), shortcut_detection(attributions,
marked), sparsity(attributions), topk_cardinality(attributions, k), model_randomization(trained, randomized) (mean
Spearman) and linear_datamodeling_score(attributions, subsets, outputs)."""


def _tensor(value, name, dtype=None):
    """A torch.Tensor view of `value` (numpy arrays are wrapped without a copy where their layout allows)."""
    if isinstance(value, _np.ndarray):
        value = _torch.from_numpy(value)
    if not isinstance(value, _torch.Tensor):
        raise Error(f"{name} must be a torch.Tensor or a numpy array (got {type(value).__name__})")
    if dtype is not None and value.dtype != dtype:
        value = value.to(dtype)
    return value.detach()


def _targets(targets, batch):
    """Targets as int64 [B]: one class for all (an int), or one per sample."""
    if isinstance(targets, int):
        return _torch.full((batch,), targets, dtype=_torch.int64)
    if isinstance(targets, (list, tuple)):
        targets = _torch.tensor(targets, dtype=_torch.int64)
    targets = _tensor(targets, "target", _torch.int64)
    if targets.dim() != 1 or targets.numel() != batch:
        raise Error(f"target must be an int or one class per sample [{batch}] (got shape {list(targets.shape)})")
    return targets


def _options(options):
    return _json.dumps(options)


def feature_methods():
    """The feature-attribution methods prism.attribute takes."""
    return list(_prism.feature_methods())


def data_methods():
    """The data attributors prism.DataAttributor takes."""
    return list(_prism.data_methods())


class Network:
    """A classifier as prism sees it: the op-level graph of a TorchScript model, or a prism model file.

    model: a torch.jit.ScriptModule (torch.jit.script(module)), or the path of a scripted model or of a
           prism model file. The ScriptModule is set to evaluation mode.
    input_shape: (C, H, W) of one input; required for a ScriptModule or scripted file (a scripted model does
           not record it), read from the file for a prism model.
    A prism model file records its training data's mean, which the "mean" baseline and fills use; a scripted
    model does not, so give those a "zeros" baseline or fill.
    """

    def __init__(self, model, input_shape=None):
        shape = list(input_shape) if input_shape is not None else []
        if isinstance(model, _torch.jit.ScriptModule):
            if not shape:
                raise Error("input_shape (C, H, W) is needed for a ScriptModule: it does not record the size of "
                            "its inputs")
            self._net = _prism.Network.from_module(model._c, shape)
        elif isinstance(model, str) or hasattr(model, "__fspath__"):
            self._net = _prism.Network.from_file(str(model), shape)
        elif isinstance(model, _torch.nn.Module):
            raise Error("prism needs a scripted model: pass torch.jit.script(model)")
        else:
            raise Error(f"model must be a torch.jit.ScriptModule or a path (got {type(model).__name__})")

    def layers(self):
        """Every op-level layer: dicts of name, kind, cut (the rest runs from its output) and inputs."""
        return self._net.layers()

    @property
    def input_shape(self):
        return tuple(self._net.input_shape)

    @property
    def num_classes(self):
        return self._net.num_classes

    def penultimate_layer(self):
        """The layer whose output the last linear op reads: the default of every option that names a layer."""
        return self._net.penultimate_layer()

    def forward(self, x):
        """The logits [B, classes] of x [B, C, H, W], without autograd."""
        return self._net.forward(_tensor(x, "x", _torch.float32))

    def activation(self, x, layer):
        """The output of `layer` for x, without autograd."""
        return self._net.activation(_tensor(x, "x", _torch.float32), layer)


def _check_network(network):
    if not isinstance(network, Network):
        raise Error(f"network must be a prism.Network (got {type(network).__name__}); wrap the model with "
                    "prism.Network(torch.jit.script(model), input_shape=(C, H, W))")
    return network._net


def attribute(network, x, target, method="pruned-gradient", return_diagnostics=False, **options):
    """Feature attributions [B, C, H, W] of the scores of `target` (an int, or one class per sample) at x.

    method: one of prism.feature_methods() — pruned-gradient (the default: Khakzar et al.'s input-specific
        pruning, sparsity=85), saliency, gradient-x-input, integrated-gradients (steps=50, baseline="zeros"),
        smoothgrad (samples=50, noise_level=0.15), grad-cam (layer=None: the last spatial layer), lrp (composite),
        occlusion (patch, stride, fill), random.
    options: the method's options as keywords, named as in `prism attribute --help` (sparsity, steps, ...).
    return_diagnostics: also return a dict with the method's axiom error per sample (IG's completeness,
        LRP's conservation) and the pruned share (pruned gradient).
    """
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    maps, axiom, error, share = _prism.feature_attribution(net, x, _targets(target, x.shape[0]), method,
                                                           _options(options))
    if not return_diagnostics:
        return maps
    diagnostics = {}
    if error is not None:
        diagnostics[axiom + "_error"] = error
    if share is not None:
        diagnostics["pruned_share"] = share
    return maps, diagnostics


class DataAttributor:
    """Attribution of predictions to training samples.

    method: one of prism.data_methods() — dualview (C=1e-3: the Crammer–Singer surrogate's dual variables),
        similarity, representer, influence, tracin, trak, random.
    options: the method's options as keywords (e.g. C, projection_dim, checkpoints).
    """

    def __init__(self, method="dualview", **options):
        self._attributor = _prism.DataAttributor(method, _options(options))

    @property
    def name(self):
        return self._attributor.name

    def fit(self, network, train_x, train_y):
        """Fits on the training images [N, C, H, W] and labels [N]; returns self."""
        self._attributor.fit(_check_network(network), _tensor(train_x, "train_x", _torch.float32),
                             _tensor(train_y, "train_y", _torch.int64))
        return self

    def attribute(self, x, target, top=None):
        """Attributions [B, N] of each sample's `target` score to the N training samples; with `top`, the
        (indices, values) of the `top` largest per sample instead."""
        x = _tensor(x, "x", _torch.float32)
        scores = self._attributor.attribute(x, _targets(target, x.shape[0]))
        if top is None:
            return scores
        values, indices = scores.topk(int(top), dim=1)
        return indices, values

    def self_influence(self):
        """Each training sample's influence on itself [N] (mislabel detection ranks by it)."""
        return self._attributor.self_influence()

    def fit_report(self):
        """What the fit measured (iterations, duality gap, support vectors, ...)."""
        return self._attributor.fit_report()

    def options(self):
        return self._attributor.options()


def _fit_folder(owner, folder, method):
    """The folder a fit is written to: `folder`, or a temporary one that lives as long as `owner`."""
    if folder is not None:
        return str(folder)
    owner._folder = _tempfile.TemporaryDirectory(prefix=f"prism-{method}-")
    return owner._folder.name + "/" + method


class EbeDnn:
    """EBE-DNN: a kNN classifier on a layer's embedding, whose predictions are weighted votes of training
    examples. fit() embeds the training set and builds the index (in `folder`, or a temporary one)."""

    def __init__(self, layer=None, pool="flatten", index="flat", metric="l2"):
        self._settings = dict(layer=layer or "", pool=pool, index=index, metric=metric)
        self._fit = None
        self._folder = None

    def fit(self, network, train_x, train_y, folder=None):
        self._fit = _prism.EbeDnn.fit(_check_network(network), _tensor(train_x, "train_x", _torch.float32),
                                      _tensor(train_y, "train_y", _torch.int64),
                                      folder=_fit_folder(self, folder, "ebe-dnn"), **self._settings)
        return self

    @property
    def layer(self):
        return self._fit.layer if self._fit else self._settings["layer"]

    def explain(self, x, k=10, weights="uniform", top=0, share=0.0):
        """For each sample: the k nearest training examples (indices, weights summing to 1, distances,
        labels) and the kNN's prediction, the label with the largest total weight."""
        if self._fit is None:
            raise Error("fit EBE-DNN before explaining")
        return self._fit.explain(_tensor(x, "x", _torch.float32), k=k, weights=weights, top=top, share=share)


class Flint:
    """A post-hoc FLINT interpreter (Parekh et al. 2021) of a trained network, f frozen: a dictionary of
    `attributes` learned attributes Φ(x) read from hidden `layers` (default: the last spatial activation),
    feeding a linear classifier g that mimics f. fit() trains it (into `folder`, or a temporary one)."""

    def __init__(self, attributes=25, layers=None, epochs=3, batch_size=32, learning_rate=1e-3, seed=0):
        self._settings = dict(layers=list(layers or []), attributes=attributes, epochs=epochs,
                              batch_size=batch_size, learning_rate=learning_rate, seed=seed)
        self._fit = None
        self._folder = None

    def fit(self, network, train_x, train_y, folder=None):
        self._fit = _prism.Flint.fit(_check_network(network), _tensor(train_x, "train_x", _torch.float32),
                                     _tensor(train_y, "train_y", _torch.int64),
                                     folder=_fit_folder(self, folder, "flint"), **self._settings)
        return self

    def _fitted(self):
        if self._fit is None:
            raise Error("fit the FLINT interpreter before interpreting")
        return self._fit

    def history(self):
        """Per epoch: the loss terms, the total and the train accuracies of f and g."""
        return self._fitted().history()

    def interpret(self, x, tau=2.0):
        """Local interpretation of f's predictions: attributes Φ(x), g's and f's logits, each attribute's
        relevance r_{j,x} = α_j / max |α| for the predicted class, and the attributes above 1/τ."""
        return self._fitted().interpret(_tensor(x, "x", _torch.float32), tau)

    def global_interpretation(self, x, tau=2.0):
        """Global relevance r_{j,c} [classes, J] over x, and the (class, attribute) pairs above 1/τ."""
        return self._fitted().global_interpretation(_tensor(x, "x", _torch.float32), tau)


def sanity_check(network, x, target, methods=("pruned-gradient",), mode="cascading", seed=0, reduce="sum",
                 method_options=None):
    """Adebayo et al.'s model-parameter randomisation: each method's maps as the weighted layers are
    re-initialised from the output back, compared with the trained model's (Spearman, |Spearman|, SSIM, HOG).
    Returns the steps, per-method mean similarity curves and the collapsed maps [steps, B, H, W] per method."""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    return _prism.sanity_check(net, x, _targets(target, x.shape[0]), list(methods), _options(method_options or {}),
                               mode, seed, reduce)


def perturbation(network, x, target, maps, method="", percentages=None, fill="mean"):
    """Pixel perturbation (MoRF and LeRF): the target's probability and logit as the pixels are removed in
    the order `maps` ranks them ([B, H, W], or [B, C, H, W] summed over channels), and the AOPCs."""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    maps = _tensor(maps, "maps", _torch.float32)
    if maps.dim() == 4:
        maps = maps.sum(1)
    return _prism.perturbation(net, x, _targets(target, x.shape[0]), maps, method, list(percentages or []), fill)


def map_measures(network, x, target, method="pruned-gradient", maps=None, seed=0, **options):
    """Quantus-style measures per sample: sparseness (Gini), complexity (entropy), max-sensitivity and
    faithfulness correlation of `method`'s maps (computed here unless given)."""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    given = None if maps is None else _tensor(maps, "maps", _torch.float32)
    return _prism.map_measures(net, x, _targets(target, x.shape[0]), method, _options(options), given, seed)
