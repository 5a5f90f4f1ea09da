#!/usr/bin/python3
"""tests/bench_dist.py — PyTorch's side of `make bench-dist`: ResNet-20 training throughput on
Fashion-MNIST with DistributedDataParallel (gloo, --world processes of --threads threads each on
this machine), or one plain process (--world 1: no DDP), as the anchor for the engine's
data-parallel runs (bin/bench_train under mpirun).

--batch is the whole batch: each process trains --batch / --world of it per step (the same split
as the engine's ranks). What is timed is what bin/bench_train times less the data loading, which
is prepared before: --pool batches per process, pad-2 random crop + flip, normalized (the model,
data and optimizer of scripts/torch_ref.py, as tests/bench_train.py); --warmup untimed steps,
a barrier, then --steps timed steps of forward + cross-entropy + backward (DDP's bucketed gradient
all-reduce overlapped with it) + SGD. Rank 0 prints the last line, the images per second of all
processes together:
    RESULT train_img_s=<float>
The processes are started with torch.multiprocessing (spawn) and meet over TCP on 127.0.0.1.
Usage: /usr/bin/python3 tests/bench_dist.py [--world 2] [--threads 1] [--steps 60] [--warmup 10]
       [--batch 128] [--pool 8] [--seed 1] [--port 29511]
"""
import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_ref import ResNet20, augment, load, normalize, sgd, train_step  # noqa: E402 (needs the path)


def run(rank, a):
    torch.set_num_threads(a.threads)
    ddp = a.world > 1
    if ddp:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{a.port}", rank=rank, world_size=a.world)
    torch.manual_seed(a.seed)  # the same initial weights everywhere (DDP broadcasts rank 0's anyway)
    per = a.batch // a.world
    xtr, ytr = load("train")
    g = torch.Generator().manual_seed(a.seed)
    perm = torch.randperm(len(xtr), generator=g)
    batches = []
    for i in range(a.pool):  # this rank's share of global batch i
        idx = perm[i * a.batch + rank * per:i * a.batch + (rank + 1) * per]
        batches.append((normalize(augment(xtr[idx], g)).contiguous(), ytr[idx]))
    model = ResNet20()
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = sgd(model, 0.1)
    model.train()

    def step(i):
        return train_step(model, opt, *batches[i % len(batches)])

    for i in range(a.warmup):
        step(i)
    if ddp:
        dist.barrier()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    if ddp:
        dist.barrier()
    s = time.perf_counter() - t0
    if rank == 0:
        print(f"torch {torch.__version__}: {a.world} process(es) x {a.threads} thread(s){' DDP gloo' if ddp else ''}, "
              f"{a.steps} steps of {a.batch} ({per} each) in {s:.2f} s, last loss {loss.item():.4f}", flush=True)
        print(f"RESULT train_img_s={a.steps * a.batch / s:.2f}", flush=True)
    if ddp:
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description="PyTorch DDP ResNet-20 training throughput")
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--pool", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=29511)
    a = ap.parse_args()
    if a.world < 1 or a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.batch % a.world:
        sys.exit(f"bench_dist.py: need --world >= 1, --threads >= 1, --steps >= 1 and --batch a multiple of --world")
    if a.world == 1:
        run(0, a)
    else:
        mp.spawn(run, args=(a,), nprocs=a.world, join=True)


if __name__ == "__main__":
    main()
