"""prism from Python: tensors cross without copies, every feature method equals the command line's result bit
for bit, a module scripted here is explained without a file, errors arrive as prism.Error, the GIL is released
while prism works, the data and example attributors keep their identities, help() says what the command line's
help says, ROAR, the data-attribution evaluation, FLINT's joint training and the report run end to end, and table
rows and sequences go through every family."""
import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import torch

import prism

FIXTURES = os.environ["PRISM_FIXTURES"]
BINARY = os.environ["PRISM_BINARY"]
torch.set_num_threads(2)


def fixture(name):
    return os.path.join(FIXTURES, name)


@pytest.fixture(scope="module")
def cnn():
    return prism.Network(fixture("zoo_cnn.pt"), input_shape=(1, 28, 28))


@pytest.fixture(scope="module")
def images():
    return torch.from_numpy(np.load(fixture("zoo_cnn.input.npy")))


SMALL = {"integrated-gradients": {"steps": 8}, "smoothgrad": {"samples": 4}, "pruned-gradient": {},
         "occlusion": {"patch": 7, "stride": 7}}


def test_tensors_cross_without_copies(images):
    assert prism._prism.identity(images).data_ptr() == images.data_ptr()
    array = np.load(fixture("zoo_cnn.input.npy"))
    assert prism._tensor(array, "x").data_ptr() == array.ctypes.data  # numpy arrays are wrapped, not copied


@pytest.mark.parametrize("method", prism.feature_methods())
def test_every_method_equals_the_command_line_bit_for_bit(cnn, images, method, tmp_path):
    targets = np.array([3, 0, 7], dtype=np.int64)
    np.save(tmp_path / "targets.npy", targets)
    options = SMALL.get(method, {})
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
    subprocess.run([BINARY, "--quiet", "--threads", "2", "attribute", "--model", fixture("zoo_cnn.pt"), "--inputs",
                    fixture("zoo_cnn.input.npy"), "--targets", str(tmp_path / "targets.npy"), "--method", method,
                    "--out", str(tmp_path / "out")] + flags, check=True)
    from_cli = np.load(tmp_path / "out" / "attributions.npy")  # one method: one array
    from_python = prism.attribute(cnn, images, torch.from_numpy(targets), method=method, **options)
    assert from_python.shape == images.shape
    np.testing.assert_array_equal(from_python.numpy(), from_cli)


def test_a_module_scripted_here_is_explained_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 26 * 26, 10))
    net = prism.Network(torch.jit.script(model), input_shape=(1, 28, 28))
    assert [layer["kind"] for layer in net.layers()] == ["conv", "relu", "flatten", "linear"]
    assert net.penultimate_layer() == "2"
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(net.forward(x), model(x))
    torch.testing.assert_close(net.activation(x, "1"), torch.relu(model[0](x)))
    # Integrated gradients are complete: the attributions sum to f(x) − f(0).
    maps, diagnostics = prism.attribute(net, x, 4, method="integrated-gradients", steps=256, return_diagnostics=True)
    gap = (model(x)[:, 4] - model(torch.zeros_like(x))[:, 4]).detach()
    torch.testing.assert_close(diagnostics["completeness_error"], (maps.flatten(1).sum(1) - gap).abs())
    assert diagnostics["completeness_error"].max() < 0.01 * gap.abs().max() + 1e-4  # ReLU kinks on the path
    pruned, diagnostics = prism.attribute(net, x, [1, 2], return_diagnostics=True)
    assert (diagnostics["pruned_share"] >= 0.85 - 1e-3).all()  # ⌊0.85 N⌋ of N neurons
    assert os.listdir(tmp_path) == []


def test_errors_are_prism_errors_with_one_line(cnn, images):
    cases = [
        (lambda: prism.attribute(cnn, images, 0, method="deeplab"), "unknown attribution method"),
        (lambda: prism.attribute(cnn, images, 0, method="saliency", steps=3), "steps"),
        (lambda: prism.attribute(cnn, images, 12), "class"),
        (lambda: prism.attribute(cnn, torch.rand(2, 3, 32, 32), 0), "[B, 1, 28, 28]"),
        (lambda: prism.attribute(cnn, images, [1, 2]), "one class per sample"),
        (lambda: prism.Network(fixture("nope.pt"), input_shape=(1, 28, 28)), "not found"),
        (lambda: prism.Network(torch.nn.Linear(3, 2)), "torch.jit.script"),
        (lambda: prism.DataAttributor("dualview", C=0), "C must be positive"),
        (lambda: prism.DataAttributor("dualview").attribute(images, 0), "fit"),
        (lambda: cnn.activation(images, "conv9"), "conv9"),
    ]
    for call, fragment in cases:
        with pytest.raises(prism.Error) as caught:
            call()
        message = str(caught.value)
        assert fragment in message, message
        assert "\n" not in message, message


def test_the_gil_is_released_while_prism_attributes(cnn, images):
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    start = time.perf_counter()
    prism.attribute(cnn, images.repeat(8, 1, 1, 1), 0, method="integrated-gradients", steps=64)
    end = time.perf_counter()
    done.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    # Held, the GIL would stop the thread for the whole call; released, it ticks (fewer on a loaded machine).
    assert end - start > 0.05
    assert len(during) >= 10, (len(during), end - start)


@pytest.fixture(scope="module")
def training():
    x = torch.from_numpy(np.load(fixture("rgb64.images.npy")))
    y = torch.from_numpy(np.load(fixture("rgb64.labels.npy")))
    return x, y


def test_dualview_attributions_sum_to_the_surrogate_logit_with_the_right_signs(training):
    x, y = training
    net = prism.Network(fixture("resnet18.pt"), input_shape=(3, 64, 64))
    dualview = prism.DataAttributor("dualview", C=0.01).fit(net, x, y)
    targets = torch.arange(4) % 10
    scores = dualview.attribute(x[:4], targets)
    assert scores.shape == (4, 64)
    same = y.unsqueeze(0) == targets.unsqueeze(1)
    assert scores[same].min() >= -1e-6 and scores[~same].max() <= 1e-6
    indices, values = dualview.attribute(x[:4], targets, top=3)
    torch.testing.assert_close(values, scores.topk(3, dim=1).values)
    assert dualview.self_influence().shape == (64,)
    assert dualview.fit_report()["support_vectors"] <= 64


def test_a_precision_block_runs_the_feature_passes_in_bf16_and_ends_with_it(cnn):
    # 1,100 images: enough for a compiled pass, which runs in bf16 inside the block.
    x, y = torch.rand(1100, 1, 28, 28), torch.arange(1100) % 10
    exact = prism.DataAttributor("similarity", metric="dot").fit(cnn, x, y).self_influence()
    with prism.precision("bf16"):
        assert prism._prism.precision() == "bf16"
        rounded = prism.DataAttributor("similarity", metric="dot").fit(cnn, x, y).self_influence()
    assert prism._prism.precision() == "fp32"
    error = ((rounded - exact).norm() / exact.norm()).item()
    assert 1e-5 < error < 0.05
    with pytest.raises(prism.Error, match="unknown precision 'fp16'"):
        prism.precision("fp16")


def test_ebe_dnn_weights_are_a_probability_and_each_training_image_finds_itself(training):
    x, y = training
    net = prism.Network(fixture("resnet18.pt"), input_shape=(3, 64, 64))
    ebe = prism.EbeDnn().fit(net, x, y)
    assert ebe.layer == net.penultimate_layer()
    result = ebe.explain(x[:8], k=5, weights="distance")
    torch.testing.assert_close(result["weights"].sum(1), torch.ones(8))
    assert torch.equal(result["indices"][:, 0], torch.arange(8))


@pytest.fixture(scope="module")
def prism_model(tmp_path_factory):
    """A prism model file (it records its data's mean, which the mean fill needs), trained by the CLI."""
    out = tmp_path_factory.mktemp("mlp")
    subprocess.run([BINARY, "--quiet", "train", "--data", "fashion-mnist", "--model-arch", "mlp", "--epochs", "1",
                    "--train-size", "500", "--test-size", "100", "--out", str(out)], check=True)
    return prism.Network(out / "model.prism")


def test_evaluations_return_numbers_and_arrays(cnn, images, prism_model):
    targets = torch.tensor([3, 0, 7])
    sanity = prism.sanity_check(cnn, images, targets, methods=["saliency"])
    assert sanity["steps"][0] == "original" and len(sanity["steps"]) == 5
    assert sanity["methods"][0]["spearman"][0] == pytest.approx(1.0)
    assert sanity["maps"][0].shape == (5, 3, 28, 28)
    maps = prism.attribute(cnn, images, targets, method="saliency")
    curves = prism.perturbation(cnn, images, targets, maps, percentages=[0, 50, 100], fill="zero")
    torch.testing.assert_close(curves["morf_probability"][:, 0], curves["original_probability"])
    with pytest.raises(prism.Error, match="no data mean for the mean fill"):
        prism.perturbation(cnn, images, targets, maps)  # a scripted model records no mean for the mean fill
    measures = prism.map_measures(prism_model, images, targets, method="gradient-x-input")
    assert set(measures) == {"sparseness", "complexity", "max_sensitivity", "faithfulness", "infidelity", "random_logit",
                             "local_lipschitz", "completeness_error", "input_invariance", "irof"}
    assert measures["sparseness"].shape == (3,)
    assert ((measures["sparseness"] > 0) & (measures["sparseness"] < 1)).all()
    smooth = prism.sanity_check(cnn, images, targets, methods=["saliency"], smooth_samples=2)
    assert len(smooth["steps"]) == 5 and smooth["smooth_samples"] == 2
    # The largest value of each map lies in its region; a region of the top pixels holds their relevance rank.
    regions = torch.zeros(3, 28, 28, dtype=torch.bool)
    regions[:, :4, :4] = True
    peaked = torch.rand(3, 28, 28) * 0.1
    peaked[:, 1, 2] = 1.0
    scores = prism.localisation(peaked, regions)
    assert scores["pointing_game"].tolist() == [1.0, 1.0, 1.0]
    assert ((scores["relevance_mass"] > 16 / 784) & (scores["relevance_mass"] < 1)).all()


def test_flint_post_hoc_relevance_is_normalised_and_the_model_is_untouched(cnn, tmp_path):
    x = torch.from_numpy(np.load(fixture("zoo_cnn.input.npy"))).repeat(40, 1, 1, 1)
    x = (x + 0.05 * torch.rand_like(x)).clamp(0, 1)
    y = torch.arange(len(x)) % 10
    before = cnn.forward(x)
    flint = prism.Flint(attributes=5, epochs=1, batch_size=16).fit(cnn, x, y, folder=tmp_path / "flint")
    assert len(flint.history()) == 1 and "total" in flint.history()[0]
    local = flint.interpret(x[:6])
    assert local["attributes"].shape == (6, 5)
    largest = local["relevance"].abs().amax(1)
    assert ((largest == 0) | ((largest - 1).abs() < 1e-5)).all()
    for row, chosen in zip(local["relevance"], local["local_interpretation"]):
        assert all(row[j] > 0.5 for j in chosen)
    torch.testing.assert_close(local["predictor_logits"], before[:6])
    assert torch.equal(cnn.forward(x), before)  # post hoc: f's weights are not touched
    global_ = flint.global_interpretation(x)
    assert global_["relevance"].shape == (10, 5)
    assert (tmp_path / "flint" / "flint.json").exists()


def test_data_metrics_have_their_known_values():
    metrics = prism.data_metrics
    train_labels = torch.tensor([0, 1, 0, 1])
    attributions = torch.tensor([[5.0, 1.0, 0.0, 0.0], [0.0, 3.0, 1.0, 0.0]])  # top-1: train 0 (class 0), 1 (class 1)
    assert metrics.identical_label(attributions, train_labels, torch.tensor([0, 1])) == 1.0
    assert metrics.identical_label(attributions, train_labels, torch.tensor([1, 0])) == 0.0
    assert metrics.sparsity(attributions) == 2.0
    flipped = torch.tensor([True, False, False, False])
    assert metrics.mislabel_detection(torch.tensor([9.0, 1.0, 2.0, 3.0]), flipped)["normalized"] == pytest.approx(1.0)
    assert metrics.model_randomization(attributions, attributions) == pytest.approx(1.0)
    with pytest.raises(prism.Error):
        metrics.linear_datamodeling_score(attributions, torch.ones(2, 4), torch.ones(2, 2))  # fewer than 3 subsets


def test_help_says_what_the_command_line_help_says():
    cli_help = subprocess.run([BINARY, "attribute", "--help"], check=True, capture_output=True, text=True).stdout
    cli_help = " ".join(cli_help.split())  # CLI11 may wrap long descriptions
    doc = prism.attribute.__doc__
    docs = prism._prism.feature_method_docs()
    assert [m["name"] for m in docs if m["name"] != "random"] == prism.feature_methods()
    for method in docs:
        assert f"{method['name']}: {method['summary']}" in doc
        for option in method["options"]:
            assert f"{option['key']}={option['default']!r}: {option['help']}" in doc
            assert f"{method['name']}: {option['help']} (default {json.dumps(option['default'])})" in cli_help
            assert f"--{option['key'].replace('_', '-')}" in cli_help
    assert "sparsity=85.0: percentage of neurons pruned" in doc
    fit_help = " ".join(subprocess.run([BINARY, "influence", "fit", "--help"], check=True, capture_output=True,
                                       text=True).stdout.split())
    for method in prism._prism.data_method_docs():
        assert f"{method['name']}: {method['summary']}" in prism.DataAttributor.__doc__
        for option in method["options"]:
            assert f"{option['key']}={option['default']!r}: {option['help']}" in prism.DataAttributor.__doc__
            if option["key"] not in ("checkpoints", "learning_rates"):  # the command's own flags
                assert f"{method['name']}: {option['help']} (default {json.dumps(option['default'])})" in fit_help


def test_every_option_of_python_has_its_flag_with_the_same_help():
    # Both are generated from the options struct's visit(): each key is a flag of the matching command.
    commands = {"EbeDnn": ["examples", "fit"], "EbeDnn.explain": ["examples", "explain"], "Flint": ["flint", "train"],
                "sanity_check": ["evaluate", "sanity"], "perturbation": ["evaluate", "perturbation"],
                "map_measures": ["evaluate", "measures"], "roar": ["evaluate", "roar"],
                "evaluate_data_attribution": ["evaluate", "data-attribution"]}
    for protocol, command in commands.items():
        help_text = " ".join(subprocess.run([BINARY, *command, "--help"], check=True, capture_output=True,
                                            text=True).stdout.split())
        for key, help, _ in prism._prism.protocol_option_docs(protocol):
            flag = "--lr" if (protocol, key) == ("Flint", "learning_rate") else "--" + key.replace("_", "-")
            assert flag in help_text, (protocol, key)
            if key not in ("seed", "batch_size", "reduce"):  # shared by an evaluation's steps, with its own help
                assert help in help_text, (protocol, key)


def fashion(split, count):
    import gzip
    root = "/usr/share/datasets/fashion-mnist"
    with gzip.open(f"{root}/{split}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(f"{root}/{split}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


@pytest.mark.parametrize("method", ["dualview", "ebe-dnn"])
def test_data_attributions_equal_the_command_line_bit_for_bit(cnn, method, tmp_path):
    x, y = fashion("train", 200)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "y.npy", y.numpy())
    data = f"npy:{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}"
    run = [BINARY, "--quiet", "--threads", "2", "influence"]
    subprocess.run(run + ["fit", "--model", fixture("zoo_cnn.pt"), "--train", data, "--method", method,
                          "--out", str(tmp_path / "fit")], check=True)
    subprocess.run(run + ["explain", "--fit", str(tmp_path / "fit"), "--data", data, "--indices", "0:6",
                          "--targets", "true", "--dense", "--out", str(tmp_path / "explain")], check=True)
    from_cli = np.load(tmp_path / "explain" / "attributions.npy")
    attributor = prism.DataAttributor(method).fit(cnn, x, y)
    np.testing.assert_array_equal(attributor.attribute(x[:6], y[:6]).numpy(), from_cli)


def test_roar_retrains_on_the_modified_images_and_rereads_its_cache(prism_model, cnn, tmp_path):
    train_x, train_y = fashion("train", 300)
    test_x, test_y = fashion("t10k", 100)
    run = dict(methods=["random"], fractions=[50], modes=["roar"], epochs=1, cache=tmp_path / "cache")
    first = prism.roar(prism_model, train_x, train_y, test_x, test_y, **run)
    points = {(r["method"], r["mode"], r["fraction"]): r for r in first["runs"]}
    assert set(points) == {("none", "none", 0), ("random", "roar", 50)}, points
    assert all(0 <= r["accuracy"] <= 1 and not r["cached"] for r in first["runs"])
    assert "random" in first["table"]["roar"]
    again = prism.roar(prism_model, train_x, train_y, test_x, test_y, **run)
    assert all(r["cached"] for r in again["runs"])
    assert [r["accuracy"] for r in again["runs"]] == [r["accuracy"] for r in first["runs"]]
    with pytest.raises(prism.Error, match='architecture="cnn"'):
        prism.roar(cnn, train_x, train_y, test_x, test_y, **run)  # a scripted model: prism cannot retrain it


def test_data_attribution_evaluation_scores_the_methods_against_their_control(tmp_path):
    train_x, train_y = fashion("train", 300)
    test_x, test_y = fashion("t10k", 40)
    result = prism.evaluate_data_attribution(train_x, train_y, test_x, test_y, methods=["similarity", "random"],
                                             metrics=["identical-class", "sparsity"], architecture="mlp", epochs=2,
                                             cache=tmp_path / "cache")
    values = {metric: entry["values"] for metric, entry in result["metrics"].items()}
    assert values["sparsity"]["random"] == 300  # dense noise: every training sample is non-zero
    assert values["identical-class"]["similarity"] > values["identical-class"]["random"] + 0.2, values
    assert "similarity" in result["table"]
    with pytest.raises(prism.Error, match="grouping"):
        prism.evaluate_data_attribution(train_x, train_y, test_x, test_y, metrics=["identical-subclass"],
                                        cache=tmp_path / "other")  # no class names: prism knows no grouping


def test_flint_joint_training_and_activation_maximisation(tmp_path):
    train_x, train_y = fashion("train", 512)
    flint = prism.Flint.train(train_x, train_y, architecture="cnn", attributes=4, epochs=2, folder=tmp_path / "flint")
    assert (tmp_path / "flint" / "model.prism").exists()  # f, trained with its interpreter
    local = flint.interpret(train_x[:5])
    torch.testing.assert_close(local["predictor_logits"], flint.network.forward(train_x[:5]))
    seen = flint.visualise(train_x[:64], top=3, steps=40)
    assert seen["top_samples"].shape == (4, 3) and seen["class_relevance"].shape == (10, 4)
    maximised = seen["maximised"]
    assert maximised.shape == (4, 1, 28, 28) and maximised.min() >= 0 and maximised.max() <= 1
    # Each image raises its attribute above the scaled-down top sample it started from (an attribute that is
    # 0 on every sample, dead, stays 0).
    alive = seen["attributes"].amax(0) > 0
    assert alive.sum() >= 2, seen["attributes"].amax(0)
    starts = 0.3 * train_x[:64][seen["top_samples"][:, 0]]
    before = flint.interpret(starts)["attributes"].diagonal()
    after = flint.interpret(maximised)["attributes"].diagonal()
    assert (after[alive] > before[alive]).all(), (before, after)
    torch.testing.assert_close(seen["attributes"][seen["top_samples"][:, 0], torch.arange(4)],
                               seen["attributes"].amax(0))
    with pytest.raises(prism.Error, match="'gama' does not apply to FLINT; its options are: .*beta, .*gamma,"):
        prism.Flint(attributes=4, gama=1.0).fit(flint.network, train_x, train_y)


def test_a_report_holds_its_pictures_tables_and_figures(tmp_path):
    import base64
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    report = prism.Report("A <model>")
    image = torch.rand(1, 8, 8)
    report.image(image, caption="input")
    report.heatmap(torch.randn(8, 8), caption="map")
    report.overlay(image, torch.randn(8, 8), caption="overlay")
    report.table(["method", "AOPC"], [["saliency", 0.5]])
    report.markdown("### ROAR\n\n| method | 50 |\n|---|---|\n| random | 0.8 |\n")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    report.figure(figure)
    report.save(tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "A &lt;model&gt;" in html and "<svg" in html and "saliency" in html and "random" in html
    pictures = html.split("data:image/png;base64,")[1:]
    assert len(pictures) == 3
    assert base64.b64decode(pictures[0].split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_tcav_scores_are_the_sign_of_the_linear_models_weight_along_each_cav():
    # f(x) = W x + b has the same gradient W_k everywhere, so each CAV's TCAV score for class k is 1 where
    # W_k . v > 0 and 0 otherwise.
    module = torch.jit.load(fixture("linear.pt"))
    net = prism.Network(module, input_shape=(1, 28, 28))
    weight = dict(module.named_parameters())["1.weight"].detach()  # nn.Sequential(Flatten, Linear)
    generator = torch.Generator().manual_seed(0)
    random_x = torch.rand(120, 1, 28, 28, generator=generator)
    stripes = torch.rand(20, 1, 28, 28, generator=generator)
    stripes[:, :, ::4, :] = 1.0
    x = torch.rand(30, 1, 28, 28, generator=generator)
    y = torch.arange(30) % 10
    result = prism.tcav(net, {"stripes": stripes}, random_x, x, y, classes=[2, 5], random_sets=3, examples_per_set=20)
    assert result["outputs"] == ["2", "5"] and result["layer"] == net.penultimate_layer()  # no activation: the penultimate
    assert result["scores"].shape == (1, 2, 3) and result["cavs"].shape == (2, 3, 784)
    expected = (result["cavs"][0] @ weight[[2, 5]].t() > 0).float().t()  # [K, M]
    assert torch.equal(result["scores"][0], expected)
    assert torch.equal(result["significant"], result["p_values"] < 0.05)
    assert result["cav_accuracy"].min() > 0.9  # the stripes are easy to tell from noise
    with pytest.raises(prism.Error, match="random_sets"):
        prism.tcav(net, {"stripes": stripes}, random_x, x, y, random_sets=1)
    with pytest.raises(prism.Error, match="does not apply to tcav"):
        prism.tcav(net, {"stripes": stripes}, random_x, x, y, steps=3)


def test_table_rows_go_through_every_family_from_python():
    """A scripted logistic regression on 8 features: the known answers w_c ⊙ x, then examples, data attribution and
    the evaluations on the same [N, F] tensors."""
    net = prism.Network(fixture("logistic.pt"), input_shape=(8,))
    x = torch.from_numpy(np.load(fixture("logistic.input.npy")))
    targets = torch.tensor([0, 1, 2, 0, 1])
    expected = torch.from_numpy(np.load(fixture("logistic.weight.npy")))[targets] * x
    for method, options in [("gradient-x-input", {}), ("integrated-gradients", {"baseline": "zeros"}),
                            ("kernel-shap", {}), ("occlusion", {"fill": 0.0})]:
        torch.testing.assert_close(prism.attribute(net, x, targets, method=method, **options), expected,
                                   rtol=1e-3, atol=1e-4)
    with pytest.raises(prism.Error, match="table rows"):
        prism.attribute(net, x, targets, method="grad-cam")

    # Examples and data attribution read penultimate features, which a ReLU MLP has (the logistic model has none).
    mlp = prism.Network(fixture("relu_mlp_no_bias.pt"), input_shape=(8,))
    generator = torch.Generator().manual_seed(0)
    train_x = torch.randn(60, 8, generator=generator)
    with torch.no_grad():
        train_y = torch.jit.load(fixture("relu_mlp_no_bias.pt"))(train_x).argmax(1)
    result = prism.EbeDnn().fit(mlp, train_x, train_y).explain(x, k=5)
    torch.testing.assert_close(result["weights"].sum(1), torch.ones(5))
    dualview = prism.DataAttributor("dualview", C=0.01).fit(mlp, train_x, train_y)
    assert dualview.attribute(x, targets).shape == (5, 60)
    maps = prism.attribute(net, x, targets, method="integrated-gradients", baseline="zeros")
    curves = prism.perturbation(net, x, targets, maps, percentages=[0, 50, 100], fill="zero")
    torch.testing.assert_close(curves["morf_probability"][:, 0], curves["original_probability"])
    sanity = prism.sanity_check(net, x, targets, methods=["saliency"])
    assert "hog_pearson" not in sanity["methods"][0]
    # The data-attribution evaluation trains its models on the rows: the mlp, with no architecture given.
    result = prism.evaluate_data_attribution(train_x, train_y, train_x[:20], train_y[:20], methods=["similarity"],
                                             metrics=["identical-class"], epochs=1)
    assert 0 <= result["metrics"]["identical-class"]["values"]["similarity"] <= 1


def test_sequences_go_through_every_family_from_python():
    """A scripted 1-D convolution on sequences [N, 2, 6]: IG and gradient x input equal the gradient (from PyTorch's
    autograd) times the input, occlusion over steps, examples, data attribution and the evaluations."""
    net = prism.Network(fixture("conv1d_linear.pt"), input_shape=(2, 6))
    x = torch.from_numpy(np.load(fixture("conv1d_linear.input.npy")))
    targets = torch.tensor([0, 1, 2, 0, 1])
    expected = torch.from_numpy(np.load(fixture("conv1d_linear.gradient.npy"))) * x
    for method, options in [("gradient-x-input", {}), ("integrated-gradients", {"baseline": "zeros"})]:
        torch.testing.assert_close(prism.attribute(net, x, targets, method=method, **options), expected,
                                   rtol=1e-3, atol=1e-4)
    occlusion = prism.attribute(net, x, targets, method="occlusion", patch=1, stride=1, fill=0.0)
    torch.testing.assert_close(occlusion, expected.sum(1, keepdim=True).expand_as(x), rtol=1e-3, atol=1e-4)
    with pytest.raises(prism.Error, match="sequences do not have"):
        prism.attribute(net, x, targets, method="rise")

    relu = prism.Network(fixture("conv1d_relu.pt"), input_shape=(2, 6))
    generator = torch.Generator().manual_seed(0)
    train_x = torch.randn(60, 2, 6, generator=generator)
    with torch.no_grad():
        train_y = torch.jit.load(fixture("conv1d_relu.pt"))(train_x).argmax(1)
    result = prism.EbeDnn().fit(relu, train_x, train_y).explain(x, k=5)
    torch.testing.assert_close(result["weights"].sum(1), torch.ones(5))
    assert prism.DataAttributor("dualview", C=0.01).fit(relu, train_x, train_y).attribute(x, targets).shape == (5, 60)
    maps = prism.attribute(relu, x, targets, method="grad-cam")
    curves = prism.perturbation(relu, x, targets, maps, percentages=[0, 50, 100], fill="zero")
    torch.testing.assert_close(curves["morf_probability"][:, 0], curves["original_probability"])
    sanity = prism.sanity_check(relu, x, targets, methods=["saliency"])
    assert "hog_pearson" not in sanity["methods"][0]


def test_protocol_options_are_prisms_own_declarations(cnn, images):
    """The evaluations' keywords are read by the C++ options structs: help() lists their defaults from there, and a
    keyword the protocol lacks is an error naming the ones it has."""
    assert "smooth_noise=0.1" in prism.sanity_check.__doc__
    assert "epochs=3" in prism.roar.__doc__ and "lds_subsets=8" in prism.evaluate_data_attribution.__doc__
    targets = torch.tensor([3, 0, 7])
    with pytest.raises(prism.Error, match="does not apply to sanity_check; its options are: .*smooth_samples"):
        prism.sanity_check(cnn, images, targets, methods=["saliency"], steps=3)
    with pytest.raises(prism.Error, match="wrong type"):
        prism.perturbation(cnn, images, targets, images.sum(1), fill=3)
