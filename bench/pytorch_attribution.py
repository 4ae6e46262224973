"""The feature-attribution methods written plainly in Debian's PyTorch, as the Python peers run them (Captum:
a batched forward and torch.autograd.grad; occlusion's copies in batches under no_grad; LRP-epsilon by
Montavon et al.'s layer-by-layer recipe). bench/python_binding.py runs this in a process of its own, so that
it keeps PyTorch's and glibc's defaults whatever prism sets in the benchmark's process:

    /usr/bin/python3 bench/pytorch_attribution.py MODEL.pt C,H,W IMAGES REPEATS METHOD [METHOD...]

prints one JSON object: seconds per image (best of REPEATS after one warm-up call on two images) per method.
Inputs are torch.rand under seed 0 and targets i mod 10, as the benchmark gives prism."""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(2)
OCCLUSION_BATCH = 256  # copies per forward pass, prism's internal batch


def gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    score = model(x).gather(1, target.view(-1, 1)).sum()
    return torch.autograd.grad(score, x)[0]


def saliency(model, x, target):
    return gradient(model, x, target).abs()


def integrated_gradients(model, x, target, steps=50):
    # Gauss–Legendre nodes on [0, 1], prism's default rule; steps forward + backward passes per image.
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor((nodes + 1) / 2, dtype=torch.float32)
    weights = torch.tensor(weights / 2, dtype=torch.float32)
    total = torch.zeros_like(x)
    for i in range(len(x)):
        grads = gradient(model, alphas.view(-1, 1, 1, 1) * x[i:i + 1], target[i].repeat(steps))
        total[i] = (weights.view(-1, 1, 1, 1) * grads).sum(0)
    return total * x


def smoothgrad(model, x, target, samples=50, level=0.15):
    sigma = level * (x.amax((1, 2, 3), keepdim=True) - x.amin((1, 2, 3), keepdim=True))
    total = torch.zeros_like(x)
    for i in range(len(x)):
        noisy = x[i:i + 1] + sigma[i:i + 1] * torch.randn((samples,) + x.shape[1:])
        total[i] = gradient(model, noisy, target[i].repeat(samples)).mean(0)
    return total


def occlusion_positions(size, patch, stride):
    positions = list(range(0, size - patch + 1, stride))
    if positions[-1] + patch < size:
        positions.append(size - patch)
    return positions


def occlusion_geometry(shape):
    """(patch, stride) of the occlusion benchmark for images of `shape`."""
    return (4, 2) if shape[-1] <= 32 else (8, 4)


def occlusion(model, x, target, patch, stride):
    """Zeiler and Fergus's occlusion as Captum's Occlusion computes it (zero patches, drops averaged over the
    patches covering each pixel), at prism's patch positions."""
    height, width = x.shape[2:]
    corners = [(top, left) for top in occlusion_positions(height, patch, stride)
               for left in occlusion_positions(width, patch, stride)]
    with torch.no_grad():
        reference = model(x).gather(1, target.view(-1, 1)).squeeze(1)
        total, count = torch.zeros_like(x), torch.zeros(1, 1, height, width)
        per_batch = max(1, OCCLUSION_BATCH // len(x))
        for start in range(0, len(corners), per_batch):
            chunk = corners[start:start + per_batch]
            copies = x.repeat(len(chunk), 1, 1, 1)
            for i, (top, left) in enumerate(chunk):
                copies[i * len(x):(i + 1) * len(x), :, top:top + patch, left:left + patch] = 0
            scores = model(copies).gather(1, target.repeat(len(chunk)).view(-1, 1)).view(len(chunk), len(x))
            for i, (top, left) in enumerate(chunk):
                total[:, :, top:top + patch, left:left + patch] += (reference - scores[i]).view(-1, 1, 1, 1)
                count[:, :, top:top + patch, left:left + patch] += 1
    return total / count


def lrp_epsilon(model, x, target, epsilon=1e-6):
    """LRP with the epsilon rule on every layer of a Sequential (Montavon et al. 2019, §10.2): the forward pass
    keeps each layer's input; relevance goes back one layer at a time, R_in = a * grad(z * (R / z).detach())."""
    layers = list(model.children())
    activations = [x]
    with torch.no_grad():
        for layer in layers:
            activations.append(layer(activations[-1]))
    logits = activations[-1]
    relevance = torch.zeros_like(logits).scatter_(1, target.view(-1, 1), logits.gather(1, target.view(-1, 1)))
    for layer, a in zip(reversed(layers), reversed(activations[:-1])):
        if layer.original_name in ("Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"):
            a = a.clone().requires_grad_(True)
            z = layer(a)
            z = z + epsilon * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))
            (contribution,) = torch.autograd.grad((z * (relevance / z).detach()).sum(), a)
            relevance = a.detach() * contribution
        else:  # ReLU, dropout, flatten: relevance passes on, in the input's shape
            relevance = relevance.reshape(a.shape)
    return relevance


def main(path, shape, images, repeats, methods):
    model = torch.jit.load(path).eval()
    shape = tuple(int(s) for s in shape.split(","))
    torch.manual_seed(0)
    x = torch.rand((images,) + shape)
    target = torch.arange(images) % 10
    patch, stride = occlusion_geometry(shape)
    functions = {"saliency": saliency, "integrated-gradients": integrated_gradients, "smoothgrad": smoothgrad,
                 "occlusion": lambda m, x, t: occlusion(m, x, t, patch, stride), "lrp": lrp_epsilon}
    seconds = {}
    for method in methods:
        function = functions[method]
        function(model, x[:2], target[:2])
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function(model, x, target)
            times.append(time.perf_counter() - start)
        seconds[method] = min(times) / images
    print(json.dumps(seconds))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
