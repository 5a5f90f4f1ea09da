#!/usr/bin/python3
"""scripts/torch_fmnist_resnet20.py — recipes/fmnist_resnet20.recipe (and, with --data cifar10,
recipes/cifar10_resnet20.recipe) in plain PyTorch.

The reference the engine's run is compared with: the same model (CIFAR-style ResNet-20, 3x3 16
stem, stages 16/32/64 of 3 BasicBlocks, projection shortcuts, He-normal fan-out init), the same
data (Fashion-MNIST from Debian's dataset-fashion-mnist, normalized with mean 0.2860 std 0.3530,
pad-2 random crop + horizontal flip), the same optimizer and schedule (SGD 0.1 Nesterov 0.9,
weight decay 5e-4 off BN and biases, 1 epoch linear warm-up from 0 then cosine to 0 per step),
10 epochs of batch 128 (each epoch's last partial batch of 96 kept, as data.drop_last = false),
eval on the 10k test images.
--data cifar10: the CIFAR-10 recipe instead: make data's JPEG folders data/cifar10/{train,test}
decoded with PIL (the pixels the engine decodes, bit for bit), mean (0.4914, 0.4822, 0.4465) std
(0.2470, 0.2435, 0.2616), pad-4 crop + flip, SGD 0.1 with plain momentum 0.9 (no Nesterov), weight
decay 5e-4, 30 epochs of batch 128 (the last partial batch of 80 kept), the same warm-up + cosine.
Usage: /usr/bin/python3 scripts/torch_fmnist_resnet20.py [--data fmnist|cifar10] [--epochs N]
[--channels-last]
(Debian's python3-torch; 2 threads; run under GLIBC_TUNABLES=glibc.malloc.mmap_threshold=
33554432:glibc.malloc.trim_threshold=4294967296 for PyTorch's best speed here.)
Model, data, augmentation and optimizer come from scripts/torch_ref.py, shared with
tests/bench_train.py; this file is the training loop.
"""
import argparse
import time

import torch
import torch.nn.functional as F

from torch_ref import MEAN, STD, ResNet20, augment, load, load_folder, normalize, sgd, warmup_cosine

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=("fmnist", "cifar10"), default="fmnist")
    ap.add_argument("--data-dir", default="data/cifar10", help="cifar10: the folder of train/ and test/")
    ap.add_argument("--epochs", type=int, default=None, help="default 10 (fmnist), 30 (cifar10)")
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    cifar = a.data == "cifar10"
    epochs = a.epochs or (30 if cifar else 10)
    t_load = time.time()
    if cifar:
        xtr, ytr = load_folder(f"{a.data_dir}/train")
        xte, yte = load_folder(f"{a.data_dir}/test")
        mean, std, pad = CIFAR_MEAN, CIFAR_STD, 4
    else:
        xtr, ytr = load("train")
        xte, yte = load("t10k")
        mean, std, pad = MEAN, STD, 2
    print(f"torch: {a.data}: {len(xtr)} train, {len(xte)} test images loaded in {time.time() - t_load:.0f} s",
          flush=True)
    m = ResNet20(in_chans=xtr.shape[1])
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    m = m.to(memory_format=fmt)
    opt = sgd(m, nesterov=not cifar)
    spe = (len(xtr) + 127) // 128  # the last partial batch is a step too
    total, warm = epochs * spe, spe
    step, t_run = 0, time.time()
    for epoch in range(epochs):
        m.train()
        perm = torch.randperm(len(xtr), generator=g)
        t0, seen = time.time(), 0
        for s in range(spe):
            idx_ = perm[s * 128:(s + 1) * 128]
            x = normalize(augment(xtr[idx_], g, pad), mean, std).contiguous(memory_format=fmt)
            lr = warmup_cosine(step, total, warm)
            for gr in opt.param_groups:
                gr["lr"] = lr
            loss = F.cross_entropy(m(x), ytr[idx_])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += len(idx_)
        train_ips = seen / (time.time() - t0)
        m.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xte), 500):
                x = normalize(xte[i:i + 500], mean, std).contiguous(memory_format=fmt)
                correct += (m(x).argmax(1) == yte[i:i + 500]).sum().item()
        print(f"epoch {epoch + 1}/{epochs}  loss {loss.item():.4f}  eval top-1 {100 * correct / len(xte):.2f}%  "
              f"{train_ips:.0f} img/s", flush=True)
    print(f"torch: final top-1 {100 * correct / len(xte):.2f}% in {time.time() - t_run:.0f} s")


if __name__ == "__main__":
    main()
