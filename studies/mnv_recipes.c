/* studies/mnv_recipes.c
 * Question: does timm's "ra4" recipe (AdamW with beta1 0.6, RandAugment, Gaussian-noise random
 *           erasing, EMA, long cosine schedules) beat the recipes the MobileNets and EfficientNet-B0
 *           were first trained with, and which of its unusual choices matter? (Wightman 2024,
 *           "MobileNet Baselines": MobileNet-V1 70.9 -> 75.4, EfficientNet-B0 76.7 -> 78.6 at 224,
 *           3600 epochs; MobileNetV4-Conv-Small 73.8 in 2400)
 * Grid:     MobileNet V1 / V2 / V3-Large / V4-Conv-Small and EfficientNet-B0, each under its
 *           original recipe (recipes/<model>_orig.recipe: the authors' papers and code) and under
 *           ra4 (recipes/ra4_e3600.recipe) at the same epochs; on MobileNetV4-Conv-Small both at 4x
 *           the epochs (an epochs axis: does ra4's gain grow with training?) and ra4 without its
 *           unusual choices: beta1 0.9, no random erasing, and with repeated augmentation (3).
 * Tiers:    paper: ImageNet at 224, each recipe's own epochs and batch. cpu: Imagenette at 64 px
 *           (ImageNet's 224 / 3.5), 8 epochs (32 on the epochs axis) at batch 64, every schedule
 *           scaled to keep its shape: decay periods, warm-ups and EMA horizons as the same fraction
 *           of the run, rates by each recipe's batch rule (linear for RMSProp, timm's sqrt for
 *           AdamW); batch norm at PyTorch's momentum (the originals' TF 0.99-0.9997 average over
 *           more steps than 8 epochs have); 3 seeds. smoke: 128 images, 1 epoch a run.
 * Metric:   final top-1 (the EMA weights' where a run keeps one, as the recipes evaluate).
 * Sanity:   every run trains.
 * Output:   results/mnv_recipes/<run>.h5 -> plots/mnv_recipes/recipes.gp
 */
#include "lib/study.h"

#include <math.h> // sqrt

#define RA4 "recipes/ra4_e3600.recipe"
// batch norm at PyTorch's momentum 0.1 for every recipe at the small tiers (see Tiers above)
#define BN "model.bn_momentum=0", "model.bn_momentum_tf=false"
// the cpu tier's 8 epochs of 147 steps (Imagenette's 9,469 images at batch 64): 1,176 steps.
// Each recipe's schedule scaled by 8 / its epochs; its EMA decay so that the EMA averages the same
// share of the run's steps (1 / (1 - decay) steps over the paper's steps), its warm-up the same
// share of the epochs
//   MobileNet V1: 200 epochs, x0.94 every 2 -> every 0.08; no EMA
#define MNV1_ORIG {"schedule.decay_epochs=0.08"}, "recipes/mnv1_orig.recipe"
//   MobileNet V2: 420 epochs, x0.98 every 2.5 -> 0.0476; EMA 0.9999 over 700K steps -> 17 of 1,176: 0.94
#define MNV2_ORIG {"schedule.decay_epochs=0.0476", "train.ema_decay=0.94"}, "recipes/mnv2_orig.recipe"
//   MobileNet V3-Large: 350 epochs, x0.99 every 3 -> 0.0686, warm-up 5 -> 0.114; EMA 0.9999 over
//   109K steps -> 107: 0.9907
#define MNV3_ORIG                                                                                           \
    {"schedule.decay_epochs=0.0686", "schedule.warmup_epochs=0.114", "train.ema_decay=0.9907"},            \
        "recipes/mnv3l_orig.recipe"
//   EfficientNet-B0: 350 epochs, x0.97 every 2.4 -> 0.0549, warm-up 5 -> 0.114; EMA 0.9999 over
//   219K steps -> 54: 0.9815
#define B0_ORIG                                                                                             \
    {"schedule.decay_epochs=0.0549", "schedule.warmup_epochs=0.114", "train.ema_decay=0.9815"},            \
        "recipes/b0_orig.recipe"
//   MobileNetV4-Conv-Small: 9600 epochs, warm-up 5 -> 0.0042; EMA 0.9999 over 3.0M steps -> 3.9
//   steps: 0.745 (its EMA is almost the last weights, as on ImageNet); the rate 0.002 at 4096 by
//   timm's sqrt rule for AdamW (the paper gives no rule: linear would make it 3e-5 at 64)
#define MNV4_ORIG(...)                                                                                      \
    {"schedule.warmup_epochs=0.0042", "train.ema_decay=0.745", "schedule.lr_sqrt=true", __VA_ARGS__},      \
        "recipes/mnv4s_orig.recipe"
//   ra4: 3600 epochs at 4096 (312 steps each), warm-up 5 -> 0.011; EMA 0.99995 over 1.12M steps
//   -> 21: 0.952. Per model: timm's eval crop (ra4_e3600.recipe's rows)
#define RA4_SETS(model, crop, ...)                                                                          \
    {"model.name=" model, "data.crop_pct=" crop, "schedule.warmup_epochs=0.011", "train.ema_decay=0.952",  \
     __VA_ARGS__}, RA4
#define E4 "train.epochs=32"
#define PAIRS                                                                                               \
    {"orig_mnv1", MNV1_ORIG}, {"ra4_mnv1", RA4_SETS("mobilenetv1_100", "0.875", NULL)},                     \
        {"orig_mnv2", MNV2_ORIG}, {"ra4_mnv2", RA4_SETS("mobilenetv2_100", "0.875", NULL)},                 \
        {"orig_mnv3l", MNV3_ORIG}, {"ra4_mnv3l", RA4_SETS("mobilenetv3_large_100", "0.95", NULL)},          \
        {"orig_mnv4s", MNV4_ORIG(NULL)}, {"ra4_mnv4s", RA4_SETS("mobilenetv4_conv_small", "0.875", NULL)},  \
        {"orig_b0", B0_ORIG}, {"ra4_b0", RA4_SETS("efficientnet_b0", "0.9", NULL)},
// the epochs axis: 4x the epochs, every schedule's share the same (decay periods x4; EMA horizons x4)
#define AXIS                                                                                                \
    {"orig_mnv4s_e4x", MNV4_ORIG(E4, "schedule.warmup_epochs=0.0167", "train.ema_decay=0.936")},           \
        {"ra4_mnv4s_e4x", RA4_SETS("mobilenetv4_conv_small", "0.875", E4, "schedule.warmup_epochs=0.044",   \
                                   "train.ema_decay=0.988")},
// ra4's unusual choices on the small model, one at a time
#define ABLATIONS                                                                                           \
    {"ra4_mnv4s_beta09", RA4_SETS("mobilenetv4_conv_small", "0.875", "optim.beta1=0.9")},                   \
        {"ra4_mnv4s_noerase", RA4_SETS("mobilenetv4_conv_small", "0.875", "data.erase_p=0")},               \
        {"ra4_mnv4s_repeat3", RA4_SETS("mobilenetv4_conv_small", "0.875", "data.repeated_aug=3")},

static const StudyPoint cpu[] = {PAIRS AXIS ABLATIONS};
static const StudyPoint smoke[] = {PAIRS ABLATIONS};
// paper: every recipe as published (ra4's rows: the model and its eval crop)
static const StudyPoint paper[] = {
    {"orig_mnv1", {NULL}, "recipes/mnv1_orig.recipe"},
    {"ra4_mnv1", {"model.name=mobilenetv1_100", "data.crop_pct=0.875"}, RA4},
    {"orig_mnv2", {NULL}, "recipes/mnv2_orig.recipe"},
    {"ra4_mnv2", {"model.name=mobilenetv2_100", "data.crop_pct=0.875"}, RA4},
    {"orig_mnv3l", {NULL}, "recipes/mnv3l_orig.recipe"},
    {"ra4_mnv3l", {"model.name=mobilenetv3_large_100", "data.crop_pct=0.95"}, RA4},
    {"orig_mnv4s", {NULL}, "recipes/mnv4s_orig.recipe"},
    {"ra4_mnv4s", {NULL}, "recipes/mnv4_small_ra4.recipe"},
    {"orig_b0", {NULL}, "recipes/b0_orig.recipe"},
    {"ra4_b0", {"model.name=efficientnet_b0", "data.crop_pct=0.9"}, RA4},
    {"ra4_mnv4s_beta09", {"optim.beta1=0.9"}, "recipes/mnv4_small_ra4.recipe"},
    {"ra4_mnv4s_noerase", {"data.erase_p=0"}, "recipes/mnv4_small_ra4.recipe"},
    {"ra4_mnv4s_repeat3", {"data.repeated_aug=3"}, "recipes/mnv4_small_ra4.recipe"},
};

static int ra4_beats_each(const StudyResults *r, char *numbers, size_t cap)
{
    static const char *const ra4[] = {"ra4_mnv1", "ra4_mnv2", "ra4_mnv3l", "ra4_mnv4s", "ra4_b0"};
    static const char *const orig[] = {"orig_mnv1", "orig_mnv2", "orig_mnv3l", "orig_mnv4s", "orig_b0"};
    return study_claim_each(r, ra4, orig, LEN(ra4), "top1", false, numbers, cap);
}

// ra4's gain over the original at 4x the epochs above its gain at 1x: the difference of two
// differences, its standard error from the four points' seed spreads (Welch-Satterthwaite's
// degrees of freedom), Student's t at 5% two-sided
static int gain_grows(const StudyResults *r, char *numbers, size_t cap)
{
    const char *const labels[4] = {"ra4_mnv4s_e4x", "orig_mnv4s_e4x", "ra4_mnv4s", "orig_mnv4s"};
    StudyStat s[4];
    double var = 0, dfd = 0;
    for (int i = 0; i < 4; i++) {
        s[i] = study_stat(r, labels[i], "top1");
        if (!s[i].n) {
            snprintf(numbers, cap, "%s: not run", labels[i]);
            return CLAIM_NOT_RUN;
        }
        double v = s[i].std * s[i].std / s[i].n;
        var += v;
        dfd += s[i].n > 1 ? v * v / (s[i].n - 1) : INFINITY;
    }
    double g4 = s[0].mean - s[1].mean, g1 = s[2].mean - s[3].mean, d = g4 - g1, se = sqrt(var);
    double df = dfd > 0 && isfinite(dfd) ? var * var / dfd : 0;
    int at = snprintf(numbers, cap, "gain at 32 epochs %+.2f (%.2f vs %.2f), at 8 %+.2f (%.2f vs %.2f): "
                      "difference %+.2f ± %.2f", g4, s[0].mean, s[1].mean, g1, s[2].mean, s[3].mean, d, se);
    if (df < 1 || !(se > 0)) {
        snprintf(numbers + at, cap - (size_t)at, "; too few seeds to judge it by");
        return CLAIM_INCONCLUSIVE;
    }
    double t = d / se, crit = study_t_crit(df);
    snprintf(numbers + at, cap - (size_t)at, " (t %.1f, df %.1f, 5%% critical %.2f)", t, df, crit);
    return t > crit ? CLAIM_SUPPORTED : t < -crit ? CLAIM_CONTRADICTED : CLAIM_INCONCLUSIVE;
}

// without repeated augmentation not below with it by more than half a point (non-inferiority)
static int repeat_does_not_help(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "ra4_mnv4s", "ra4_mnv4s_repeat3", "top1", 0.5, numbers, cap);
}

static const StudyClaim claims[] = {
    {"ra4 beats each model's original recipe at the same epochs (the blog: MobileNet-V1 70.9 -> 75.4, B0 "
     "76.7 -> 78.6, at 3600 epochs against ~350-420)", ra4_beats_each, "ra4_mnv1", "orig_mnv1"},
    {"ra4's gain over the original grows with longer training (MobileNetV4-Conv-Small, 8 -> 32 epochs)",
     gain_grows, "ra4_mnv4s_e4x", "orig_mnv4s_e4x"},
    {"ra4 keeps improving with longer training (MobileNetV4-Conv-Small, 32 epochs above 8)", NULL,
     "ra4_mnv4s_e4x", "ra4_mnv4s"},
    {"AdamW's beta1 0.6 matters for a small model: above 0.9 (the blog: 0.9 -> 0.6 for MNV4-small)", NULL,
     "ra4_mnv4s", "ra4_mnv4s_beta09"},
    {"Gaussian-noise random erasing helps a small model (ra4 keeps it at 0.25)", NULL, "ra4_mnv4s",
     "ra4_mnv4s_noerase"},
    {"repeated augmentation does not help a small model (ra4 leaves it off): with it not more than 0.5 above",
     repeat_does_not_help, "ra4_mnv4s", "ra4_mnv4s_repeat3"},
};

const StudyDef study_mnv_recipes = {
    .name = "mnv_recipes",
    .question = "does timm's ra4 recipe beat the MobileNets' and EfficientNet-B0's original recipes, and which of "
                "its choices matter?",
    .paper = "Wightman 2024, MobileNet Baselines (timm ra4) against the models' original recipes",
    .tiers = {
        [TIER_SMOKE] = {RA4,
                        {"data.dataset=imagenette", "model.classes=10", "model.res=64", "train.backend=cpu",
                         "train.epochs=1", "train.batch=32", "train.eval_batch=100", "data.train_limit=128",
                         "data.eval_limit=100", BN},
                        smoke, LEN(smoke), 1, "128 images, 1 epoch a run: proves every recipe's path"},
        [TIER_CPU] = {RA4,
                      {"data.dataset=imagenette", "model.classes=10", "model.res=64", "train.backend=cpu",
                       "train.epochs=8", "train.batch=64", "train.eval_batch=125", BN},
                      cpu, LEN(cpu), 3,
                      "5 models x {original, ra4} on Imagenette at 64 px, 8 epochs at batch 64, every schedule "
                      "scaled to its share of the run; MobileNetV4-Conv-Small also at 32 epochs and in three "
                      "ablations; 3 seeds a compared point",
                      {{"*", SANITY_LEARNS}}, 3},
        [TIER_PAPER] = {RA4, {NULL}, paper, LEN(paper), 1,
                        "as published: ImageNet at 224, each recipe's epochs (200-9600) and batch",
                        {{"*", SANITY_LEARNS}}, 3},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_mnv_recipes)
