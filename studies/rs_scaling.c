/* studies/rs_scaling.c
 * Question: at equal compute, is it better to scale a ResNet's width, depth or resolution, and
 *           does the answer change with the training length? (Bello et al. 2021, "Revisiting
 *           ResNets", Figures 2-3: depth scaling wins in long regimes, width in short ones)
 * Grid:     from one base, each axis scaled alone: width, depth, resolution; each point in a
 *           short, a medium and a long epoch regime; the ResNet-RS training (cosine, EMA, label
 *           smoothing, RandAugment, dropout, weight decay 4e-5) on recipe rs_baseline(_imagenette).
 *           Recorded: top-1, MACs, parameters and the measured training speed.
 * Tiers:    paper: ResNet-RS-101 at 224 as base; width 0.25..2, RS depths 50..420, resolution
 *           128..448; 10 / 100 / 350 epochs (the paper's regimes). cpu: ResNet-50 x0.25 at 64 px;
 *           width 0.125..0.5, depth 50/101/152, resolution 48..96; on 2,000 Imagenette training
 *           images (200 a class) for 6 / 20 / 60 epochs, evaluated on all 3,925 test images after
 *           every 5th epoch. Why so: the paper's claim is that width overfits where depth does not
 *           once training is long, so the long regime must be one where the models overfit. On all
 *           9,469 images for 15 epochs this model family underfits (rs_additive's steps 02-04: train
 *           top-1 2.7-5.2 below test), and on 2,000 images x 66 epochs it overfits by 8-10 points
 *           (rs_weight_decay's unregularized cells). The regularization is the ResNet-RS training
 *           scaled to the capacity (the paper's own rule: less regularization for smaller models):
 *           cosine, EMA, label smoothing 0.1, weight decay 4e-5, without RandAugment and dropout,
 *           which made a ResNet-50 x0.25 underfit even on 2,000 images x 90 epochs (the pilots of
 *           issue 18: RandAugment m5 + LS + SD + dropout, train top-1 48.0 vs test 57.1). The short
 *           regime (6 epochs, 186 steps) trains past chance but is far from converged, as 10
 *           ImageNet epochs are; 60:6 keeps the paper's order of magnitude between the regimes
 *           (350:10). One seed a point, 3 for the 6 points the claims compare: 39 runs. smoke: 256
 *           images, 1 epoch.
 * Sanity:   every run trains; in the long regime the base and the two claimed models overfit.
 * Output:   results/rs_scaling/<run>.h5 -> plots/rs_scaling/{acc_vs_macs,acc_vs_time}.gp
 */
#include "lib/study.h"

// RandAugment N=2 M=10 (the paper tier; the cpu tier has none, above)
#define RA_PAPER "data.randaug=tf-n2-m10"

#define RS_LIGHT                                                                                              \
    "schedule.kind=cosine", "train.ema_decay=0.9999", "train.ema_warmup=tf", "model.bn_momentum=0",          \
        "train.label_smoothing=0.1", "optim.l2_weight_decay=4e-5"
// the paper's: with RandAugment and dropout (the cpu tier's capacity cannot carry them, above)
#define RS_TRAINING RS_LIGHT, "model.dropout=0.25"

// a point: axis_value_eE with the axis's override and the regime's epochs
#define P(axis, v, set, e) {axis "_" v "_e" #e, {set, "train.epochs=" #e}},
#define REGIME(e)                                                                                              \
    P("base", "1", "model.width=0.25", e) P("width", "0.125", "model.width=0.125", e)                          \
    P("width", "0.35", "model.width=0.35", e) P("width", "0.5", "model.width=0.5", e)                          \
    P("depth", "101", "model.name=resnet101", e) P("depth", "152", "model.name=resnet152", e)                  \
    P("res", "48", "model.res=48", e) P("res", "80", "model.res=80", e) P("res", "96", "model.res=96", e)
static const StudyPoint cpu[] = {REGIME(6) REGIME(20) REGIME(60)};
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
    {"in the long regime depth scaling beats width scaling at equal MACs (Fig. 3)", NULL, "depth_101_e60", "width_0.35_e60"},
    {"in the short regime width scaling beats depth scaling at equal MACs (Fig. 3)", NULL, "width_0.35_e6", "depth_101_e6"},
    {"the deepest model gains from the longer regime (Fig. 2: larger models need longer training)", NULL, "depth_152_e60", "depth_152_e20"},
};

const StudyDef study_rs_scaling = {
    .name = "rs_scaling",
    .question = "at equal compute, scale width, depth or resolution, and does training length change it?",
    .paper = "Bello et al. 2021, Revisiting ResNets, Figures 2-3 (scaling strategies by epoch regime)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/rs_baseline_imagenette.recipe",
                        {RS_LIGHT, "data.train_limit=256", "data.eval_limit=200", "train.batch=64"}, smoke,
                        LEN(smoke), 1, "256 images, 1 epoch: proves the path"},
        [TIER_CPU] = {.recipe = "recipes/rs_baseline_imagenette.recipe",
                      .sets = {RS_LIGHT, "data.train_limit=2000", "train.eval_every=5"}, .points = cpu,
                      .n_points = LEN(cpu), .seeds = 1, .claim_seeds = 3,
                      .why = "ResNet-50 x0.25 at 64 px on 2,000 Imagenette images (200 a class); regimes of 6 / 20 / 60 "
                             "epochs, the long one overfitting; RS training without RandAugment and dropout (the "
                             "capacity cannot carry them); 39 runs (3 seeds for the 6 points the claims compare)",
                      .sanity = {{"*", SANITY_LEARNS}, {"base_1_e60", SANITY_OVERFITS}, {"width_0.35_e60", SANITY_OVERFITS},
                                 {"depth_101_e60", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/rs_baseline.recipe", {RS_TRAINING, RA_PAPER, "model.name=resnetrs101", "model.res=224"},
                        paper, LEN(paper), 1, "as published: 10 / 100 / 350 epochs on ImageNet"},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_rs_scaling)
