/* engine/data/sampler.c — permutation, DistributedSampler shares, RepeatAugSampler (sampler.h). */
#include "sampler.h"

#include <math.h> // ceil, floor, fmod

#include "../core/rng.h"

enum { PURPOSE_ORDER = 0x0D3 };

void sampler_permutation(int *perm, int n, uint64_t seed, int epoch)
{
    uint64_t key = rng_key(seed, PURPOSE_ORDER);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = MIN((int)(rng_uniform(key, (uint64_t)epoch, (uint64_t)i) * (i + 1)), i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int sampler_shard(const int *perm, int n, int rank, int world, int *out)
{
    CHECK(n > 0 && world >= 1 && rank >= 0 && rank < world, "sampler_shard: rank %d of %d ranks, %d samples",
          rank, world, n);
    int per = (n + world - 1) / world;
    for (int k = 0; k < per; k++) out[k] = perm[(rank + (size_t)k * world) % (size_t)n];
    return per;
}

int sampler_repeat_len(int n, float repeats, int world)
{
    CHECK(n > 0 && repeats >= 1 && world >= 1, "sampler_repeat: %d samples, %g repeats, %d ranks", n,
          (double)repeats, world);
    int num_samples = (int)ceil((double)n * repeats / world);
    int selected = n >= 256 ? (int)floor((double)(n / 256 * 256) / world) : (int)ceil((double)n / world);
    return MIN(selected, num_samples);
}

// Python's float floor division i // r (CPython's float_floor_div)
static double floor_div(double x, double r)
{
    double mod = fmod(x, r), div = (x - mod) / r;
    if (mod && (r < 0) != (mod < 0)) div -= 1.0;
    double f = floor(div);
    return div - f > 0.5 ? f + 1.0 : f;
}

int sampler_repeat(const int *perm, int n, float repeats, int rank, int world, int *index, int *copy)
{
    CHECK(rank >= 0 && rank < world, "sampler_repeat: rank %d of %d", rank, world);
    int len = sampler_repeat_len(n, repeats, world);
    long total = (long)ceil((double)n * repeats / world) * world, size = (long)ceil((double)repeats * n);
    int *group = xmalloc((size_t)size * sizeof(int)), *nth = xmalloc((size_t)size * sizeof(int));
    for (long i = 0; i < size; i++) {
        group[i] = (int)floor_div((double)i, (double)repeats);
        nth[i] = i > 0 && group[i] == group[i - 1] ? nth[i - 1] + 1 : 0;
    }
    int k = 0;
    for (long p = rank; p < total && k < len; p += world, k++) {
        index[k] = perm[group[p % size]];
        copy[k] = nth[p % size];
    }
    free(group);
    free(nth);
    return k;
}
