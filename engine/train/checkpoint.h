/* engine/train/checkpoint.h — a run's state after an epoch, so a killed run resumes exactly.
 *
 * One safetensors file: every entry of the parameter table under its timm name, in the engine's
 * layout (conv weights (OC,KH,KW,C/G); `repro export --weights CKPT` turns it into timm's, see
 * io/weights.h) — weights and batch-norm statistics —, every optimizer slot under
 * "optimizer.<slot>.<name>" (optim.h names them: momentum; exp_avg, exp_avg_sq; square_avg), the
 * EMA under "ema.<name>", the epoch log as a float64 table "log.epochs" (n x 13: EpochLog's columns; older
 * checkpoints' n x 11, without the folded form's, still load), and metadata
 * (layout "repro", optimizer, epochs done, step — also the optimizer's update count —, seed, run
 * id, best top-1 and its epoch, the wall time and segments so far (train.h's TrainResult), the ranks
 * and whole batch of a data-parallel run, the
 * resolved recipe text when given: `repro eval` scores the weights as their run did). Every tensor
 * carries its checksum (io/safetensors.h), and every value read back must be finite (a NaN weight,
 * slot or statistic is an error naming the tensor). Everything random in a run is a function of (seed, epoch, step,
 * sample), so weights + optimizer slots + position are the whole state: on the cpu backend a
 * resumed run ends with bitwise the weights of an uninterrupted one.
 * A run with a second trained table (MEAL V2's discriminator, train/distill.h) passes it as aux:
 * its entries (named apart from the model's, "distill.disc.*"), their optimizer slots (the same
 * optimizer) and EMA are saved and restored the same way; aux NULL: none.
 */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include "train.h"

// p's (and aux's) optimizer slots are those of `kind` (optim_slots); ranks and batch: the data-
// parallel run's world size and whole batch (metadata "ranks", "global_batch"; 1 and train.batch
// for one process)
int ckpt_save(const char *path, Params *p, Params *aux, OptimKind kind, const TrainResult *r,
              int epochs_done, long step, uint64_t seed, const char *run_id, const char *recipe, int ranks,
              int batch);
// restores p and aux (allocated, same model, same optimizer), r->epochs (room for every epoch),
// r's wall time, segments and start; sets *epochs_done, *step; fails with a message when the file does not belong to this run (seed,
// run id, optimizer, names) or was written by a run of another number of ranks
int ckpt_load(const char *path, Params *p, Params *aux, OptimKind kind, TrainResult *r, int *epochs_done, long *step,
              uint64_t seed, const char *run_id, int ranks);

#endif
