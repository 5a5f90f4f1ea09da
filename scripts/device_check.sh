#!/usr/bin/env bash
# scripts/device_check.sh — the checks that need a GPU, for a machine that has one but none of our
# build's Debian libraries (oneDNN, HDF5, inih) and no Fashion-MNIST: pack here, run there.
#
#   scripts/device_check.sh pack DIR   here: copy DIR/bin (test_ops, test_cuda, bench_train and
#                                      the cuda backend, from a build made with `make HDF5= DNNL=
#                                      OPT='-O3 -march=x86-64-v3' bin/test_ops bin/test_cuda
#                                      bin/bench_train`, without oneDNN and HDF5), the libraries
#                                      they need beyond glibc (DIR/lib: inih, zlib, libgomp,
#                                      Criterion's), the data (DIR/fmnist) and nothing else
#   scripts/device_check.sh run DIR [OUTDIR]
#                                      there: every op case on every backend present (the cuda and
#                                      cuda-bf16 rows against ref), training on cuda against ref
#                                      (test_cuda), compute-sanitizer over the cuda rows of a few
#                                      ops, then ResNet-20 training/eval throughput,
#                                      engine (--backend cuda) against PyTorch (--device cuda),
#                                      3 rounds each, interleaved. Logs go to OUTDIR.
# The run step finds the CUDA libraries (cuDNN 9, cuBLAS 13, cudart 13) wherever that machine
# keeps them (its CUDA toolkit or PyTorch's wheels) and exits non-zero if an op case fails.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-} dir=${2:-}
[ -n "$mode" ] && [ -n "$dir" ] || { echo "usage: $0 pack|run DIR [OUTDIR]" >&2; exit 2; }

case $mode in
pack)
    src=${SRC:-.}   # the tree holding the device build's bin/
    for f in bin/test_ops bin/test_cuda bin/bench_train bin/libengine_cuda.so; do
        [ -x "$src/$f" ] || { echo "device_check: no $src/$f (build it: make HDF5= DNNL= OPT='-O3 -march=x86-64-v3' bin/test_ops bin/test_cuda bin/bench_train)" >&2; exit 2; }
    done
    if ldd "$src/bin/test_ops" | grep -q -e dnnl -e hdf5; then
        echo "device_check: $src/bin/test_ops links oneDNN or HDF5; build with HDF5= DNNL=" >&2; exit 2
    fi
    rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/lib" "$dir/fmnist"
    for f in bin/test_ops bin/test_cuda bin/bench_train bin/libengine_cuda.so; do strip -g -o "$dir/$f" "$src/$f"; done
    # every library the programs need (Criterion's own too), except glibc's and the C++ runtime,
    # which the other machine has newer
    for f in "$dir"/bin/test_ops "$dir"/bin/test_cuda "$dir"/bin/bench_train; do ldd "$f"; done |
        awk '$3 ~ /^\// {print $3}' | sort -u |
        grep -v -E '/(libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s)\.so' |
        while read -r l; do cp -L "$l" "$dir/lib/"; done
    cp /usr/share/datasets/fashion-mnist/*.gz "$dir/fmnist/"
    du -sh "$dir"
    ;;
run)
    out=${3:-${OUT:-/tmp/device_check}}
    mkdir -p "$out" bin
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    grep -m1 'model name' /proc/cpuinfo; nproc
    mkdir -p /usr/share/datasets/fashion-mnist && cp --update=none "$dir"/fmnist/*.gz /usr/share/datasets/fashion-mnist/
    cp "$dir"/bin/* bin/
    libs=$(realpath "$dir/lib")
    for n in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
        p=$(find /usr/local/cuda*/ /usr/lib/x86_64-linux-gnu /opt -name "$n" 2>/dev/null | head -1)
        [ -n "$p" ] || { echo "device_check: $n not found on this machine" >&2; exit 2; }
        echo "$n: $p"
        libs="$libs:$(dirname "$p")"
    done
    export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    rc=0
    echo "== test_ops (every backend present)"
    /usr/bin/time -f "test_ops: %e s" timeout 300 bin/test_ops > "$out/test_ops.log" 2>&1 || rc=1
    grep -e FAIL -e 'cuda' "$out/test_ops.log" | head -60; tail -5 "$out/test_ops.log"
    echo "== test_cuda (training on cuda against ref)"
    timeout 300 bin/test_cuda --verbose > "$out/test_cuda.log" 2>&1 || rc=1
    grep -a -e 'steps:' -e FAIL -e Synthesis -e 'error' "$out/test_cuda.log"
    if command -v compute-sanitizer >/dev/null; then
        for op in conv2d batchnorm linear; do
            echo "== compute-sanitizer memcheck: test_ops $op"
            timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 bin/test_ops --random 0 "$op" \
                > "$out/sanitize_$op.log" 2>&1; echo "rc=$?"; grep -m5 -e 'ERROR SUMMARY' -e 'Invalid' "$out/sanitize_$op.log"
        done
    fi
    echo "== ResNet-20 training/eval throughput, batch 128, eval batch 256 (img/s)"
    for r in 1 2 3; do
        bin/bench_train --backend cuda > "$out/bench_engine_$r.log" 2>&1; echo "engine round $r: $(tail -1 "$out/bench_engine_$r.log")"
        python3 tests/bench_train.py --device cuda > "$out/bench_torch_$r.log" 2>&1; echo "torch  round $r: $(tail -1 "$out/bench_torch_$r.log")"
    done
    grep -m3 -e 'loss' "$out/bench_engine_1.log" | head -3
    echo "== the same at batch 512 (eval 1024), 30 steps"
    bin/bench_train --backend cuda --batch 512 --eval-batch 1024 --steps 30 --eval-steps 8 > "$out/bench_engine_512.log" 2>&1
    echo "engine: $(tail -1 "$out/bench_engine_512.log")"
    python3 tests/bench_train.py --device cuda --batch 512 --eval-batch 1024 --steps 30 --eval-steps 8 > "$out/bench_torch_512.log" 2>&1
    echo "torch : $(tail -1 "$out/bench_torch_512.log")"
    bin/bench_train --backend cuda --profile --steps 20 > "$out/bench_engine_profile.log" 2>&1
    exit $rc
    ;;
*) echo "usage: $0 pack|run DIR [OUTDIR]" >&2; exit 2 ;;
esac
