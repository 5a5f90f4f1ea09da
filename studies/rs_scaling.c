/* studies/rs_scaling.c
 * Question: at equal compute, is it better to scale a ResNet's width, depth or resolution, and
 *           does the answer change with the training length? (Bello et al. 2021, "Revisiting
 *           ResNets", Figures 2-3: depth scaling wins in long regimes, width in short ones)
 * Grid:     from one base, each axis scaled alone: width, depth, resolution; each point in a
 *           short, a medium and a long epoch regime; the ResNet-RS training (cosine, EMA, label
 *           smoothing, RandAugment, dropout, weight decay 4e-5) on recipe rs_baseline(_fmnist).
 *           Recorded: top-1, MACs, parameters and the measured training speed.
 * Tiers:    paper: ResNet-RS-101 at 224 as base; width 0.25..2, RS depths 50..420, resolution
 *           128..448; 10 / 100 / 350 epochs (the paper's regimes). cpu: ResNet-50 x0.25 at 64 px on
 *           Imagenette; width 0.125..0.5, depth 50/101/152, resolution 48..96; 2 / 5 / 15 epochs:
 *           the paper's 10:100:350 cannot fit, so the regimes keep its order of magnitude between
 *           short and long (x7.5). One seed a point, 3 for the 6 points the claims compare: 39 runs,
 *           about 3 h on 2 cores. RandAugment's pixel sizes as fractions of the image (rel1).
 *           smoke: 256 images, 1 epoch.
 * Output:   results/rs_scaling/<run>.h5 -> plots/rs_scaling/{acc_vs_macs,acc_vs_time}.gp
 */
#include "lib/study.h"

// RandAugment N=2 M=10; at 64 px its pixel sizes as fractions of the image (rel1)
#define RA_PAPER "data.randaug=tf-n2-m10"
#define RA_CPU "data.randaug=tf-n2-m10-rel1"

#define RS_TRAINING                                                                                           \
    "schedule.kind=cosine", "train.ema_decay=0.9999", "train.ema_warmup=tf", "model.bn_momentum=0",          \
        "train.label_smoothing=0.1", "model.dropout=0.25", "optim.l2_weight_decay=4e-5"

// a point: axis_value_eE with the axis's override and the regime's epochs
#define P(axis, v, set, e) {axis "_" v "_e" #e, {set, "train.epochs=" #e}},
#define REGIME(e)                                                                                              \
    P("base", "1", "model.width=0.25", e) P("width", "0.125", "model.width=0.125", e)                          \
    P("width", "0.35", "model.width=0.35", e) P("width", "0.5", "model.width=0.5", e)                          \
    P("depth", "101", "model.name=resnet101", e) P("depth", "152", "model.name=resnet152", e)                  \
    P("res", "48", "model.res=48", e) P("res", "80", "model.res=80", e) P("res", "96", "model.res=96", e)
static const StudyPoint cpu[] = {REGIME(2) REGIME(5) REGIME(15)};
static const StudyPoint smoke[] = {P("base", "1", "model.width=0.25", 1) P("depth", "101", "model.name=resnet101", 1)
                                       P("res", "48", "model.res=48", 1)};
#define PAPER(e)                                                                                               \
    P("base", "1", "model.width=1", e) P("width", "0.25", "model.width=0.25", e)                                \
    P("width", "0.5", "model.width=0.5", e) P("width", "1.5", "model.width=1.5", e)                             \
    P("width", "2.0", "model.width=2.0", e) P("depth", "50", "model.name=resnetrs50", e)                        \
    P("depth", "152", "model.name=resnetrs152", e) P("depth", "200", "model.name=resnetrs200", e)               \
    P("depth", "270", "model.name=resnetrs270", e) P("depth", "350", "model.name=resnetrs350", e)               \
    P("depth", "420", "model.name=resnetrs420", e) P("res", "128", "model.res=128", e)                          \
    P("res", "160", "model.res=160", e) P("res", "320", "model.res=320", e) P("res", "448", "model.res=448", e)
static const StudyPoint paper[] = {PAPER(10) PAPER(100) PAPER(350)};

// depth and width scaled to about the same MACs (cpu: ResNet-101 x0.25 ~ ResNet-50 x0.35, both
// ~1.9x the base): the first label's top-1 is claimed above the second's
static const StudyClaim claims[] = {
    {"in the long regime depth scaling beats width scaling at equal MACs (Fig. 3)", NULL, "depth_101_e15", "width_0.35_e15"},
    {"in the short regime width scaling beats depth scaling at equal MACs (Fig. 3)", NULL, "width_0.35_e2", "depth_101_e2"},
    {"the deepest model gains from the longer regime (Fig. 2: larger models need longer training)", NULL, "depth_152_e15", "depth_152_e5"},
};

const StudyDef study_rs_scaling = {
    .name = "rs_scaling",
    .question = "at equal compute, scale width, depth or resolution, and does training length change it?",
    .paper = "Bello et al. 2021, Revisiting ResNets, Figures 2-3 (scaling strategies by epoch regime)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/rs_baseline_imagenette.recipe",
                        {RS_TRAINING, RA_CPU, "data.train_limit=256", "data.eval_limit=200", "train.batch=64"}, smoke,
                        LEN(smoke), 1, "256 images, 1 epoch: proves the path"},
        [TIER_CPU] = {.recipe = "recipes/rs_baseline_imagenette.recipe", .sets = {RS_TRAINING, RA_CPU}, .points = cpu,
                      .n_points = LEN(cpu), .seeds = 1, .claim_seeds = 3,
                      .why = "ResNet-50 x0.25 at 64 px on Imagenette; regimes of 2 / 5 / 15 epochs; 39 runs (3 seeds "
                             "for the 6 points the claims compare), about 3 h on 2 cores",
                      .sanity = {{"*", SANITY_LEARNS}}},
        [TIER_PAPER] = {"recipes/rs_baseline.recipe", {RS_TRAINING, RA_PAPER, "model.name=resnetrs101", "model.res=224"},
                        paper, LEN(paper), 1, "as published: 10 / 100 / 350 epochs on ImageNet"},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_rs_scaling)
