#!/usr/bin/python3
"""tests/timm_weights.py — weights in and out against timm itself, for every registered model timm has.

For each name of `bin/repro model --list` that timm knows (the CIFAR-style ResNets are ours only),
at a small resolution, and below a parameter limit (the largest models add minutes, not coverage):
  out:   `repro export NAME --seed S` -> timm.create_model(NAME).load_state_dict(file, strict=True);
         `repro logits` and timm's eval forward on the same random batch agree (max |a - b| / max |b|
         below TOL);
  in:    timm's own state_dict (its batch norms randomized, so every residual branch counts: timm
         zero-initializes their last BN) saved as safetensors -> `repro logits` agrees with timm;
  again: `repro export NAME --weights that file` gives back every tensor bit for bit, with an int64
         num_batches_tracked () per batch norm;
  folded: (models with re-parameterizable branches, GhostNetV3) `repro export NAME --weights that
         file --reparam` -> timm's reparameterize_model() of the model, strictly, and its logits are
         those of timm's training form.
The timm side is written with safetensors.torch when it is installed, else with the small writer
below (the format is 8 bytes of header length, a JSON header, the raw bytes); the engine's reader
is checked against the safetensors library itself by tests/test_io.c (tests/ref/tiny.safetensors).
Prints one line per model ("ok", "FAIL", "skip") and a summary; exits 1 when one failed, 0 with a
"skip" line when torch or timm is missing. Run by tests/test_timm_weights.sh (make test).
Arguments: model names to check (default: all). Environment: REPRO (default ./bin/repro),
REPRO_TIMM_RES (64), REPRO_TIMM_MAX_PARAMS (40e6).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

TOL = 1e-4
SEED = 7


def skip_all(why):
    print(f"skip  timm weights: {why}")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)


try:
    import torch
    import timm
except ImportError as e:  # the suite's tests run without PyTorch: say so, never fail silently
    skip_all(f"{e.name} not importable (python3-torch from make deps; timm: make fixtures "
             "installs it into build/pysite, or set PYSITE)")

try:
    from safetensors.torch import load_file, save_file
    WRITER = "safetensors library"
except ImportError:
    WRITER = "small writer in tests/timm_weights.py"
    DTYPES = {torch.float32: ("F32", np.float32), torch.int64: ("I64", np.int64)}

    def save_file(tensors, path):
        """safetensors.torch.save_file for float32 and int64 tensors (what a ResNet holds)."""
        header, blobs, off = {}, [], 0
        for name, t in tensors.items():
            code, dt = DTYPES[t.dtype]
            b = t.detach().contiguous().numpy().astype(dt).tobytes()
            header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

    def load_file(path):
        """safetensors.torch.load_file for F32 and I64 tensors."""
        with open(path, "rb") as f:
            b = f.read()
        n = struct.unpack("<Q", b[:8])[0]
        header, data = json.loads(b[8:8 + n]), b[8 + n:]
        codes = {code: dt for code, dt in DTYPES.values()}
        return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                                                  codes[v["dtype"]]).reshape(v["shape"]).copy())
                for k, v in header.items() if k != "__metadata__"}

REPRO = os.environ.get("REPRO", "./bin/repro")
RES = int(os.environ.get("REPRO_TIMM_RES", "64"))
MAX_PARAMS = float(os.environ.get("REPRO_TIMM_MAX_PARAMS", "40e6"))


def repro(*args):
    """runs bin/repro; raises with its stderr when it fails."""
    r = subprocess.run([REPRO, *args], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"repro {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def rel_err(ours, ref):
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))


def params_of(name):
    """trainable parameters of our build of the model (cheap: no weights are made)."""
    out = repro("model", name, "--res", "64")  # params do not depend on it; GhostNet needs >= 33
    return int(next(l.split()[1] for l in out.splitlines() if l.startswith("params:")))


def randomize_bn(model, gen):
    """BN affine parameters drawn away from timm's init (gamma 0.8-1.2 where timm has 0 on
    residual branches), and running statistics from a train-mode pass over 8 random images,
    perturbed by +-10% so they are not plain batch statistics: calibrated and near 1, so deep
    models stay well conditioned. (With gamma and variances drawn from 0.5-1.5, EfficientNetV2-S's
    activations reach 1e5 and timm's own float32 and float64 logits differ by 0.6: nothing could
    be compared there.)"""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(0.8 + 0.4 * torch.rand(m.weight.shape, generator=gen))
            m.bias.copy_(0.2 * torch.rand(m.bias.shape, generator=gen) - 0.1)
            m.momentum = 1.0  # running = this batch's statistics
        model.train()
        model(torch.randn(8, 3, RES, RES, generator=gen))  # 8 images: a 2x2 map still has 32 values
        model.eval()
        for m in bns:
            m.momentum = 0.1
            m.running_var.mul_(0.9 + 0.2 * torch.rand(m.running_var.shape, generator=gen))
            m.running_mean.add_(0.1 * (torch.rand(m.running_mean.shape, generator=gen) - 0.5) *
                                m.running_var.sqrt())


def check(name, tmp):
    """the three directions for one model; returns the line's measurements, raises on failure."""
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)  # timm's initializers draw from the global generator: same weights every run
    x = torch.randn(2, RES, RES, 3, generator=gen)  # NHWC, as the engine reads it
    xp, ours_out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, x.numpy())
    model = timm.create_model(name).eval()

    def logits_vs_timm(weights):
        """our float32 logits against timm's in float64, the exact answer: (error, allowed), where
        allowed is TOL, or 4x timm's own float32 error where the model is that ill-conditioned"""
        repro("logits", "--model", name, "--weights", weights, "--input", xp, "--out", ours_out)
        xn = x.permute(0, 3, 1, 2).contiguous()
        with torch.no_grad():
            ref32 = model(xn).numpy()
            ref = model.double()(xn.double()).numpy()
            model.float()
        got = np.load(ours_out)
        if got.shape != ref.shape:
            raise RuntimeError(f"logits of shape {got.shape}, timm's {ref.shape}")
        return rel_err(got, ref), max(TOL, 4 * rel_err(ref32, ref))

    # out: our initializer -> timm, strictly
    exported = os.path.join(tmp, "ours.safetensors")
    repro("export", name, "--res", str(RES), "--seed", str(SEED), "--out", exported)
    model.load_state_dict(load_file(exported), strict=True)
    e_out = logits_vs_timm(exported)
    # in: timm's state dict (BN randomized) -> ours
    model = timm.create_model(name).eval()
    randomize_bn(model, gen)
    theirs = os.path.join(tmp, "timm.safetensors")
    sd = model.state_dict()
    save_file(sd, theirs)
    e_in = logits_vs_timm(theirs)
    # again: timm's file through our import and export, bit for bit
    back = os.path.join(tmp, "back.safetensors")
    repro("export", name, "--res", str(RES), "--weights", theirs, "--out", back)
    got = load_file(back)
    if set(got) != set(sd):
        raise RuntimeError(f"round trip names differ: {sorted(set(got) ^ set(sd))[:4]}")
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            if got[k].dtype != torch.int64 or got[k].shape != ():
                raise RuntimeError(f"round trip: {k} is {got[k].dtype} {tuple(got[k].shape)}, not int64 ()")
        elif got[k].shape != v.shape or not torch.equal(got[k], v):
            raise RuntimeError(f"round trip: {k} differs ({tuple(got[k].shape)} vs {tuple(v.shape)})")
    # folded: our fold of timm's weights in timm's folded model computes what the branches did
    folded = os.path.join(tmp, "folded.safetensors")
    if " folded " not in repro("export", name, "--res", str(RES), "--weights", theirs, "--reparam",
                               "--out", folded):
        return e_out, e_in, None  # no branches: --reparam is a no-op (said so)
    deploy = timm.models.reparameterize_model(model)  # a copy: model stays in the training form
    deploy.load_state_dict(load_file(folded), strict=True)
    xn = x.permute(0, 3, 1, 2).contiguous().double()
    with torch.no_grad():
        e_fold = rel_err(deploy.double()(xn).numpy(), model.double()(xn).numpy())
    return e_out, e_in, e_fold


def main():
    names = sys.argv[1:] or repro("model", "--list").split()
    print(f"timm {timm.__version__}, torch {torch.__version__}; timm's files written by the {WRITER}; "
          f"{RES}x{RES}, tolerance {TOL:g} (max |ours - timm| / max |timm|, timm in float64)")
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="repro_timm_") as tmp:
        for name in names:
            if not timm.is_model(name):
                print(f"skip  {name:12s} not a timm model")
                skipped += 1
                continue
            n = params_of(name)
            if n > MAX_PARAMS:
                print(f"skip  {name:12s} {n / 1e6:.1f}M parameters > REPRO_TIMM_MAX_PARAMS={MAX_PARAMS:g}")
                skipped += 1
                continue
            t0 = time.time()
            try:
                (e_out, tol_out), (e_in, tol_in), e_fold = check(name, tmp)
                bad = e_out > tol_out or e_in > tol_in or (e_fold is not None and e_fold > TOL)
                loose = "" if max(tol_out, tol_in) == TOL else f"  (tolerance {max(tol_out, tol_in):.0e}: timm's float32 is that far off)"
                fold = "" if e_fold is None else f"  export --reparam->timm folded {e_fold:.1e}"
                print(f"{'FAIL' if bad else 'ok  '}  {name:12s} export->timm {e_out:.1e}  timm->repro "
                      f"{e_in:.1e}  round trip exact{fold}  ({time.time() - t0:.1f} s){loose}")
            except Exception as e:  # one model's failure is reported, the others still run
                bad = True
                print(f"FAIL  {name:12s} {e}")
            failed += bad
            passed += not bad
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
