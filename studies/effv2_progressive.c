/* studies/effv2_progressive.c
 * Question: does progressive learning (image size and regularization growing stage by stage) train
 *           EfficientNetV2 to the accuracy of fixed-size training in less time, and does growing
 *           the size alone, without the regularization, lose accuracy?
 *           (Tan & Le 2021, EfficientNetV2, section 4 and Table 6; the released code's rule in
 *           google/automl efficientnetv2/main.py)
 * Grid:     four arms of one recipe (effnetv2_s), the same steps and schedule:
 *             fixed   every stage at the final training size, RandAugment at its final magnitude
 *                     (4 stages of one size: nothing changes but the loader's name for them)
 *             resize  the sizes grow (the code's rule), RandAugment stays at the final magnitude
 *             code    the released code's rule: sizes and RandAugment 5 .. 10 grow together
 *             paper   the paper's rule (Table 6): sizes from ibase, RandAugment 5 .. 15, dropout
 *                     0.1 .. 0.3
 *           Evaluation at model.res throughout (the paper's 384, the cpu tier's 128).
 * Tiers:    paper = EfficientNetV2-S on ImageNet, 350 epochs, 128 .. 300 px, eval 384 (runs once
 *           the ImageNet reader exists). cpu = EfficientNetV2-S at width 0.25 on Imagenette at
 *           ImageNet's sizes / 3 (43 .. 100 px, eval 128: the last stage's maps 2x2 at 43-64 px,
 *           3x3 at 65-96, 4x4 at 100 and 128; below 33 px they were 1x1 and collapsed the old
 *           Fashion-MNIST tier, issue 19), 30 epochs (recipes/effnetv2_s_cpu.recipe) at half depth
 *           (at full depth the 12 runs would take 5.5 h here), 3 seeds. The paper arm ends at
 *           RandAugment 15 and dropout 0.3 where the fixed arm keeps 10 and 0.2: its claim is the
 *           paper's rule against fixed-size training, regularization strength included.
 *           smoke = 128 images, 2 epochs, 33 .. 48 px.
 * Output:   results/effv2_progressive/<run>.h5; wall time per run is part of every result (the
 *           claim is about time: compare runs made alike, e.g. all with --jobs 2).
 */
#include "lib/study.h"

// the arms at final training size F (the fixed arm's: keep it equal to the recipe's or the tier's
// progressive.res_max), the paper rule's RandAugment ceiling M
#define ARMS(F, M)                                                                                               \
    {"fixed", {"progressive.res_min=" #F, "progressive.res_max=" #F, "progressive.randaug_min=0",              \
               "progressive.randaug_max=0"}},                                                                    \
        {"resize", {"progressive.randaug_min=0", "progressive.randaug_max=0"}}, {"code", {NULL}},               \
        {"paper", {"progressive.rule=paper", "data.randaug=tf-n2-m" #M "-rel1", "progressive.randaug_max=" #M,   \
                   "model.dropout=0.3", "progressive.dropout_min=0.1", "progressive.dropout_max=0.3"}},

static const StudyPoint cpu[] = {ARMS(100, 15)};
static const StudyPoint smoke[] = {ARMS(48, 15)};
#undef ARMS
// on ImageNet the paper arm's RandAugment is TF's own (absolute pixels, made for these sizes)
static const StudyPoint paper[] = {
    {"fixed", {"progressive.res_min=300", "progressive.randaug_min=0", "progressive.randaug_max=0"}},
    {"resize", {"progressive.randaug_min=0", "progressive.randaug_max=0"}},
    {"code", {NULL}},
    {"paper", {"progressive.rule=paper", "data.randaug=tf-n2-m15", "progressive.randaug_max=15", "model.dropout=0.3",
               "progressive.dropout_min=0.1", "progressive.dropout_max=0.3"}},
};

// "the same accuracy": not below the fixed-size arm by more than a point (the 95% interval of the
// difference, Welch), the paper's Figure/Table gaps being a few tenths; a worse arm whose interval
// lies below -1 contradicts it
#define SAME_MARGIN 1.0

static int code_keeps_accuracy(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "code", "fixed", "top1", SAME_MARGIN, numbers, cap);
}

static int paper_keeps_accuracy(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "paper", "fixed", "top1", SAME_MARGIN, numbers, cap);
}

// less time: the fixed arm's wall time above the progressive one's (Welch, as every claim)
static int code_takes_less_time(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_metric(r, "fixed", "code", "wall_s", numbers, cap);
}

static const StudyClaim claims[] = {
    {"progressive learning (the released code's rule) is as accurate as fixed-size training at the final "
     "size (not more than 1 point below)", code_keeps_accuracy, NULL, NULL},
    {"progressive learning (the paper's rule, Table 6) is as accurate as fixed-size training (not more than "
     "1 point below)", paper_keeps_accuracy, NULL, NULL},
    {"progressive learning trains in less wall time than fixed-size training", code_takes_less_time, NULL, NULL},
    {"growing the image size alone loses accuracy: growing RandAugment with it (adaptive regularization) "
     "beats it", NULL, "code", "resize"},
};

const StudyDef study_effv2_progressive = {
    .name = "effv2_progressive",
    .question = "does progressive learning reach fixed-size accuracy in less time, and does resizing alone lose "
                "accuracy?",
    .paper = "Tan & Le 2021, EfficientNetV2, section 4 / Table 6 (progressive learning with adaptive regularization)",
    .tiers = {
        [TIER_SMOKE] = {"recipes/effnetv2_s_cpu.recipe",
                        {"train.epochs=2", "data.train_limit=128", "data.eval_limit=100", "model.res=64",
                         "progressive.res_min=33", "progressive.res_max=48"},
                        smoke, LEN(smoke), 1, "128 images, 2 epochs, 33 .. 48 px: proves the path"},
        [TIER_CPU] = {"recipes/effnetv2_s_cpu.recipe", {"model.depth=0.5"}, cpu, LEN(cpu), 3,
                      "EfficientNetV2-S x0.25 width, x0.5 depth on Imagenette, ImageNet's sizes / 3 (43 .. 100 px, "
                      "eval 128), 30 epochs, 4 arms x 3 seeds: about 3 h on 2 cores (measured at 2 threads: 356 "
                      "training images/s at 100 px, 199 at full depth, which would take 5.5 h)",
                      {{"*", SANITY_LEARNS}}},
        [TIER_PAPER] = {"recipes/effnetv2_s.recipe", {NULL}, paper, LEN(paper), 3,
                        "as published: EfficientNetV2-S on ImageNet, 350 epochs, 128 .. 300 px, eval 384, batch "
                        "4096 (published: 83.9% with the code's rule)",
                        {{"*", SANITY_LEARNS}}},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_effv2_progressive)
