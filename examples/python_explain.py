"""prism from Python, end to end: train a small CNN on Fashion-MNIST with PyTorch, script it, explain four test
predictions with the pruned gradient and integrated gradients, find each one's most similar training images
(EBE-DNN) and its DualView proponents, check the maps with pixel perturbation, and save a matplotlib figure, a
JSON summary and an HTML report.

    PYTHONPATH=build/python /usr/bin/python3 examples/python_explain.py [OUT_DIR]

Needs Debian's python3-torch, python3-matplotlib and dataset-fashion-mnist (about a minute on two cores)."""
import gzip
import json
import os
import sys

import matplotlib
import numpy as np
import torch

import prism

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def fashion(split, count):
    images = idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)[:count]
    labels = idx(f"{split}-labels-idx1-ubyte.gz", 8)[:count]
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    train_x, train_y = fashion("train", 10000)
    test_x, test_y = fashion("t10k", 1000)

    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 5 * 5, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for epoch in range(2):
        for batch in torch.randperm(len(train_x)).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    print(f"test accuracy {accuracy:.3f}")

    net = prism.Network(torch.jit.script(model), input_shape=(1, 28, 28))
    x, target = test_x[:4], model(test_x[:4]).argmax(1)
    pruned = prism.attribute(net, x, target)  # the seed method, 85 % of the neurons pruned per input
    ig = prism.attribute(net, x, target, method="integrated-gradients", steps=32)
    ebe = prism.EbeDnn().fit(net, train_x, train_y)  # kNN on the penultimate features
    neighbours = ebe.explain(x, k=5)
    dualview = prism.DataAttributor("dualview", C=1e-3).fit(net, train_x, train_y)
    proponents, _ = dualview.attribute(x, target, top=1)

    fig, axes = plt.subplots(4, 5, figsize=(10, 8))
    for row in range(4):
        pictures = [(x[row, 0], "gray", f"{CLASSES[target[row]]}"),
                    (pruned[row, 0], "bwr", "pruned gradient"), (ig[row, 0], "bwr", "integrated gradients"),
                    (train_x[neighbours["indices"][row, 0], 0], "gray", "nearest (EBE-DNN)"),
                    (train_x[proponents[row, 0], 0], "gray", "top proponent (DualView)")]
        for column, (picture, cmap, title) in enumerate(pictures):
            limit = picture.abs().max().item() or 1
            axes[row, column].imshow(picture, cmap=cmap, vmin=-limit if cmap == "bwr" else 0,
                                     vmax=limit if cmap == "bwr" else 1)
            axes[row, column].set_title(title, fontsize=8)
            axes[row, column].axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "explanations.png"), dpi=100)

    summary = {"test_accuracy": accuracy, "aopc": {}}
    for name, maps in (("pruned-gradient", pruned), ("integrated-gradients", ig)):
        curves = prism.perturbation(net, x, target, maps.abs(), fill="zero")  # a scripted model records no mean
        summary["aopc"][name] = {"morf": curves["aopc_morf"], "lerf": curves["aopc_lerf"]}
    summary["knn_agrees"] = (neighbours["predictions"] == target).float().mean().item()
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)

    report = prism.Report("A Fashion-MNIST CNN trained in PyTorch, explained by prism")
    report.facts({"test accuracy": f"{accuracy:.3f}", "training images": len(train_x),
                  "kNN agrees with the network": f"{summary['knn_agrees']:.2f}"})
    report.heading("Pruned gradient (85 % of the neurons pruned per input)")
    for row in range(4):
        report.overlay(x[row], pruned[row, 0], caption=f"{CLASSES[target[row]]}")
    report.heading("Integrated gradients, the nearest training image and the top DualView proponent")
    for row in range(4):
        report.heatmap(ig[row, 0], caption="integrated gradients")
        report.image(train_x[neighbours["indices"][row, 0]], caption="nearest (EBE-DNN)")
        report.image(train_x[proponents[row, 0]], caption="top proponent (DualView)")
    report.heading("Pixel perturbation (AOPC of the probability; MoRF high and LeRF low is faithful)")
    report.table(["method", "MoRF", "LeRF"],
                 [[name, f"{v['morf']:.3f}", f"{v['lerf']:.3f}"] for name, v in summary["aopc"].items()])
    report.figure(fig)
    report.save(os.path.join(out, "report.html"))
    print(json.dumps(summary, indent=2))
    print(f"explanations.png, summary.json and report.html in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "python-example")
