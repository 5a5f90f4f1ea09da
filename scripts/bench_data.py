#!/usr/bin/python3
"""scripts/bench_data.py — `make bench-data`: the input pipeline, our loader against PyTorch's.

The task of a training run's input: decode + RandomResizedCrop(128) + horizontal flip + normalize
the Imagenette 160-px training images (make data's data/imagenette-160), in batches of 128, on
this machine's 2 cores:
  engine  bin/bench_data: the shard (one mmap'd file), 2 loader threads, each sample's crop
          window decoded by libjpeg-turbo (at a DCT scale when the crop is large enough), then
          Pillow-exact resize, flip, normalize (data/loader.h, data/augment.h)
  torch   torchvision.datasets.ImageFolder over the same folder with transforms
          RandomResizedCrop(128) (bilinear), RandomHorizontalFlip, ToTensor, Normalize(ImageNet),
          a DataLoader with 2 worker processes (shuffle, batch 128, drop_last), PIL decoding
Each runs as its own process, in turn, for --rounds rounds; the table gives the median and the
range. Then the training speed of a ResNet-50 at 128 px on the engine (bin/bench_train on random
pixels, batch 32), the rate the input must beat so that it never limits training here.
Prints the 1-minute load average first: other work on the 2 cores skews every number.
Exit 0 when everything ran, 1 when a child failed, 2 when the data or a binary is missing.
Usage: /usr/bin/python3 scripts/bench_data.py [--rounds 3] [--res 128] [--batches N] [--no-resnet50]
       [--dir data/imagenette-160]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"

TORCH = r'''
import sys, time, torch
from torchvision import datasets, transforms
root, res, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(1)
t = transforms.Compose([transforms.RandomResizedCrop(res), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
ds = datasets.ImageFolder(root, transform=t)
dl = torch.utils.data.DataLoader(ds, batch_size=128, shuffle=True, num_workers=2, drop_last=True)
it, n, warm = iter(dl), 0, 3
for k in range(warm):
    next(it)
t0 = time.time()
total = min(batches, len(dl) - warm) if batches > 0 else len(dl) - warm
for k in range(total):
    x, y = next(it)
    n += x.shape[0]
dt = time.time() - t0
print(f"torch: {n} images in {dt:.2f} s: {n / dt:.0f} img/s")
print(f"RESULT img_s={n / dt:.1f} batches={total}")
'''


def result(out):
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in (f.split("=") for f in line.split()[1:])}
    return None


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    res = result(r.stdout)
    if r.returncode or res is None:
        print(f"{what} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        return None
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--batches", type=int, default=0, help="timed batches (0: the rest of one epoch)")
    ap.add_argument("--dir", default="data/imagenette-160")
    ap.add_argument("--no-resnet50", action="store_true")
    a = ap.parse_args()
    train = os.path.join(ROOT, a.dir, "train")
    if not os.path.isfile(os.path.join(ROOT, a.dir, "train.shard")) or not os.path.isdir(train):
        print(f"bench-data: no {a.dir}/train and train.shard: run make data first")
        return 2
    for b in ("bin/bench_data", "bin/bench_train"):
        if not os.access(os.path.join(ROOT, b), os.X_OK):
            print(f"bench-data: {b} missing (make {b})")
            return 2
    load = os.getloadavg()[0]
    print(f"bench-data: load average {load:.2f} on {len(os.sched_getaffinity(0))} CPUs"
          + ("  (other work is running: the numbers are skewed)" if load > 0.5 else ""))
    rates = {"engine": [], "torch": []}
    cmds = {"engine": ["bin/bench_data", "--dir", a.dir, "--res", str(a.res), "--batches", str(a.batches)],
            "torch": [PYTHON, "-c", TORCH, train, str(a.res), str(a.batches)]}
    for r in range(a.rounds):
        order = ("engine", "torch") if r % 2 == 0 else ("torch", "engine")
        for who in order:
            res = run(cmds[who], who)
            if res is None:
                return 1
            rates[who].append(res["img_s"])
            print(f"  round {r + 1} {who:6s} {res['img_s']:8.0f} img/s ({int(res['batches'])} batches of 128)")
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\ninput pipeline, decode + RandomResizedCrop({a.res}) + flip + normalize, Imagenette 160 px, 2 cores:")
    for k in ("engine", "torch"):
        print(f"  {k:6s} {med[k]:8.0f} img/s  (range {min(rates[k]):.0f} .. {max(rates[k]):.0f})")
    print(f"  ratio engine / torch: {med['engine'] / med['torch']:.2f}x (goal >= 2x)")
    if not a.no_resnet50:
        res = run(["bin/bench_train", "--set", "model.name=resnet50", "--set", f"model.res={a.res}", "--set",
                   "model.in_chans=3", "--set", "model.classes=10", "--set", "data.dataset=synthetic", "--set",
                   "data.mean=0.5,0.5,0.5", "--set", "data.std=0.25,0.25,0.25", "--batch", "32", "--steps", "4",
                   "--warmup", "1", "--eval-steps", "1", "--eval-batch", "32"], "resnet50")
        if res is None:
            return 1
        print(f"  ResNet-50 training at {a.res} px on the engine: {res['train_img_s']:.1f} img/s: the input is "
              f"{med['engine'] / res['train_img_s']:.0f}x faster than training needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
