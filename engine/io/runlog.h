/* engine/io/runlog.h — what a run logs: one row per epoch and its final numbers.
 *
 * The trainer fills these (train/train.h), the run file (runfile.h) and the checkpoint's epoch
 * log (train/checkpoint.h) store them: the columns are defined once, here.
 */
#ifndef RUNLOG_H
#define RUNLOG_H

#include "../core/core.h"

typedef struct {
    int    epoch;       // 1-based
    float  lr;          // at the epoch's last step
    int    res;         // training image size (at the epoch's last step)
    double train_loss, train_top1;            // mean over the epoch's steps, percent
    double eval_loss, eval_top1, eval_top5;   // on the test split, percent
    double ema_top1;                          // the EMA weights' test top-1; NAN without EMA
    double eval_top1_reparam, ema_top1_reparam; // the same, folded (model_fold); NAN for a model
                                              // without re-parameterizable branches (or EMA)
    double img_per_s, seconds;                // training throughput; the epoch with its evals
} EpochLog;

// a run's numbers beyond its last epoch's row
typedef struct {
    double best_top1;   // the best epoch's eval top-1, percent
    int    best_epoch;  // 1-based
    double wall_s;      // training and evaluation, seconds
} RunFinal;

#endif
