/* studies/rs_weight_decay.c
 * Question: does the best weight decay depend on how much other regularization there is?
 *           (Bello et al. 2021, "Revisiting ResNets", Table 2: weight decay 1e-4 vs 4e-5 under no
 *           regularization, RandAugment + label smoothing, and + dropout (+ stochastic depth))
 * Grid:     {r50, r200} x {none, RA-LS, RA-LS-DO (r50) / RA-LS-SD-DO (r200)} x wd {1e-4, 4e-5},
 *           on the improved training (cosine, 350 epochs, EMA); recipe rs_baseline(_fmnist)
 * Tiers:    paper: ResNet-50 / ResNet-200 on ImageNet; cpu: ResNet-50 / ResNet-101 (the deeper
 *           model of the pair) at quarter width and 64 px on Imagenette's 2,000 training images (200
 *           a class) for 66 epochs: the 132,000 trained images of 14 epochs on all 9,469, but seen 66
 *           times each, so that the unregularized cells overfit as the paper's 350 ImageNet epochs
 *           do (piloted: ResNet-50 x0.25, 2,000 images x 90 epochs, train top-1 76.1 vs test 62.3;
 *           on all 9,469 images x 19 epochs it stays 2.7-5.2 below test, and weight decay could not
 *           matter). All 3,925 test images, evaluated after every 5th epoch (each evaluation costs
 *           about as much as an epoch's training here). The 8 cells the claims compare 3 seeds each, the 4
 *           RandAugment + label smoothing cells (drawn, not claimed) 1: 28 runs, about 3 h on 2
 *           cores. RandAugment's pixel sizes as fractions of the image (rel1). smoke: 256 images, 1
 *           epoch. Labels keep the paper's model names.
 * Sanity:   every run trains; the unregularized cells overfit (weight decay can only matter then).
 * Output:   results/rs_weight_decay/<run>.h5 -> plots/rs_weight_decay/grid.gp
 */
#include "lib/study.h"

// the improved training every cell shares: cosine, EMA with TF's BN convention, longer
#define BASE "schedule.kind=cosine", "train.ema_decay=0.9999", "train.ema_warmup=tf", "model.bn_momentum=0", EPOCHS
#define RALS RA, "train.label_smoothing=0.1"
#define DO "model.dropout=0.25"
#define SD "model.drop_path=0.1"
#define WD1 "optim.l2_weight_decay=1e-4"
#define WD4 "optim.l2_weight_decay=4e-5"
#define CELLS(m, M)                                                                                              \
    {m "_none_wd1e4", {M, BASE, WD1}}, {m "_none_wd4e5", {M, BASE, WD4}}, {m "_rals_wd1e4", {M, BASE, RALS, WD1}}, \
        {m "_rals_wd4e5", {M, BASE, RALS, WD4}}
#define GRID(R50, R200)                                                                                          \
    CELLS("r50", R50), {"r50_ralsdo_wd1e4", {R50, BASE, RALS, DO, WD1}}, {"r50_ralsdo_wd4e5", {R50, BASE, RALS, DO, WD4}}, \
        CELLS("r200", R200), {"r200_ralssddo_wd1e4", {R200, BASE, RALS, SD, DO, WD1}},                            \
        {"r200_ralssddo_wd4e5", {R200, BASE, RALS, SD, DO, WD4}},

#define EPOCHS "train.epochs=350"
#define RA "data.randaug=tf-n2-m15"
static const StudyPoint paper[] = {GRID("model.name=resnet50", "model.name=resnet200")};
#undef EPOCHS
#undef RA
#define EPOCHS "train.epochs=66"
#define RA "data.randaug=tf-n2-m15-rel1"
static const StudyPoint cpu[] = {GRID("model.name=resnet50", "model.name=resnet101")};
#undef EPOCHS
#define EPOCHS "train.epochs=1"
static const StudyPoint smoke[] = {{"r50_none_wd1e4", {"model.name=resnet50", BASE, WD1}},
                                   {"r50_ralsdo_wd4e5", {"model.name=resnet50", BASE, RALS, DO, WD4}}};

static const StudyClaim claims[] = {
    {"without regularization the larger weight decay is better (r50: 79.7 vs 78.7)", NULL, "r50_none_wd1e4", "r50_none_wd4e5"},
    {"with RA, LS and dropout the smaller weight decay is better (r50: 82.7 vs 82.2)", NULL, "r50_ralsdo_wd4e5", "r50_ralsdo_wd1e4"},
    {"without regularization the larger weight decay is better (r200: 82.5 vs 81.7)", NULL, "r200_none_wd1e4", "r200_none_wd4e5"},
    {"with RA, LS, SD and dropout the smaller weight decay is better (r200: 85.5 vs 85.3)", NULL, "r200_ralssddo_wd4e5", "r200_ralssddo_wd1e4"},
};

const StudyDef study_rs_weight_decay = {
    .name = "rs_weight_decay",
    .question = "does the best weight decay depend on how much other regularization there is?",
    .paper = "Bello et al. 2021, Revisiting ResNets, Table 2 (weight decay x regularization)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/rs_baseline_imagenette.recipe",
                        {"data.train_limit=256", "data.eval_limit=200", "train.batch=64"}, smoke, LEN(smoke), 1,
                        "256 images, 1 epoch: proves the path"},
        [TIER_CPU] = {.recipe = "recipes/rs_baseline_imagenette.recipe",
                      .sets = {"data.train_limit=2000", "train.eval_every=5"},
                      .points = cpu, .n_points = LEN(cpu), .seeds = 1, .claim_seeds = 3,
                      .why = "ResNet-50 / ResNet-101 x0.25 at 64 px on 2,000 Imagenette images (200 a class) x 66 "
                             "epochs, the overfitting regime; the claims' 8 cells 3 seeds, the other 4 one: 28 runs, "
                             "about 3 h on 2 cores",
                      .sanity = {{"*", SANITY_LEARNS}, {"*_none_*", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/rs_baseline.recipe", {"model.res=224"}, paper, LEN(paper), 1,
                        "as published: ResNet-50 / ResNet-200 on ImageNet, 350 epochs"},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_rs_weight_decay)
