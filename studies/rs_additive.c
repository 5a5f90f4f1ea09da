/* studies/rs_additive.c
 * Question: which training and architecture changes lift a ResNet, each added to the ones before?
 *           (Bello et al. 2021, "Revisiting ResNets", Table 1: ResNet-200 from 79.0 to 83.4% top-1)
 * Grid:     step00 baseline, then + cosine LR, + longer training (x350/90), + EMA (with TF's BN
 *           momentum 0 and num_updates warm-up, as tensorflow/tpu), + label smoothing 0.1,
 *           + stochastic depth 0.1, + RandAugment (TF's, N=2 M=15), + dropout 0.25 before the FC,
 *           + weight decay 1e-4 -> 4e-5, + SE (ratio 0.25), + ResNet-D (resnetrs: deep stem, avg-pool
 *           shortcuts, no max-pool; SE kept); recipe rs_baseline (paper) / rs_baseline_imagenette (cpu)
 * Tiers:    paper: ResNet-200 at 256 on ImageNet, 90 -> 350 epochs. cpu: ResNet-50 at quarter width,
 *           64 px, on Imagenette (10 ImageNet classes, 9,469 training images), 5 -> 19 epochs (the
 *           paper's ratio), 3 seeds a step: 33 runs, about 3 h on 2 cores. RandAugment's translate
 *           and cutout as fractions of the image (rel1: TF's 100 and 40 px at 224 scaled to 64 px).
 *           smoke: 256 images, 1-2 epochs.
 * Metric:   top-1 of the EMA weights where the run keeps an EMA (the paper evaluates them).
 * Sanity:   every run trains; the long runs without the regularizers (steps 02-04) overfit.
 * Output:   results/rs_additive/<run>.h5 -> plots/rs_additive/additive.gp
 */
#include "lib/study.h"

// the steps' overrides, each step repeating the ones before (cumulative, as Table 1)
#define S01 "schedule.kind=cosine"
#define S02 S01, LONG
#define S03 S02, "train.ema_decay=0.9999", "train.ema_warmup=tf", "model.bn_momentum=0"
#define S04 S03, "train.label_smoothing=0.1"
#define S05 S04, "model.drop_path=0.1"
#define S06 S05, RA
#define S07 S06, "model.dropout=0.25"
#define S08 S07, "optim.l2_weight_decay=4e-5"
#define S09 S08, "model.se_ratio=0.25"
#define S10 S09, RS_D

#define STEPS                                                                                                  \
    {"step00", {NULL}}, {"step01", {S01}}, {"step02", {S02}}, {"step03", {S03}}, {"step04", {S04}},           \
        {"step05", {S05}}, {"step06", {S06}}, {"step07", {S07}}, {"step08", {S08}}, {"step09", {S09}},        \
        {"step10", {S10}},

// paper: 90 -> 350 epochs; ResNet-D on ResNet-200 is resnetrs200 (its own SE 0.25)
#define LONG "train.epochs=350"
#define RS_D "model.name=resnetrs200", "model.se_ratio=0"
#define RA "data.randaug=tf-n2-m15"
static const StudyPoint paper[] = {STEPS};
#undef LONG
#undef RS_D
#undef RA
// cpu and smoke: 5 -> 19 epochs; ResNet-50 -> resnetrs50, both at the tier's quarter width;
// RandAugment's pixel sizes as fractions of the 64-px image
#define LONG "train.epochs=19"
#define RS_D "model.name=resnetrs50", "model.se_ratio=0"
#define RA "data.randaug=tf-n2-m15-rel1"
static const StudyPoint cpu[] = {STEPS};
#undef LONG
#define LONG "train.epochs=2"
static const StudyPoint smoke[] = {{"step00", {NULL}}, {"step03", {S03}}, {"step10", {S10}}};

static const StudyClaim claims[] = {
    {"cosine decay does not lower top-1 against the step schedule (79.0 -> 79.3)", NULL, "step01", "step00"},
    {"label smoothing raises top-1 (79.1 -> 80.4)", NULL, "step04", "step03"},
    {"RandAugment raises top-1 (80.6 -> 81.0)", NULL, "step06", "step05"},
    {"with dropout and stochastic depth on, lower weight decay raises top-1 (80.7 -> 82.2)", NULL, "step08", "step07"},
    {"squeeze-and-excitation raises top-1 (82.2 -> 82.9)", NULL, "step09", "step08"},
    {"ResNet-D raises top-1 (82.9 -> 83.4)", NULL, "step10", "step09"},
    {"all the changes together beat the baseline (79.0 -> 83.4)", NULL, "step10", "step00"},
};

const StudyDef study_rs_additive = {
    .name = "rs_additive",
    .question = "which training and architecture changes lift a ResNet, each added to the ones before?",
    .paper = "Bello et al. 2021, Revisiting ResNets, Table 1 (additive study, ResNet-200)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/rs_baseline_imagenette.recipe",
                        {"train.epochs=1", "data.train_limit=256", "data.eval_limit=200", "train.batch=64"},
                        smoke, LEN(smoke), 1, "256 images, 1-2 epochs: proves the path"},
        [TIER_CPU] = {"recipes/rs_baseline_imagenette.recipe", {NULL}, cpu, LEN(cpu), 3,
                      "ResNet-50 x0.25 at 64 px on Imagenette, 5 -> 19 epochs (the paper's 90 -> 350), 3 seeds: "
                      "33 runs, about 3 h on 2 cores (564 training images/s measured)",
                      {{"*", SANITY_LEARNS}, {"step0[234]", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/rs_baseline.recipe", {NULL}, paper, LEN(paper), 1,
                        "as published: ResNet-200 at 256 on ImageNet, 90 -> 350 epochs, batch 4096"},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_rs_additive)
