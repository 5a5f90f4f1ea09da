/* studies/effv2_size_reg.c
 * Question: does the best regularization strength grow with the image size? (Tan & Le 2021,
 *           EfficientNetV2, Table 5: EfficientNetV2-S trained at 128 / 192 / 300 px with
 *           RandAugment magnitude 5 / 10 / 15, mean ± std of 3 runs: the best magnitude is 5 at
 *           128 px (78.3), 10 at 192 (81.6), 15 at 300 (83.2) — the observation progressive
 *           learning is built on)
 * Grid:     3 sizes x 3 magnitudes, one fixed size per run (no progressive stages), evaluated at
 *           the training size (the paper does not give Table 5's eval size; the same-size reading
 *           keeps each row's train/eval ratio equal). Labels small/mid/large_m5/m10/m15.
 * Tiers:    paper = EfficientNetV2-S on ImageNet at 128 / 192 / 300 px, 350 epochs.
 *           cpu = EfficientNetV2-S x0.25 on Imagenette at ImageNet's sizes / 3 (43 / 64 / 100 px:
 *           the last stage's maps 2x2, 2x2, 4x4), RandAugment with its pixel sizes as fractions of
 *           the image (-rel1), half depth, 20 epochs (the recipe's schedule's shape kept), 3 seeds.
 *           smoke = 128 images, 1 epoch.
 * Output:   results/effv2_size_reg/<run>.h5
 */
#include <math.h> // sqrt

#include "lib/study.h"

#define FIXED "progressive.stages=0", "progressive.res_min=0", "progressive.res_max=0", \
              "progressive.randaug_min=0", "progressive.randaug_max=0"
#define ROW(size, px, rel)                                                                                     \
    {#size "_m5", {FIXED, "model.res=" #px, "data.randaug=tf-n2-m5" rel}},                                    \
        {#size "_m10", {FIXED, "model.res=" #px, "data.randaug=tf-n2-m10" rel}},                              \
        {#size "_m15", {FIXED, "model.res=" #px, "data.randaug=tf-n2-m15" rel}},

static const StudyPoint paper[] = {ROW(small, 128, "") ROW(mid, 192, "") ROW(large, 300, "")};
static const StudyPoint cpu[] = {ROW(small, 43, "-rel1") ROW(mid, 64, "-rel1") ROW(large, 100, "-rel1")};
static const StudyPoint smoke[] = {ROW(small, 40, "-rel1") ROW(large, 56, "-rel1")};

// the paper's pattern, as three pairwise claims: at the small size the weakest magnitude beats the
// strongest, at the large size the strongest beats the weakest, and the strongest magnitude's gain
// over the weakest grows with the size (large's gain above small's: Welch on the difference of
// the two differences, its variance the sum of the four)
static int gain_grows(const StudyResults *r, char *numbers, size_t cap)
{
    StudyStat s5 = study_stat(r, "small_m5", "top1"), s15 = study_stat(r, "small_m15", "top1"),
              l5 = study_stat(r, "large_m5", "top1"), l15 = study_stat(r, "large_m15", "top1");
    if (!s5.n || !s15.n || !l5.n || !l15.n) {
        snprintf(numbers, cap, "runs: small m5 %d, m15 %d; large m5 %d, m15 %d", s5.n, s15.n, l5.n, l15.n);
        return CLAIM_NOT_RUN;
    }
    // the gain m15 - m5 at each size as a stat: its mean, and a std giving the same standard error
    // with the smaller seed count (a conservative pooling for Welch's test)
    int ns = MIN(s5.n, s15.n), nl = MIN(l5.n, l15.n);
    double vs = s5.std * s5.std / s5.n + s15.std * s15.std / s15.n, vl = l5.std * l5.std / l5.n + l15.std * l15.std / l15.n;
    StudyStat gs = {ns, s15.mean - s5.mean, sqrt(vs * ns)}, gl = {nl, l15.mean - l5.mean, sqrt(vl * nl)};
    char what[200];
    ClaimVerdict v = study_compare(gl, gs, what, sizeof what);
    snprintf(numbers, cap, "gain of m15 over m5: large %+.2f, small %+.2f: %s", gl.mean, gs.mean, what);
    return v;
}

static const StudyClaim claims[] = {
    {"at the small size, weak RandAugment (m 5) beats strong (m 15) (Table 5: 78.3 vs 77.7 at 128 px)", NULL,
     "small_m5", "small_m15"},
    {"at the large size, strong RandAugment (m 15) beats weak (m 5) (Table 5: 83.2 vs 82.5 at 300 px)", NULL,
     "large_m15", "large_m5"},
    {"the gain of strong over weak RandAugment grows with the image size (Table 5: -0.6 at 128 px, +0.7 at 300)",
     gain_grows, NULL, NULL},
};

const StudyDef study_effv2_size_reg = {
    .name = "effv2_size_reg",
    .question = "does the best RandAugment magnitude grow with the image size?",
    .paper = "Tan & Le 2021, EfficientNetV2, Table 5 (image size x RandAugment magnitude, EfficientNetV2-S)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/effnetv2_s_cpu.recipe",
                        {"train.epochs=1", "data.train_limit=128", "data.eval_limit=100"},
                        smoke, LEN(smoke), 1, "128 images, 1 epoch: proves the path"},
        [TIER_CPU] = {"recipes/effnetv2_s_cpu.recipe",
                      {"model.depth=0.5", "train.epochs=20", "schedule.warmup_epochs=0.2857",
                       "schedule.decay_epochs=0.1371", "train.ema_decay=0.9962"},
                      cpu, LEN(cpu), 3,
                      "EfficientNetV2-S x0.25 width, x0.5 depth on Imagenette at 43 / 64 / 100 px (ImageNet's / "
                      "3) x RandAugment 5 / 10 / 15 (-rel1), 20 epochs (the recipe's schedule shape: warm-up "
                      "5/350, x0.97 every 2.4/350 of the run; EMA over ~9% of it), 3 seeds: about 2.9 h on 2 "
                      "cores (356 training images/s measured at 100 px)",
                      {{"*", SANITY_LEARNS}, {"*_m5", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/effnetv2_s.recipe", {NULL}, paper, LEN(paper), 3,
                        "as published: EfficientNetV2-S on ImageNet at 128 / 192 / 300 px, 350 epochs, 3 runs a "
                        "point", {{"*", SANITY_LEARNS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_effv2_size_reg)
