/* tests/bench_ops.c — forward+backward time of every op of a ResNet-20 training step on
 * Fashion-MNIST (28x28, 1 channel, batch 128), on our backends and in PyTorch, in one run.
 *
 * The shapes are one table (below) with the number of times each op occurs in a step; the op
 * calls are the op test's (op_cases.c), so what is timed is what is tested. PyTorch times the same
 * list: this program writes it to a file and runs tests/bench_ops.py (Debian's python3-torch,
 * 2 threads, each op in NCHW and in channels_last, the faster counted, glibc's allocator tuned to
 * keep freed buffers: PyTorch's best configuration here), then prints per-op and
 * total ratios. Per op: 2 warm-up calls, then the best of 3 rounds, each the median of repeats
 * lasting >= 0.25 s (ref: one call: it is the oracle, not a contender). Totals weight each op by
 * its count in a step.
 * Usage: bench_ops [--no-ref] [--no-torch] [--variant 0|1] [--backend NAME]...
 */
#include <math.h>   // NAN, INFINITY, fmin
#include <stdio.h>  // printf, popen
#include <string.h> // strcmp
#include <time.h>   // clock_gettime
#include <unistd.h> // unlink

#include "core/rng.h"
#include "op_cases.h"

typedef struct { OpCase c; int count; } BenchOp;

#define N 128
#define CONV(nm, h, c, oc, k, s, p, cnt)                                                    \
    {{nm, conv_spec, conv_call, 0, false, false,                                            \
      .conv = {{N, h, h, c}, oc, k, k, s, s, p, p, 1, 1, 1, false}}, cnt}
#define BN(nm, h, c, cnt) {{nm, bn_spec, bn_call, .bn = {{N, h, h, c}, 1e-5f, 0.1f, true}}, cnt}
#define RELU(nm, n, cnt) {{nm, act_spec, act_call, .act = {n, ACT_RELU}}, cnt}
#define ADD(nm, n, cnt) {{nm, add_spec, add_call, .add = {n}}, cnt}

// ResNet-20 (He et al. 2016, CIFAR variant, option-B projections) on a 1x28x28 input
static const BenchOp ops[] = {
    CONV("conv3x3 1->16 28", 28, 1, 16, 3, 1, 1, 1),
    CONV("conv3x3 16->16 28", 28, 16, 16, 3, 1, 1, 6),
    CONV("conv3x3 16->32 s2", 28, 16, 32, 3, 2, 1, 1),
    CONV("conv1x1 16->32 s2", 28, 16, 32, 1, 2, 0, 1),
    CONV("conv3x3 32->32 14", 14, 32, 32, 3, 1, 1, 5),
    CONV("conv3x3 32->64 s2", 14, 32, 64, 3, 2, 1, 1),
    CONV("conv1x1 32->64 s2", 14, 32, 64, 1, 2, 0, 1),
    CONV("conv3x3 64->64 7", 7, 64, 64, 3, 1, 1, 5),
    BN("bn 28x28x16", 28, 16, 7),
    BN("bn 14x14x32", 14, 32, 7),
    BN("bn 7x7x64", 7, 64, 7),
    RELU("relu 28x28x16", N * 28 * 28 * 16, 7),
    RELU("relu 14x14x32", N * 14 * 14 * 32, 6),
    RELU("relu 7x7x64", N * 7 * 7 * 64, 6),
    ADD("add 28x28x16", N * 28 * 28 * 16, 3),
    ADD("add 14x14x32", N * 14 * 14 * 32, 3),
    ADD("add 7x7x64", N * 7 * 7 * 64, 3),
    {{"global avgpool 7x7x64", gap_spec, gap_call, .gap = {{N, 7, 7, 64}}}, 1},
    {{"linear 64->10", linear_spec, linear_call, .lin = {N, 64, 10, true}}, 1},
    {{"xent 10 classes", xent_label_spec, xent_label_call, .xent = {N, 10, 0.0f}}, 1},
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// median milliseconds of one forward+backward of op on d
static double time_op(const OpCase *c, Dev *d, bool once)
{
    Spec s = {0};
    c->spec(c, &s);
    float *t[MAX_TENSORS] = {0};
    uint64_t key = rng_key(1, 2);
    for (int i = 0; i < s.count; i++) {
        size_t n = s.t[i].n;
        if (!n) continue;
        float *h = xmalloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++) {
            float u = rng_uniform(key, (uint64_t)i, j);
            if (s.t[i].role == T_LABEL) { int l = (int)(u * s.t[i].classes); memcpy(&h[j], &l, 4); }
            else h[j] = s.t[i].role == T_GRAD ? 0.0f : s.t[i].lo + (s.t[i].hi - s.t[i].lo) * u;
            if (s.t[i].role == T_STATE && s.t[i].lo >= 0.5f) h[j] = 1.0f; // running variance
        }
        t[i] = dev_alloc(d, n * sizeof(float));
        dev_upload(d, t[i], h, n * sizeof(float));
        free(h);
    }
    double ms[200], best = INFINITY;
    int reps = 0;
    for (int w = 0; w < (once ? 0 : 2); w++) c->call(c, d, t, 0);
    dev_sync(d);
    for (int round = 0; round < (once ? 1 : 3); round++) { // best of 3 rounds, as for PyTorch
        double start = time_now();
        reps = 0;
        do {
            double t0 = time_now();
            c->call(c, d, t, 0);
            dev_sync(d);
            ms[reps++] = (time_now() - t0) * 1e3;
        } while (!once && reps < LEN(ms) && (reps < 5 || time_now() - start < 0.25));
        qsort(ms, reps, sizeof ms[0], cmp_double);
        best = fmin(best, ms[reps / 2]);
    }
    for (int i = 0; i < s.count; i++) dev_free(d, t[i]);
    return best;
}

// one line per op for tests/bench_ops.py: the same shapes, its own timing
static void write_torch_list(FILE *f)
{
    for (int i = 0; i < LEN(ops); i++) {
        const OpCase *c = &ops[i].c;
        if (c->spec == conv_spec)
            fprintf(f, "conv %d %d %d %d %d %d %d %d\n", c->conv.x.n, c->conv.x.h, c->conv.x.w,
                    c->conv.x.c, c->conv.oc, c->conv.kh, c->conv.sh, c->conv.ph);
        else if (c->spec == bn_spec)
            fprintf(f, "bn %d %d %d %d\n", c->bn.x.n, c->bn.x.h, c->bn.x.w, c->bn.x.c);
        else if (c->spec == act_spec) fprintf(f, "relu %zu\n", c->act.n);
        else if (c->spec == add_spec) fprintf(f, "add %zu\n", c->add.n);
        else if (c->spec == gap_spec)
            fprintf(f, "gap %d %d %d %d\n", c->gap.x.n, c->gap.x.h, c->gap.x.w, c->gap.x.c);
        else if (c->spec == linear_spec) fprintf(f, "linear %d %d %d\n", c->lin.n, c->lin.in, c->lin.out);
        else if (c->spec == xent_label_spec) fprintf(f, "xent %d %d\n", c->xent.n, c->xent.k);
        else CHECK(0, "bench_ops: no PyTorch translation for op '%s'", c->name);
    }
}

// runs PyTorch on the list; fills torch_ms (NAN where it printed nothing); returns 0 or -1
static int run_torch(double *torch_ms)
{
    for (int i = 0; i < LEN(ops); i++) torch_ms[i] = NAN;
    char list[] = "/tmp/bench_ops_XXXXXX";
    int fd = mkstemp(list);
    if (fd < 0) { log_error("bench_ops: cannot create a temporary file"); return -1; }
    FILE *f = fdopen(fd, "w");
    write_torch_list(f);
    fclose(f);
    char cmd[512];
    // PyTorch at its best: glibc told to keep freed activations instead of returning them to the
    // kernel (otherwise each op pays page faults for its fresh buffers: 1.6x slower convs here)
    snprintf(cmd, sizeof cmd, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:"
             "glibc.malloc.trim_threshold=4294967296 /usr/bin/python3 tests/bench_ops.py %s", list);
    FILE *p = popen(cmd, "r");
    if (!p) { log_error("bench_ops: cannot run %s", cmd); unlink(list); return -1; }
    char line[256];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        int i;
        double ms;
        if (sscanf(line, "op %d %lf", &i, &ms) == 2 && i >= 0 && i < LEN(ops)) { torch_ms[i] = ms; got++; }
        else fputs(line, stdout); // its version line, or its error
    }
    int rc = pclose(p);
    unlink(list);
    if (rc != 0 || got != LEN(ops)) {
        log_error("bench_ops: %s failed (exit %d, %d of %d ops timed); is python3-torch installed "
                  "(make deps)?", cmd, rc, got, LEN(ops));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool do_ref = true, do_torch = true;
    int variant = 0;
    const char *names[4] = {"cpu"};
    int nb = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-ref") == 0) do_ref = false;
        else if (strcmp(argv[i], "--no-torch") == 0) do_torch = false;
        else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc) variant = atoi(argv[++i]);
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc && nb < 3) names[nb++] = argv[++i];
        else {
            printf("usage: %s [--no-ref] [--no-torch] [--variant 0|1] [--backend NAME]...\n"
                   "  times forward+backward of each op of a ResNet-20 step (28x28, batch %d) on "
                   "the backends (default cpu) and ref, and in PyTorch, and prints ratios\n",
                   argv[0], N);
            return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
        }
    }
    if (nb == 0) nb = 1;
    Dev devs[4];
    for (int b = 0; b < nb; b++) {
        TRY(dev_open(&devs[b], names[b]));
        devs[b].variant = variant; // 1: the alternative kernel versions kept for comparison
    }
    Dev ref;
    TRY(dev_open(&ref, "ref"));

    double torch_ms[LEN(ops)], be_ms[4][LEN(ops)], ref_ms[LEN(ops)];
    if (do_torch && run_torch(torch_ms) < 0) return 1;
    printf("\n%-22s %5s", "op (fwd+bwd, ms)", "count");
    for (int b = 0; b < nb; b++) printf(" %9s", names[b]);
    printf(" %9s %9s", do_ref ? "ref" : "", do_torch ? "torch" : "");
    if (do_torch) printf(" %11s", "torch/cpu");
    printf("\n");
    double tot[4] = {0}, tot_ref = 0, tot_torch = 0;
    for (int i = 0; i < LEN(ops); i++) {
        const OpCase *c = &ops[i].c;
        printf("%-22s %5d", c->name, ops[i].count);
        fflush(stdout);
        for (int b = 0; b < nb; b++) {
            be_ms[b][i] = time_op(c, &devs[b], false);
            tot[b] += ops[i].count * be_ms[b][i];
            printf(" %9.3f", be_ms[b][i]);
            fflush(stdout);
        }
        if (do_ref) {
            ref_ms[i] = time_op(c, &ref, true);
            tot_ref += ops[i].count * ref_ms[i];
            printf(" %9.1f", ref_ms[i]);
        } else printf(" %9s", "");
        if (do_torch) {
            tot_torch += ops[i].count * torch_ms[i];
            printf(" %9.3f %10.2fx", torch_ms[i], torch_ms[i] / be_ms[0][i]);
        }
        printf("\n");
    }
    printf("%-22s %5s", "total per step", "");
    for (int b = 0; b < nb; b++) printf(" %9.2f", tot[b]);
    if (do_ref) printf(" %9.1f", tot_ref);
    else printf(" %9s", "");
    if (do_torch) printf(" %9.2f %10.2fx", tot_torch, tot_torch / tot[0]);
    printf("\n");
    if (do_torch)
        printf("\n%s total forward+backward: %.2f ms, PyTorch %.2f ms: %s is %.2fx PyTorch's speed "
               "(%s)\n", names[0], tot[0], tot_torch, names[0], tot_torch / tot[0],
               tot[0] <= tot_torch ? "at most PyTorch's time" : "SLOWER than PyTorch");
    for (int b = 0; b < nb; b++) dev_close(&devs[b]);
    dev_close(&ref);
    return 0;
}
