#!/usr/bin/python3
"""tests/bench_ops.py — PyTorch's side of bin/bench_ops: forward+backward time per op.

Reads the op list bench_ops writes (one op per line: kind and shape), times each op in PyTorch
with 2 threads — convolutions, batch norm, ReLU, add and pooling both in NCHW and in
channels_last memory format, the faster one counted, so PyTorch gets its best layout (bench_ops
also runs this script with glibc's allocator tuned, its best configuration) — and prints
"op INDEX MILLISECONDS" per op. Timing as bench_ops does its own: 2 warm-up calls, then the
median of repeats lasting at least 0.25 s, best of 3 rounds. Gradients accumulate into .grad as
ours do.
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)


def median_ms(step):
    """the best of 3 rounds, each the median of repeats lasting >= 0.25 s (after 2 warm-ups):
    PyTorch's timings of one op vary by 1.6x between rounds here, so it gets its best round"""
    for _ in range(2):
        step()
    best = float("inf")
    for _ in range(3):
        times, start = [], time.perf_counter()
        while len(times) < 5 or (time.perf_counter() - start < 0.25 and len(times) < 200):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        best = min(best, statistics.median(times))
    return best


def leaf(shape, fmt=None, lo=-1.0, hi=1.0):
    t = torch.empty(shape).uniform_(lo, hi)
    if fmt is not None:
        t = t.contiguous(memory_format=fmt)
    return t.requires_grad_(True)


def best_of_layouts(make_step):
    return min(median_ms(make_step(fmt)) for fmt in (torch.contiguous_format, torch.channels_last))


def conv(n, h, w, c, oc, k, s, p):
    def make(fmt):
        x, wt = leaf((n, c, h, w), fmt), leaf((oc, c, k, k), fmt, -0.5, 0.5)
        y = F.conv2d(x, wt, None, s, p)
        dy = torch.empty_like(y).uniform_(-1, 1)
        return lambda: F.conv2d(x, wt, None, s, p).backward(dy)
    return best_of_layouts(make)


def bn(n, h, w, c):
    def make(fmt):
        x = leaf((n, c, h, w), fmt, -1, 3)
        g, b = leaf((c,), None, 0.5, 1.5), leaf((c,), None)
        rm, rv = torch.zeros(c), torch.ones(c)
        dy = torch.empty_like(x).uniform_(-1, 1)
        return lambda: F.batch_norm(x, rm, rv, g, b, True, 0.1, 1e-5).backward(dy)
    return best_of_layouts(make)


def eltwise(n, fn, arity):
    xs = [leaf((n,)) for _ in range(arity)]
    dy = torch.empty(n).uniform_(-1, 1)
    return median_ms(lambda: fn(*xs).backward(dy))


def gap(n, h, w, c):
    def make(fmt):
        x = leaf((n, c, h, w), fmt)
        dy = torch.empty(n, c).uniform_(-1, 1)
        return lambda: x.mean((2, 3)).backward(dy)
    return best_of_layouts(make)


def linear(n, fin, fout):
    x, w, b = leaf((n, fin)), leaf((fout, fin)), leaf((fout,))
    dy = torch.empty(n, fout).uniform_(-1, 1)
    return median_ms(lambda: F.linear(x, w, b).backward(dy))


def xent(n, k):
    z = leaf((n, k), None, -3, 3)
    y = torch.randint(0, k, (n,))
    dl = torch.empty(n).uniform_(-1, 1)
    return median_ms(lambda: F.cross_entropy(z, y, reduction="none").backward(dl))


def main():
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    with open(sys.argv[1]) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for i, (kind, *a) in enumerate(lines):
        a = [int(v) for v in a]
        if kind == "conv":
            ms = conv(*a)
        elif kind == "bn":
            ms = bn(*a)
        elif kind == "relu":
            ms = eltwise(a[0], F.relu, 1)
        elif kind == "add":
            ms = eltwise(a[0], torch.add, 2)
        elif kind == "gap":
            ms = gap(*a)
        elif kind == "linear":
            ms = linear(*a)
        elif kind == "xent":
            ms = xent(*a)
        else:
            sys.exit(f"bench_ops.py: line {i + 1}: unknown op kind '{kind}'")
        print(f"op {i} {ms:.4f}", flush=True)


if __name__ == "__main__":
    main()
