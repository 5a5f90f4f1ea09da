/* engine/train/discriminator.c — MEAL V2's discriminator and its BCE loss (discriminator.h).
 *
 * Built from graph.h's g_linear for the declaration (names, shapes) and graph_init_params for
 * PyTorch's default initialization; run layer by layer with the op table (the graph executor
 * computes no gradient for its input, and the student needs d L_D / d z_S).
 */
#include "discriminator.h"

#include <string.h> // memset

#include "../core/rng.h" // rng_key: the discriminator's own init stream
#include "../nn/graph.h" // g_linear, graph_init_params

static float *zeroed(Dev *d, size_t n)
{
    float *p = dev_alloc(d, n * sizeof(float));
    dev_memset0(d, p, n * sizeof(float));
    return p;
}

int disc_init(Disc *D, Dev *d, int classes, int r, int rows, int n_slots, uint64_t seed)
{
    memset(D, 0, sizeof *D);
    int w[4] = {classes, classes / r, classes / r / r, 2};
    CHECK(r >= 1 && w[2] >= 1 && rows >= 1, "disc_init: %d classes with reduction %d leave widths %d, %d "
          "(each must be >= 1), rows %d", classes, r, w[1], w[2], rows);
    memcpy(D->w, w, sizeof w);
    D->rows = rows;
    static const char *const names[3] = {"distill.disc.conv1", "distill.disc.conv2", "distill.disc.conv3"};
    Graph g;
    graph_init(&g, &D->p);
    int x = g_input(&g, (Shape4){rows, 1, 1, classes});
    for (int l = 0; l < 3; l++) {
        x = g_linear(&g, names[l], x, w[l + 1]);
        D->par[l][0] = g.node[g.n_node - 1].par[0];
        D->par[l][1] = g.node[g.n_node - 1].par[1];
    }
    int rc = params_alloc(&D->p, d, n_slots, false);
    if (!rc) graph_init_params(&g, rng_key(seed, 0xD15C)); // not the student's stream
    graph_free(&g);
    if (rc) return rc;
    for (int l = 0; l < 3; l++) {
        size_t n = (size_t)rows * w[l + 1];
        D->pre[l] = zeroed(d, n), D->post[l] = zeroed(d, n);
        D->dpre[l] = zeroed(d, n), D->dpost[l] = zeroed(d, n);
    }
    size_t r2 = 2 * (size_t)rows; // each output is a row of the two-class cross-entropy
    D->pad = zeroed(d, 2 * r2), D->prob = zeroed(d, 2 * r2), D->dpad = zeroed(d, 2 * r2);
    D->bce = zeroed(d, r2), D->dl = zeroed(d, r2);
    D->host = xcalloc(2 * r2, sizeof(float));
    // output j of a student row has target [1, 0]_j, of a teacher row [0, 1]_j; as two-class rows
    // [y, 1 - y]: the student half's rows alternate [1, 0], [0, 1], the teacher half's the reverse
    for (int h = 0; h < 2; h++) {
        for (size_t i = 0; i < r2; i++) {
            float y = (float)((i % 2 == 0) == (h == 0));
            D->host[2 * i] = y, D->host[2 * i + 1] = 1 - y;
        }
        D->target[h] = zeroed(d, 2 * r2);
        dev_upload(d, D->target[h], D->host, 2 * r2 * sizeof(float));
    }
    return 0;
}

void disc_free(Disc *D)
{
    Dev *d = D->p.dev;
    if (!d) return;
    float **all[] = {&D->pad, &D->prob, &D->dpad, &D->bce, &D->dl, &D->target[0], &D->target[1]};
    for (int l = 0; l < 3; l++) {
        dev_free(d, D->pre[l]), dev_free(d, D->post[l]);
        dev_free(d, D->dpre[l]), dev_free(d, D->dpost[l]);
    }
    for (int i = 0; i < LEN(all); i++) dev_free(d, *all[i]);
    free(D->host);
    params_free(&D->p);
    memset(D, 0, sizeof *D);
}

// one half (h = 0: the student's rows, 1: the teachers'): forward, BCE, backward; returns the sum
// of its 2n BCE terms, each weighted 1/(4n) in L_D (the mean over both halves)
static double half(Disc *D, int h, int n, const float *x, float *dx)
{
    Dev *d = D->p.dev;
    const float *in = x;
    for (int l = 0; l < 3; l++) {
        Linear op = {n, D->w[l], D->w[l + 1], true};
        linear_forward(d, op, D->pre[l], in, params_at(&D->p, ROLE_W, D->par[l][0]),
                       params_at(&D->p, ROLE_W, D->par[l][1]));
        act_forward(d, (Act){(size_t)n * D->w[l + 1], ACT_RELU}, D->post[l], D->pre[l]);
        in = D->post[l];
    }
    int r2 = 2 * n;
    ChanPad pad = {{r2, 1, 1, 1}, 0, 1, false}; // output x -> row [x, 0]
    Xent bce = {r2, 2, 0};
    chanpad_forward(d, pad, D->pad, D->post[2]);
    xent_forward(d, bce, D->bce, D->prob, D->pad, NULL, D->target[h]);
    for (int i = 0; i < r2; i++) D->host[i] = 1.0f / (2 * r2);
    dev_upload(d, D->dl, D->host, (size_t)r2 * sizeof(float));
    xent_backward(d, bce, D->dpad, D->dl, D->prob, NULL, D->target[h], SET_0);
    chanpad_backward(d, pad, D->dpost[2], D->dpad, SET_0);
    for (int l = 2; l >= 0; l--) {
        Linear op = {n, D->w[l], D->w[l + 1], true};
        act_backward(d, (Act){(size_t)n * D->w[l + 1], ACT_RELU}, D->dpre[l], D->dpost[l], D->pre[l], SET_0);
        float *dxl = l ? D->dpost[l - 1] : dx; // the first layer's: into the caller's (accumulating)
        linear_backward(d, op, dxl, params_at(&D->p, ROLE_GRAD, D->par[l][0]),
                        params_at(&D->p, ROLE_GRAD, D->par[l][1]), D->dpre[l], l ? D->post[l - 1] : x,
                        params_at(&D->p, ROLE_W, D->par[l][0]), l ? SET_0 : 0);
    }
    dev_download(d, D->host, D->bce, (size_t)r2 * sizeof(float));
    double s = 0;
    for (int i = 0; i < r2; i++) s += D->host[i];
    return s;
}

double disc_loss(Disc *D, int n, const float *zs, const float *zt, float *dzs)
{
    CHECK(n >= 1 && n <= D->rows, "disc_loss: %d rows for a discriminator planned for at most %d", n, D->rows);
    double s = half(D, 0, n, zs, dzs) + half(D, 1, n, zt, NULL);
    return s / (4.0 * n);
}
