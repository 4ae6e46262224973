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
           "sanity_check", "localisation", "perturbation", "map_measures", "roar", "evaluate_data_attribution", "data_metrics",
           "Report", "precision"]

data_metrics = _prism.data_metrics
"""The data-attribution metrics of the DualView paper's evaluation, on attributions [B, N] you computed:
identical_label(attributions, train_labels, test_labels), mislabel_detection(self_influence, flipped) (a dict with
the detection curve and its area normalised so that random = 0 and optimal = 1), shortcut_detection(attributions,
marked), mixed_datasets(attributions, mixed) (mean average precision of the mixed-in samples), sparsity(attributions), topk_cardinality(attributions, k), model_randomization(trained, randomized) (mean
Spearman) and linear_datamodeling_score(attributions, subsets, outputs)."""


class precision:
    """The number format of prism's forward-only passes (predictions, embeddings, penultimate features,
    perturbation curves) inside the block: "fp32" or "bf16" (about twice as fast on a CPU with bf16 instructions, at
    ~1e-2 relative error; each pass is checked against float32 on its first batch). Fits made inside it record it.

        with prism.precision("bf16"):
            dualview = prism.DataAttributor("dualview").fit(net, train_x, train_y)
    """

    def __init__(self, name):
        self._name = name
        self._previous = _prism.precision()
        _prism.set_precision(name)  # checks the name now
        _prism.set_precision(self._previous)

    def __enter__(self):
        self._previous = _prism.precision()
        _prism.set_precision(self._name)
        return self

    def __exit__(self, *exception):
        _prism.set_precision(self._previous)
        return False


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

    method: one of the methods below (the default is the seed method, the pruned gradient).
    options: the method's options as keywords, each with its default (the flags of `prism attribute --help`,
        '-' written '_'); an option the method does not have is an error that lists the ones it has.
    return_diagnostics: also return a dict with the method's axiom error per sample (IG's completeness,
        LRP's conservation) and the pruned share (pruned gradient).

    Methods and their options:
{methods}
    """
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    maps, diagnostics = _prism.feature_attribution(net, x, _targets(target, x.shape[0]), method, _options(options))
    return (maps, diagnostics) if return_diagnostics else maps


def _method_help(docs):
    """The methods and their options as an indented list, from prism's own declarations of them."""
    lines = []
    for method in docs:
        lines.append(f"    {method['name']}: {method['summary']}")
        for option in method["options"]:
            lines.append(f"        {option['key']}={option['default']!r}: {option['help']}")
    return "\n".join(lines)


attribute.__doc__ = attribute.__doc__.replace("{methods}", _method_help(_prism.feature_method_docs()))


def _protocol_help(function):
    """Fills a protocol's docstring with its options as prism declares them (the defaults live there only)."""
    lines = [f"        {key}={default!r}: {help}"
             for key, help, default in _prism.protocol_option_docs(function.__qualname__)]
    function.__doc__ = function.__doc__.replace("{options}", "\n".join(lines))
    return function


class DataAttributor:
    """Attribution of predictions to training samples: fit() on the training set, then attribute() test
    points [B, N] or their top proponents, and self_influence() [N].

    method: one of the methods below; options: its options as keywords, each with its default (the flags of
    `prism influence fit --help`, '-' written '_').

    Methods and their options:
{methods}
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


DataAttributor.__doc__ = DataAttributor.__doc__.replace("{methods}", _method_help(_prism.data_method_docs()))


def _fit_folder(owner, folder, method):
    """The folder a fit is written to: `folder`, or a temporary one that lives as long as `owner`."""
    if folder is not None:
        return str(folder)
    owner._folder = _tempfile.TemporaryDirectory(prefix=f"prism-{method}-")
    return owner._folder.name + "/" + method


@_protocol_help
class EbeDnn:
    """EBE-DNN: a kNN classifier on a layer's embedding, whose predictions are weighted votes of training
    examples. fit() embeds the training set and builds the index (in `folder`, or a temporary one).

    options (keywords, with their defaults):
{options}"""

    def __init__(self, **options):
        self._options = options
        self._fit = None
        self._folder = None

    def fit(self, network, train_x, train_y, folder=None):
        self._fit = _prism.EbeDnn.fit(_check_network(network), _tensor(train_x, "train_x", _torch.float32),
                                      _tensor(train_y, "train_y", _torch.int64), _options(self._options),
                                      _fit_folder(self, folder, "ebe-dnn"))
        return self

    @property
    def layer(self):
        """The layer embedded (before fit: as given, None for the penultimate features)."""
        return self._fit.layer if self._fit else self._options.get("layer")

    @_protocol_help
    def explain(self, x, **options):
        """For each sample: the k nearest training examples (indices, weights summing to 1, distances,
        labels) and the kNN's prediction, the label with the largest total weight.

        options (keywords, with their defaults):
{options}"""
        if self._fit is None:
            raise Error("fit EBE-DNN before explaining")
        return self._fit.explain(_tensor(x, "x", _torch.float32), _options(options))


@_protocol_help
class Flint:
    """FLINT (Parekh et al. 2021): an interpreter g of a classifier f — a dictionary of `attributes` learned
    attributes Φ(x) read from f's hidden `layers` (default: the last spatial activation), feeding a linear
    classifier that mimics f. fit() learns it post hoc for a trained network (f frozen); Flint.train() learns a
    built-in f and its interpreter together. Training writes a FLINT folder (`folder`, or a temporary one).
    The defaults are the paper's for MNIST-like data and the command line's; a larger step lets attributes die
    (Φ = 0 on every input).

    options (keywords, with their defaults; the loss terms' weights and the epoch each starts at among them):
{options}
    """

    def __init__(self, **options):
        self._options = _options(options)
        self._fit = None
        self._folder = None

    def fit(self, network, train_x, train_y, folder=None):
        """Learns the interpreter of a trained `network` (f frozen); returns self."""
        self._fit = _prism.Flint.fit(_check_network(network), _tensor(train_x, "train_x", _torch.float32),
                                     _tensor(train_y, "train_y", _torch.int64), self._options,
                                     _fit_folder(self, folder, "flint"))
        return self

    @classmethod
    def train(cls, train_x, train_y, architecture=None, width=0, class_names=None, folder=None, **options):
        """FLINT's joint training: a fresh built-in classifier f (`architecture`: mlp, cnn, cnn1d or resnet18; None:
        the cnn for images, the cnn1d for sequences, the mlp for table rows) and its interpreter learnt together on
        images [N, C, H, W], sequences [N, C, T] or table rows [N, F] and labels [N]; f is `.network`. options: as Flint's."""
        flint = cls(**options)
        flint._fit = _prism.Flint.train(_tensor(train_x, "train_x", _torch.float32),
                                        _tensor(train_y, "train_y", _torch.int64), list(class_names or []),
                                        architecture or "", int(width), flint._options,
                                        _fit_folder(flint, folder, "flint"))
        return flint

    def _fitted(self):
        if self._fit is None:
            raise Error("fit the FLINT interpreter before interpreting")
        return self._fit

    @property
    def network(self):
        """f, the classifier the interpreter explains (the jointly trained one after Flint.train)."""
        network = Network.__new__(Network)
        network._net = self._fitted().network()
        return network

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

    def visualise(self, samples, top=8, **options):
        """What each attribute stands for over `samples` (training images): the attributes Φ [N, J], the
        global relevance [classes, J], each attribute's `top` most activating samples [J, top] and an image
        per attribute that maximises it [J, C, H, W], started from its top sample. options: start_scale
        (0.3), steps (300), learning_rate (0.05), tv_weight (20), range_weight (10)."""
        return self._fitted().visualise(_tensor(samples, "samples", _torch.float32), int(top), _options(options))


@_protocol_help
def sanity_check(network, x, target, methods=("pruned-gradient",), method_options=None, **options):
    """Adebayo et al.'s model-parameter randomisation: each method's maps as the weighted layers are
    re-initialised from the output back, compared with the trained model's (Spearman, |Spearman|, SSIM, and HOG
    on images). smooth_samples > 0 is smooth MPRT (Hedström et al. 2023): every map the mean over that many noisy
    copies x + N(0, (smooth_noise * range)^2), the same copies at each step (Quantus: 50 copies, 0.1).
    method_options: a dict method → its options.
    Returns the steps, per-method mean similarity curves and the collapsed maps [steps, B, H, W] per method.

    options (keywords, with their defaults):
{options}"""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    return _prism.sanity_check(net, x, _targets(target, x.shape[0]), list(methods), _options(method_options or {}),
                               _options(options))


def localisation(maps, regions):
    """Localisation of maps ([B, H, W], or [B, C, H, W] summed over channels) against known regions ([B, H, W],
    true inside), per sample: the pointing game (the largest value inside), relevance mass (the share of positive
    relevance inside) and relevance rank accuracy (the share of the |region| top pixels inside)."""
    maps = _tensor(maps, "maps", _torch.float32)
    if maps.dim() == 4:
        maps = maps.sum(1)
    return _prism.localisation(maps, _tensor(regions, "regions", _torch.bool))


@_protocol_help
def perturbation(network, x, target, maps, method="", **options):
    """Pixel perturbation (MoRF and LeRF): the target's probability and logit as the pixels are removed in
    the order `maps` ranks them ([B, H, W], or [B, C, H, W] summed over channels), and the AOPCs. ranking:
    "signed" (largest value first), "magnitude" (largest |value| first) or "method", the convention of the
    prism method named `method` (magnitude for saliency, smoothgrad and pruned-gradient; signed otherwise).
    fill="linear" with percentages 10, 20, ..., 90 is ROAD (Rong et al. 2022): "morf_hit" and "lerf_hit" say
    whether each sample is still predicted as the target. On table rows [B, F] the maps are [B, F] and features
    are removed; on sequences [B, C, T] the maps are [B, T] (or [B, C, T], summed) and steps are removed.

    options (keywords, with their defaults):
{options}"""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    maps = _tensor(maps, "maps", _torch.float32)
    if maps.dim() == x.dim() and x.dim() >= 3:  # an image's or sequence's channels, summed
        maps = maps.sum(1)
    return _prism.perturbation(net, x, _targets(target, x.shape[0]), maps, method, _options(options))


@_protocol_help
def map_measures(network, x, target, method="pruned-gradient", maps=None, method_options=None, **options):
    """Quantus-style measures per sample: sparseness (Gini), complexity (entropy), max-sensitivity,
    faithfulness correlation, infidelity, the random-logit test, the local Lipschitz estimate, completeness error,
    input invariance and IROF of `method`'s maps (computed here unless given), method_options its options.

    options (keywords, with their defaults):
{options}"""
    net = _check_network(network)
    x = _tensor(x, "x", _torch.float32)
    given = None if maps is None else _tensor(maps, "maps", _torch.float32)
    return _prism.map_measures(net, x, _targets(target, x.shape[0]), method, _options(method_options or {}), given,
                               _options(options))


def tcav(network, concepts, random_x, x, y=None, classes=None, output="logit", flint=None, **options):
    """TCAV (Kim et al. 2018): how much each human concept moves each class's logit. A concept activation vector
    (CAV) is the normal of a logistic regression separating the layer's activations of a concept's images from those
    of random images; the TCAV score of class k is the share of its inputs whose logit rises along the CAV. One CAV
    per random set; the scores are tested (Welch's two-sided t-test) against those of random-vs-random CAVs.

    concepts: {name: images [N, C, H, W] in [0, 1]}, at least 4 images each.
    random_x: images the random sets are drawn from (at least (random_sets + 1) * examples_per_set).
    x, y: the inputs scored: class k on the images of x labelled k (`classes`: those scored, default every class).
    output: what is scored of class k, its "logit" (the paper's) or its "log-probability", which a direction raising
        every logit alike leaves unchanged.
    flint: a fitted prism.Flint of `network`: score its attributes instead (on the inputs where each is active),
        at the first layer FLINT reads unless `layer` is given.
    options: layer (default: the second-to-last activation), random_sets (10), examples_per_set (50),
        inputs_per_output (100), l2, held_out, alpha (0.05), seed, batch_size.

    Returns a dict: layer, concepts, outputs, scores [C, K, M], magnitudes, null_scores [K, M], cav_accuracy [C, M],
    null_accuracy [M], p_values [C, K], significant [C, K], inputs [K], cavs [C + 1, M, D] (the null's last)."""
    net = _check_network(network)
    if not isinstance(concepts, dict) or not concepts:
        raise Error("concepts must be a non-empty dict {name: images}")
    names = list(concepts)
    images = [_tensor(concepts[name], f"concepts[{name!r}]", _torch.float32) for name in names]
    labels = None if y is None else _tensor(y, "y", _torch.int64)
    interpreter = None if flint is None else flint._fitted()
    return _prism.tcav(net, names, images, _tensor(random_x, "random_x", _torch.float32),
                       _tensor(x, "x", _torch.float32), labels, list(classes or []), output, interpreter,
                       _options(options))


@_protocol_help
def roar(network, train_x, train_y, test_x, test_y, methods=("pruned-gradient", "random"), architecture=None, width=0,
         seed=None, cache=None, method_options=None, **options):
    """ROAR and KAR (Hooker et al. 2019): each method's maps of `network` rank the pixels of every training and
    test image (by each method's convention, or as `ranking` says: see perturbation); the top `fractions` % (ROAR) or all but them (KAR) are replaced by the data mean, a fresh model
    is trained on the modified images and tested on the modified test set. A faithful ranking makes ROAR
    accuracy fall fastest and KAR accuracy stay highest; "random" is the control. Fresh models are the
    network's own built-in architecture, or `architecture` (mlp, cnn, resnet18) for a scripted model.
    Maps and retrainings are cached in `cache` (a temporary folder when None), so a rerun only reads. seed: of the
    retrainings (their options' default when None). method_options: a dict method → its options.
    Returns the runs (method, mode, fraction, seed, accuracy) and a markdown table per mode.

    options (keywords, with their defaults):
{options}"""
    net = _check_network(network)
    with _cache_folder(cache, "roar") as folder:
        return _prism.roar(net, _tensor(train_x, "train_x", _torch.float32),
                           _tensor(train_y, "train_y", _torch.int64), _tensor(test_x, "test_x", _torch.float32),
                           _tensor(test_y, "test_y", _torch.int64), list(methods), _options(method_options or {}),
                           architecture or "", int(width), None if seed is None else int(seed), folder,
                           _options(options))


@_protocol_help
def evaluate_data_attribution(train_x, train_y, test_x, test_y, methods=None, metrics=None, class_names=None,
                              groups=None, architecture=None, width=0, cache=None, method_options=None, **options):
    """The DualView paper's evaluation of data attribution (Yolcu et al. 2024, §5), end to end: for each metric
    the model it needs is trained (the plain model, merged classes, flipped labels, a marked class, a second
    source mixed into one class, random halves), every method (prism.data_methods() when None) is fitted on it and scored. metrics: identical-class,
    identical-subclass (needs `groups`, a dict group name → classes; Fashion-MNIST's is known from its
    `class_names`), mislabel, shortcut, mixed-datasets, sparsity, topk-cardinality, model-randomization, lds (all
    when None, less those that do not apply: the shortcut on table rows, identical-subclass without a grouping).
    architecture: of every model (mlp, cnn, cnn1d, resnet18; None: the cnn for images, the cnn1d for sequences, the mlp
        for table rows).
    method_options: a dict method → its options. Models and fits are cached in `cache` (temporary when None).
    Returns per metric its direction and values (["metrics"][metric] = {"better", "values": method → value}),
    the mislabel curves, each method's fit and explain seconds and cache size, and a markdown table.

    options (keywords, with their defaults):
{options}"""
    group_of_class, group_names = [], []
    if groups:
        classes = max(c for members in groups.values() for c in members) + 1
        group_of_class = [-1] * classes
        for index, (name, members) in enumerate(groups.items()):
            group_names.append(name)
            for c in members:
                group_of_class[c] = index
    with _cache_folder(cache, "data-evaluation") as folder:
        return _prism.evaluate_data_attribution(
            _tensor(train_x, "train_x", _torch.float32), _tensor(train_y, "train_y", _torch.int64),
            _tensor(test_x, "test_x", _torch.float32), _tensor(test_y, "test_y", _torch.int64),
            list(class_names or []), group_of_class, group_names, list(methods or []), list(metrics or []),
            _options(method_options or {}), architecture or "", int(width), folder, _options(options))


class _cache_folder:
    """`cache` as given, or a temporary folder removed afterwards."""

    def __init__(self, cache, name):
        self._given, self._name, self._temporary = cache, name, None

    def __enter__(self):
        if self._given is not None:
            return str(self._given)
        self._temporary = _tempfile.TemporaryDirectory(prefix=f"prism-{self._name}-")
        return self._temporary.name

    def __exit__(self, *exc):
        if self._temporary is not None:
            self._temporary.cleanup()


def _picture(image):
    image = _tensor(image, "image", _torch.float32)
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.dim() != 3:
        raise Error(f"a picture must be [C, H, W] or [H, W] (got shape {list(image.shape)})")
    return image


class Report:
    """A self-contained HTML report, prism's own page layout (pictures inlined, pixelated; tables; SVG plots):

        report = prism.Report("My model")
        report.heading("Pruned gradient")
        report.overlay(image, attribution.sum(0), caption="sample 0")
        report.figure(matplotlib_figure)
        report.save("report.html")
    """

    def __init__(self, title):
        self._page = _prism.HtmlPage(title)
        self._page.heading(1, title)
        self._gallery = False

    def heading(self, text, level=2):
        self._close_gallery()
        self._page.heading(level, text)

    def text(self, text):
        self._close_gallery()
        self._page.paragraph(text)

    def facts(self, facts):
        """A table of label → value pairs (a dict)."""
        self._close_gallery()
        self._page.facts([(str(k), str(v)) for k, v in facts.items()])

    def table(self, header, rows):
        self._close_gallery()
        self._page.table([str(h) for h in header], [[str(c) for c in row] for row in rows])

    def markdown(self, text):
        """`###` headings, pipe tables (such as the tables prism.roar and evaluate_data_attribution return) and
        paragraphs."""
        self._close_gallery()
        self._page.markdown(text)

    def image(self, image, caption="", scale=4):
        """An image [C, H, W] (or [H, W]) in [0, 1]; consecutive pictures wrap in rows."""
        self._show(_prism.image_picture(_picture(image), scale, ""), caption)

    def heatmap(self, attribution, caption="", scale=4):
        """A map [H, W] in blue (negative), white and red (positive), with its colour bar."""
        self._show(_prism.heatmap_picture(_tensor(attribution, "attribution", _torch.float32), scale, ""), caption)

    def overlay(self, image, attribution, caption="", scale=4):
        """The image in grey with the map [H, W] laid over it."""
        self._show(_prism.overlay_picture(_picture(image), _tensor(attribution, "attribution", _torch.float32),
                                          scale, ""), caption)

    def figure(self, figure):
        """A matplotlib figure, inlined as SVG."""
        import io
        self._close_gallery()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        svg = buffer.getvalue()
        self._page.svg(svg[svg.index("<svg"):])

    def html(self):
        self._close_gallery()
        return self._page.html()

    def save(self, path):
        """Writes the page (atomically: a reader never sees half a file)."""
        _prism.write_text_atomic(str(path), self.html())

    def _show(self, picture, caption):
        if not self._gallery:
            self._page.begin_gallery()
            self._gallery = True
        self._page.picture(picture, caption, 0)

    def _close_gallery(self):
        if self._gallery:
            self._page.end_gallery()
            self._gallery = False
