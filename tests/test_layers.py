#!/usr/bin/env python3
"""tests/test_layers.py — the engine's layers point one way (README, "The layers").

Every `#include "..."` of engine/ and studies/ is resolved as the compiler does (the including
file's folder, then -Iengine, then -I., then build/ for generated headers) and the folder it lands
in must be one the including folder may use:

    core <- backend <- nn <- models <- train <- run <- studies/lib <- cli, study programs
    core <- io <- data <- train                (io: file formats only; data: datasets, augmentation)
    core <- dist <- train                      (dist: the processes of a run, MPI)

A folder uses itself and what is below it; backend/ref, backend/cpu and backend/cuda are backend.
Prints one line per violation and a summary; exits 1 when there is one. Also fails on an include
that resolves nowhere, so a moved file cannot hide from the check.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# each layer and the layers it may include (itself included)
BELOW = {
    "core": [],
    "backend": ["core"],
    "nn": ["backend", "core"],
    "models": ["nn", "backend", "core"],
    "io": ["core"],
    "dist": ["core"],
    "data": ["io", "core"],
    "train": ["models", "nn", "backend", "data", "io", "dist", "core"],
    "run": ["train", "models", "nn", "backend", "data", "io", "dist", "core"],
    "studies/lib": ["run", "train", "models", "nn", "backend", "data", "io", "dist", "core"],
    "cli": ["studies/lib", "run", "train", "models", "nn", "backend", "data", "io", "dist", "core"],
    "studies": ["studies/lib", "run", "train", "models", "nn", "backend", "data", "io", "dist", "core"],
}


def layer_of(rel):
    """the layer of a repository path, None outside engine/ and studies/ (build/: generated)"""
    parts = rel.split("/")
    if parts[0] == "engine" and len(parts) > 2:
        return parts[1]
    if parts[0] == "studies":
        return "studies/lib" if len(parts) > 2 and parts[1] == "lib" else "studies"
    return None


# headers the Makefile writes into build/ (they exist once make has run)
GENERATED = {"revision.h"}


def resolve(src, inc):
    for base in (os.path.dirname(src), os.path.join(ROOT, "engine"), ROOT, os.path.join(ROOT, "build")):
        p = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(p):
            return os.path.relpath(p, ROOT)
    return os.path.join("build", inc) if inc in GENERATED else None


def main():
    bad = checked = 0
    for top in ("engine", "studies"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h", ".cu")):
                    continue
                src = os.path.join(dirpath, f)
                rel = os.path.relpath(src, ROOT)
                me = layer_of(rel)
                if me not in BELOW:
                    print(f"FAIL  {rel}: in no layer (add its folder to tests/test_layers.py)")
                    bad += 1
                    continue
                with open(src, encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if not m:
                            continue
                        checked += 1
                        target = resolve(src, m.group(1))
                        if target is None:
                            print(f"FAIL  {rel}:{n}: #include \"{m.group(1)}\" resolves to no file")
                            bad += 1
                            continue
                        to = layer_of(target)
                        if to is None and not target.startswith("build/"):
                            print(f"FAIL  {rel}:{n}: #include \"{m.group(1)}\" reaches outside engine/ and studies/ "
                                  f"({target})")
                            bad += 1
                            continue
                        if to is None or to == me or to in BELOW[me]:
                            continue
                        print(f"FAIL  {rel}:{n}: #include \"{m.group(1)}\": {me} may not use {to} "
                              f"({target}); {me} uses {', '.join(BELOW[me]) or 'nothing'}")
                        bad += 1
    print(f"{'ok   ' if not bad else 'FAIL '} layers: {checked} includes checked, {bad} pointing up or nowhere")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
