/* engine/core/rng.h — Philox-4x32-10, a counter-based random number generator.
 *
 * Every draw is a pure function of (key, counter): no state advances, so a draw does not depend
 * on thread count, batch split or the order in which samples are visited, and a resumed run draws
 * exactly what an uninterrupted one would. Callers build the key from (seed, purpose) with
 * rng_key() and the counter from (epoch, sample index, element) so that streams never overlap.
 * The functions are HD: the CUDA kernels call the same code the CPU tests check.
 * Reference: Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11); the constants
 * are the published ones (Random123), and tests/test_core.c checks the published known-answer
 * vectors.
 */
#ifndef RNG_H
#define RNG_H

#include "core.h"

typedef struct { uint32_t v[4]; } Philox4;

HD uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

// Philox-4x32-10 of counter ctr under the 64-bit key key (two 32-bit words)
HD Philox4 philox4x32(Philox4 ctr, uint64_t key)
{
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = philox_mulhilo(0xD2511F53u, ctr.v[0], &hi0);
        uint32_t lo1 = philox_mulhilo(0xCD9E8D57u, ctr.v[2], &hi1);
        Philox4 o = {{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
        ctr = o;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return ctr;
}

// a 64-bit key from a seed and a purpose tag (dropout, drop-path, crop ...): a splitmix64 finalizer
HD uint64_t rng_key(uint64_t seed, uint64_t purpose)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + purpose + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// four 32-bit words for the 128-bit counter (hi, lo): one Philox block
HD Philox4 rng_block(uint64_t key, uint64_t hi, uint64_t lo)
{
    Philox4 c = {{(uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32)}};
    return philox4x32(c, key);
}

// a uniform float in [0, 1) with 24 random bits: exactly representable, never 1.0
HD float rng_u01(uint32_t bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }

// the uniform draw number i of stream (key, hi): element i of the sequence, one of four per block
HD float rng_uniform(uint64_t key, uint64_t hi, uint64_t i)
{
    Philox4 b = rng_block(key, hi, i >> 2);
    return rng_u01(b.v[i & 3]);
}

#endif
