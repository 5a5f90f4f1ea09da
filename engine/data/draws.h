/* engine/data/draws.h — the random draws of one augmentation stage for one sample.
 *
 * A stage (crop, RandAugment, erasing, mixing ...) reads its k-th uniform of sample `index` in
 * epoch e as rng_uniform(rng_key(seed, purpose), e, index * cap + k): every stage has its own
 * purpose tag (its own stream) and a fixed budget of cap draws per sample, so a draw is a pure
 * function of (seed, epoch, sample index, purpose, k) and stages never shift each other's draws.
 * Stages give each decision a fixed slot where they can (RandAugment's layer j always starts at
 * draw 8 j), so the draws of one decision do not depend on the branches taken before it.
 * `given` replaces the stream by a list of uniforms: the tests feed a stage the values they fed
 * the reference implementation's random module, and compare what both decide.
 */
#ifndef DRAWS_H
#define DRAWS_H

#include <math.h> // sqrt, log, cos

#include "../core/rng.h"

typedef struct {
    uint64_t key, epoch, base;
    int k, cap;
    const float *given; // NULL, or the cap uniforms to return instead of the stream's (tests)
} Draws;

// the stream of (seed, purpose) for sample `index` of `epoch`, cap draws long
static inline Draws draws_open(uint64_t seed, uint64_t purpose, int epoch, uint64_t index, int cap)
{
    return (Draws){rng_key(seed, purpose), (uint64_t)epoch, index * (uint64_t)cap, 0, cap, NULL};
}

// the next uniform in [0, 1) (24 random bits)
static inline float draws_next(Draws *d)
{
    CHECK(d->k < d->cap, "augment: more than %d draws for one sample", d->cap);
    if (d->given) return d->given[d->k++];
    return rng_uniform(d->key, d->epoch, d->base + (uint64_t)d->k++);
}

// an integer uniform in [0, n), from one uniform
static inline int draws_below(Draws *d, int n)
{
    int k = (int)(draws_next(d) * n); // once: MIN would evaluate a draw twice
    return MIN(k, n - 1);
}

// Python's random.uniform(lo, hi) = lo + (hi - lo) u, for the next u
static inline double draws_uniform(Draws *d, double lo, double hi) { return lo + (hi - lo) * draws_next(d); }

// a standard normal from the next two uniforms (Box-Muller; 1 - u keeps the log finite)
static inline double draws_normal(Draws *d)
{
    double u1 = draws_next(d), u2 = draws_next(d);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

#endif
