"""scripts/torch_ref.py — the PyTorch side of our comparisons, in one place.

Imported by scripts/torch_fmnist_resnet20.py (the recipe trained in plain PyTorch) and
tests/bench_train.py (PyTorch's training/eval throughput for `make bench`), so both run the same
model, data and optimizer; nothing here runs on import.
  - Fashion-MNIST from Debian's dataset-fashion-mnist: the IDX files read into one uint8 array
    each (the header parsed and checked, the data read straight into the array: no second copy,
    so a process's peak memory holds the data set once, as the engine's idx_load does)
  - CIFAR-10 as JPEG (make data's data/cifar10): load_folder() decodes an ImageFolder tree with
    PIL (classes in sorted order, files in sorted order: torchvision's ImageFolder samples)
  - normalize(): mean 0.2860, std 0.3530 (the training set's statistics), or per-channel ones
  - augment(): pad-2 (or pad-N) random crop + horizontal flip, per sample, from a torch.Generator
  - ResNet20: CIFAR-style ResNet-20 (He et al. 2016): 3x3 16 stem, stages 16/32/64 of 3
    BasicBlocks, 1x1 conv + BN projection shortcuts where the shape changes, global average pool,
    fc; He-normal fan-out init of the convolutions
  - sgd(): SGD Nesterov momentum 0.9, weight decay 5e-4 on conv/fc weights only (not BN, biases)
"""
import gzip
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


# ---- data -------------------------------------------------------------------------------------
def read_idx(path):
    """an IDX file (gzip): magic 0,0,0x08 (uint8),ndim, then ndim big-endian int32 dims, data"""
    with gzip.open(path, "rb") as f:
        magic = f.read(4)
        if len(magic) != 4 or magic[:3] != b"\0\0\x08":
            raise ValueError(f"{path}: not a uint8 IDX file (magic {magic.hex()})")
        dims = tuple(int(d) for d in np.frombuffer(f.read(4 * magic[3]), dtype=">i4"))
        a = np.empty(dims, dtype=np.uint8)
        view, got = memoryview(a.reshape(-1)), 0
        while got < a.size:  # 1 MiB at a time: gzip's readinto makes a temporary of the size asked
            n = f.readinto(view[got:got + (1 << 20)])
            if n == 0:
                raise ValueError(f"{path}: truncated at {got} of {a.size} bytes, dims {dims}")
            got += n
    return a


def load(split):
    """split "train" or "t10k" -> images (n, 1, 28, 28) uint8, labels (n) int64"""
    x = read_idx(f"{DATA_DIR}/{split}-images-idx3-ubyte.gz")
    y = read_idx(f"{DATA_DIR}/{split}-labels-idx1-ubyte.gz")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{split}: {x.shape[0]} images but {y.shape[0]} labels")
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def load_folder(root):
    """an ImageFolder tree root/<class>/<file> -> images (n, 3, h, w) uint8 (PIL's RGB), labels
    (n) int64, in torchvision ImageFolder's order (every image must have the same size)"""
    import os
    from PIL import Image
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    xs, ys = [], []
    for k, c in enumerate(classes):
        for dirpath, _, files in sorted(os.walk(os.path.join(root, c), followlinks=True)):
            for f in sorted(files):
                if f.lower().endswith((".jpg", ".jpeg", ".png")):
                    xs.append(np.asarray(Image.open(os.path.join(dirpath, f)).convert("RGB")))
                    ys.append(k)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ys, dtype=torch.int64)


def normalize(x, mean=MEAN, std=STD):
    """uint8 (n, c, h, w) -> float32, (x/255 - mean) / std, mean and std scalars or per channel"""
    m = torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
    return (x.float() / 255 - m) / s


def augment(x, g, pad=2):
    """uint8 (n, c, h, w) -> the same, each sample a random h x w crop of its zero-padded
    (by pad) self, flipped horizontally with probability 0.5"""
    n, h, w = x.shape[0], x.shape[2], x.shape[3]
    padded = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    out = torch.stack([padded[i, :, oy[i]:oy[i] + h, ox[i]:ox[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


# ---- model ------------------------------------------------------------------------------------
class Block(nn.Module):
    """BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, + identity or (1x1 conv + BN) projection, ReLU"""

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
    def __init__(self, classes=10, in_chans=1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
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


# ---- optimizer --------------------------------------------------------------------------------
def sgd(model, lr=0.1, nesterov=True):
    """SGD, Nesterov (or plain) momentum 0.9; weight decay 5e-4 on weights with more than one
    dimension (convolutions, fc), none on BN scales/shifts and biases"""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                            {"params": no_decay, "weight_decay": 0}],
                           lr=lr, momentum=0.9, nesterov=nesterov)


def train_step(model, opt, x, y):
    """one SGD step on (x, y): forward, cross-entropy, backward, update; returns the loss"""
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def warmup_cosine(step, total, warm, peak=0.1):
    """learning rate at `step` of `total`: linear from 0 over `warm` steps, then cosine to 0"""
    if step < warm:
        return peak * step / warm
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
