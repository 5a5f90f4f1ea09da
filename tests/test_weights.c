/* tests/test_weights.c — weights out and in (io/weights.h), without PyTorch.
 *
 * Export writes every entry of the table by timm's name and shape, conv weights transposed to
 * (OC,C/G,KH,KW), and an int64 num_batches_tracked scalar per batch norm; loading that file, or one
 * of our checkpoints (its weights or its EMA), gives back the table bit for bit; a file that does
 * not match the model — a tensor missing, extra, of another shape or dtype — fails with one line
 * naming the tensor and the shape expected, and leaves the table untouched; the trainer starts
 * from a file (model.weights). tests/timm_weights.py checks the same files against timm itself.
 */
#include <criterion/criterion.h>
#include <fcntl.h>  // open: capturing stderr
#include <stdio.h>  // snprintf
#include <unistd.h> // dup, dup2, unlink, getpid

#include "run/recipe.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "models/models.h"
#include "train/checkpoint.h"

// a small model with every kind of entry: convs with and without bias (SE), BN, linear,
// projection shortcuts (resnet20: 3 stages, 16/32/64 channels)
typedef struct { Dev d; Params p; Graph g; } Model;

static void model_open(Model *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(dev_open(&m->d, "ref"), 0);
    ModelKnobs k = model_knobs_default();
    k.se_ratio = 0.25f;
    graph_init(&m->g, &m->p);
    model_build(&m->g, "resnet20", &k, 1, 32);
    cr_assert_eq(params_alloc(&m->p, &m->d, 1, true), 0);
    graph_init_params(&m->g, seed);
}

static void model_close(Model *m)
{
    graph_free(&m->g);
    params_free(&m->p);
    dev_close(&m->d);
}

// two of them, with different weights: the tests' fixture (.init, .fini)
static Model A, B;

static void open_two(void)
{
    model_open(&A, 3);
    model_open(&B, 4);
}

static void close_two(void)
{
    model_close(&A);
    model_close(&B);
}

// whether two tables hold the same bits in a role (padding included: it stays zero)
static bool same_role(const Params *a, ParamRole ra, const Params *b, ParamRole rb)
{
    return a->total == b->total && !memcmp(a->buf[ra], b->buf[rb], a->total * sizeof(float));
}

// a private path in /tmp: tests of two checkouts may run at once
static const char *tmp_path(char buf[96], const char *what)
{
    snprintf(buf, 96, "/tmp/repro_weights_%d_%s", (int)getpid(), what);
    return buf;
}

// ---------------------------------------------------------------------------------------------

Test(weights, export_is_timms_layout)
{
    Model m;
    model_open(&m, 3);
    char path[96];
    cr_assert_eq(weights_export(tmp_path(path, "out.safetensors"), &m.p, "resnet20", 42, "init seed 3"), 0);
    StFile f;
    cr_assert_eq(st_read(&f, path), 0);
    cr_expect_str_eq(st_meta(&f, "layout"), "timm");
    cr_expect_str_eq(st_meta(&f, "model"), "resnet20");
    int n_bn = 0;
    for (int i = 0; i < m.p.count; i++) {
        const ParamInfo *pi = &m.p.info[i];
        const StEntry *e = st_find(&f, pi->name);
        cr_assert(e && !strcmp(e->dtype, "F32") && e->ndim == pi->ndim, "%s", pi->name);
        const float *w = params_at(&m.p, ROLE_W, i), *v = (const float *)(f.data + e->begin);
        if (pi->ndim == 4) { // (OC,KH,KW,C) -> (OC,C,KH,KW), element by element
            int oc = pi->dims[0], kh = pi->dims[1], kw = pi->dims[2], c = pi->dims[3];
            cr_expect(e->dims[0] == oc && e->dims[1] == c && e->dims[2] == kh && e->dims[3] == kw, "%s", pi->name);
            for (int o = 0; o < oc; o++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                        for (int ci = 0; ci < c; ci++)
                            cr_assert_eq(v[((o * c + ci) * kh + y) * kw + x], w[((o * kh + y) * kw + x) * c + ci],
                                         "%s[%d,%d,%d,%d]", pi->name, o, ci, y, x);
        } else {
            for (int k = 0; k < pi->ndim; k++) cr_expect_eq(e->dims[k], pi->dims[k], "%s", pi->name);
            cr_expect(!memcmp(v, w, pi->numel * sizeof(float)), "%s", pi->name);
        }
        size_t len = strlen(pi->name);
        if (len > 12 && !strcmp(pi->name + len - 12, ".running_var")) {
            char nbt[128];
            snprintf(nbt, sizeof nbt, "%.*s.num_batches_tracked", (int)(len - 12), pi->name);
            const StEntry *c = st_find(&f, nbt);
            cr_assert(c && !strcmp(c->dtype, "I64") && c->ndim == 0, "%s", nbt);
            cr_expect_eq(*(const int64_t *)(f.data + c->begin), 42);
            n_bn++;
        }
    }
    cr_expect_eq(f.n, m.p.count + n_bn, "%d tensors for %d entries and %d batch norms", f.n, m.p.count, n_bn);
    cr_expect_eq(n_bn, 1 + 9 * 2 + 2, "resnet20: stem, 2 per block, 2 shortcuts");
    st_free(&f);
    unlink(path);
    model_close(&m);
}

Test(weights, export_then_load_is_exact, .init = open_two, .fini = close_two)
{
    Model *a = &A, *b = &B;
    cr_assert(!same_role(&a->p, ROLE_W, &b->p, ROLE_W));
    char path[96];
    cr_assert_eq(weights_export(tmp_path(path, "rt.safetensors"), &a->p, "resnet20", 0, "test"), 0);
    WeightsInfo info;
    cr_assert_eq(weights_load(&b->p, path, false, "resnet20", &info), 0);
    cr_expect(same_role(&a->p, ROLE_W, &b->p, ROLE_W));
    cr_expect(info.layout == WEIGHTS_TIMM && info.tensors == a->p.count && info.step == 0);
    unlink(path);
}

Test(weights, loads_our_checkpoints_and_their_ema, .init = open_two, .fini = close_two)
{
    Model *a = &A, *b = &B;
    for (int i = 0; i < a->p.count; i++) // an average unlike the weights (padding stays zero)
        for (size_t j = 0; j < a->p.info[i].numel; j++)
            params_at(&a->p, ROLE_EMA, i)[j] = params_at(&a->p, ROLE_W, i)[j] * 0.5f + 1;
    TrainResult r = {.epochs = NULL, .n_epochs = 0};
    char path[96];
    cr_assert_eq(ckpt_save(tmp_path(path, "ckpt.safetensors"), &a->p, NULL, OPTIM_SGD, &r, 0, 17, 1, "run", NULL, 1, 64), 0);
    WeightsInfo info;
    cr_assert_eq(weights_load(&b->p, path, false, "resnet20", &info), 0);
    cr_expect(same_role(&a->p, ROLE_W, &b->p, ROLE_W));
    cr_expect(info.layout == WEIGHTS_REPRO && info.step == 17);
    cr_assert_eq(weights_load(&b->p, path, true, "resnet20", &info), 0);
    cr_expect(same_role(&a->p, ROLE_EMA, &b->p, ROLE_W));
    // and on to timm's layout: the checkpoint's step becomes every num_batches_tracked
    char out[96];
    cr_assert_eq(weights_export(tmp_path(out, "ckpt_out.safetensors"), &b->p, "resnet20", info.step, path), 0);
    StFile f;
    cr_assert_eq(st_read(&f, out), 0);
    const StEntry *e = st_find(&f, "bn1.num_batches_tracked");
    cr_assert(e);
    cr_expect_eq(*(const int64_t *)(f.data + e->begin), 17);
    st_free(&f);
    unlink(out);
    unlink(path);
}

// ---------------------------------------------------------------------------------------------
// files that do not match the model

// runs weights_load with stderr captured; returns its code, the message in msg
static int load_capturing(Params *p, const char *path, bool ema, char *msg, size_t cap)
{
    char log[96];
    tmp_path(log, "stderr");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = weights_load(p, path, ema, "resnet20", NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(msg, 1, cap - 1, f) : 0;
    msg[n] = 0;
    if (f) fclose(f);
    unlink(log);
    return rc;
}

typedef enum { EDIT_DROP, EDIT_RESHAPE, EDIT_F64, EDIT_ADD, EDIT_ADD_NBT, EDIT_DROP_NBTS } EditKind;

// copies the timm-layout file src to dst with one change to tensor `name` (or a tensor added)
static void rewrite(const char *src, const char *dst, EditKind kind, const char *name)
{
    StFile f;
    cr_assert_eq(st_read(&f, src), 0);
    StTensor *t = calloc((size_t)f.n + 1, sizeof *t);
    int n = 0;
    static const int64_t one = 1, extra_dims[1] = {3};
    static const double extra[3] = {0};
    int64_t (*dims)[8] = calloc((size_t)f.n, sizeof *dims);
    double *wide = NULL;
    for (int i = 0; i < f.n; i++) {
        const StEntry *e = &f.e[i];
        bool match = !strcmp(e->name, name), nbt = strstr(e->name, "num_batches_tracked") != NULL;
        if ((kind == EDIT_DROP && match) || (kind == EDIT_DROP_NBTS && nbt)) continue;
        memcpy(dims[i], e->dims, sizeof dims[i]);
        StDtype dt = !strcmp(e->dtype, "I64") ? ST_I64 : ST_F32;
        const void *data = f.data + e->begin;
        if (match && kind == EDIT_RESHAPE) dims[i][0] /= 2; // half the rows (the first half is written)
        if (match && kind == EDIT_F64) {
            wide = calloc(st_numel(e), sizeof *wide);
            data = wide;
            dt = ST_F64;
        }
        t[n++] = (StTensor){e->name, e->ndim, dims[i], data, dt};
    }
    if (kind == EDIT_ADD) t[n++] = (StTensor){name, 1, extra_dims, extra, ST_F64};
    if (kind == EDIT_ADD_NBT) t[n++] = (StTensor){name, 0, NULL, &one, ST_I64};
    cr_assert_eq(st_write(dst, t, n, NULL, 0), 0);
    free(wide);
    free(dims);
    free(t);
    st_free(&f);
}

Test(weights, mismatched_files_fail_naming_the_tensor, .init = open_two, .fini = close_two)
{
    Model *a = &A, *b = &B;
    char good[96], bad[96], msg[1024];
    cr_assert_eq(weights_export(tmp_path(good, "good.safetensors"), &a->p, "resnet20", 0, "test"), 0);
    tmp_path(bad, "bad.safetensors");
    struct { EditKind kind; const char *name, *want; } cases[] = {
        {EDIT_DROP, "layer2.0.conv1.weight", "missing tensor layer2.0.conv1.weight (expected F32 (32, 16, 3, 3))"},
        {EDIT_RESHAPE, "fc.weight", "tensor fc.weight is F32 (5, 64); resnet20 expects F32 (10, 64)"},
        {EDIT_F64, "bn1.running_var", "tensor bn1.running_var is F64 (16,); resnet20 expects F32 (16,)"},
        {EDIT_ADD, "head.fc.weight", "extra tensor head.fc.weight (F64 (3,)): resnet20 has no parameter or buffer"},
        {EDIT_ADD_NBT, "fc.num_batches_tracked", "extra tensor fc.num_batches_tracked (I64 ())"},
        {EDIT_RESHAPE, "layer1.0.se.fc1.bias", "tensor layer1.0.se.fc1.bias is F32 (4,); resnet20 expects F32 (8,)"},
    };
    for (int i = 0; i < LEN(cases); i++) {
        rewrite(good, bad, cases[i].kind, cases[i].name);
        cr_expect_eq(load_capturing(&b->p, bad, false, msg, sizeof msg), ERR_FORMAT, "%s", cases[i].want);
        cr_expect(strstr(msg, cases[i].want) && strstr(msg, bad) && !strchr(strchr(msg, '\n') + 1, '\n'),
                  "wanted one line with '%s', got: %s", cases[i].want, msg);
        cr_expect(!same_role(&a->p, ROLE_W, &b->p, ROLE_W), "%s: a failed load changed the table", cases[i].name);
    }
    // several problems: the first in full, then a count (a 1000-class head on a 10-class model)
    rewrite(good, bad, EDIT_DROP, "fc.bias");
    rewrite(bad, bad, EDIT_RESHAPE, "fc.weight");
    cr_expect_eq(load_capturing(&b->p, bad, false, msg, sizeof msg), ERR_FORMAT);
    cr_expect(strstr(msg, "(and 1 more problem)"), "%s", msg);
    // EMA weights from a timm file: there are none
    cr_expect_eq(load_capturing(&b->p, good, true, msg, sizeof msg), ERR_FORMAT);
    cr_expect(strstr(msg, "only our checkpoints hold ema.* tensors"), "%s", msg);
    // num_batches_tracked may be absent: its value is not used
    rewrite(good, bad, EDIT_DROP_NBTS, "");
    cr_expect_eq(weights_load(&b->p, bad, false, "resnet20", NULL), 0);
    cr_expect(same_role(&a->p, ROLE_W, &b->p, ROLE_W));
    unlink(good);
    unlink(bad);
}

// ---------------------------------------------------------------------------------------------
// the trainer starts from a file (model.weights): one step at learning rate 0 keeps the weights

Test(weights, trainer_starts_from_a_file, .timeout = 120)
{
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", F_OK) != 0)
        cr_skip_test("dataset-fashion-mnist not installed");
    Dev d;
    cr_assert_eq(dev_open(&d, "ref"), 0);
    Params p = {0};
    Graph g;
    graph_init(&g, &p);
    ModelKnobs k = model_knobs_default();
    k.in_chans = 1;
    model_build(&g, "resnet20", &k, 1, 28);
    cr_assert_eq(params_alloc(&p, &d, 0, false), 0);
    graph_init_params(&g, 99);
    for (int i = 0; i < p.count; i++) // unlike any seed's init
        for (size_t j = 0; j < p.info[i].numel; j++) params_at(&p, ROLE_W, i)[j] += 0.01f;
    char start[96], ckpt[96];
    cr_assert_eq(weights_export(tmp_path(start, "start.safetensors"), &p, "resnet20", 0, "test"), 0);
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, "recipes/fmnist_resnet20.recipe", 0, NULL), 0);
    c.train_limit = 64, c.eval_limit = 50, c.eval_batch = 50, c.batch = 32, c.epochs = 1, c.max_steps = 1;
    c.sched.lr_peak = 0, c.sched.warmup_lr = 0, c.sched.lr_final = 0;
    snprintf(c.weights, sizeof c.weights, "%s", start);
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", tmp_path(ckpt, "ckpt.safetensors"));
    snprintf(c.run_id, sizeof c.run_id, "w");
    TrainResult r;
    cr_assert_eq(train_run(&c, &r, NULL, NULL), 0);
    train_result_free(&r);
    StFile f;
    cr_assert_eq(st_read(&f, ckpt), 0);
    for (int i = 0; i < p.count; i++) { // conv and linear weights: the step at lr 0 left them
        if (p.info[i].ndim < 2) continue;  // (BN running statistics moved in the train forward)
        const StEntry *e = st_find(&f, p.info[i].name);
        cr_assert(e);
        cr_expect(!memcmp(f.data + e->begin, params_at(&p, ROLE_W, i), p.info[i].numel * 4), "%s", p.info[i].name);
    }
    st_free(&f);
    // a model the file does not fit fails before any step: 3 input channels in the file
    ModelKnobs k3 = model_knobs_default();
    Graph g3;
    Params p3 = {0};
    graph_init(&g3, &p3);
    model_build(&g3, "resnet20", &k3, 1, 28);
    cr_assert_eq(params_alloc(&p3, &d, 0, false), 0);
    cr_assert_eq(weights_export(start, &p3, "resnet20", 0, "test"), 0);
    cr_expect_eq(train_run(&c, &r, NULL, NULL), ERR_FORMAT);
    graph_free(&g3);
    params_free(&p3);
    unlink(start);
    unlink(ckpt);
    graph_free(&g);
    params_free(&p);
    dev_close(&d);
}
