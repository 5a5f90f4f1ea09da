#!/usr/bin/python3
"""scripts/bench_dist.py — `make bench-dist`: data-parallel training throughput on this machine,
ResNet-20 on Fashion-MNIST, whole batch 128, the machine's cores split two ways:
  engine 1x2       bin/bench_train, one process of 2 threads (OMP_NUM_THREADS=2)
  engine 2x1       mpirun -np 2 bin/bench_train, two ranks of 1 thread (64 images each per step;
                   gradients summed over MPI after backward, one call)
  torch 1x2        tests/bench_dist.py --world 1 --threads 2: one plain process
  torch DDP 2x1    tests/bench_dist.py --world 2 --threads 1: DistributedDataParallel, gloo
Each configuration runs as its own child, all of them in turn for --rounds rounds (the first one
rotating); the table gives the median and min-max of training images per second and the ratios
engine / torch at the same split. The engine's figure includes its threaded data loader (as a
run's); PyTorch's batches are prepared before its timed region (see tests/bench_dist.py), which
favours PyTorch. A shared machine skews everything: the load average is printed before and after.
The benchmark reports, it does not enforce: exit 0 when every child printed a result, 1 otherwise.
Usage: /usr/bin/python3 scripts/bench_dist.py [--rounds 3] [--steps 60] [--warmup 10] [--verbose]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}


def configs(a):
    eng = [os.path.join(ROOT, "bin", "bench_train"), "--steps", str(a.steps), "--warmup", str(a.warmup),
           "--batch", "128", "--eval-steps", "1"]
    tor = [PYTHON, os.path.join(ROOT, "tests", "bench_dist.py"), "--steps", str(a.steps), "--warmup", str(a.warmup),
           "--batch", "128"]
    return [("engine 1x2", eng, {"OMP_NUM_THREADS": "2"}),
            ("engine 2x1", ["mpirun", "-np", "2", "-x", "OMP_NUM_THREADS=1"] + eng, dict(MPI_ENV)),
            ("torch 1x2", tor + ["--world", "1", "--threads", "2"], {}),
            ("torch DDP 2x1", tor + ["--world", "2", "--threads", "1"], {})]


def load_note(when):
    return f"load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores ({when})"


def main():
    ap = argparse.ArgumentParser(description="data-parallel training throughput: engine (MPI) vs PyTorch DDP")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if not os.access(os.path.join(ROOT, "bin", "bench_train"), os.X_OK):
        print("bench_dist: bin/bench_train is missing (make)", file=sys.stderr)
        return 2
    print(load_note("before"), flush=True)
    cfgs = configs(a)
    got = {name: [] for name, _, _ in cfgs}
    failed = False
    for r in range(a.rounds):
        order = cfgs[r % len(cfgs):] + cfgs[:r % len(cfgs)]
        for name, argv, extra in order:
            env = dict(os.environ, **extra)
            env.pop("GLIBC_TUNABLES", None)
            env.pop("LD_PRELOAD", None)
            p = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
            m = re.search(r"RESULT train_img_s=([0-9.]+)", p.stdout)
            if p.returncode or not m:
                failed = True
                print(f"round {r + 1} {name}: FAILED (exit {p.returncode})\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
                continue
            got[name].append(float(m.group(1)))
            print(f"round {r + 1} {name}: {float(m.group(1)):.0f} img/s", flush=True)
            if a.verbose:
                print(p.stdout)
    print(load_note("after"))
    med = {k: statistics.median(v) for k, v in got.items() if v}
    print(f"\nResNet-20, Fashion-MNIST 28x28, whole batch 128, training images/s over {a.rounds} rounds:")
    print(f"{'configuration':16} {'median':>8} {'min-max':>13}")
    for name, v in got.items():
        if v:
            print(f"{name:16} {med[name]:8.0f} {min(v):6.0f}-{max(v):<6.0f}")
    pairs = [("engine 1x2", "torch 1x2"), ("engine 2x1", "torch DDP 2x1"), ("engine 2x1", "engine 1x2"),
             ("torch DDP 2x1", "torch 1x2")]
    for x, y in pairs:
        if x in med and y in med:
            print(f"{x} / {y}: {med[x] / med[y]:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
