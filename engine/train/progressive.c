/* engine/train/progressive.c — the stages of progressive.h: boundaries, settings, recipe checks. */
#include "progressive.h"

const char *const prog_rule_names[2] = {"paper", "code"};

bool prog_on(const ProgArgs *a) { return a->stages > 0; }

static bool pair_set(float lo, float hi) { return lo != 0 || hi != 0; }

// np.linspace(lo, hi, n)[k]: k * step + lo with step = (hi - lo) / (n - 1), the last exactly hi
// (numpy's arange(0, num) * step + start, then y[-1] = stop), in double as numpy computes it
static double linspace_at(double lo, double hi, int n, int k)
{
    if (k == n - 1) return hi;
    return k * ((hi - lo) / (n - 1)) + lo;
}

long prog_stage_end(int i, int stages, long total)
{
    double ratio = (double)(i + 1) / (double)stages; // main.py: float(stage + 1) / float(total_stages)
    return (long)(ratio * (double)total);           // int(ratio * train_steps)
}

int prog_train_res(const ProgArgs *a, int model_res)
{
    return prog_on(a) && a->res_max ? a->res_max : model_res;
}

int prog_stage_index(const ProgArgs *a, long total, long step)
{
    int i = 0;
    while (i < a->stages - 1 && step >= prog_stage_end(i, a->stages, total)) i++;
    return i;
}

ProgStage prog_stage_at(const ProgArgs *a, const ProgSettings *base, long total, long step)
{
    return prog_stage(a, base, total, prog_on(a) ? prog_stage_index(a, total, step) : 0);
}

ProgStage prog_stage(const ProgArgs *a, const ProgSettings *base, long total, int i)
{
    ProgStage st = {0, 0, 0, total, *base};
    if (!prog_on(a)) return st;
    int S = a->stages;
    CHECK(i >= 0 && i < S, "prog_stage: stage %d of %d", i, S);
    st.index = i, st.count = S;
    st.first = i ? prog_stage_end(i - 1, S, total) : 0;
    st.end = prog_stage_end(i, S, total);
    int lo = a->res_min ? a->res_min : base->res, hi = a->res_max ? a->res_max : base->res;
    if (a->rule == PROG_CODE) // int(ibase + (input_image_size - ibase) * ratio)
        st.s.res = (int)(lo + (double)(hi - lo) * ((double)(i + 1) / (double)S));
    else
        st.s.res = (int)linspace_at(lo, hi, S, i);
    if (pair_set(a->randaug_min, a->randaug_max)) st.s.randaug = linspace_at(a->randaug_min, a->randaug_max, S, i);
    if (pair_set(a->mixup_min, a->mixup_max)) {
        float alpha = (float)linspace_at(a->mixup_min, a->mixup_max, S, i);
        bool mixup = base->mixup_alpha > 0 || !(base->cutmix_alpha > 0); // both off: Mixup (Table 6)
        st.s.mixup_alpha = mixup ? alpha : 0;
        st.s.cutmix_alpha = base->cutmix_alpha > 0 ? alpha : 0;
    }
    if (a->rule == PROG_PAPER && pair_set(a->dropout_min, a->dropout_max))
        st.s.dropout = (float)linspace_at(a->dropout_min, a->dropout_max, S, i);
    return st;
}

// ---------------------------------------------------------------------------------------------
// the recipe's checks

#define BAD(...) do { log_error(__VA_ARGS__); return ERR_FORMAT; } while (0)

int prog_check(const ProgArgs *a, int model_res, const char *model, const ModelKnobs *k, bool randaug_on,
               bool live_teachers)
{
    const char *set = a->res_min || a->res_max ? "res_min / res_max"
                      : pair_set(a->randaug_min, a->randaug_max) ? "randaug_min / randaug_max"
                      : pair_set(a->mixup_min, a->mixup_max) ? "mixup_min / mixup_max"
                      : pair_set(a->dropout_min, a->dropout_max) ? "dropout_min / dropout_max" : NULL;
    if (!a->stages) {
        if (set) BAD("recipe: progressive.%s set but progressive.stages = 0 (off): give the stage count "
                     "(EfficientNetV2: 4) or drop the range", set);
        return 0;
    }
    if (a->stages < 2)
        BAD("recipe: progressive.stages = %d: one stage schedules nothing; 0 = off, or 2 and more (EfficientNetV2: 4)",
            a->stages);
    if (!set)
        BAD("recipe: progressive.stages = %d schedules nothing: set res_min / res_max, randaug_min / randaug_max, "
            "mixup_min / mixup_max or dropout_min / dropout_max", a->stages);
    if ((a->res_min && a->res_min < 8) || (a->res_max && a->res_max < 8))
        BAD("recipe: progressive.res_min / res_max = %d, %d: expected 0 (model.res) or 8 .. 4096", a->res_min,
            a->res_max);
    int lo = a->res_min ? a->res_min : model_res, hi = a->res_max ? a->res_max : model_res;
    if (lo > hi)
        BAD("recipe: progressive.res_min = %d is above progressive.res_max = %d (0 = model.res = %d): sizes grow "
            "from stage to stage", lo, hi, model_res);
    if (a->randaug_min > a->randaug_max)
        BAD("recipe: progressive.randaug_min = %g is above progressive.randaug_max = %g: magnitudes grow from "
            "stage to stage", a->randaug_min, a->randaug_max);
    if (a->mixup_min > a->mixup_max)
        BAD("recipe: progressive.mixup_min = %g is above progressive.mixup_max = %g: alphas grow from stage to "
            "stage", a->mixup_min, a->mixup_max);
    if (a->dropout_min > a->dropout_max)
        BAD("recipe: progressive.dropout_min = %g is above progressive.dropout_max = %g: dropout grows from stage "
            "to stage", a->dropout_min, a->dropout_max);
    if (pair_set(a->randaug_min, a->randaug_max) && !randaug_on)
        BAD("recipe: progressive.randaug_min / randaug_max = %g, %g set the magnitude of data.randaug, which is "
            "off: give data.randaug (EfficientNetV2: tf-n2-m10)", a->randaug_min, a->randaug_max);
    if (pair_set(a->dropout_min, a->dropout_max)) {
        if (a->rule == PROG_CODE)
            BAD("recipe: progressive.dropout_min / dropout_max = %g, %g with progressive.rule = code: the released "
                "code keeps model.dropout in every stage (main.py deletes its dp_list); use rule = paper",
                a->dropout_min, a->dropout_max);
        ModelKnobs kd = *k;
        kd.dropout = a->dropout_max;
        if (model_check(model, &kd)) return ERR_FORMAT;
    }
    // the smallest stage must not shrink the last stage's maps to one pixel where evaluation has more
    // (issue 19: EfficientNetV2-S trained at 16..32 px and evaluated at 48: the last stage's 3x3
    // depthwise kernels learn their centre tap only, their off-centre taps stay at initialization,
    // batch norm learns the statistics of single pixels, and the eval loss reached 10^4)
    ProgSettings base = {.res = model_res};
    int first = prog_stage(a, &base, a->stages, 0).s.res; // sizes do not depend on the step count
    if (model_check_res(model, first)) return ERR_FORMAT;
    int eval_side = model_final_map(model, k, model_res);
    if (model_final_map(model, k, first) == 1 && eval_side > 1) {
        ProgArgs b = *a; // the smallest res_min whose first stage keeps more than 1x1 maps
        int need = 0, at = 0;
        for (int r = lo; r <= hi && !need; r++) {
            b.res_min = r;
            int s1 = prog_stage(&b, &base, a->stages, 0).s.res;
            if (model_final_map(model, k, s1) > 1) need = r, at = s1;
        }
        char fix[160];
        if (need)
            snprintf(fix, sizeof fix, "raise progressive.res_min to %d or more (stage 1 then trains at %d px)", need,
                     at);
        else
            snprintf(fix, sizeof fix, "no res_min up to res_max = %d gives stage 1 more than 1x1 maps: raise "
                     "progressive.res_max too", hi);
        BAD("recipe: progressive stage 1 trains %s at %d px, where its last stage's maps are 1x1, but model.res = %d "
            "evaluates it on %dx%d maps: trained on single pixels, the last stage's kernels learn their centre tap "
            "only and batch norm the statistics of one pixel (eval loss 10^4 measured); %s", model, first, model_res,
            eval_side, eval_side, fix);
    }
    if (live_teachers && lo != hi)
        BAD("recipe: progressive.res_min / res_max = %d, %d with distill.teachers: the teachers run at model.res on "
            "the step's batch; give distill.soft_labels (stored logits) or one size", lo, hi);
    return 0;
}
