#!/usr/bin/python3
"""tests/test_shard.py — image folders into shards (bin/repro data pack) and training from them.

Writes its own ImageFolder trees with Pillow and checks:
  - the packed samples (repro data info --samples) are torchvision's ImageFolder(root).samples,
    paths and labels in the same order: classes sorted (upper case before lower, "a10" before
    "a2"), files in nested folders ("a b", "a-x", "a", "a/b", "a/b/c", a file "zz.jpg" beside
    them: os.walk's order, not a sort of the paths), a PNG named .JPEG, CMYK and grayscale JPEGs,
    files of varying sizes; README.txt and a .DS_Store are left out and counted, a file beside the
    class folders is not a sample; the formats and channels counted;
  - a truncated JPEG, a 0-byte file: one error line naming the file, exit 1, and an existing
    output file left as it was; with --skip-bad packed without them, each named, and counted;
  - a class folder without images, a folder without class folders, a missing folder: one line;
  - shards damaged after packing (magic, a cut-off end, an entry's offset, a label, the string
    table) are refused on open with one line naming what is wrong;
  - a folder set whose val split's class folders differ from train's is refused (one line);
  - a folder set trains (data.dataset = imagenette, data.dir = the test's folder, RandomResizedCrop
    on the encoded images, varying sizes) and evaluates all of its val images; a run trained twice
    prints the same losses; a JPEG whose bytes were damaged inside a shard stops the run (at its
    evaluation, which decodes whole) with one line naming its file, never a crash;
  - repro logits on a folder of JPEGs (and a PNG, in a sub-folder) gives the logits of timm's eval
    transform of the same files, their paths listed in order.
Prints one line per case and a summary; exit 1 when a case failed.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPRO = os.path.join(ROOT, "bin", "repro")
passed = failed = 0


def ok(msg):
    global passed
    passed += 1
    print(f"ok    {msg}")


def fail(msg):
    global failed
    failed += 1
    print(f"FAIL  {msg}")


def check(cond, msg):
    (ok if cond else fail)(msg)


def repro(*args, **kw):
    return subprocess.run([REPRO, *map(str, args)], capture_output=True, text=True, cwd=kw.get("cwd", ROOT))


def one_line_error(r, *names):
    """exit 1 and exactly one "error:" line on stderr, naming every one of names (progress lines aside)"""
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
    return r.returncode == 1 and len(lines) == 1 and all(n in lines[0] for n in names), \
        (lines[0] if len(lines) == 1 else r.stderr.strip())


def photo(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 2) % 256], -1)
    return np.clip(base + rng.integers(-10, 10, base.shape), 0, 255).astype(np.uint8)


def write_tree(root, classes, per_class, rng, extras=True):
    """an ImageFolder tree: the classes' folders, per_class images each of varying sizes and kinds"""
    for k, c in enumerate(classes):
        d = os.path.join(root, c)
        os.makedirs(os.path.join(d, "sub"), exist_ok=True)
        for i in range(per_class):
            h, w = int(rng.integers(24, 80)), int(rng.integers(24, 80))
            img = Image.fromarray(photo(rng, h, w))
            kind = (k + i) % 5
            if kind == 0:
                img.save(os.path.join(d, f"img{i}.JPEG"), quality=85)
            elif kind == 1:
                img.convert("L").save(os.path.join(d, f"gray{i}.jpg"), quality=85)
            elif kind == 2:
                img.convert("CMYK").save(os.path.join(d, f"cmyk{i}.JPG"), quality=90)
            elif kind == 3:
                img.save(os.path.join(d, f"png{i}.JPEG"), format="PNG")  # ImageNet's PNG named .JPEG
            else:
                img.save(os.path.join(d, "sub", f"n{i}.jpeg"), quality=80)
        if extras:  # os.walk's order: the folder's files, then sub-folders by path ('-' and ' ' before '/')
            for sub in ("a b", "a-x", "a", "a/b", "a/b/c"):
                os.makedirs(os.path.join(d, sub), exist_ok=True)
                Image.fromarray(photo(rng, 30, 26)).save(os.path.join(d, sub, "x.jpg"))
            Image.fromarray(photo(rng, 26, 30)).save(os.path.join(d, "zz.jpg"))  # after "sub/" by name, yet first
            open(os.path.join(d, "README.txt"), "w").write("not an image\n")
            open(os.path.join(d, ".DS_Store"), "wb").write(b"\0\1\2")
    if extras:
        Image.fromarray(photo(rng, 30, 30)).save(os.path.join(root, "stray.jpg"))  # not in a class folder


def samples_of(shard):
    r = repro("data", "info", shard, "--samples")
    out = []
    for ln in r.stdout.splitlines():
        if ln.startswith("sample "):
            _, i, label, _, path = ln.split(" ", 4)
            out.append((path, int(label)))
    return out


def pack_cases(tmp, rng):
    root = os.path.join(tmp, "tree")
    classes = ["b", "a2", "a10", "Zebra", "a"]
    write_tree(root, classes, 5, rng)
    shard = os.path.join(tmp, "tree.shard")
    r = repro("data", "pack", root, "--out", shard)
    check(r.returncode == 0 and "55 images of 5 classes" in r.stdout and "10 not images" in r.stdout,
          f"pack: a tree of 5 classes, 55 images, 10 other files ({r.stdout.strip() or r.stderr.strip()})")
    try:
        from torchvision.datasets import ImageFolder
        ref = [(os.path.relpath(p, root), y) for p, y in ImageFolder(root).samples]
        got = samples_of(shard)
        check(got == ref, f"pack: samples and labels in torchvision ImageFolder's order ({len(ref)} samples, classes "
                          f"{sorted(classes)})")
    except ImportError:
        print("skip  pack: ImageFolder's order (torchvision not importable)")
    info = repro("data", "info", shard).stdout
    check("50 JPEG, 5 PNG; 5 grayscale, 45 color, 5 CMYK" in info,
          f"info: formats and channels counted ({info.splitlines()[1].strip() if info else ''})")

    # bad files: one line naming the file, the existing output untouched; --skip-bad counts them
    bad = os.path.join(tmp, "bad")
    write_tree(bad, ["x", "y"], 3, rng, extras=False)
    good = open(os.path.join(bad, "x", "img0.JPEG"), "rb").read()
    open(os.path.join(bad, "y", "trunc.jpg"), "wb").write(good[:len(good) // 2])
    open(os.path.join(bad, "y", "empty.jpg"), "wb").write(b"")
    out = os.path.join(tmp, "bad.shard")
    open(out, "wb").write(b"previous contents")
    r = repro("data", "pack", bad, "--out", out)
    okk, line = one_line_error(r, "empty.jpg")
    check(okk and open(out, "rb").read() == b"previous contents" and not os.path.exists(out + ".tmp"),
          f"pack: a 0-byte file stops the pack, naming it; the old output is kept ({line})")
    os.remove(os.path.join(bad, "y", "empty.jpg"))
    r = repro("data", "pack", bad, "--out", out)
    okk, line = one_line_error(r, "trunc.jpg")
    check(okk, f"pack: a truncated JPEG stops the pack, naming it ({line})")
    open(os.path.join(bad, "y", "empty.jpg"), "wb").write(b"")
    r = repro("data", "pack", bad, "--out", out, "--skip-bad")
    skipped = [ln for ln in r.stderr.splitlines() if ln.startswith("pack: skipped")]
    check(r.returncode == 0 and "6 images" in r.stdout and "2 skipped" in r.stdout and len(skipped) == 2 and
          "error" not in r.stderr, f"pack --skip-bad: both left out, named and counted ({r.stdout.strip()})")

    # folders that hold no data set
    empty_class = os.path.join(tmp, "empty_class")
    write_tree(empty_class, ["a", "b"], 2, rng, extras=False)
    os.makedirs(os.path.join(empty_class, "c"))
    open(os.path.join(empty_class, "c", "notes.txt"), "w").write("x")
    okk, line = one_line_error(repro("data", "pack", empty_class, "--out", os.path.join(tmp, "e.shard")), "'c'")
    check(okk, f"pack: a class folder without images ({line})")
    flat = os.path.join(tmp, "flat")
    os.makedirs(flat)
    Image.fromarray(photo(rng, 20, 20)).save(os.path.join(flat, "a.jpg"))
    okk, line = one_line_error(repro("data", "pack", flat, "--out", os.path.join(tmp, "f.shard")), flat)
    check(okk, f"pack: a folder of images without class folders ({line})")
    okk, line = one_line_error(repro("data", "pack", os.path.join(tmp, "nope"), "--out", os.path.join(tmp, "n.shard")),
                               "nope")
    check(okk, f"pack: a missing folder ({line})")
    return shard


def damage_cases(tmp, shard):
    data = open(shard, "rb").read()
    n, classes = struct.unpack_from("<II", data, 12)
    index_off, strings_off, strings_len = struct.unpack_from("<QQQ", data, 24)

    def damaged(name, b, *expect):
        p = os.path.join(tmp, name + ".shard")
        open(p, "wb").write(b)
        okk, line = one_line_error(repro("data", "info", p), p, *expect)
        check(okk, f"shard with {name}: refused ({line})")

    b = bytearray(data)
    b[0:8] = b"NOTSHARD"
    damaged("bad_magic", bytes(b), "not a shard")
    damaged("cut_end", data[:len(data) - 100], "bytes")
    damaged("no_header", data[:40], "header")
    b = bytearray(data)
    struct.pack_into("<Q", b, index_off + 24 * 3, len(data) + 1000)  # entry 3's offset past the end
    damaged("bad_offset", bytes(b), "entry 3")
    b = bytearray(data)
    struct.pack_into("<H", b, index_off + 24 * 5 + 16, classes + 7)  # entry 5's label
    damaged("bad_label", bytes(b), "entry 5", "label")
    b = bytearray(data)
    b[len(b) - 1] = ord("x")  # the string table's last NUL
    damaged("unterminated_strings", bytes(b), "NUL")


def train_cases(tmp, rng):
    """an Imagenette-like folder set (10 classes, train and val) trained for one short epoch"""
    root = os.path.join(tmp, "nette")
    names = [f"n{k:08d}" for k in range(10)]
    for split, per in (("train", 8), ("val", 3)):
        write_tree(os.path.join(root, split), names, per, rng, extras=False)
        r = repro("data", "pack", os.path.join(root, split), "--out", os.path.join(root, split + ".shard"), "--quiet")
        if r.returncode:
            fail(f"train: packing {split}: {r.stderr.strip()}")
            return
    sets = ["data.dataset=imagenette", f"data.dir={root}", "data.pad=0", "data.rrc=true", "data.flip=true",
            "data.mean=0.485,0.456,0.406", "data.std=0.229,0.224,0.225", "data.crop_pct=0.875",
            "model.in_chans=3", "model.res=32", "train.epochs=1", "train.batch=16", "train.eval_batch=10"]
    args = ["train", "--recipe", os.path.join(ROOT, "recipes", "fmnist_resnet20.recipe")]
    for s_ in sets:
        args += ["--set", s_]
    runs = []
    for k in range(2):
        r = repro(*args, "--out", os.path.join(tmp, f"run{k}"), "--force")
        runs.append(r)
        if r.returncode:
            fail(f"train: a folder set: exit {r.returncode}: {r.stderr.strip()[-400:]}")
            return
    # the epoch lines without their speed and time
    losses = [[re.sub(r"\s+\d+ img/s.*", "", ln) for ln in r.stdout.splitlines() if "train loss" in ln] for r in runs]
    check(bool(losses[0]),
          f"train: RandomResizedCrop from encoded images of varying sizes, one epoch ({losses[0][-1].strip()[:90]})")
    check(losses[0] == losses[1], "train: the same losses and accuracy when trained again (decoding is deterministic)"
          + ("" if losses[0] == losses[1] else f": {losses[0]} vs {losses[1]}"))
    # a val split whose class folders are not the train split's (one renamed): refused, not trained
    # with shifted labels
    other = os.path.join(tmp, "nette_renamed")
    os.makedirs(other)
    shutil.copy(os.path.join(root, "train.shard"), other)
    shutil.copytree(os.path.join(root, "val"), os.path.join(other, "val"))
    os.rename(os.path.join(other, "val", names[4]), os.path.join(other, "val", "n99999999"))
    repro("data", "pack", os.path.join(other, "val"), "--out", os.path.join(other, "val.shard"), "--quiet")
    r = repro(*[a_.replace(f"data.dir={root}", f"data.dir={other}") for a_ in args], "--out",
              os.path.join(tmp, "run_renamed"), "--force")
    okk, line = one_line_error(r, "class", names[4])
    check(okk, f"train: splits whose class folders differ are refused ({line})")

    # a JPEG damaged inside the val shard (its second half cut off: libjpeg reaches the end of the
    # data early): evaluation, which decodes whole, stops the run with one line naming the file
    shard = os.path.join(root, "val.shard")
    data = bytearray(open(shard, "rb").read())
    index_off = struct.unpack_from("<Q", data, 24)[0]
    listing = repro("data", "info", shard, "--samples").stdout
    jpegs = [ln.split(" ", 4) for ln in listing.splitlines() if ln.startswith("sample ") and "png" not in ln]
    i, name = int(jpegs[2][1]), jpegs[2][4]
    off, size = struct.unpack_from("<QI", data, index_off + 24 * i)
    data[off + size // 2:off + size] = b"\0" * (size - size // 2)
    open(shard, "wb").write(bytes(data))
    r = repro(*args, "--out", os.path.join(tmp, "run_bad"), "--force")
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
    check(r.returncode not in (0, -11, -6) and any(name in ln for ln in err),
          f"train: a damaged JPEG stops the run at eval with its name (exit {r.returncode}: "
          f"{err[0] if err else r.stderr[-200:]})")


def logits_cases(tmp, rng):
    """repro logits on a folder of JPEGs: the same logits as on timm's eval transform of them"""
    site = os.environ.get("PYSITE", os.path.join(ROOT, "build", "pysite"))
    if os.path.isdir(site) and site not in sys.path:
        sys.path.insert(0, site)
    try:
        from timm.data import create_transform
    except Exception:
        print("skip  logits on a folder of images (timm not importable; make pysite)")
        return
    d = os.path.join(tmp, "photos")
    os.makedirs(os.path.join(d, "more"))
    files = ["b.jpg", "a.JPEG", "more/c.png"]
    for f in files:
        Image.fromarray(photo(rng, int(rng.integers(40, 90)), int(rng.integers(40, 90)))).save(os.path.join(d, f))
    open(os.path.join(d, "notes.txt"), "w").write("x")
    w = os.path.join(tmp, "r18.safetensors")
    r = repro("export", "resnet18", "--classes", 7, "--seed", 3, "--out", w)
    if r.returncode:
        fail(f"logits: export: {r.stderr.strip()}")
        return
    out = os.path.join(tmp, "folder.npy")
    r = repro("logits", "--model", "resnet18", "--classes", 7, "--weights", w, "--input", d, "--out", out, "--res", 32,
              "--crop-pct", 0.9)
    names = open(out[:-4] + ".txt").read().split() if r.returncode == 0 else []
    check(names == ["a.JPEG", "b.jpg", "more/c.png"], f"logits on a folder: the images in sorted order, sub-folders "
                                                        f"after the files ({names or r.stderr.strip()})")
    if r.returncode:
        return
    t = create_transform(input_size=(3, 32, 32), is_training=False, crop_pct=0.9, interpolation="bicubic")
    x = np.stack([t(Image.open(os.path.join(d, f)).convert("RGB")).numpy().transpose(1, 2, 0) for f in names])
    npy = os.path.join(tmp, "timm_x.npy")
    np.save(npy, x.astype(np.float32))
    out2 = os.path.join(tmp, "timm.npy")
    r = repro("logits", "--model", "resnet18", "--classes", 7, "--weights", w, "--input", npy, "--out", out2)
    if r.returncode:
        fail(f"logits on timm's batch: {r.stderr.strip()}")
        return
    a, b = np.load(out), np.load(out2)
    diff = float(np.abs(a - b).max())
    check(a.shape == (3, 7) and diff < 1e-3 * max(1.0, float(np.abs(b).max())),
          f"logits on a folder equal logits on timm's eval transform of the same files (max difference {diff:.2e})")


def main():
    if not os.access(REPRO, os.X_OK):
        print(f"FAIL  {REPRO} missing (make bin/repro)")
        return 1
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        shard = pack_cases(tmp, rng)
        if os.path.exists(shard):
            damage_cases(tmp, shard)
        train_cases(tmp, rng)
        logits_cases(tmp, rng)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
