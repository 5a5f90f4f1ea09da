/* tests/bench_data.c — the engine's half of `make bench-data`: input pipeline throughput.
 *
 * Times what a training run's loader does for an image-folder set, without the model: the
 * threaded loader (data/loader.h) over the train split's shard, each sample decoded (only its
 * crop's window, at a DCT scale when one applies), RandomResizedCrop(res, scale 0.08-1, ratio
 * 3/4-4/3, bilinear) + horizontal flip + normalization into float NHWC batches. The first
 * --warmup batches are not timed; then --batches are (default: the rest of one epoch).
 * The last line is machine-readable for scripts/bench_data.py, which times PyTorch's DataLoader:
 *   RESULT img_s=<float> batches=<int>
 */
#include <stdio.h>  // printf
#include <stdlib.h> // atoi
#include <string.h> // strcmp

#include "data/loader.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_data [--dataset NAME] [--dir DIR] [--res R] [--batch B] [--workers W] [--batches N]\n"
               "                  [--warmup W] [--eval]\n"
               "  times the loader's batches of a data set's train split (--eval: its eval split through\n"
               "  the eval transform, crop_pct 0.875); defaults: imagenette, 128 px, batch 128, 2 workers,\n"
               "  3 warm-up batches, then the rest of one epoch. Last line: RESULT img_s=... batches=...\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *name = "imagenette", *dir = NULL;
    int res = 128, batch = 128, workers = 2, batches = 0, warmup = 3;
    bool eval = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
        else if (!strcmp(a, "--eval")) eval = true;
        else if (!v) { fprintf(stderr, "bench_data: %s needs a value\n", a); return usage(stderr); }
        else if (!strcmp(a, "--dataset")) name = argv[++i];
        else if (!strcmp(a, "--dir")) dir = argv[++i];
        else if (!strcmp(a, "--res")) res = atoi(argv[++i]);
        else if (!strcmp(a, "--batch")) batch = atoi(argv[++i]);
        else if (!strcmp(a, "--workers")) workers = atoi(argv[++i]);
        else if (!strcmp(a, "--batches")) batches = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup")) warmup = atoi(argv[++i]);
        else { fprintf(stderr, "bench_data: unknown argument '%s'\n", a); return usage(stderr); }
    }
    if (res < 1 || batch < 1 || workers < 1 || batches < 0 || warmup < 0) {
        fprintf(stderr, "bench_data: need --res, --batch, --workers >= 1, --batches, --warmup >= 0\n");
        return 2;
    }
    Dataset ds;
    double t0 = time_now();
    if (dataset_load(&ds, name, dir, !eval)) return 1;
    printf("bench_data: %s %s: %d images (%s), opened in %.2f s\n", name, eval ? "eval" : "train", ds.n,
           ds.encoded ? "encoded, decoded per sample" : "decoded in memory", time_now() - t0);
    const DatasetInfo *info = dataset_info(name);
    AugArgs a = {0};
    a.rrc = !eval;
    a.rrc_scale[0] = 0.08f, a.rrc_scale[1] = 1;
    a.rrc_ratio[0] = 3.0f / 4, a.rrc_ratio[1] = 4.0f / 3;
    a.interpolation = INTERP_BILINEAR; // torchvision's RandomResizedCrop default
    a.flip = !eval;
    a.crop_pct = eval ? 0.875f : 0;
    for (int k = 0; k < 3; k++) a.mean[k] = info->mean[k], a.std[k] = info->std[k];
    a.erase_count = 1;
    Loader l;
    if (loader_open(&l, &ds, &a, 1, batch, !eval, res, res, workers, 4)) return 1;
    int spe = loader_steps_per_epoch(&l, true);
    if (batches <= 0 || batches > spe - warmup) batches = spe - warmup;
    if (batches < 1) {
        fprintf(stderr, "bench_data: %d batches an epoch, %d of them warm-up: nothing to time\n", spe, warmup);
        return 2;
    }
    loader_start(&l, 0, 0, warmup + batches, true);
    const Batch *b;
    double sum = 0, t = 0;
    long images = 0;
    for (int k = 0; k < warmup + batches; k++) {
        if (k == warmup) t = time_now();
        if (loader_next(&l, &b) || !b) return 1;
        if (k >= warmup) images += b->n;
        sum += b->x[(size_t)(k % b->n) * res * res * 3]; // touch the batch
    }
    double dt = time_now() - t;
    printf("bench_data: %ld images in %.2f s at %d px, %d workers: %.0f img/s (checksum %.3f)\n", images, dt, res,
           workers, images / dt, sum);
    printf("RESULT img_s=%.1f batches=%d\n", images / dt, batches);
    loader_close(&l);
    dataset_free(&ds);
    return 0;
}
