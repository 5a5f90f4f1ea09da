/* engine/train/train.h — the train/eval loop: one run of one configuration.
 *
 * A run builds the model once per batch size it needs over one parameter table (training batch,
 * the last partial batch, eval batch with batch norm on running statistics), draws each epoch's
 * order and augmentations from the run seed, steps the optimizer (optim.h) under the schedule
 * (schedule.h, its rates scaled to the batch when given per lr_batch images), keeps an EMA
 * of the weights when asked, and evaluates on the test split after every epoch (top-1, top-5,
 * loss; top-1 of the EMA weights too). A model with re-parameterizable branches (GhostNetV3)
 * trains in its multi-branch form and is evaluated in both forms: each eval folds the current
 * weights (and the EMA's) into the inference form (models.h's model_fold) and records its top-1
 * beside the branches'; the two agree up to float rounding, so a gap is a folding bug and is
 * reported. With progressive learning (progressive.h) the training models, the loader's size and
 * augmentation and the dropout follow the stage of the global step, changed at the first step of
 * each stage (and where a resumed run starts). On a terminal it keeps one progress line updated;
 * otherwise it prints plain lines. A NaN or infinite loss ends the run with status "diverged".
 */
#ifndef TRAIN_H
#define TRAIN_H

#include <signal.h> // sig_atomic_t: train_interrupt
#include <stdio.h>  // FILE

#include "../data/augment.h"
#include "../dist/comm.h"  // Comm: the ranks of a data-parallel run
#include "../io/runlog.h" // EpochLog: a row per epoch
#include "../models/models.h"
#include "distill.h"
#include "optim.h"
#include "progressive.h"

typedef struct {
    char       model[64];       // a registry name (models.h)
    ModelKnobs net;             // the recipe's changes to the named model
    char       weights[512];    // "" = init from the seed; else start from this safetensors file:
                                // a timm state dict or one of our checkpoints (io/weights.h)
    int        res;             // train and eval resolution (the data is resized when it differs);
                                // progressive learning trains at its stages' sizes instead
    char       dataset[32];     // a dataset of data/dataset.h's registry
    char       data_dir[512];   // "" = the dataset's default location
    AugArgs    aug;
    int        epochs, batch, eval_batch;
    bool       drop_last;       // drop each epoch's last partial batch (else it is a smaller step)
    uint64_t   seed;
    char       backend[16];     // a backend of dev_names() (backend/ops.h)
    bool       bf16;            // cuda: convolutions in bfloat16 (float32 accumulation; weights,
                                // gradients and optimizer stay float32: PREC_BF16 of core/dev.h)
    Optim      optim;           // lr is taken from the schedule at every step
    Schedule   sched;
    float      label_smoothing;
    float      clip_grad;       // 0 = off
    Ema        ema;             // EMA of the weights and BN statistics (decay 0 = off)
    int        max_steps;       // 0 = all; else stop early (smoke runs, tests)
    int        eval_every;      // evaluate after every Nth epoch, the first and the last (0, 1: every)
    int        train_limit, eval_limit; // use the first N samples of each split (0 = all)
    DistillArgs distill;        // teachers, soft labels, KD weights, discriminator (distill.h)
    ProgArgs   prog;            // progressive learning's stages (progressive.h); stages 0 = off
    bool       sync_bn;         // data-parallel: training batch norm takes its statistics over every
                                // rank's share of the batch (SyncBN, nn/syncbn.h; host memory; the
                                // same code on one process); else each rank's own, with the running
                                // statistics averaged over the ranks at every epoch end (timm's
                                // --dist-bn reduce)
    // not part of the recipe (they do not change what is computed):
    char       checkpoint[1024]; // saved after every epoch when set
    bool       resume;           // continue from `checkpoint` when it exists
    char       run_id[17];       // checked against the checkpoint's
    const char *recipe;          // the resolved recipe text, stored in the checkpoint (NULL: none)
    bool       profile;          // time every node of the training model (printed at the end)
    Comm      *comm;             // the ranks of a data-parallel run (NULL: a world of one). batch
                                 // stays the whole batch: each rank takes its share of every batch
                                 // (loader.h's loader_slice), the gradients are summed over the ranks
                                 // (each rank's loss divided by the whole batch), the optimizer, clipping
                                 // and EMA run identically everywhere; each rank evaluates its share of
                                 // the test split in batches of eval_batch, the counts summed;
                                 // rank 0 alone writes the checkpoint and calls the hook
    int        micro;            // each step's batch (the rank's share) run as `micro` slices one after
                                 // another (loader_share's rule), their gradients summed: batch norm per
                                 // slice, what `micro` ranks compute; 0 or 1 = whole (no recipe key:
                                 // tests compare ranks against it)
} TrainConfig;

typedef struct {
    const char *status;         // "running" during the run, then "done" or "diverged"
    EpochLog   *epochs;         // n_epochs rows (owned; free with train_result_free)
    int         n_epochs;
    RunFinal    final;          // best top-1 and its epoch, wall time
    size_t      params;         // trainable parameters
    uint64_t    macs;           // conv + linear multiply-accumulates per image
    char        device[160];    // what trained it (Dev.desc): CPU model and threads, or GPU
    // every segment of the run (one per process that trained it: a resumed run has several), a
    // line each: "START END host=H threads=N epochs=A-B seconds=S[ ranks=R]" (START, END: UTC,
    // ISO 8601; epochs A-B: those it finished, A > B when none; ranks: a data-parallel segment's,
    // each with N threads, H rank 0's host); final.wall_s is the sum of their seconds.
    // Owned; kept in the checkpoint, so a resume continues the list from the checkpoint's: the
    // steps an interrupted segment took after its last checkpoint are redone, and not counted
    char       *segments;
    char        started[32];    // the first segment's START
} TrainResult;

// set by a signal handler (run/run.c: SIGINT, SIGTERM) to stop train_run after the current step:
// the run ends with status "interrupted", its last checkpoint kept (--resume continues it)
extern volatile sig_atomic_t train_interrupt;

// called after every epoch (status "running") and once at the end; a negative return (say, the
// run file cannot be written) stops the run with that error
typedef int (*TrainHook)(const TrainResult *r, void *user);

// runs the configuration; 0 with *r filled, or a negative ERR_* with one line printed
int  train_run(const TrainConfig *c, TrainResult *r, TrainHook hook, void *user);

// ---- the pieces train_run is made of (benchmarks, studies that drive steps themselves) --------
typedef struct Trainer Trainer; // data, loaders, device, parameters, models, step count

typedef struct TrainStats TrainStats;
struct TrainStats {             // what trainer_train adds up
    double loss_sum;            // summed per-sample losses
    int    hits1, hits5, seen, steps;
    float  lr;                  // of the last step
    double last_loss;           // mean loss of the last step (the divergent one when diverged)
    bool   diverged;            // a NaN or infinite loss stopped it
    bool   interrupted;         // train_interrupt stopped it (after a whole step)
    void (*progress)(const TrainStats *st, int epoch, int step, void *user); // after each step
    void  *user;
};

// loads the data, opens the backend, builds and plans the models (the folded form's eval models
// too, over a table of their own, when the model has re-parameterizable branches), initializes
// the weights from the seed or loads them from c->weights, and the EMA from them; 0 or ERR_*
// with one line printed
int  trainer_open(Trainer **t, const TrainConfig *c);
// a trainer for evaluation alone (`repro eval`): the test split, its loader and eval models, the
// weights of c->weights (ema: a checkpoint's EMA weights, into the weights); folded: the folded
// form's models too (the model must have re-parameterizable branches: model_has_reparam). No
// training data, optimizer slots or teachers; trainer_train must not be called
int  trainer_open_eval(Trainer **t, const TrainConfig *c, bool ema, bool folded);
// trains steps first_step .. first_step + n_steps - 1 of `epoch` (n_steps <= 0: to the epoch's
// end; past it, into the next epochs), adding into *st; stops early when the loss diverges
int  trainer_train(Trainer *t, int epoch, int first_step, int n_steps, TrainStats *st);
// the whole test split with the weights (ema: their average); fills log's eval (or ema) columns,
// the folded form's top-1 too when the trainer has it (else those columns are NAN)
int  trainer_eval(Trainer *t, bool ema, EpochLog *log);

typedef struct {
    double loss, top1, top5; // mean per-sample loss; percent
    int    images;
    double seconds;          // the pass over the test split, data loading included
} EvalStats;
// the whole test split in one form: the weights (ema: their average) as trained, or folded into
// the inference form first (folded: the trainer must have it, trainer_has_folded)
int  trainer_evaluate(Trainer *t, bool ema, bool folded, EvalStats *s);
bool trainer_has_folded(const Trainer *t);
// data parallelism with per-rank batch norm: the running statistics (and the EMA's) averaged over
// the ranks, timm's distribute_bn(reduce); train_run calls it at every epoch end, before the
// evaluation. Nothing to do in a world of one or with SyncBN. 0 or the all-reduce's ERR_*
int  trainer_reduce_bn(Trainer *t);
// the trained model's parameter table (on the trainer's device: read it through params_pull)
Params *trainer_params(Trainer *t);
// (re)starts or stops timing every node of the training model; prints the table
void trainer_profile(Trainer *t, bool on);
void trainer_profile_print(const Trainer *t, FILE *f);
// the same for the eval model of the full eval batches (the trained form, batch norm folded)
void trainer_profile_eval(Trainer *t, bool on);
void trainer_profile_eval_print(Trainer *t, FILE *f);
void trainer_close(Trainer *t);
void train_result_free(TrainResult *r);

#endif
