/* engine/train/progressive.h — EfficientNetV2's progressive learning: stages of image size and
 * regularization, each a pure function of the global step.
 *
 * A run of T optimizer steps (train.epochs x steps per epoch) is cut into S stages; the global
 * step g = epoch x steps_per_epoch + step (what a run's step count is) falls in stage i (0-based)
 * when end(i-1) <= g < end(i), with
 *     end(i) = int((i + 1) / S * T)       Python: int(float(i + 1) / float(S) * train_steps)
 * (main.py's `max_steps = int(ratio * train_steps)`, ratio = float(stage + 1) / float(stages),
 * double arithmetic, truncated: S = 4, T = 1000 gives 250, 500, 750, 1000; T = 10 gives 2, 5, 7, 10;
 * a stage can be empty when T < S). Both rules share these boundaries: the paper says only that
 * the stages are equal ("about 87 epochs per stage" of 350). Past T a step belongs to the last stage.
 * Because the stage is a function of g alone, a resumed run is in the stage the uninterrupted
 * one was in at that step, and main.py behaves alike: after a restart its loop skips every stage
 * whose max_steps the checkpoint's global step has reached (TPUEstimator.train returns at once).
 *
 * rule = code, as google/automl efficientnetv2/main.py (snapshot 8a1c443b / 2fb46e72) runs it with
 * train.stages = 4 and train.sched = True (effnetv2_configs.py sets both for every V2 model):
 *   image size  int(ibase + (train_size - ibase) * (i + 1) / S): stage 1 is NOT at ibase, the last
 *               is at train_size. ibase is hparams.py's data.ibase = 128 (res_min here), train_size
 *               is train.isize (res_max; 300 for V2-S, whose eval size 384 is model.res), so S
 *               trains at 171, 214, 257, 300 (the commented-out isize_list = linspace(ibase,
 *               train_size, S) is not used).
 *   RandAugment magnitude  np.linspace(5, data.ram, S)[i] (5 hard-coded: randaug_min = 5 here;
 *               V2-S ram 10: 5, 6.67, 8.33, 10).
 *   Mixup, CutMix alpha    np.linspace(0, data.mixup_alpha, S)[i] and np.linspace(0,
 *               data.cutmix_alpha, S)[i] (mixup_min = 0 here); the configs set both alphas equal
 *               (M 0.2, L 0.5), so one range serves both. An alpha of 0 turns mixing off for that
 *               stage (datasets.py mixes only when an alpha is non-zero).
 *   dropout     NOT scheduled: main.py builds dp_list = linspace(0, dropout_rate, S), deletes it
 *               (`del dp_list`) and comments out `config.model.dropout_rate = dp_list[stage]`;
 *               the model's dropout stays. dropout_min/max with rule = code is an error.
 * rule = paper (Tan & Le 2021, Table 6 and section 4.2): every scheduled quantity linear from its
 *   min to its max over the stages, stage k (0-based) at min + (max - min) k / (S - 1) — evaluated
 *   as np.linspace(min, max, S)[k] (k * step + min, the last exactly max); the image size is
 *   truncated to an integer (int(), as main.py sizes its stages). Table 6: S 128..300, RandAugment
 *   5..15, Mixup 0..0, dropout 0.1..0.3.
 * What a stage sets: the training nets' input size (the arena is re-planned; parameters,
 * optimizer slots and EMA stay), the training loader's output size, the RandAugment magnitude of
 * data.randaug, the Mixup/CutMix alphas (each of data.mixup_alpha and data.cutmix_alpha that is on
 * takes the stage's value; with both off, mixup_alpha does: Table 6 schedules Mixup), and the
 * model's dropout. A quantity whose min and max are both 0 is not scheduled (the recipe's own
 * value holds); res_min or res_max 0 means model.res. Evaluation stays at model.res.
 * Differences from automl that stay: its train_steps is epochs * N // batch (a stage may end
 * mid-epoch there and here alike, but here an epoch is always whole batches of the loader), and
 * its mixing with both alphas splits every batch half Mixup, half CutMix, where mixup.h switches
 * per batch (data.mixup_switch_prob).
 */
#ifndef PROGRESSIVE_H
#define PROGRESSIVE_H

#include "../models/models.h"

typedef enum { PROG_PAPER, PROG_CODE } ProgRule;

// the recipe's [progressive] section
typedef struct {
    int      stages;                   // 0 = off; else >= 2 (EfficientNetV2: 4)
    ProgRule rule;
    int      res_min, res_max;         // training image size range; 0 = model.res (code: ibase, train size)
    float    randaug_min, randaug_max; // RandAugment magnitude range (both 0: not scheduled)
    float    mixup_min, mixup_max;     // Mixup (and CutMix) alpha range (both 0: not scheduled)
    float    dropout_min, dropout_max; // dropout range, paper rule only (both 0: not scheduled)
} ProgArgs;

// what one stage trains with (and the recipe's own values, for what is not scheduled)
typedef struct {
    int    res;                      // training image size
    double randaug;                  // RandAugment magnitude
    float  mixup_alpha, cutmix_alpha;
    float  dropout;
} ProgSettings;

typedef struct {
    int          index, count;       // 0-based stage, of count (count 0: progressive learning off)
    long         first, end;         // its global steps [first, end)
    ProgSettings s;
} ProgStage;

bool prog_on(const ProgArgs *a);
// the recipe's own checks: the stage count, the ranges, rule code without dropout, the model
// taking the dropout range, RandAugment present for its range (randaug_on: data.randaug is set),
// no size schedule while teachers run live on the step's batch (live_teachers). 0, or ERR_FORMAT
// with one line naming the key and value. (Mixing's batch and drop_last: recipe.c, with data.*'s.)
int  prog_check(const ProgArgs *a, int model_res, const char *model, const ModelKnobs *k, bool randaug_on,
                bool live_teachers);
// the end of stage i (0-based) of S in a run of `total` steps: int((i + 1) / S * total)
long prog_stage_end(int i, int stages, long total);
// stage i (0-based) of a run of `total` steps: its steps and settings; base: the recipe's own
// settings (model.res, data.randaug's magnitude, data's alphas, model.dropout). Off: count 0, base,
// all steps
ProgStage prog_stage(const ProgArgs *a, const ProgSettings *base, long total, int i);
// the stage global step `step` trains in (past the run's end: the last), and that stage
int  prog_stage_index(const ProgArgs *a, long total, long step);
ProgStage prog_stage_at(const ProgArgs *a, const ProgSettings *base, long total, long step);
// the largest training size of the run (its last stage's): res_max, or model.res
int  prog_train_res(const ProgArgs *a, int model_res);
extern const char *const prog_rule_names[2]; // the rule's recipe names, in ProgRule's order

#endif
