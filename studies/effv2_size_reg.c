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
 *           the image (-rel1), half depth, on 2,000 training images (200 a class) x 94 epochs (the
 *           trained images of 20 epochs on all 9,469; the recipe's schedule's shape kept), all 3,925
 *           test images after every 5th epoch, 3 seeds. Why 2,000 images: the claim is that a
 *           larger image needs more regularization, which only shows where the weakly regularized
 *           cells overfit; ResNet-RS's pilots (issue 18) found this capacity underfitting on all
 *           9,469 images at this budget and overfitting by 8-14 points on 2,000 seen 66-90 times.
 *           smoke = 128 images, 1 epoch.
 * Output:   results/effv2_size_reg/<run>.h5
 */
#include <math.h> // sqrt

#include "lib/study.h"

#define FIXED "progressive.stages=0", "progressive.res_min=0", "progressive.res_max=0", \
              "progressive.randaug_min=0", "progressive.randaug_max=0"
#define ROW(size, px, rel, crop)                                                                               \
    {#size "_m5", {FIXED, "model.res=" #px, "data.crop_pct=" #crop, "data.randaug=tf-n2-m5" rel}},            \
        {#size "_m10", {FIXED, "model.res=" #px, "data.crop_pct=" #crop, "data.randaug=tf-n2-m10" rel}},      \
        {#size "_m15", {FIXED, "model.res=" #px, "data.crop_pct=" #crop, "data.randaug=tf-n2-m15" rel}},

// automl's eval below 320 px: a centre crop of size / (size + 32) (128: 0.8, 192: 0.857, 300: 0.904);
// the cpu tier keeps the recipe's plain resize, as its paper-scale sizes (384) would
static const StudyPoint paper[] = {ROW(small, 128, "", 0.8) ROW(mid, 192, "", 0.857143) ROW(large, 300, "", 0.903614)};
static const StudyPoint cpu[] = {ROW(small, 43, "-rel1", 0) ROW(mid, 64, "-rel1", 0) ROW(large, 100, "-rel1", 0)};
static const StudyPoint smoke[] = {ROW(small, 40, "-rel1", 0) ROW(large, 56, "-rel1", 0)};

// the paper's pattern, as three pairwise claims: at the small size the weakest magnitude beats the
// strongest, at the large size the strongest beats the weakest, and the strongest magnitude's gain
// over the weakest grows with the size: (l15 - l5) - (s15 - s5) against its standard error, the
// root of the four means' variances, at Welch-Satterthwaite's degrees of freedom over the four
static int gain_grows(const StudyResults *r, char *numbers, size_t cap)
{
    const char *label[4] = {"large_m15", "large_m5", "small_m15", "small_m5"};
    const double sign[4] = {1, -1, -1, 1};
    StudyStat s[4];
    double d = 0, var = 0, dfd = 0;
    int missing = 0, single = 0;
    for (int i = 0; i < 4; i++) {
        s[i] = study_stat(r, label[i], "top1");
        missing += !s[i].n, single += s[i].n == 1;
        if (!s[i].n) continue;
        double v = s[i].std * s[i].std / s[i].n;
        d += sign[i] * s[i].mean, var += v;
        if (s[i].n > 1) dfd += v * v / (s[i].n - 1);
    }
    if (missing) {
        snprintf(numbers, cap, "runs: large m15 %d, m5 %d; small m15 %d, m5 %d", s[0].n, s[1].n, s[2].n, s[3].n);
        return CLAIM_NOT_RUN;
    }
    double gl = s[0].mean - s[1].mean, gs = s[2].mean - s[3].mean;
    if (single) {
        snprintf(numbers, cap, "gain of m15 over m5: large %+.2f, small %+.2f; a point of one seed: no spread to "
                 "judge it by", gl, gs);
        return CLAIM_INCONCLUSIVE;
    }
    if (var == 0) {
        snprintf(numbers, cap, "gain of m15 over m5: large %+.2f, small %+.2f, no spread over seeds", gl, gs);
        return d > 0 ? CLAIM_SUPPORTED : d < 0 ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
    }
    double se = sqrt(var), df = var * var / (dfd + 1e-300), t = d / se, tc = study_t_crit(df);
    snprintf(numbers, cap, "gain of m15 over m5: large %+.2f, small %+.2f: difference %+.2f ± %.2f (Welch t %.2f, "
             "df %.1f, 5%% critical %.2f)", gl, gs, d, se, t, df, tc);
    return t > tc ? CLAIM_SUPPORTED : t < -tc ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
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
                      {"model.depth=0.5", "data.train_limit=2000", "train.epochs=94", "train.eval_every=5",
                       "schedule.warmup_epochs=1.343", "schedule.decay_epochs=0.6446", "train.ema_decay=0.9962"},
                      cpu, LEN(cpu), 3,
                      "EfficientNetV2-S x0.25 width, x0.5 depth on 2,000 Imagenette images (200 a class) at 43 / "
                      "64 / 100 px (ImageNet's / 3) x RandAugment 5 / 10 / 15 (-rel1), 94 epochs, the "
                      "overfitting regime (the recipe's schedule shape: warm-up 5/350, x0.97 every 2.4/350 of the "
                      "run; EMA over ~9% of its 2,914 steps), evaluated every 5th epoch, 3 seeds",
                      {{"*", SANITY_LEARNS}, {"*_m5", SANITY_OVERFITS}}},
        [TIER_PAPER] = {"recipes/effnetv2_s.recipe", {NULL}, paper, LEN(paper), 3,
                        "as published: EfficientNetV2-S on ImageNet at 128 / 192 / 300 px, 350 epochs, 3 runs a "
                        "point", {{"*", SANITY_LEARNS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_effv2_size_reg)
