#!/usr/bin/python3
"""Writes the TorchScript fixtures prism's tests load, with PyTorch's own outputs as references.

Run with Debian's python3-torch (and python3-torchvision for the ResNet-18):
    /usr/bin/python3 scripts/make_torchscript_fixtures.py OUT_DIR
For each model NAME it writes NAME.pt (torch.jit.save of torch.jit.script), NAME.input.npy and
NAME.logits.npy (PyTorch's logits for that input), and for some an activation PyTorch computed
at a named point, NAME.<layer>.npy, for the tests to compare prism's taps with.
"""
import os
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SkipNet(nn.Module):
    """Not a Sequential: a skip connection, one ReLU module called twice, a functional ReLU."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 28 * 28, 10)

    def forward(self, x):
        a = self.relu(self.conv1(x))
        b = self.relu(self.conv2(a)) + a
        return self.fc(F.relu(b).flatten(1))


def save(out, name, model, x, activations=None):
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(out, name + ".pt"))
    with torch.no_grad():
        np.save(os.path.join(out, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + ".logits.npy"), model(x).numpy().astype(np.float32))
        for layer, fn in (activations or {}).items():
            np.save(os.path.join(out, f"{name}.{layer}.npy"), fn(x).numpy().astype(np.float32))


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    x28 = torch.rand(3, 1, 28, 28)

    seq = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    save(out, "sequential", seq, x28, {"2": lambda x: seq[2](seq[1](seq[0](x)))})

    nested = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 26 * 26, 10)))
    save(out, "nested", nested, x28, {"0.1": lambda x: nested[0](x)})

    skip = SkipNet()
    save(out, "skipnet", skip, x28, {"relu:0": lambda x: skip.relu(skip.conv1(x))})

    # A linear model: gradient x input must equal w[c] * x.
    linear = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    save(out, "linear", linear, x28)
    # What torch.save writes: a zip of pickled tensors without TorchScript code, which prism refuses.
    torch.save(linear.state_dict(), os.path.join(out, "state_dict.pt"))
    # The linear model with its bias record cut to half, rewritten with correct sizes and CRC-32s: it passes the
    # archive check, and LibTorch would build the bias over 20 of its 40 bytes.
    with zipfile.ZipFile(os.path.join(out, "linear.pt")) as source, \
            zipfile.ZipFile(os.path.join(out, "short_bias.pt"), "w") as short:
        for info in source.infolist():
            data = source.read(info)
            short.writestr(info, data[:len(data) // 2] if info.filename.endswith("/data/1") else data)

    # Grad-CAM's answer by construction: channel 0 is relu(x), channel 1 is relu(1 - x); class 0 sums
    # channel 0, class 1 sums channel 1, so the map of class 0 is x and that of class 1 is 1 - x.
    gradcam = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 28 * 28, 2))
    with torch.no_grad():
        gradcam[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        gradcam[0].bias.copy_(torch.tensor([0.0, 1.0]))
        gradcam[3].weight.zero_()
        gradcam[3].weight[0, :784] = 1
        gradcam[3].weight[1, 784:] = 1
        gradcam[3].bias.zero_()
    save(out, "gradcam", gradcam, x28)

    # prism's zoo `cnn` as PyTorch writes it; its weights also as .npy under prism's tensor names, so a
    # test can load them into the built-in model and compare the two.
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(128, 10))
    save(out, "zoo_cnn", cnn, x28)
    for prism_name, index in (("conv1", 0), ("conv2", 2), ("fc1", 7), ("fc2", 10)):
        for kind in ("weight", "bias"):
            np.save(os.path.join(out, f"zoo_cnn.{prism_name}.{kind}.npy"),
                    getattr(cnn[index], kind).detach().numpy().astype(np.float32))

    try:
        import torchvision
    except ImportError:
        print("python3-torchvision is not installed; skipping the ResNet-18 fixture", file=sys.stderr)
        return
    resnet = torchvision.models.resnet18(num_classes=10)
    x32 = torch.rand(2, 3, 32, 32)
    save(out, "resnet18", resnet, x32,
         {"layer1": lambda x: resnet.layer1(resnet.maxpool(resnet.relu(resnet.bn1(resnet.conv1(x)))))})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fixtures")
