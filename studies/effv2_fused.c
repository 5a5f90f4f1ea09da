/* studies/effv2_fused.c
 * Question: where should Fused-MBConv replace MBConv? (Tan & Le 2021, EfficientNetV2, Table 3:
 *           EfficientNet-B4 with its first 1-3 / 1-5 / 1-7 stages fused: 1-3 fused trains fastest
 *           (V100 155 -> 216 img/s) at equal or better accuracy (82.8 -> 83.1); all fused is
 *           slower than 1-3 and worse (81.7), with 7x the parameters and 7.6x the FLOPs)
 * Grid:     model.fused_stages 0 / 3 / 5 / 7 on EfficientNet-B4 (labels none, fused3, fused5,
 *           fused7); every run records params, MACs, training images/s and top-1.
 * Tiers:    paper = EfficientNet-B4 at 380 px on ImageNet with EfficientNetV2-S's training recipe,
 *           no progressive stages (the paper does not give Table 3's schedule; 350 epochs), 3 seeds.
 *           cpu = EfficientNet-B4 at width 0.35 and depth 0.5 (1.1M params unfused, 7.3M all fused:
 *           the published 6.8x ratio) on Imagenette at 96 px (380 / 4: the last stage's maps 3x3),
 *           RandAugment -rel1 at the recipe's 10, 15 epochs, 3 seeds. Its speed claims are about this
 *           machine's cpu backend, where a depthwise convolution is not the accelerator's weak spot
 *           the paper measured: they can come out the other way here and say so.
 *           smoke = 128 images, 1 epoch, 48 px.
 * Output:   results/effv2_fused/<run>.h5
 */
#include "lib/study.h"

#define PLACEMENTS(...)                                                                                        \
    {"none", {__VA_ARGS__, "model.fused_stages=0"}}, {"fused3", {__VA_ARGS__, "model.fused_stages=3"}},      \
        {"fused5", {__VA_ARGS__, "model.fused_stages=5"}}, {"fused7", {__VA_ARGS__, "model.fused_stages=7"}},

#define B4 "model.name=efficientnet_b4", "model.dropout=0.4", "progressive.stages=0", "progressive.res_min=0", \
           "progressive.res_max=0", "progressive.randaug_min=0", "progressive.randaug_max=0"
static const StudyPoint paper[] = {PLACEMENTS(B4, "model.res=380")};
static const StudyPoint cpu[] = {PLACEMENTS(B4, "model.width=0.35", "model.depth=0.5", "model.res=96")};
static const StudyPoint smoke[] = {PLACEMENTS(B4, "model.width=0.35", "model.depth=0.5", "model.res=48")};

// as accurate: not below by more than a point (the Welch 95% interval of the difference)
static int fused3_keeps_accuracy(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "fused3", "none", "top1", 1.0, numbers, cap);
}

static int fused3_faster_than_none(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_metric(r, "fused3", "none", "img_per_s", numbers, cap);
}

static int fused3_faster_than_fused7(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_metric(r, "fused3", "fused7", "img_per_s", numbers, cap);
}

static const StudyClaim claims[] = {
    {"Fused-MBConv in stages 1-3 trains faster than no fusion (Table 3: 155 -> 216 img/s on a V100)",
     fused3_faster_than_none, NULL, NULL},
    {"Fused-MBConv in stages 1-3 is as accurate as no fusion (not more than 1 point below; Table 3: 82.8 -> 83.1)",
     fused3_keeps_accuracy, NULL, NULL},
    {"fusing every stage is slower than fusing stages 1-3 (Table 3: 206 vs 216 img/s on a V100)",
     fused3_faster_than_fused7, NULL, NULL},
    {"fusing every stage is less accurate than fusing stages 1-3 (Table 3: 81.7 vs 83.1)", NULL, "fused3", "fused7"},
};

const StudyDef study_effv2_fused = {
    .name = "effv2_fused",
    .question = "where should Fused-MBConv replace MBConv: early stages only, or everywhere?",
    .paper = "Tan & Le 2021, EfficientNetV2, Table 3 (Fused-MBConv placement in EfficientNet-B4)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/effnetv2_s_cpu.recipe",
                        {"train.epochs=1", "data.train_limit=128", "data.eval_limit=100"},
                        smoke, LEN(smoke), 1, "128 images, 1 epoch: proves the path"},
        [TIER_CPU] = {"recipes/effnetv2_s_cpu.recipe",
                      {"train.epochs=15", "schedule.warmup_epochs=0.2143", "schedule.decay_epochs=0.1029",
                       "train.ema_decay=0.9950"},
                      cpu, LEN(cpu), 3,
                      "EfficientNet-B4 x0.35 width, x0.5 depth on Imagenette at 96 px, fused stages 0 / 3 / 5 / 7, "
                      "15 epochs, 3 seeds",
                      {{"*", SANITY_LEARNS}}},
        [TIER_PAPER] = {"recipes/effnetv2_s.recipe", {NULL}, paper, LEN(paper), 3,
                        "EfficientNet-B4 at 380 px on ImageNet, 350 epochs, 3 seeds a placement (Table 3 gives "
                        "one run each; the claims need a spread to judge by)",
                        {{"*", SANITY_LEARNS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_effv2_fused)
