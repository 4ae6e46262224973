"""What a forward + backward pass to the input costs in Debian's PyTorch, by batch size and by how the model is
prepared: as loaded (parameters requiring grad, as a Python peer runs it), with parameters not requiring grad,
frozen (torch.jit.freeze: weights constants, batch norms folded into the convolutions), and frozen with weights
and input channels-last. Run it with and without glibc's allocator settings to see what they do:

    /usr/bin/python3 bench/pytorch_gradient_passes.py build/tests/fixtures/resnet18.pt 3,64,64 16,32,64,256
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 \\
        /usr/bin/python3 bench/pytorch_gradient_passes.py build/tests/fixtures/resnet18.pt 3,64,64 16,32,64,256

Prints milliseconds per image for each batch size (best of 6, the variants interleaved; 2 threads)."""
import sys
import time

import torch

torch.set_num_threads(2)


def input_gradient(model, x, target, channels_last):
    x = x.clone()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    return torch.autograd.grad(model(x).gather(1, target.view(-1, 1)).sum(), x)[0]


def main(path, shape, batches):
    shape = tuple(int(s) for s in shape.split(","))
    loaded = torch.jit.load(path).eval()
    without_grad = torch.jit.load(path).eval()
    for parameter in without_grad.parameters():
        parameter.requires_grad_(False)
    frozen = torch.jit.freeze(torch.jit.load(path).eval())
    frozen_channels_last = torch.jit.freeze(torch.jit.load(path).eval().to(memory_format=torch.channels_last))
    variants = [("as loaded", loaded, False), ("no parameter grad", without_grad, False), ("frozen", frozen, False),
                ("frozen, channels-last", frozen_channels_last, True)]
    for batch in (int(b) for b in batches.split(",")):
        x, target = torch.rand((batch,) + shape), torch.arange(batch) % 10
        for _, model, channels_last in variants:
            for _ in range(3):
                input_gradient(model, x, target, channels_last)
        best = {}
        for _ in range(6):
            for name, model, channels_last in variants:
                start = time.perf_counter()
                input_gradient(model, x, target, channels_last)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
        print(f"batch {batch}: " + ", ".join(f"{name} {seconds / batch * 1e3:.2f} ms/img" for name, seconds in best.items()),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
