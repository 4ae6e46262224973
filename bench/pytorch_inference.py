"""The peer of bench_inference's cnn row: the zoo cnn's architecture in plain PyTorch (Debian's 1.13, the library
under LibTorch), forward passes of 4,096 images in batches of 256 without autograd, eager and after torch.jit.freeze
+ optimize_for_inference (what a Python user would do at best), and in bf16 (the model and images converted,
channels-last, frozen: PyTorch 1.13's fastest bf16 path on the CPU), 2 threads, best of 3. Prints
| cnn | images | eager img/s | frozen img/s | bf16 frozen img/s |.

    /usr/bin/python3 bench/pytorch_inference.py
"""
import time

import torch

torch.set_num_threads(2)
BATCH, IMAGES = 256, 4096

# prism's zoo cnn (src/prism/model/zoo.cpp, build_cnn) for 1 x 28 x 28 images.
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Dropout(0.25), torch.nn.Flatten(), torch.nn.Linear(64 * 12 * 12, 128), torch.nn.ReLU(),
    torch.nn.Dropout(0.5), torch.nn.Linear(128, 10)).eval()
images = torch.rand(IMAGES, 1, 28, 28)


def images_per_second(forward, rounds=3):
    forward(images[:BATCH])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for begin in range(0, IMAGES, BATCH):
            forward(images[begin:begin + BATCH])
        best = min(best, time.perf_counter() - start)
    return IMAGES / best


with torch.no_grad():
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
    channels_last = torch.channels_last
    low = torch.jit.freeze(torch.jit.trace(model.to(torch.bfloat16, memory_format=channels_last),
                                           images[:BATCH].bfloat16().contiguous(memory_format=channels_last)))
    bf16 = images_per_second(lambda x: low(x.bfloat16().contiguous(memory_format=channels_last)).float())
    model.float()
    print(f"| cnn | {IMAGES} | {images_per_second(model):.0f} | {images_per_second(frozen):.0f} | {bf16:.0f} |")
