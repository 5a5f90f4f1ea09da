#!/usr/bin/python3
"""scripts/bench_train.py — `make bench`: training and eval throughput and peak memory, our engine
(bin/bench_train) against PyTorch (tests/bench_train.py), on this machine: ResNet-20 on
Fashion-MNIST (the default), one other model (--model NAME --res R --in-chans C), or --compact:
the compact networks the MobileNet, EfficientNetV2, MEAL V2 and GhostNetV3 studies train —
MobileNetV2, MobileNetV3-Large, MobileNetV4-Small, EfficientNet-B0, GhostNetV3-1.0 (timm's, 10
classes) — at a Fashion-MNIST size (56 px, 1 channel: the real images resized) and an Imagenette
size (128 px, 3 channels: random pixels, the engine's `synthetic` data set), batch 64, each against
PyTorch's channels_last configurations (NCHW measured about half as fast for these here, so it is
left out unless --all-torch), ending in one table of ratios.

Each configuration runs as its own child process, all configurations in turn for --rounds rounds
(the starting one rotates each round, so none always runs first or after the same neighbour on a
shared, noisy machine); the table reports per configuration the median and min-max over rounds.
Every child is measured the same way: its RESULT line (training and eval images per second, see
tests/bench_train.py for the contract) and its peak resident memory, ru_maxrss from os.wait4
(KiB on Linux). The children are started directly (no shell), so the figure is the benchmark
process's own (or that of a child it waited for, if larger). It cannot be lower than this
driver's peak RSS: the kernel carries the high-water mark of the memory a child runs in before
exec over into it (printed as the floor; the driver imports nothing heavy to keep it small).

Configurations (GLIBC_TUNABLES and LD_PRELOAD are removed from every child's environment and set
only where listed, so "default" means glibc as shipped):
  engine                 bin/bench_train (--engine PATH); missing: say so, exit 2
  torch default          NCHW, glibc malloc as is
  torch nchw (glibc)     NCHW, glibc told to keep freed buffers (GLIBC_TUNED below)
  torch best (glibc)     channels_last, GLIBC_TUNED
  torch best (tcmalloc)  channels_last, LD_PRELOAD of Debian's libtcmalloc_minimal.so.4
                         (package libtcmalloc-minimal4; skipped with a note when absent)
"torch best" is, per metric, the fastest of the tuned configurations (all but torch default);
the report names which. Glibc's defaults return large freed blocks to the kernel, so every
step pays page faults for fresh activation buffers; the tunables raise the mmap threshold to
32 MiB and stop trimming, tcmalloc keeps freed memory in its own caches.
The benchmark reports, it does not enforce: exit 0 when every child ran and printed a result,
1 when one failed (its output is shown), 2 on a usage error or a missing engine.
Usage: /usr/bin/python3 scripts/bench_train.py [--rounds 3] [--steps 60] [--warmup 10]
       [--eval-steps 20] [--batch 128] [--eval-batch 256] [--engine bin/bench_train]
       [--only engine|torch] [--verbose]
       [--model NAME --res R --in-chans C | --compact [--models a,b] [--sizes 56,128]] [--all-torch]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-torch
TORCH_BENCH = os.path.join(ROOT, "tests", "bench_train.py")
GLIBC_TUNED = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
TCMALLOC = "libtcmalloc_minimal.so.4"


# ---- the machine and the allocators ------------------------------------------------------------
def find_tcmalloc():
    """path of Debian's libtcmalloc_minimal.so.4, or None: the multiarch library directory first,
    then the dynamic linker's cache (ldconfig -p)"""
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    for d in (f"/usr/lib/{arch}", f"/lib/{arch}", "/usr/lib64", "/usr/lib"):
        if os.path.isfile(os.path.join(d, TCMALLOC)):
            return os.path.join(d, TCMALLOC)
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.strip().startswith(TCMALLOC + " ") and "=>" in line:
            path = line.split("=>", 1)[1].strip()
            if os.path.isfile(path):
                return path
    return None


def load_note(when):
    """the 1-minute load average, with a warning when other work competes for the CPUs: PyTorch's
    and the engine's OpenMP threads wait for each other at every op, so one descheduled thread
    stalls the rest (10x slower runs have been seen here with the load at 3.5 on 2 CPUs)"""
    load, cpus = os.getloadavg()[0], len(os.sched_getaffinity(0))
    busy = f" > {cpus} usable CPUs: other work is running, timings will be noisy" if load > cpus else ""
    return f"load average {load:.2f} {when}{busy}"


def machine():
    """'CPU model, N logical CPUs (M usable), avx512' from /proc/cpuinfo"""
    model, flags = "unknown CPU", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = val.strip()
                elif key.strip() == "flags" and not flags:
                    flags = val
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0))
    isa = "AVX-512" if "avx512f" in flags.split() else "AVX2" if "avx2" in flags.split() else ""
    return f"{model}, {os.cpu_count()} logical CPUs ({usable} usable){', ' + isa if isa else ''}"


# ---- one child ----------------------------------------------------------------------------------
class Config:
    def __init__(self, name, argv, env=None, tuned=False):
        self.name, self.argv, self.env, self.tuned = name, argv, env or {}, tuned
        self.runs = []  # dicts: train, eval, rss_mib, wall


def run_child(cfg, extra, base_env, verbose):
    """runs cfg once; returns (result dict or None, output text, "V, N threads" when torch said
    so, else None, why it failed or None)"""
    env = dict(base_env, **cfg.env)
    t0 = time.monotonic()
    p = subprocess.Popen(cfg.argv + extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, cwd=ROOT, text=True)
    lines = []
    for line in p.stdout:
        lines.append(line)
        if verbose:
            print(f"    | {line}", end="", flush=True)
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    wall = time.monotonic() - t0
    first = next((ln.split() for ln in lines if ln.startswith("torch ")), None)  # torch V threads N ...
    version = f"{first[1]}, {first[3]} threads" if first and len(first) >= 4 else None
    last = next((ln.split() for ln in reversed(lines) if ln.strip()), [])
    if p.returncode != 0:
        return None, "".join(lines), version, f"exit status {p.returncode}"
    if not last or last[0] != "RESULT":
        return None, "".join(lines), version, "its last line is not a RESULT line"
    kv = dict(tok.split("=", 1) for tok in last[1:] if "=" in tok)
    try:
        res = {"train": float(kv["train_img_s"]), "eval": float(kv["eval_img_s"])}
    except (KeyError, ValueError):
        return None, "".join(lines), version, "RESULT lacks train_img_s=<float> eval_img_s=<float>"
    res["rss_mib"] = ru.ru_maxrss / 1024  # KiB on Linux
    res["wall"], res["cpu"] = wall, ru.ru_utime + ru.ru_stime
    return res, "".join(lines), version, None


# ---- the report ---------------------------------------------------------------------------------
def med(cfg, key):
    return statistics.median(r[key] for r in cfg.runs)


def span(cfg, key, fmt):
    vals = [r[key] for r in cfg.runs]
    return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}-{fmt.format(max(vals))})"


def report(configs, engine, torch_info, args, spec):
    """the table of one model spec; returns (train ratio, eval ratio, engine RSS / lowest torch RSS)
    against torch's best, or None"""
    done = [c for c in configs if c.runs]
    print(f"\n{spec['title']}, 10 classes; training batch {args.batch} (SGD Nesterov, wd 5e-4), "
          f"eval batch {args.eval_batch}; {args.steps} timed steps after {args.warmup}, "
          f"{args.eval_steps} eval batches; median (min-max) of {args.rounds} round(s)")
    print(f"{'configuration':<24} {'train img/s':>24} {'eval img/s':>24} {'peak RSS MiB':>18}")
    for c in done:
        print(f"{c.name:<24} {span(c, 'train', '{:.1f}'):>24} {span(c, 'eval', '{:.1f}'):>24} "
              f"{span(c, 'rss_mib', '{:.0f}'):>18}")
    if torch_info:
        print(f"torch {torch_info}")

    torch_all = [c for c in done if c is not engine]
    tuned = [c for c in torch_all if c.tuned]
    default = next((c for c in torch_all if not c.tuned), None)
    best = {k: max(tuned, key=lambda c: med(c, k)) for k in ("train", "eval")} if tuned else {}
    for k, what in (("train", "training"), ("eval", "eval")):
        if k in best:
            print(f"torch best for {what}: {best[k].name} ({med(best[k], k):.1f} img/s)")

    if engine is None or not engine.runs:
        print("engine: not run (--only torch)" if engine is None else "engine: no successful run")
        return None
    tr, ev = med(engine, "train"), med(engine, "eval")
    if default:
        print(f"engine / torch default: training {tr / med(default, 'train'):.2f}x, "
              f"eval {ev / med(default, 'eval'):.2f}x")
    if best:
        print(f"engine / torch best:    training {tr / med(best['train'], 'train'):.2f}x "
              f"({best['train'].name}), eval {ev / med(best['eval'], 'eval'):.2f}x ({best['eval'].name})")
    if torch_all:
        e = med(engine, "rss_mib")
        print(f"engine peak RSS {e:.0f} MiB / torch's:")
        for c in torch_all:
            print(f"    {c.name:<22} {med(c, 'rss_mib'):5.0f} MiB  {e / med(c, 'rss_mib'):.2f}x")
        low = min(torch_all, key=lambda c: med(c, "rss_mib"))
        print(f"    lowest: {low.name}, engine {e / med(low, 'rss_mib'):.2f}x of it")
        if best:
            return (tr / med(best["train"], "train"), ev / med(best["eval"], "eval"), e / med(low, "rss_mib"),
                    tr, ev, med(best["train"], "train"), med(best["eval"], "eval"))
    return None


# ---- main ---------------------------------------------------------------------------------------
COMPACT = ("mobilenetv2_100", "mobilenetv3_large_100", "mobilenetv4_conv_small", "efficientnet_b0",
           "ghostnetv3_100")


def spec_of(model, res, in_chans):
    """what both sides are told for one model at one size: 1 channel = Fashion-MNIST resized,
    3 channels = random pixels; the compact models at SGD 0.01 (0.1 diverges for some of them from
    scratch, and a diverged run stops the benchmark; the rate costs nothing)"""
    if model == "resnet20" and res == 28 and in_chans == 1:
        return {"title": "ResNet-20, 28x28x1 (Fashion-MNIST)", "engine": [], "torch": []}
    data = "fmnist" if in_chans == 1 else "synthetic"
    return {"title": f"{model}, {res}x{res}x{in_chans} ({'Fashion-MNIST resized' if data == 'fmnist' else 'random pixels'})",
            "engine": ["--set", f"model.name={model}", "--set", f"model.res={res}", "--set", f"model.in_chans={in_chans}",
                       "--set", f"data.dataset={data}", "--set", "schedule.lr_peak=0.01"],
            "torch": ["--model", model, "--res", str(res), "--in-chans", str(in_chans), "--data", data, "--lr", "0.01"]}


def configs_of(args, spec):
    """the configurations of one spec: the engine, PyTorch's (all four for ResNet-20 or with
    --all-torch, else the two channels_last ones)"""
    configs, engine = [], None
    if args.only != "torch":
        engine = Config("engine", [os.path.join(ROOT, args.engine)] + spec["engine"])
        configs.append(engine)
    if args.only != "engine":
        torch = [PYTHON, TORCH_BENCH] + spec["torch"]
        every = args.all_torch or not spec["torch"]
        if every:
            configs.append(Config("torch default", torch))
            configs.append(Config("torch nchw (glibc)", torch, {"GLIBC_TUNABLES": GLIBC_TUNED}, tuned=True))
        configs.append(Config("torch best (glibc)", torch + ["--channels-last"],
                              {"GLIBC_TUNABLES": GLIBC_TUNED}, tuned=True))
        tcm = find_tcmalloc()
        if tcm:
            configs.append(Config("torch best (tcmalloc)", torch + ["--channels-last"],
                                  {"LD_PRELOAD": tcm}, tuned=True))
        else:
            print(f"note: {TCMALLOC} not found (Debian package libtcmalloc-minimal4, make deps): "
                  f"skipping torch best (tcmalloc)")
    return configs, engine


def run_spec(args, spec, extra, base_env):
    """every round of one spec's configurations; returns (failed runs, the report's ratios)"""
    configs, engine = configs_of(args, spec)
    print(f"\n== {spec['title']}")
    for c in configs:
        print(f"  {c.name:<22} {' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in c.argv)}"
              + "".join(f"  {k}={v}" for k, v in c.env.items()))
    failed, torch_info = 0, None
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for c in order:
            res, out, version, why = run_child(c, extra, base_env, args.verbose)
            torch_info = torch_info or version
            if res is None:
                failed += 1
                tail = "".join(out.splitlines(keepends=True)[-20:])
                print(f"[round {r + 1}/{args.rounds}] {c.name:<22} FAILED ({why}); its output ends:\n{tail}", flush=True)
                continue
            c.runs.append(res)
            print(f"[round {r + 1}/{args.rounds}] {c.name:<22} train {res['train']:8.1f} img/s  "
                  f"eval {res['eval']:8.1f} img/s  peak RSS {res['rss_mib']:5.0f} MiB  "
                  f"({res['wall']:.1f} s, cpu {res['cpu']:.1f} s)", flush=True)
    return failed, report(configs, engine, torch_info, args, spec)


def main():
    ap = argparse.ArgumentParser(description="training/eval throughput: engine vs PyTorch")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3; --compact 2)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 60; --compact 20)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10; --compact 3)")
    ap.add_argument("--eval-steps", type=int, default=None, help="eval batches (default 20; --compact 10)")
    ap.add_argument("--batch", type=int, default=None, help="training batch (default 128; --compact 64)")
    ap.add_argument("--eval-batch", type=int, default=None, help="eval batch (default 256; --compact 128)")
    ap.add_argument("--engine", default="bin/bench_train", help="the engine's benchmark program")
    ap.add_argument("--only", choices=("engine", "torch"), help="run only these configurations")
    ap.add_argument("--verbose", action="store_true", help="echo every child's output")
    ap.add_argument("--model", default="resnet20", help="a registered model (and timm's)")
    ap.add_argument("--res", type=int, default=28)
    ap.add_argument("--in-chans", type=int, choices=(1, 3), default=1)
    ap.add_argument("--compact", action="store_true", help="the compact models at 56 px x 1 and 128 px x 3")
    ap.add_argument("--models", default=",".join(COMPACT), help="--compact: these models")
    ap.add_argument("--sizes", default="56,128", help="--compact: these sizes (56: 1 channel, else 3)")
    ap.add_argument("--all-torch", action="store_true", help="PyTorch's NCHW configurations too")
    args = ap.parse_args()
    dflt = {"rounds": (3, 2), "steps": (60, 20), "warmup": (10, 3), "eval_steps": (20, 10), "batch": (128, 64),
            "eval_batch": (256, 128)}
    for k, (plain, compact) in dflt.items():
        if getattr(args, k) is None:
            setattr(args, k, compact if args.compact else plain)
    if min(args.rounds, args.steps, args.eval_steps, args.batch, args.eval_batch) < 1 or args.warmup < 0:
        ap.error("--rounds, --steps, --eval-steps, --batch, --eval-batch must be >= 1, --warmup >= 0")
    extra = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--eval-steps",
             str(args.eval_steps), "--batch", str(args.batch), "--eval-batch", str(args.eval_batch)]
    if args.only != "torch" and not os.access(os.path.join(ROOT, args.engine), os.X_OK):
        print(f"bench_train.py: the engine's benchmark {args.engine} is missing or not "
              f"executable (make bin/bench_train builds it from tests/bench_train.c); "
              f"--only torch runs PyTorch alone", file=sys.stderr)
        return 2
    if args.compact:
        specs = [spec_of(m, r, 1 if r == 56 else 3) for m in args.models.split(",") for r in
                 (int(x) for x in args.sizes.split(","))]
    else:
        specs = [spec_of(args.model, args.res, args.in_chans)]

    base_env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "LD_PRELOAD")}
    for k in ("GLIBC_TUNABLES", "LD_PRELOAD"):
        if k in os.environ:
            print(f"note: {k}={os.environ[k]} removed from the children's environment")
    print(f"machine: {machine()}")
    print(load_note("at start"))
    print(f"driver peak RSS (the floor of every child's): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    t_start, failed, rows = time.monotonic(), 0, []
    for spec in specs:
        f, ratios = run_spec(args, spec, extra, base_env)
        failed += f
        rows.append((spec["title"], ratios))
    if len(specs) > 1:
        print(f"\nsummary (engine / PyTorch's best, medians; RSS against PyTorch's lowest):")
        print(f"  {'model, size':<58} {'train':>18} {'eval':>20} {'RSS':>6}")
        for title, r in rows:
            if r is None:
                print(f"  {title:<58} (no ratio: a side did not run)")
                continue
            tr, ev, rss, etr, eev, ttr, tev = r
            print(f"  {title:<58} {tr:5.2f}x ({etr:5.0f}/{ttr:5.0f}) {ev:5.2f}x ({eev:6.0f}/{tev:6.0f}) {rss:5.2f}x")
    print(load_note("at the end"))
    print(f"bench: {time.monotonic() - t_start:.0f} s, "
          f"{'all ran' if not failed else f'{failed} run(s) FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
