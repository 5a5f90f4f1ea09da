/* engine/data/loader.h — batches of a Dataset, prepared ahead by worker threads.
 *
 * Train batches: the samples of step s of epoch e are positions s*batch .. of
 * sampler_permutation(n, seed, e) (with data.repeated_aug: of sampler_repeat's order, whose copies
 * of a sample draw as index + copy * n), each one through augment_train(seed, e, sample index) at
 * out_h x out_w; with Mixup/CutMix on, the whole batch is then mixed (mixup_batch) and carries
 * soft targets. Eval batches: the identity order, augment_eval. Every batch is therefore a pure
 * function of (seed, epoch, step, sample index): bitwise the same for any number of workers and
 * any depth, and equal to what a plain loop over augment.h's functions produces (the test checks
 * both). loader_set_aug changes the size and the augmentation between ranges (progressive
 * learning's stages); batches stay pure functions of their position and the settings in force.
 * Threads: n_workers pthreads share one mutex and two condition variables (work available, batch
 * ready), so nobody spins. A batch is split into chunks of ceil(batch / n_workers) samples that
 * workers claim in order, so one batch is filled in parallel even at depth 1. The workers never
 * use OpenMP: the pool is sized by n_workers alone.
 * depth = batch buffers in the ring: the consumer holds one while workers fill the others
 * (2 = double buffering; 1 = workers start batch k+1 only when the consumer asks for it).
 * One consumer thread calls loader_start, loader_next and loader_close.
 */
#ifndef LOADER_H
#define LOADER_H

#include "augment.h"
#include "dataset.h"

typedef struct {
    float *x;           // (n, out_h, out_w, c) NHWC: augmented (train) or normalized (eval)
    int   *labels;      // (n)
    float *targets;     // (n, classes) soft targets of a mixed batch (Mixup/CutMix on); else NULL
    int    classes;     // targets' width (aug.mix.classes)
    int    n;           // samples: the batch size, less in the last batch of an epoch (drop_last false);
                        // a rank's share of it after loader_slice
    int    n_global;    // the whole batch's samples, every rank's share together (n without a slice)
    int    epoch, step; // step within the epoch
} Batch;

typedef struct LoaderState LoaderState; // threads, batch ring, order and locks (loader.c)

// what loader_open was given, resolved; read these, never write them
typedef struct {
    const Dataset *ds;   // not owned; must outlive the loader and stay unchanged while it is open
    AugArgs  aug;        // a copy
    uint64_t seed;
    int      batch, out_h, out_w, c;
    int      epoch_len; // samples per epoch: n, or RepeatAugSampler's length
    bool     train;
    int      n_workers, depth;
    int      rank, world; // loader_slice's (0 and 1 until it is called)
    LoaderState *st;
} Loader;

// opens a loader over ds (fixed-size images; h = w = 0 readers are not supported yet) that makes
// batches of `batch` samples at out_h x out_w (0, 0: the dataset's size) with n_workers >= 1
// threads and depth >= 1 batch buffers. train: shuffled order, augmentation a and, when a's
// mixing is on, mixed batches with targets of a->mix.classes (>= ds->classes) columns; eval:
// identity order, a's eval transform. Starts the threads idle. 0, or ERR_ARG / ERR_FORMAT /
// ERR_NOMEM with one line.
int  loader_open(Loader *l, const Dataset *ds, const AugArgs *a, uint64_t seed, int batch, bool train,
                 int out_h, int out_w, int n_workers, int depth);
// batches per epoch: floor(epoch_len / batch) with drop_last, else ceil(epoch_len / batch)
int  loader_steps_per_epoch(const Loader *l, bool drop_last);
// data-parallel training's share of rank `rank` of `world` (call before the first loader_start):
// train: of every global batch of n samples (`batch`, or the epoch's last, smaller one) the
// positions n*rank/world .. n*(rank+1)/world - 1, each sample augmented exactly as in the whole
// batch (its draw is keyed on its index, not its place), Mixup/CutMix mixing within the share as
// timm's does within a rank's batch; eval: the test split's samples N*rank/world .. in batches of
// `batch` (epoch_len becomes the share's length), so the shares of all ranks together are every
// sample once, no padding, no duplicates
void loader_slice(Loader *l, int rank, int world);
// the size of rank's share of n samples split over world ranks (loader_slice's rule)
int  loader_share(int n, int rank, int world);
// begins producing the batches (epoch, first_step), then the following steps, n_steps of them,
// continuing into epoch+1, epoch+2 ... as needed; n_steps <= 0: to the end of `epoch`. Drops
// whatever an earlier range had not handed out yet (no leaks, no stale batches). The caller
// checks that an epoch has at least one batch (ds->n >= batch with drop_last).
void loader_start(Loader *l, int epoch, int first_step, int n_steps, bool drop_last);
// replaces the augmentation by a (resolved and checked as loader_open does; repeated_aug must stay)
// and the output size by out_h x out_w (0, 0: the dataset's) for the ranges that follow: progressive
// learning's stages (train/progressive.h). Drops the current range like loader_start; the batch
// buffers are reallocated, so a Batch handed out before is invalid. 0, or ERR_ARG / ERR_FORMAT
// with one line (the loader is unchanged then).
int  loader_set_aug(Loader *l, const AugArgs *a, int out_h, int out_w);
// blocks until the next batch of the range is ready and points *batch at it (valid until the next
// loader_next, loader_start or loader_close); *batch = NULL at the end of the range. 0, or the
// reader's ERR_* (its line already printed) when a sample of that batch failed to load.
int  loader_next(Loader *l, const Batch **batch);
// stops the workers (even mid-epoch: a chunk being filled is finished, then dropped), joins them,
// frees everything and zeroes *l; a zeroed Loader is fine
void loader_close(Loader *l);

#endif
