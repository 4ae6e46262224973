"""The same explanation three ways in one run: prism from Python, the same algorithm written plainly in
PyTorch (what Captum does: batched forward + torch.autograd.grad), and the prism command line; and the
binding's own cost per call against an IG-50 call.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_binding.py build/tests/fixtures build/prism

Models: the fixtures' scripted zoo cnn (28 x 28) and torchvision ResNet-18 (at 64 x 64), 16 images, 2 threads.
Prints a markdown table of seconds per image and the ratios prism-Python / plain PyTorch and prism-Python / CLI."""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import prism

THREADS = 2
torch.set_num_threads(THREADS)


def best_of(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    score = model(x).gather(1, target.view(-1, 1)).sum()
    return torch.autograd.grad(score, x)[0]


def plain_saliency(model, x, target):
    return gradient(model, x, target).abs()


def plain_ig(model, x, target, steps=50, batch=256):
    # Gauss–Legendre nodes on [0, 1] as prism's default rule; the cost is steps forward + backward passes.
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = torch.tensor((nodes + 1) / 2, dtype=torch.float32), torch.tensor(weights / 2, dtype=torch.float32)
    total = torch.zeros_like(x)
    for i in range(len(x)):
        scaled = alphas.view(-1, 1, 1, 1) * x[i:i + 1]
        grads = gradient(model, scaled, target[i].repeat(steps))
        total[i] = (weights.view(-1, 1, 1, 1) * grads).sum(0)
    return total * x


def plain_smoothgrad(model, x, target, samples=50, level=0.15):
    sigma = level * (x.amax((1, 2, 3), keepdim=True) - x.amin((1, 2, 3), keepdim=True))
    total = torch.zeros_like(x)
    for i in range(len(x)):
        noisy = x[i:i + 1] + sigma[i:i + 1] * torch.randn((samples,) + x.shape[1:])
        total[i] = gradient(model, noisy, target[i].repeat(samples)).mean(0)
    return total


METHODS = [("saliency", {}, plain_saliency), ("integrated-gradients", {"steps": 50}, plain_ig),
           ("smoothgrad", {"samples": 50}, plain_smoothgrad), ("pruned-gradient", {}, None)]


def main(fixtures, binary):
    rows = []
    for name, shape in (("zoo_cnn", (1, 28, 28)), ("resnet18", (3, 64, 64))):
        path = os.path.join(fixtures, name + ".pt")
        model = torch.jit.load(path).eval()
        net = prism.Network(path, input_shape=shape)
        torch.manual_seed(0)
        x = torch.rand((16,) + shape)
        target = torch.arange(16) % 10
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "x.npy"), x.numpy())
            np.save(os.path.join(tmp, "t.npy"), target.numpy())
            for method, options, plain in METHODS:
                prism.attribute(net, x[:2], target[:2], method=method, **options)  # warm-up
                python_s = best_of(lambda: prism.attribute(net, x, target, method=method, **options))
                plain_s = best_of(lambda: plain(model, x, target)) if plain else float("nan")
                flags = [f"--{k}={v}" for k, v in options.items()]
                subprocess.run([binary, "--quiet", "--threads", str(THREADS), "attribute", "--model", path,
                                "--inputs", os.path.join(tmp, "x.npy"), "--targets", os.path.join(tmp, "t.npy"),
                                "--method", method, "--batch-size", "16", "--out", os.path.join(tmp, method)] + flags,
                               check=True)
                with open(os.path.join(tmp, method, "summary.json")) as f:
                    cli_s = json.load(f)["methods"][0]["seconds"]  # the attribution alone, as the CLI times it
                rows.append((name, method, python_s / 16, plain_s / 16, cli_s / 16))
    print("| model | method | prism (Python) s/img | plain PyTorch s/img | prism CLI s/img | Python / PyTorch | Python / CLI |")
    print("|---|---|---|---|---|---|---|")
    for name, method, p, t, c in rows:
        print(f"| {name} | {method} | {p:.4f} | {t:.4f} | {c:.4f} | {p / t:.2f} | {p / c:.2f} |")

    # The binding's own cost: a call whose method does no work (the random map) on the same inputs, against IG-50.
    net = prism.Network(os.path.join(fixtures, "zoo_cnn.pt"), input_shape=(1, 28, 28))
    x, target = torch.rand(16, 1, 28, 28), torch.arange(16) % 10
    calls = 200
    start = time.perf_counter()
    for _ in range(calls):
        prism.attribute(net, x, target, method="random")
    per_call = (time.perf_counter() - start) / calls
    ig = best_of(lambda: prism.attribute(net, x, target, method="integrated-gradients", steps=50))
    print(f"\nbinding + a no-op method per call: {per_call * 1e3:.3f} ms; IG-50 call: {ig * 1e3:.1f} ms; "
          f"overhead {100 * per_call / ig:.2f} % of an IG-50 call")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
