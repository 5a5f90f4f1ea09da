#!/usr/bin/python3
"""tests/bench_train.py — PyTorch's side of `make bench`: training and eval throughput of ResNet-20
(the default) or a timm model (--model NAME --res R --in-chans C, e.g. the compact models).

One configuration per process: scripts/bench_train.py runs this once per configuration and
round, choosing the allocator through the environment (GLIBC_TUNABLES, LD_PRELOAD) and the
layout with --channels-last, and measures the process's peak RSS from outside. The contract is
bin/bench_train's (the engine's side): the same options, and the last line printed is
    RESULT train_img_s=<float> eval_img_s=<float>

What is timed, so that only the framework's work is: the model, data and optimizer of
scripts/torch_ref.py (ResNet-20 on real Fashion-MNIST, normalized; SGD 0.1 Nesterov 0.9, weight
decay 5e-4 off BN and biases; lr held at 0.1: a schedule costs nothing measurable); with --model,
timm's model of that name (10 classes, --in-chans channels) from $PYSITE (default build/pysite,
where make pysite installs timm) under the same optimizer, on Fashion-MNIST resized to --res
(bilinear) or on --data synthetic (random pixels, as bin/bench_train's synthetic set). Before the
timed region, --pool training batches are drawn (a seeded permutation), augmented (pad-2 random
crop + flip) and normalized in the model's layout, and --pool eval batches are cut from the test
set; the timed steps cycle through them. Training: --warmup untimed steps, then --steps timed
steps of forward + cross-entropy + backward + optimizer step (model.train()). Eval: model.eval()
under torch.no_grad(), EVAL_WARMUP untimed batches (the first call at a new batch size
allocates), then --eval-steps timed batches of forward + argmax. Throughput = images / seconds.
With --device cuda the model and the prepared batches live on the GPU and every timed region
ends with torch.cuda.synchronize() (the baseline for bin/bench_train --backend cuda).
Usage: /usr/bin/python3 tests/bench_train.py [--channels-last] [--steps 60] [--warmup 10]
       [--eval-steps 20] [--batch 128] [--eval-batch 256] [--pool 8] [--seed 1]
       [--device cpu|cuda] [--model NAME --res R --in-chans C --data fmnist|synthetic] [--lr 0.1]
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_ref import ResNet20, augment, load, normalize, sgd, train_step  # noqa: E402 (needs the path)

EVAL_WARMUP = 2  # untimed eval batches: the first forward at the eval batch size allocates


def positive(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def main():
    ap = argparse.ArgumentParser(description="PyTorch ResNet-20 training/eval throughput")
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    ap.add_argument("--steps", type=positive, default=60, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed training steps first")
    ap.add_argument("--eval-steps", type=positive, default=20, help="timed eval batches")
    ap.add_argument("--batch", type=positive, default=128, help="training batch")
    ap.add_argument("--eval-batch", type=positive, default=256, help="eval batch")
    ap.add_argument("--pool", type=positive, default=8, help="distinct prepared batches of each kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--model", default="resnet20", help="resnet20 (scripts/torch_ref.py) or a timm model")
    ap.add_argument("--res", type=positive, default=28, help="image size (Fashion-MNIST resized to it)")
    ap.add_argument("--in-chans", type=positive, default=1, help="input channels (3: --data synthetic)")
    ap.add_argument("--data", choices=("fmnist", "synthetic"), default="fmnist")
    ap.add_argument("--lr", type=float, default=0.1, help="SGD's rate (the engine: schedule.lr_peak)")
    a = ap.parse_args()
    if a.data == "fmnist" and a.in_chans != 1:
        sys.exit("bench_train.py: Fashion-MNIST has 1 channel; --in-chans 3 needs --data synthetic")

    dev = torch.device(a.device)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("bench_train.py: --device cuda, but torch sees no CUDA device")
        sync = torch.cuda.synchronize
        where = f"device {torch.cuda.get_device_name()}"
    else:
        torch.set_num_threads(2)  # Debian's build defaults to 1 thread here; the machine has 2 cores
        sync = lambda: None  # noqa: E731
        where = f"threads {torch.get_num_threads()}"
    torch.manual_seed(a.seed)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    print(f"torch {torch.__version__} {where} "
          f"layout {'channels_last' if a.channels_last else 'NCHW'} model {a.model} {a.res}x{a.res}x{a.in_chans}",
          flush=True)

    # ---- data, prepared before anything is timed ----
    if a.data == "fmnist":
        xtr, ytr = load("train")
        xte, _ = load("t10k")
    else:  # random pixels in [0, 1], labels i mod 10
        gs = torch.Generator().manual_seed(a.seed)
        xtr, xte = (torch.rand(n, a.in_chans, a.res, a.res, generator=gs) for n in (2048, 1280))
        ytr = torch.arange(2048) % 10
    if a.pool * a.batch > len(xtr) or a.eval_batch > len(xte):
        sys.exit(f"bench_train.py: --pool {a.pool} x --batch {a.batch} exceeds the {len(xtr)} "
                 f"training images, or --eval-batch {a.eval_batch} the {len(xte)} test images")
    g = torch.Generator().manual_seed(a.seed)
    perm = torch.randperm(len(xtr), generator=g)
    train = []
    if a.model == "resnet20" and a.res == 28 and a.data == "fmnist":
        prep_train = lambda x: normalize(augment(x, g))  # noqa: E731
        prep_eval = normalize
    else:  # [0, 1] pixels at --res (bilinear, as the engine's loader resizes), pad-2 crop + flip
        def to01(x):
            x = x.float() / 255 if x.dtype == torch.uint8 else x
            return x if x.shape[-1] == a.res else F.interpolate(x, size=(a.res, a.res), mode="bilinear",
                                                                  align_corners=False)

        def prep_eval(x):
            return (to01(x) - 0.5) / 0.25

        def prep_train(x):
            x = F.pad(prep_eval(x), (2, 2, 2, 2))
            n = x.shape[0]
            oy, ox = torch.randint(0, 5, (n,), generator=g), torch.randint(0, 5, (n,), generator=g)
            out = torch.stack([x[i, :, oy[i]:oy[i] + a.res, ox[i]:ox[i] + a.res] for i in range(n)])
            flip = torch.rand(n, generator=g) < 0.5
            out[flip] = out[flip].flip(3)
            return out
    for i in range(a.pool):
        idx = perm[i * a.batch:(i + 1) * a.batch]
        train.append((prep_train(xtr[idx]).to(dev).contiguous(memory_format=fmt), ytr[idx].to(dev)))
    evals = [prep_eval(xte[i * a.eval_batch:(i + 1) * a.eval_batch]).to(dev).contiguous(memory_format=fmt)
             for i in range(min(a.pool, len(xte) // a.eval_batch))]

    # ---- training ----
    if a.model == "resnet20":
        model = ResNet20()
    else:
        sys.path.insert(0, os.environ.get("PYSITE") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                      "..", "build", "pysite"))
        try:
            import timm
        except ImportError:
            sys.exit("bench_train.py: --model needs timm (make pysite installs it into build/pysite)")
        model = timm.create_model(a.model, num_classes=10, in_chans=a.in_chans)
    model = model.to(dev).to(memory_format=fmt)
    opt = sgd(model, a.lr)
    model.train()

    def step(i):
        return train_step(model, opt, *train[i % len(train)])

    for i in range(a.warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    sync()
    train_s = time.perf_counter() - t0
    loss = loss.item()
    print(f"train: {a.steps} steps of {a.batch} in {train_s:.2f} s, last loss {loss:.4f}", flush=True)
    if not math.isfinite(loss):
        sys.exit(f"bench_train.py: training loss is {loss}")

    # ---- eval ----
    model.eval()
    with torch.no_grad():
        for i in range(EVAL_WARMUP):
            model(evals[i % len(evals)]).argmax(1)
        sync()
        t0 = time.perf_counter()
        for i in range(a.eval_steps):
            model(evals[i % len(evals)]).argmax(1)
        sync()
        eval_s = time.perf_counter() - t0
    print(f"eval: {a.eval_steps} batches of {a.eval_batch} in {eval_s:.2f} s", flush=True)

    print(f"RESULT train_img_s={a.steps * a.batch / train_s:.2f} "
          f"eval_img_s={a.eval_steps * a.eval_batch / eval_s:.2f}", flush=True)


if __name__ == "__main__":
    main()
