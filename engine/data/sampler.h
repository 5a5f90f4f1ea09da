/* engine/data/sampler.h — the order of an epoch: a permutation, ranks' shares, repeated augmentation.
 *
 * The permutation is Fisher-Yates on counter draws of (seed, epoch), so every rank computes the
 * same order without talking to the others. sampler_shard deals it as PyTorch's
 * DistributedSampler; sampler_repeat as timm's RepeatAugSampler (timm/data/distributed_sampler.py),
 * on this permutation in place of torch.randperm.
 */
#ifndef SAMPLER_H
#define SAMPLER_H

#include "../core/core.h"

// the order of epoch `epoch`: a permutation of 0..n-1 (Fisher-Yates on counter draws)
void sampler_permutation(int *perm, int n, uint64_t seed, int epoch);
// the hook for data-parallel training: rank's share of an epoch's order perm (n) among `world`
// ranks, as PyTorch's DistributedSampler deals it: the order padded by its own head to a multiple
// of world, then every world-th entry from position rank. Writes ceil(n / world) indices to out
// and returns that count. Every rank draws the same permutation (same seed and epoch), so the
// shares are disjoint apart from the padding and together cover the epoch.
int  sampler_shard(const int *perm, int n, int rank, int world, int *out);

// RepeatAugSampler's samples per rank and epoch: floor(n // 256 * 256 / world) (ceil(n / world)
// below 256 samples), at most ceil(n repeats / world): an epoch stays about n / world long
int  sampler_repeat_len(int n, float repeats, int world);
// RepeatAugSampler's share of rank: the order perm (n) with entry floor(i / repeats) at position i
// < ceil(repeats n) (each entry `repeats` times in a row, fractional repeats allowed), positions
// rank, rank + world, ... (wrapping), the first sampler_repeat_len of them. Writes each one's
// dataset index and copy number (0 for an entry's first position, 1 for its second ...), returns
// the count. repeats >= 1.
int  sampler_repeat(const int *perm, int n, float repeats, int rank, int world, int *index, int *copy);

#endif
