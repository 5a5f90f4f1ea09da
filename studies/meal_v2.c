/* studies/meal_v2.c
 * Question: does distilling a compact student from an ensemble of stronger teachers, MEAL V2's way
 *           (the teachers' averaged softmax, a discriminator on the logits, no hard labels, from the
 *           student's supervised weights), lift it above its supervised training, and which of the
 *           method's parts carry the gain? (Shen & Savvides 2020, "MEAL V2", README and §4: ResNet-50
 *           76.1 -> 80.67 top-1 from gluon SENet-154 + ResNet-152 v1s; issue #12: about 1 point
 *           lower from scratch)
 * Grid:     the teachers and the supervised student first (runs of the study: the distilling runs
 *           refer to their checkpoints, @LABEL), then, each from the supervised student's weights of
 *           its own seed:
 *           sup_more (as many more epochs on hard labels with MEAL V2's optimizer: what the extra
 *           epochs alone give), kd_one (the stronger teacher alone), kd_ens (both, no discriminator),
 *           meal (both + discriminator: MEAL V2), meal_hard (+ the hard-label cross-entropy), and
 *           meal_scratch (MEAL V2 from a random start).
 * Tiers:    paper: ResNet-50 at 224 on ImageNet, 180 epochs from timm's pretrained weights, the
 *           published teachers (recipes/meal_v2.recipe). cpu: ResNet-20 student, ResNet-32 and -44
 *           teachers on CIFAR-10 (20,000 training images, all 10,000 test images, 32 px):
 *           the teachers 30 epochs and the student 15, supervised (recipes/cifar10_resnet20.recipe's
 *           cosine), then 8 epochs of distillation (recipes/meal_v2_cpu.recipe); the teachers one
 *           seed, every compared point 3. The teachers train twice as long as the student's start
 *           and are deeper, so that they are clearly stronger, as MEAL V2's are (81.4 / 80.9
 *           against ResNet-50's 76.1).
 *           smoke: 256 images, 1 epoch a run.
 * Metric:   final top-1.
 * Sanity:   every run trains.
 * Output:   results/meal_v2/<run>.h5 -> plots/meal_v2/meal_v2.gp
 */
#include "lib/study.h"

#define SUP "recipes/cifar10_resnet20.recipe"
#define KD "recipes/meal_v2_cpu.recipe"
// the supervised runs: the teachers and the student's start (cifar10_resnet20's cosine)
#define SUPERVISED(label, model, epochs) {label, {"model.name=" model, "train.epochs=" epochs}, SUP}
// the distilling arms, each from the supervised student of its own seed (seed k from sup's seed k,
// so that the seeds' spread holds the start's too; the recipe's own reference is seed 1's)
#define NO_DISC "distill.discriminator=false"
#define START "model.weights=@sup/seed"
static const StudyPoint cpu[] = {
    SUPERVISED("teacher_a", "resnet32", "30"), SUPERVISED("teacher_b", "resnet44", "30"),
    SUPERVISED("sup", "resnet20", "15"),
    {"sup_more", {START, "distill.teachers=", NO_DISC}, KD}, // no teachers: hard labels, MEAL V2's optimizer
    {"kd_one", {START, "distill.teachers=resnet44:@teacher_b", NO_DISC}, KD},
    {"kd_ens", {START, NO_DISC}, KD},
    {"meal", {START}, KD},
    {"meal_hard", {START, "distill.ce_weight=1"}, KD},
    {"meal_scratch", {"model.weights="}, KD},
};
// smoke: the same path, its references as labels (the recipe's are the cpu tier's runs)
#define REFS "model.weights=@sup", "distill.teachers=resnet32:@teacher_a, resnet44:@teacher_b"
static const StudyPoint smoke[] = {
    SUPERVISED("teacher_a", "resnet32", "1"), SUPERVISED("teacher_b", "resnet44", "1"), SUPERVISED("sup", "resnet20", "1"),
    {"kd_one", {"model.weights=@sup", "distill.teachers=resnet44:@teacher_b", NO_DISC}, KD},
    {"meal", {REFS}, KD},
    {"meal_hard", {REFS, "distill.ce_weight=1"}, KD},
};
// paper: the published recipe from timm's pretrained ResNet-50 and teachers (their files are not here)
static const StudyPoint paper[] = {
    {"kd_one", {"distill.teachers=senet154:results/teachers/imagenet/senet154_gluon.safetensors", NO_DISC}},
    {"kd_ens", {NO_DISC}}, {"meal", {NULL}}, {"meal_hard", {"distill.ce_weight=1"}},
    {"meal_scratch", {"model.weights="}},
};

// "does not hurt" / "not needed": not below by more than half a point (the Welch 95% interval)
static int disc_does_not_hurt(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "meal", "kd_ens", "top1", 0.5, numbers, cap);
}

static int hard_labels_not_needed(const StudyResults *r, char *numbers, size_t cap)
{
    return study_claim_not_below(r, "meal", "meal_hard", "top1", 0.5, numbers, cap);
}

static const StudyClaim claims[] = {
    {"MEAL V2 lifts the student above its supervised training (ResNet-50: 76.1 -> 80.67)", NULL, "meal", "sup"},
    {"the gain is the teachers', not the extra epochs: above as many epochs on hard labels", NULL, "meal",
     "sup_more"},
    {"an ensemble of two teachers beats the stronger one alone", NULL, "kd_ens", "kd_one"},
    {"the discriminator does not hurt (not more than 0.5 below without it)", disc_does_not_hurt, "meal", "kd_ens"},
    {"hard labels are not needed (not more than 0.5 below with them)", hard_labels_not_needed, "meal", "meal_hard"},
    {"the supervised start beats a random one (issue #12: about 1 point)", NULL, "meal", "meal_scratch"},
};

const StudyDef study_meal_v2 = {
    .name = "meal_v2",
    .question = "does MEAL V2's ensemble distillation lift a compact student, and which of its parts carry the gain?",
    .paper = "Shen & Savvides 2020, MEAL V2 (README results; the teachers' ensemble, discriminator, no hard labels)",
    .tiers = {
        [TIER_SMOKE] = {KD, {"train.epochs=1", "data.train_limit=256", "data.eval_limit=200", "train.batch=64"},
                        smoke, LEN(smoke), 1, "256 images, 1 epoch a run: proves the path (teachers first)"},
        [TIER_CPU] = {KD, {"data.train_limit=20000"}, cpu, LEN(cpu), 1,
                      "ResNet-20 from ResNet-32 + ResNet-44 teachers on 20,000 CIFAR-10 images (2,000 a class) "
                      "at 32 px: the teachers 30 epochs (one seed), the student 15 supervised, then 8 of "
                      "distillation (3 seeds a compared point)",
                      {{"*", SANITY_LEARNS}}, 3},
        [TIER_PAPER] = {"recipes/meal_v2.recipe", {NULL}, paper, LEN(paper), 1,
                        "as published: ResNet-50 at 224 on ImageNet, 180 epochs from timm's pretrained weights, "
                        "batch 512, teachers SENet-154 + ResNet-152 v1s",
                        {{"*", SANITY_LEARNS}}, 3},
    },
    .claims = claims,
    .n_claims = LEN(claims),
};

STUDY_PROGRAM(study_meal_v2)
