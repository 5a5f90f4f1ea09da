/* engine/backend/cuda/reduce.cu — per-column sums of NHWC tensors viewed as (rows, C): the bias
 * gradient, the batch statistics and the batch-norm backward sums of our own kernels.
 *
 * Why not one thread per column: a conv's db has rows = N*OH*OW (a million and more) and a few
 * dozen columns, so a thread per column leaves the GPU idle and walks the rows serially. Here a
 * block of 32 x 8 threads covers 32 adjacent columns (a warp reads 128 contiguous bytes of a row)
 * over one chunk of rows; the chunks' partial sums land in scratch and a second kernel adds them
 * in a fixed order. No atomics: the result does not depend on scheduling, so two runs agree
 * bitwise. Sums are double (the batch variance is E[x^2] - mean^2 of them).
 */
#include "cuda.h"

enum { RED_X = 32, RED_Y = 8, RED_MAX_SPLITS = 1024, RED_MIN_ROWS = 256 };

__device__ static double2 colsum_terms(ColSum mode, float a, float b, float mean, float rstd)
{
    double v = a;
    switch (mode) {
    case COLSUM_A_SQ: return make_double2(v, v * v);
    case COLSUM_DY_XHAT: return make_double2(v, v * (((double)b - mean) * rstd));
    default: return make_double2(v, 0.0);
    }
}

// block (RED_X, RED_Y), grid (column tiles, splits): partial[(split * cols + c)] for this chunk
__global__ void colsum_partial_kernel(ColSum mode, double2 *partial, size_t rows, int cols,
                                      size_t chunk, const float *a, const float *b,
                                      const float *mean, const float *rstd)
{
    __shared__ double2 sh[RED_Y][RED_X];
    int c = blockIdx.x * RED_X + threadIdx.x;
    size_t r0 = blockIdx.y * chunk, r1 = MIN(r0 + chunk, rows);
    double2 acc = make_double2(0.0, 0.0);
    if (c < cols) {
        float mu = mean ? mean[c] : 0.0f, rs = rstd ? rstd[c] : 0.0f;
        for (size_t r = r0 + threadIdx.y; r < r1; r += RED_Y) {
            size_t i = r * cols + c;
            double2 t = colsum_terms(mode, a[i], b ? b[i] : 0.0f, mu, rs);
            acc.x += t.x;
            acc.y += t.y;
        }
    }
    sh[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        for (int k = 1; k < RED_Y; k++) {
            acc.x += sh[k][threadIdx.x].x;
            acc.y += sh[k][threadIdx.x].y;
        }
        partial[(size_t)blockIdx.y * cols + c] = acc;
    }
}

// one thread per column: the splits' partial sums in order
__global__ void colsum_final_kernel(double *s, const double2 *partial, int splits, int cols)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    double x = 0, y = 0;
    for (int k = 0; k < splits; k++) {
        x += partial[(size_t)k * cols + c].x;
        y += partial[(size_t)k * cols + c].y;
    }
    s[c] = x;
    s[cols + c] = y;
}

const double *cuda_colsum(Dev *d, ColSum mode, size_t rows, int cols, const float *a,
                          const float *b, const float *mean, const float *rstd)
{
    // the split depends on the shape only (never on the device): the same sums everywhere
    int tiles = (cols + RED_X - 1) / RED_X;
    size_t by_rows = MAX(rows / RED_MIN_ROWS, (size_t)1);
    int splits = (int)MIN(MIN((size_t)MAX(RED_MAX_SPLITS / tiles, 1), by_rows), (size_t)65535);
    size_t chunk = (rows + splits - 1) / splits;
    double *s = (double *)cuda_scratch(d, SCR_RED, (2 * (size_t)cols + (size_t)splits * cols * 2) *
                                                       sizeof(double));
    double2 *partial = (double2 *)(s + 2 * (size_t)cols); // 16-byte aligned: 2*cols doubles before
    colsum_partial_kernel<<<dim3((unsigned)tiles, (unsigned)splits), dim3(RED_X, RED_Y)>>>(
        mode, partial, rows, cols, chunk, a, b, mean, rstd);
    LAUNCH_CHECK();
    colsum_final_kernel<<<cuda_blocks((size_t)cols), CUDA_THREADS>>>(s, partial, splits, cols);
    LAUNCH_CHECK();
    return s;
}

// ---------------------------------------------------------------------------------------------
// bias gradient: db (cols) += sum over rows of dy (rows, cols)

__global__ void bias_grad_finish_kernel(float *db, const double *s, int cols)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < cols) db[c] += (float)s[c];
}

void cuda_bias_grad(Dev *d, float *db, const float *dy, size_t rows, int cols)
{
    const double *s = cuda_colsum(d, COLSUM_A, rows, cols, dy, NULL, NULL, NULL);
    bias_grad_finish_kernel<<<cuda_blocks((size_t)cols), CUDA_THREADS>>>(db, s, cols);
    LAUNCH_CHECK();
}
