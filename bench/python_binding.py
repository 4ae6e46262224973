"""The same explanation three ways in one run: prism from Python, the same algorithm written plainly in
PyTorch (bench/pytorch_attribution.py, in a process of its own), and the prism command line; and the binding's
own cost per call against an IG-50 call.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_binding.py build/tests/fixtures build/prism

Models: the fixtures' scripted zoo cnn (28 x 28, 16 images), torchvision ResNet-18 (64 x 64, 16 images) and
ResNet-50 (64 x 64, 4 images); 2 threads. The plain PyTorch runs twice: with glibc's defaults, as a Python peer
runs, and with the allocator settings prism makes in its own process (core/allocator.h) given by environment.
Prints a markdown table of seconds per image, the ratios, and prism's time over its floor: the method's conv and
linear FLOPs (floor_forwards × one forward pass's) at the fastest float32 product measured in the same run."""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch.profiler import profile
from torch.utils import mkldnn

import prism
import pytorch_attribution  # the peer, beside this file

THREADS = 2
torch.set_num_threads(THREADS)
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_attribution.py")
# prism's keep_freed_memory() as glibc's environment variables.
KEPT_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
               "MALLOC_TOP_PAD_": str(256 << 20)}


def best_of(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def fp32_peak():
    """GFLOP/s of the fastest float32 product here: a 2048³ one through oneDNN and through the BLAS, best of 5."""
    n = 2048
    layer, x = mkldnn.to_mkldnn(torch.nn.Linear(n, n, bias=False).eval()), torch.rand(n, n)
    dense_x = x.to_mkldnn()
    with torch.no_grad():
        return 2 * n ** 3 / min(best_of(lambda: layer(dense_x), 5), best_of(lambda: x @ x, 5)) / 1e9


def forward_gflop(model, shape):
    """The conv and linear FLOPs of one image's forward pass (PyTorch's profiler counts them from the shapes)."""
    with torch.no_grad(), profile(with_flops=True) as profiled:
        model(torch.rand((1,) + shape))
    return sum(event.flops for event in profiled.key_averages() if event.flops) / 1e9


def floor_forwards(method, options, shape):
    """The work of a method in forward passes per image: a gradient costs a forward and a backward pass to the
    input (no weight gradients), as many FLOPs again; occlusion one forward per patch position and the original."""
    if method in ("saliency", "pruned-gradient", "lrp"):
        return 2
    if method == "integrated-gradients":
        return 2 * options["steps"]
    if method == "smoothgrad":
        return 2 * options["samples"]
    positions = len(range(0, shape[-1] - options["patch"] + 1, options["stride"]))  # the border is reached here
    return positions * positions + 1


def peer_seconds(path, shape, images, repeats, methods, environment):
    """Seconds per image of each plain-PyTorch method, from a fresh process with `environment` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(environment)
    command = [sys.executable, PEER, path, ",".join(map(str, shape)), str(images), str(repeats)] + methods
    return json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)


# (model, input shape, images, repeats).
MODELS = [("zoo_cnn", (1, 28, 28), 16, 3), ("resnet18", (3, 64, 64), 16, 3), ("tv_resnet50", (3, 64, 64), 4, 2)]


def methods_for(shape, sequential):
    """(method, prism's options, whether the plain peer has it); the occlusion geometry is the peer's own."""
    patch, stride = pytorch_attribution.occlusion_geometry(shape)
    return [("saliency", {}, True), ("integrated-gradients", {"steps": 50}, True),
            ("smoothgrad", {"samples": 50}, True), ("pruned-gradient", {}, False),
            ("occlusion", {"patch": patch, "stride": stride}, True),
            ("lrp", {"composite": "epsilon"}, sequential)]  # the plain LRP walks a Sequential's layers


def main(fixtures, binary):
    rows = []
    peak = fp32_peak()
    for name, shape, images, repeats in MODELS:
        path = os.path.join(fixtures, name + ".pt")
        net = prism.Network(path, input_shape=shape)
        gflop = forward_gflop(torch.jit.load(path).eval(), shape)
        torch.manual_seed(0)
        x = torch.rand((images,) + shape)
        target = torch.arange(images) % 10
        methods = methods_for(shape, name == "zoo_cnn")
        with_peer = [method for method, _, peer in methods if peer]
        plain = peer_seconds(path, shape, images, repeats, with_peer, {})
        plain_kept = peer_seconds(path, shape, images, repeats, with_peer, KEPT_MEMORY)
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "x.npy"), x.numpy())
            np.save(os.path.join(tmp, "t.npy"), target.numpy())
            for method, options, _ in methods:
                prism.attribute(net, x[:2], target[:2], method=method, **options)  # warm-up
                python_s = best_of(lambda: prism.attribute(net, x, target, method=method, **options), repeats)
                flags = [f"--{k}={v}" for k, v in options.items()]
                subprocess.run([binary, "--quiet", "--threads", str(THREADS), "attribute", "--model", path,
                                "--inputs", os.path.join(tmp, "x.npy"), "--targets", os.path.join(tmp, "t.npy"),
                                "--method", method, "--batch-size", str(images), "--out", os.path.join(tmp, method)] +
                               flags, check=True, capture_output=True)
                with open(os.path.join(tmp, method, "summary.json")) as f:
                    cli_s = json.load(f)["methods"][0]["seconds"]  # the attribution alone, as the CLI times it
                floor_s = floor_forwards(method, options, shape) * gflop / peak
                rows.append((name, method, python_s / images, plain.get(method, float("nan")),
                             plain_kept.get(method, float("nan")), cli_s / images, floor_s))
    print(f"fp32 peak here: {peak:.0f} GFLOP/s\n")
    print("| model | method | prism (Python) s/img | plain PyTorch s/img | the same, prism's allocator settings | "
          "prism CLI s/img | Python / PyTorch | Python / PyTorch (same allocator) | Python / CLI | × fp32 floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, method, p, t, k, c, f in rows:
        print(f"| {name} | {method} | {p:.4f} | {t:.4f} | {k:.4f} | {c:.4f} | {p / t:.2f} | {p / k:.2f} | {p / c:.2f} "
              f"| {p / f:.1f} |")

    # The binding's own cost: a call whose method does no work (the random map) on the same inputs, against IG-50.
    net = prism.Network(os.path.join(fixtures, "zoo_cnn.pt"), input_shape=(1, 28, 28))
    x, target = torch.rand(16, 1, 28, 28), torch.arange(16) % 10
    calls = 200
    start = time.perf_counter()
    for _ in range(calls):
        prism.attribute(net, x, target, method="random")
    per_call = (time.perf_counter() - start) / calls
    ig = best_of(lambda: prism.attribute(net, x, target, method="integrated-gradients", steps=50), 3)
    print(f"\nbinding + a no-op method per call: {per_call * 1e3:.3f} ms; IG-50 call: {ig * 1e3:.1f} ms; "
          f"overhead {100 * per_call / ig:.2f} % of an IG-50 call")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
