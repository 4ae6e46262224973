"""prism from Python: tensors cross without copies, every feature method equals the command line's result bit
for bit, a module scripted here is explained without a file, errors arrive as prism.Error, the GIL is released
while prism works, and the data and example attributors keep their identities."""
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
        (lambda: prism.attribute(cnn, images, 0, method="deeplift"), "unknown attribution method"),
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
    subprocess.run([BINARY, "--quiet", "train", "--data", "fashion-mnist", "--model", "mlp", "--epochs", "1",
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
    assert set(measures) == {"sparseness", "complexity", "max_sensitivity", "faithfulness"}
    assert measures["sparseness"].shape == (3,)
    assert ((measures["sparseness"] > 0) & (measures["sparseness"] < 1)).all()


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
