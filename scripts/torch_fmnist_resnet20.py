#!/usr/bin/python3
"""scripts/torch_fmnist_resnet20.py — recipes/fmnist_resnet20.recipe in plain PyTorch.

The reference the engine's run is compared with: the same model (CIFAR-style ResNet-20, 3x3 16
stem, stages 16/32/64 of 3 BasicBlocks, projection shortcuts, He-normal fan-out init), the same
data (Fashion-MNIST from Debian's dataset-fashion-mnist, normalized with mean 0.2860 std 0.3530,
pad-2 random crop + horizontal flip), the same optimizer and schedule (SGD 0.1 Nesterov 0.9,
weight decay 5e-4 off BN and biases, 1 epoch linear warm-up from 0 then cosine to 0 per step),
10 epochs of batch 128 dropping the last partial batch, eval on the 10k test images.
Usage: /usr/bin/python3 scripts/torch_fmnist_resnet20.py [--epochs N] [--channels-last]
(Debian's python3-torch; 2 threads; run under GLIBC_TUNABLES=glibc.malloc.mmap_threshold=
33554432:glibc.malloc.trim_threshold=4294967296 for PyTorch's best speed here.)
"""
import argparse
import gzip
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split):
    x = idx(f"{DIR}/{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    y = idx(f"{DIR}/{split}-labels-idx1-ubyte.gz", 8)
    return torch.tensor(x), torch.tensor(y.astype(np.int64))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet20(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        layers, cin = [], 16
        for s, c in enumerate((16, 32, 64)):
            for b in range(3):
                layers.append(Block(cin, c, 2 if b == 0 and s > 0 else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def augment(x, g):
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2))
    oy, ox = torch.randint(0, 5, (n,), generator=g), torch.randint(0, 5, (n,), generator=g)
    out = torch.stack([padded[i, :, oy[i]:oy[i] + 28, ox[i]:ox[i] + 28] for i in range(n)])
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    norm = lambda x: (x.float() / 255 - 0.2860) / 0.3530
    m = ResNet20()
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    m = m.to(memory_format=fmt)
    decay = [p for n, p in m.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in m.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                          lr=0.1, momentum=0.9, nesterov=True)
    spe = len(xtr) // 128
    total, warm = a.epochs * spe, spe
    step, t_run = 0, time.time()
    for epoch in range(a.epochs):
        m.train()
        perm = torch.randperm(len(xtr), generator=g)
        t0, seen = time.time(), 0
        for s in range(spe):
            idx_ = perm[s * 128:(s + 1) * 128]
            x = norm(augment(xtr[idx_], g)).contiguous(memory_format=fmt)
            lr = 0.1 * step / warm if step < warm else 0.5 * 0.1 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
            for gr in opt.param_groups:
                gr["lr"] = lr
            loss = F.cross_entropy(m(x), ytr[idx_])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += 128
        train_ips = seen / (time.time() - t0)
        m.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xte), 500):
                correct += (m(norm(xte[i:i + 500]).contiguous(memory_format=fmt)).argmax(1) == yte[i:i + 500]).sum().item()
        print(f"epoch {epoch + 1}/{a.epochs}  loss {loss.item():.4f}  eval top-1 {100 * correct / len(xte):.2f}%  "
              f"{train_ips:.0f} img/s", flush=True)
    print(f"torch: final top-1 {100 * correct / len(xte):.2f}% in {time.time() - t_run:.0f} s")


if __name__ == "__main__":
    main()
