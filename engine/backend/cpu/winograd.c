/* engine/backend/cpu/winograd.c — own Winograd F(4x4, 3x3) convolution for NHWC activations with
 * channel counts in multiples of 16: forward, backward data and backward weights, each one fused
 * pass over its tiles.
 *
 * Why beside oneDNN's Winograd (conv2d.c): oneDNN 2.6 writes the transformed tiles of the whole
 * batch to memory between its three stages (36/16 = 2.25 times the activations, twice), and at
 * ResNet-20's 16 channels that traffic, not arithmetic, is its cost. Here a block of T tiles goes
 * through all three stages (input transform, the 36 small matrix products, output transform)
 * while it sits in L1/L2, so each pass reads its inputs and writes its result once. Backward data
 * is the forward pass over dy with the kernel flipped and its channel axes swapped, and it adds
 * into dx in the same pass (no scratch, no accumulation pass); backward weights sums the products
 * of transformed x and dy tiles per thread in the transformed domain and maps the sums back once.
 *
 * Lavin & Gray (2016), F(4x4,3x3), with the points 0, 1, -1, 1/2, -2 and infinity (Barabasz et al.
 * 2020): ResNet-20's shapes at batch 128 differ from direct convolution by 1.5-3.3e-6 of the largest
 * value, against 3.8-7.7e-6 with the usual 0, +-1, +-2 and 0.9-1.9e-6 for oneDNN's Winograd):
 *   y = A^T [(G g G^T) . (B^T d B)] A,  dg = G^T [(A dy A^T) . (B^T d B)] G  (summed over tiles)
 * The vector type is 16 floats (one zmm with AVX-512; GCC splits it elsewhere), always 16
 * channels of one pixel, so every load and store is a contiguous NHWC row.
 * Deterministic at any thread count: forward and backward data compute each output in one fixed
 * order; backward weights sums fixed groups of tile blocks apart and adds the groups in order.
 */
// -std=c11 keeps a*b+c as two roundings; this file's products and sums fuse (FMA), as every
// BLAS-like kernel does: half the instructions in the tile products
#pragma GCC optimize("fp-contract=fast")
// a build without -march=native (make OPT=-O0) passes the 64-byte vectors between these static
// functions in memory, and GCC warns that the ABI differs from an AVX-512 build's: nothing here
// crosses a file, so the difference cannot matter
#pragma GCC diagnostic ignored "-Wpsabi"

#include <omp.h>    // omp_get_max_threads, omp_get_thread_num, omp_get_num_threads
#include <string.h> // memset

#include "vmath.h" // act_v: the forward's fused activation


enum { TP = 36 }; // positions of a 6x6 transformed tile

// ---------------------------------------------------------------------------------------------
// the 1-D transforms (apply to columns, then rows)

// B^T: 6 -> 6 (input tiles)
static inline void bt6(v16 *o, v16 i0, v16 i1, v16 i2, v16 i3, v16 i4, v16 i5)
{
    o[0] = i0 - 1.5f * i1 - 2.0f * i2 + 1.5f * i3 + i4;
    o[1] = 0.5f * i2 - i1 + 2.5f * i3 + i4;
    o[2] = i1 - 2.5f * i2 + 0.5f * i3 + i4;
    o[3] = 2.0f * (i3 - i1) - i2 + i4;
    o[4] = 0.5f * (i1 - i3) - i2 + i4;
    o[5] = i1 - 1.5f * i2 - 2.0f * i3 + 1.5f * i4 + i5;
}

// A^T: 6 -> 4 (output tiles)
static inline void at6(v16 *o, v16 i0, v16 i1, v16 i2, v16 i3, v16 i4, v16 i5)
{
    v16 p12 = i1 + i2, m12 = i1 - i2;
    o[0] = i0 + p12 + i3 + i4;
    o[1] = m12 + 0.5f * i3 - 2.0f * i4;
    o[2] = p12 + 0.25f * i3 + 4.0f * i4;
    o[3] = m12 + 0.125f * i3 - 8.0f * i4 + i5;
}

// A: 4 -> 6 (gradient tiles of the output, for the weight gradient)
static inline void a4(v16 *o, v16 i0, v16 i1, v16 i2, v16 i3)
{
    v16 p02 = i0 + i2, p13 = i1 + i3;
    o[0] = i0;
    o[1] = p02 + p13;
    o[2] = p02 - p13;
    o[3] = i0 + 0.5f * i1 + 0.25f * i2 + 0.125f * i3;
    o[4] = i0 - 2.0f * i1 + 4.0f * i2 - 8.0f * i3;
    o[5] = i3;
}

// G: 3 -> 6 (kernels) and G^T: 6 -> 3 (kernel gradients back to 3x3), 16 kernels at a time
// (products with the reciprocals: a division costs ten times as much)
static const float R3 = 1.0f / 3, R15 = 1.0f / 15;

static inline void g3(v16 *o, v16 i0, v16 i1, v16 i2)
{
    o[0] = i0;
    o[1] = (i0 + i1 + i2) * R3;
    o[2] = (i1 - i0 - i2) * R3;
    o[3] = -(16.0f * i0 + 8.0f * i1 + 4.0f * i2) * R15;
    o[4] = (i0 - 2.0f * i1 + 4.0f * i2) * R15;
    o[5] = i2;
}

static inline void gt6(v16 *o, v16 i0, v16 i1, v16 i2, v16 i3, v16 i4, v16 i5)
{
    v16 m12 = i1 - i2;
    o[0] = i0 + m12 * R3 + (i4 - 16.0f * i3) * R15;
    o[1] = (i1 + i2) * R3 - (8.0f * i3 + 2.0f * i4) * R15;
    o[2] = m12 * R3 + (4.0f * (i4 - i3)) * R15 + i5;
}

// ---------------------------------------------------------------------------------------------
// geometry: the output is tiled 4x4; tile t of the batch is (n, ty, tx)

typedef struct {
    int n, h, w, c;   // input
    int oh, ow, oc;   // output
    int pad;          // the input row of output row r's first tap: 4*ty - pad
    int th, tw;       // tiles per image, rows and columns
    long tiles;
    const float *bias; // forward: y = act(conv + bias) in the output transform (evaluation's
    ActKind act;       // folded batch norm); NULL and ACT_NONE otherwise
} Geo;

static Geo geo(int n, int h, int w, int c, int oh, int ow, int oc, int pad)
{
    Geo g = {n, h, w, c, oh, ow, oc, pad, (oh + 3) / 4, (ow + 3) / 4, 0, NULL, ACT_NONE};
    g.tiles = (long)n * g.th * g.tw;
    return g;
}

// tiles per block: the block's transformed tiles (T x 36 x max(C, OC) floats) stay near 128 KiB
static int block_tiles(const Geo *g)
{
    int cmax = g->c > g->oc ? g->c : g->oc;
    int t = 131072 / (TP * 4 * cmax); // 32 KiB measured the same
    t = t / 4 * 4;
    return t < 4 ? 4 : t > 64 ? 64 : t;
}

// tile t's image and its first output row and column
static inline void tile_at(const Geo *g, long t, int *n, int *r0, int *c0)
{
    long per_image = (long)g->th * g->tw, k = t % per_image;
    *n = (int)(t / per_image);
    *r0 = 4 * (int)(k / g->tw);
    *c0 = 4 * (int)(k % g->tw);
}

#define LD(p) (*(const v16 *)(p))

// B^T d B of one tile for channels [c0, c0+16) into v[pos * stride]. Columns are transformed as
// they are loaded (straight from x for a tile inside the image, through a zero-padded copy at an
// edge), then rows as they are stored.
static void input_tile(const Geo *g, const float *x, long t, int c0, float *v, size_t stride)
{
    int n, oy, ox;
    tile_at(g, t, &n, &oy, &ox);
    int y0 = oy - g->pad, x0 = ox - g->pad;
    size_t cs = (size_t)g->c, rs = (size_t)g->w * cs;
    const float *base = x + (size_t)n * g->h * rs + c0;
    v16 r[6][6], o[6];
    if (y0 >= 0 && y0 + 6 <= g->h && x0 >= 0 && x0 + 6 <= g->w) {
        const float *p = base + (size_t)y0 * rs + (size_t)x0 * cs;
        for (int j = 0; j < 6; j++, p += cs) {
            bt6(o, LD(p), LD(p + rs), LD(p + 2 * rs), LD(p + 3 * rs), LD(p + 4 * rs), LD(p + 5 * rs));
            for (int i = 0; i < 6; i++) r[i][j] = o[i];
        }
    } else {
        v16 d[6][6];
        const v16 zero = {0};
        for (int i = 0; i < 6; i++) {
            int yy = y0 + i;
            for (int j = 0; j < 6; j++) {
                int xx = x0 + j;
                d[i][j] = yy >= 0 && yy < g->h && xx >= 0 && xx < g->w ? LD(base + (size_t)yy * rs + (size_t)xx * cs) : zero;
            }
        }
        for (int j = 0; j < 6; j++) {
            bt6(o, d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]);
            for (int i = 0; i < 6; i++) r[i][j] = o[i];
        }
    }
    for (int i = 0; i < 6; i++) {
        bt6(o, r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5]);
        for (int j = 0; j < 6; j++) *(v16 *)(v + (size_t)(i * 6 + j) * stride) = o[j];
    }
}

// A dY A^T of one tile's output gradient for channels [o0, o0+16) into z[pos * stride]
static void grad_tile(const Geo *g, const float *dy, long t, int o0, float *z, size_t stride)
{
    int n, oy, ox;
    tile_at(g, t, &n, &oy, &ox);
    v16 d[4][4], r[6][4];
    const v16 zero = {0};
    for (int i = 0; i < 4; i++) {
        int yy = oy + i;
        const float *row = dy + (((size_t)n * g->oh + (yy < g->oh ? yy : 0)) * g->ow) * g->oc + o0;
        for (int j = 0; j < 4; j++) {
            int xx = ox + j;
            d[i][j] = yy < g->oh && xx < g->ow ? LD(row + (size_t)xx * g->oc) : zero;
        }
    }
    for (int j = 0; j < 4; j++) {
        v16 o[6];
        a4(o, d[0][j], d[1][j], d[2][j], d[3][j]);
        for (int i = 0; i < 6; i++) r[i][j] = o[i];
    }
    for (int i = 0; i < 6; i++) {
        v16 o[6];
        a4(o, r[i][0], r[i][1], r[i][2], r[i][3]);
        for (int j = 0; j < 6; j++) *(v16 *)(z + (size_t)(i * 6 + j) * stride) = o[j];
    }
}

// A^T M A of one tile for output channels [o0, o0+16), written or added into y
static void output_tile(const Geo *g, float *y, long t, int o0, const float *m, size_t stride, bool add)
{
    int n, oy, ox;
    tile_at(g, t, &n, &oy, &ox);
    v16 r[4][6], bias = g->bias ? LD(g->bias + o0) : V16(0.0f);
    for (int j = 0; j < 6; j++) {
        v16 o[4];
        const float *c = m + (size_t)j * stride;
        at6(o, LD(c), LD(c + 6 * stride), LD(c + 12 * stride),
            LD(c + 18 * stride), LD(c + 24 * stride), LD(c + 30 * stride));
        for (int i = 0; i < 4; i++) r[i][j] = o[i];
    }
    for (int i = 0; i < 4; i++) {
        int yy = oy + i;
        if (yy >= g->oh) break;
        v16 o[4];
        at6(o, r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5]);
        float *row = y + (((size_t)n * g->oh + yy) * g->ow) * g->oc + o0;
        for (int j = 0; j < 4; j++) {
            int xx = ox + j;
            if (xx >= g->ow) break;
            v16 *p = (v16 *)(row + (size_t)xx * g->oc);
            if (add) *p += o[j];
            else if (g->bias || g->act) *p = act_v(g->act, o[j] + bias);
            else *p = o[j];
        }
    }
}

// the layout of a block's transformed tiles: element (tile k, position p, channel c) of v at
// k*VT + p*VP + c, of m (or z, the gradient's) at k*MT + p*MP + c
// (position-major: the 36 products stream through one position's rows; tile-major measured 35%
// slower on the forward pass)
#define STRIDES(T, C, OC) const long VT = (C), VP = (long)(T) * (C), MT = (OC), MP = (long)(T) * (OC)

// the memory tiles [t0, t1) read from an input (in: rows - pad .. + 6 of h) or write to an
// output (4 rows of oh), one contiguous range of NHWC rows, prefetched while the block before
// it computes: in a training step the activations come from DRAM, and the tile order is not a
// stream the hardware prefetcher runs far enough ahead of (ResNet-20's convolutions in a training
// step: 5-10% faster in two of three paired profiles, the same in the third)
static void prefetch_tiles(const Geo *g, const float *a, long t0, long t1, bool in, bool write)
{
    if (t0 >= t1) return;
    int n0, r0, c0, n1, r1, c1;
    tile_at(g, t0, &n0, &r0, &c0);
    tile_at(g, t1 - 1, &n1, &r1, &c1);
    int h = in ? g->h : g->oh;
    size_t row = (size_t)(in ? g->w * g->c : g->ow * g->oc);
    int lo = in ? r0 - g->pad : r0, hi = in ? r1 - g->pad + 6 : r1 + 4;
    lo = lo < 0 ? 0 : lo;
    hi = hi > h ? h : hi;
    const char *p = (const char *)(a + ((size_t)n0 * h + lo) * row), *e = (const char *)(a + ((size_t)n1 * h + hi) * row);
    if (write)
        for (; p < e; p += 64) __builtin_prefetch(p, 1, 3);
    else
        for (; p < e; p += 64) __builtin_prefetch(p, 0, 3);
}

// ---------------------------------------------------------------------------------------------
// forward (and backward data): y (+)= conv(x, U) with U[pos][c][oc] the transformed kernel

static void wino_conv(const Geo *g, const float *x, const float *u, float *y, bool add, float *work)
{
    int T = block_tiles(g), C = g->c, OC = g->oc;
    long blocks = (g->tiles + T - 1) / T;
    size_t per_thread = (size_t)T * TP * (C + OC);
    STRIDES(T, C, OC);
#pragma omp parallel
    {
        float *v = work + per_thread * omp_get_thread_num(), *m = v + (size_t)T * TP * C;
#pragma omp for schedule(static)
        for (long b = 0; b < blocks; b++) {
            long t0 = b * T, nt = g->tiles - t0 < T ? g->tiles - t0 : T;
            long t2 = t0 + T + nt < g->tiles ? t0 + T + nt : g->tiles; // the next block's tiles
            prefetch_tiles(g, x, t0 + T, t2, true, false);
            prefetch_tiles(g, y, t0 + T, t2, false, true);
            // v[pos][t][c]: the block's transformed tiles, a row of C per tile and position
            for (long k = 0; k < nt; k++)
                for (int c0 = 0; c0 < C; c0 += 16) input_tile(g, x, t0 + k, c0, v + k * VT + c0, VP);
            for (long k = nt; k < T; k++) // a short last block: zero tiles, computed, not stored
                for (int p = 0; p < TP; p++) memset(v + k * VT + p * VP, 0, (size_t)C * sizeof(float));
            // m[pos][t][oc] = sum_c v[pos][t][c] u[pos][c][oc], four tiles at a time
            for (int p = 0; p < TP; p++) {
                const float *vp = v + p * VP, *up = u + (size_t)p * C * OC;
                float *mp = m + p * MP;
                for (int o0 = 0; o0 < OC; o0 += 16)
                    for (int k = 0; k < T; k += 4) {
                        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                        const float *v0 = vp + k * VT;
                        for (int c = 0; c < C; c++) {
                            v16 w = LD(up + (size_t)c * OC + o0);
                            a0 += v0[c] * w;
                            a1 += v0[VT + c] * w;
                            a2 += v0[2 * VT + c] * w;
                            a3 += v0[3 * VT + c] * w;
                        }
                        *(v16 *)(mp + k * MT + o0) = a0;
                        *(v16 *)(mp + (k + 1) * MT + o0) = a1;
                        *(v16 *)(mp + (k + 2) * MT + o0) = a2;
                        *(v16 *)(mp + (k + 3) * MT + o0) = a3;
                    }
            }
            for (long k = 0; k < nt; k++)
                for (int o0 = 0; o0 < OC; o0 += 16) output_tile(g, y, t0 + k, o0, m + k * MT + o0, MP, add);
        }
    }
}

// U = G k G^T for 16 kernels k[a][b] (vectors), stored at u + pos * pstride
static inline void kernel_tile(v16 k[3][3], float *u, size_t pstride)
{
    v16 r[6][3], o[6];
    for (int b = 0; b < 3; b++) {
        g3(o, k[0][b], k[1][b], k[2][b]);
        for (int i = 0; i < 6; i++) r[i][b] = o[i];
    }
    for (int i = 0; i < 6; i++) {
        g3(o, r[i][0], r[i][1], r[i][2]);
        for (int j = 0; j < 6; j++) *(v16 *)(u + (size_t)(i * 6 + j) * pstride) = o[j];
    }
}

// U[pos][c][oc] from weights w (OC,3,3,C), through wt[a][b][c][oc] (w with its channel axes
// swapped, so that 16 output channels load as one vector); flip: the backward-data kernel
// (channels swapped, taps reversed), U[pos][oc][c] from w[oc][2-a][2-b][c], which loads as is
static void kernel_transform(const float *w, int oc_n, int c_n, float *u, float *wt, bool flip)
{
    size_t pstride = (size_t)oc_n * c_n;
    if (flip) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int o = 0; o < oc_n; o++)
            for (int c0 = 0; c0 < c_n; c0 += 16) {
                v16 k[3][3];
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) k[a][b] = LD(w + (((size_t)o * 3 + 2 - a) * 3 + 2 - b) * c_n + c0);
                kernel_tile(k, u + (size_t)o * c_n + c0, pstride);
            }
        return;
    }
    for (int o = 0; o < oc_n; o++)
        for (int ab = 0; ab < 9; ab++)
            for (int c = 0; c < c_n; c++) wt[((size_t)ab * c_n + c) * oc_n + o] = w[((size_t)o * 9 + ab) * c_n + c];
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int o0 = 0; o0 < oc_n; o0 += 16) {
            v16 k[3][3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) k[a][b] = LD(wt + ((size_t)(a * 3 + b) * c_n + c) * oc_n + o0);
            kernel_tile(k, u + (size_t)c * oc_n + o0, pstride);
        }
}

static size_t conv_work(const Geo *g)
{
    return (size_t)omp_get_max_threads() * block_tiles(g) * TP * (g->c + g->oc);
}

// ---------------------------------------------------------------------------------------------
// the entry points (conv2d.c decides when they serve)

// 3x3, stride 1, no dilation or groups, channels in whole vectors
static bool wino_geometry(Conv2d o)
{
    return o.kh == 3 && o.kw == 3 && o.sh == 1 && o.sw == 1 && o.dh == 1 && o.dw == 1 && o.g == 1 &&
           o.x.c % 16 == 0 && o.oc % 16 == 0;
}

bool cpu_wino_shape(Conv2d o) { return wino_geometry(o) && !o.bias && o.act == ACT_NONE; }

// ours: the Winograd geometry with a symmetric padding <= 2 (backward data pads by 2 - pad) and
// at most 64 channels each side (the transformed kernel, 36 C OC floats, stays within L2); the
// forward takes a bias and a fused activation (evaluation, batch norm folded in); conv2d.c adds
// the bias gradient beside the backward passes
bool cpu_wino_applies(Conv2d o)
{
    return wino_geometry(o) && o.ph == o.pw && o.ph <= 2 && o.x.c <= 64 && o.oc <= 64;
}

void cpu_wino_forward(Dev *d, Conv2d o, float *y, const float *x, const float *w, const float *b)
{
    Shape4 ys = conv2d_out(o);
    Geo g = geo(o.x.n, o.x.h, o.x.w, o.x.c, ys.h, ys.w, o.oc, o.ph);
    g.bias = o.bias ? b : NULL;
    g.act = o.act;
    float *u = cpu_scratch(d, 3, (size_t)TP * o.x.c * o.oc), *wt = cpu_scratch(d, 5, (size_t)9 * o.x.c * o.oc);
    kernel_transform(w, o.oc, o.x.c, u, wt, false);
    wino_conv(&g, x, u, y, false, cpu_scratch(d, 4, conv_work(&g)));
}

// dx (+)= the correlation of dy (padded by 2 - pad) with the flipped, transposed kernel
void cpu_wino_backward_data(Dev *d, Conv2d o, float *dx, const float *dy, const float *w, bool set)
{
    Shape4 ys = conv2d_out(o);
    Geo g = geo(o.x.n, ys.h, ys.w, o.oc, o.x.h, o.x.w, o.x.c, 2 - o.ph);
    float *u = cpu_scratch(d, 3, (size_t)TP * o.x.c * o.oc);
    kernel_transform(w, o.oc, o.x.c, u, NULL, true);
    wino_conv(&g, dy, u, dx, !set, cpu_scratch(d, 4, conv_work(&g)));
}

// backward weights, one block b of T tiles: s[pos][c][oc] += its products (v, z: the block's
// transformed x and dy tiles, scratch)
static void block_weight_sums(const Geo *g, const float *x, const float *dy, long b, int T, int C, int OC,
                              float *v, float *z, float *s)
{
    STRIDES(T, C, OC);
    long t0 = b * T, nt = g->tiles - t0 < T ? g->tiles - t0 : T;
    long t2 = t0 + T + nt < g->tiles ? t0 + T + nt : g->tiles;
    prefetch_tiles(g, x, t0 + T, t2, true, false);
    prefetch_tiles(g, dy, t0 + T, t2, false, false);
    for (long k = 0; k < nt; k++) {
        for (int c0 = 0; c0 < C; c0 += 16) input_tile(g, x, t0 + k, c0, v + k * VT + c0, VP);
        for (int o0 = 0; o0 < OC; o0 += 16) grad_tile(g, dy, t0 + k, o0, z + k * MT + o0, MP);
    }
    // s[pos][c][oc] += sum_t v[pos][t][c] z[pos][t][oc], four channels c at a time
    for (int p = 0; p < TP; p++) {
        const float *vp = v + p * VP, *zp = z + p * MP;
        float *sp = s + (size_t)p * C * OC;
        for (int o0 = 0; o0 < OC; o0 += 16)
            for (int c = 0; c < C; c += 4) {
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (long k = 0; k < nt; k++) {
                    v16 zz = LD(zp + k * MT + o0);
                    const float *vk = vp + k * VT + c;
                    a0 += vk[0] * zz;
                    a1 += vk[1] * zz;
                    a2 += vk[2] * zz;
                    a3 += vk[3] * zz;
                }
                *(v16 *)(sp + (size_t)c * OC + o0) += a0;
                *(v16 *)(sp + (size_t)(c + 1) * OC + o0) += a1;
                *(v16 *)(sp + (size_t)(c + 2) * OC + o0) += a2;
                *(v16 *)(sp + (size_t)(c + 3) * OC + o0) += a3;
            }
    }
}

// dw += sum over tiles of G^T [(A dY A^T) . (B^T d B)] G
void cpu_wino_backward_weights(Dev *d, Conv2d o, float *dw, const float *dy, const float *x)
{
    Shape4 ys = conv2d_out(o);
    Geo g = geo(o.x.n, o.x.h, o.x.w, o.x.c, ys.h, ys.w, o.oc, o.ph);
    int T = block_tiles(&g), C = o.x.c, OC = o.oc, nth = omp_get_max_threads();
    long blocks = (g.tiles + T - 1) / T;
    // the blocks in ng fixed groups, each summed apart by whichever thread takes it, the groups
    // added in group order: the same bits at any thread count
    int ng = blocks < CPU_CHUNKS ? (int)blocks : CPU_CHUNKS;
    size_t sums = (size_t)TP * C * OC, per_thread = (size_t)T * TP * (C + OC);
    float *s_all = cpu_scratch(d, 3, sums * ng), *work = cpu_scratch(d, 4, per_thread * nth);
#pragma omp parallel
    {
        int me = omp_get_thread_num();
        float *v = work + per_thread * me, *z = v + (size_t)T * TP * C;
#pragma omp for schedule(static)
        for (int grp = 0; grp < ng; grp++) {
            float *s = s_all + sums * grp;
            memset(s, 0, sums * sizeof(float));
            for (long b = blocks * grp / ng; b < blocks * (grp + 1) / ng; b++)
                block_weight_sums(&g, x, dy, b, T, C, OC, v, z, s);
        }
    }
    // the groups added in order; then back to 3x3 (G^T S G, 16 output channels a vector), added
    // into dw
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int o0 = 0; o0 < OC; o0 += 16) {
            v16 q[TP], r[6][3], o3[3];
            for (int p = 0; p < TP; p++) {
                const float *sp = s_all + ((size_t)p * C + c) * OC + o0;
                q[p] = LD(sp);
                for (int t = 1; t < ng; t++) q[p] += LD(sp + sums * t);
            }
            for (int i = 0; i < 6; i++) {
                gt6(o3, q[6 * i], q[6 * i + 1], q[6 * i + 2], q[6 * i + 3], q[6 * i + 4], q[6 * i + 5]);
                for (int b = 0; b < 3; b++) r[i][b] = o3[b];
            }
            for (int b = 0; b < 3; b++) {
                gt6(o3, r[0][b], r[1][b], r[2][b], r[3][b], r[4][b], r[5][b]);
                for (int a3 = 0; a3 < 3; a3++)
                    for (int l = 0; l < 16; l++) dw[(((size_t)(o0 + l) * 3 + a3) * 3 + b) * C + c] += o3[a3][l];
            }
        }
}
