/* engine/core/core.h — errors, shapes and small helpers every engine file uses.
 *
 * Three error tiers (STYLE §8):
 *   1. CHECK(cond, fmt, ...)  broken invariant or programmer error: file:line, the condition and a
 *      message naming the values, then abort(). Always on, never compiled out.
 *   2. Engine functions that touch the world (files, memory, devices) return int: 0 ok, a negative
 *      ERR_* after printing one line with the cause (log_error).
 *   3. Programs: TRY(expr) prints where a tier-2 call failed and exits 1.
 * HD marks functions shared by host C and CUDA device code (the math the CPU tests also check).
 */
#ifndef CORE_H
#define CORE_H

#include <stddef.h>  // size_t
#include <stdint.h>  // uint32_t, uint64_t
#include <stdbool.h> // bool
#include <stdlib.h>  // exit (TRY)

#ifdef __CUDACC__
#define HD __host__ __device__ __forceinline__
#else
#define HD static inline
#endif

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// errors

enum { ERR_OK = 0, ERR_IO = -1, ERR_NOMEM = -2, ERR_FORMAT = -3, ERR_DEVICE = -4, ERR_ARG = -5 };

#ifdef __cplusplus
#define NORETURN [[noreturn]]
#else
#define NORETURN _Noreturn
#endif
NORETURN void die_at(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// the calling thread's log_error lines go into buf (cap bytes, NUL-terminated; lines that do not
// fit are dropped) instead of stderr, until log_capture(NULL, 0): work done in parallel reports
// its errors afterwards, in order (io/shard.c's packing)
void log_capture(char *buf, size_t cap);
const char *err_name(int err);

#define CHECK(cond, ...) \
    do { if (!(cond)) die_at(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)
#define TRY(expr) \
    do { int e_ = (expr); if (e_ < 0) { \
        log_error("%s:%d: %s failed: %s", __FILE__, __LINE__, #expr, err_name(e_)); \
        exit(1); } } while (0)

// checked allocation for host memory owned by the engine (tier 1: out of host memory is fatal)
void *xmalloc(size_t bytes);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t bytes);

// seconds on the monotonic clock (wall time between two calls; progress lines, benchmarks)
double time_now(void);

// ---------------------------------------------------------------------------------------------
// shapes: activations are NHWC, a Shape4 lists them in that order

typedef struct { int n, h, w, c; } Shape4;

static inline size_t shape_numel(Shape4 s) { return (size_t)s.n * s.h * s.w * s.c; }

// 64-bit FNV-1a of n bytes, continuing from h (FNV_SEED to start): run ids, keys, state hashes
#define FNV_SEED 0xcbf29ce484222325ull
static inline uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}
// "(n,h,w,c)" into buf; returns buf so it can sit inside a printf argument list
const char *shape_str(Shape4 s, char buf[64]);
#define SHAPE_STR(s) shape_str((s), (char[64]){0})
// a tensor shape as Python writes it, "(64, 3, 7, 7)", "(5,)", "()" (files' shapes in messages,
// the .npy header); returns buf
const char *dims_str(int ndim, const int64_t *dims, char buf[128]);
#define DIMS_STR(ndim, dims) dims_str((ndim), (dims), (char[128]){0})

#ifdef __cplusplus
}
#endif
#endif
