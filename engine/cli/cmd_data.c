/* engine/cli/cmd_data.c — `repro data`: the data sets the suite knows (list), packing an image
 * folder into a shard (pack), and what a shard holds (info).
 */
#include <stdio.h>  // printf
#include <stdlib.h> // getenv
#include <string.h> // strcmp

#include "cli.h"
#include "data/dataset.h" // dataset_infos
#include "io/shard.h"     // shard_pack, shard_open

static int usage_data(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s data list\n"
               "       %s data pack DIR --out FILE [--skip-bad] [--quiet]\n"
               "       %s data info FILE [--samples]\n"
               "  list: every data set by name (data.dataset), its splits, classes, normalization\n"
               "  statistics, the folder it is read from and where it comes from.\n"
               "  pack: the ImageFolder tree DIR (DIR/<class>/.../<image>, classes in sorted order) into\n"
               "  one shard FILE (io/shard.h), every image decoded once to check it. A file that does\n"
               "  not decode stops the pack with its name, or with --skip-bad is left out and counted;\n"
               "  files without an image extension are left out and counted. A progress line goes to\n"
               "  stderr (--quiet: none). FILE is written whole or not at all.\n"
               "  info: a shard's images, classes (with counts), formats, sizes and bytes; --samples: then\n"
               "  one line per sample: \"sample INDEX LABEL HxW PATH\" (PATH relative to the packed DIR).\n"
               "  The sets read from folders take DIR/<split>.shard: make data packs the shared ones.\n",
            prog, prog, prog);
    return f == stdout ? 0 : 2;
}

static int data_list(void)
{
    int n;
    const DatasetInfo *d = dataset_infos(&n);
    for (int i = 0; i < n; i++) {
        const char *e = d[i].env ? getenv(d[i].env) : NULL;
        printf("%s: %d train / %d %s images, %d classes, %d channel%s\n", d[i].name, d[i].n_train, d[i].n_test,
               d[i].splits[1] ? d[i].splits[1] : "test", d[i].classes, d[i].channels, d[i].channels > 1 ? "s" : "");
        printf("  mean");
        for (int k = 0; k < d[i].channels; k++) printf(" %.4f", d[i].mean[k]);
        printf(", std");
        for (int k = 0; k < d[i].channels; k++) printf(" %.4f", d[i].std[k]);
        printf("\n");
        if (d[i].env || d[i].dir) printf("  folder: data.dir");
        if (d[i].env) printf(", else $%s%s%s%s", d[i].env, e && e[0] ? " (now " : "", e && e[0] ? e : "", e && e[0] ? ")" : "");
        if (d[i].dir) printf(", else %s", d[i].dir);
        if (d[i].env || d[i].dir) printf("\n");
        printf("  source: %s\n", d[i].about);
    }
    return 0;
}

static int data_pack(int argc, char **argv, const char *prog)
{
    const char *dir = NULL, *out = NULL;
    ShardPackArgs a = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--skip-bad")) a.skip_bad = true;
        else if (!strcmp(argv[i], "--quiet")) a.quiet = true;
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            log_error("data pack: unknown or incomplete argument '%s'", argv[i]);
            return usage_data(stderr, prog);
        }
    }
    if (!dir || !out) {
        log_error("data pack: %s", !dir ? "no folder given" : "no --out FILE given");
        return usage_data(stderr, prog);
    }
    ShardPackStats st;
    if (shard_pack(dir, out, &a, &st)) return 1;
    printf("pack: %s -> %s: %d images of %d classes, %.1f MB; %d skipped (did not decode), %d not images\n", dir, out,
           st.images, st.classes, (double)st.bytes / 1e6, st.skipped_bad, st.not_images);
    return 0;
}

static int data_info(const char *path, bool samples)
{
    Shard s;
    if (shard_open(&s, path)) return 1;
    int *count = xcalloc((size_t)s.classes, sizeof(int)), fmt[2] = {0}, chans[5] = {0};
    int hmin = 1 << 30, hmax = 0, wmin = 1 << 30, wmax = 0;
    for (int i = 0; i < s.n; i++) {
        const ShardEntry *e = &s.index[i];
        count[e->label]++;
        fmt[e->format]++;
        chans[e->c]++;
        hmin = MIN(hmin, e->h), hmax = MAX(hmax, e->h), wmin = MIN(wmin, e->w), wmax = MAX(wmax, e->w);
    }
    printf("%s: %d images, %d classes, %.1f MB\n", path, s.n, s.classes, (double)s.size / 1e6);
    printf("  formats: %d JPEG, %d PNG; %d grayscale, %d color, %d CMYK\n", fmt[0], fmt[1], chans[1], chans[3], chans[4]);
    printf("  sizes: height %d .. %d, width %d .. %d\n", hmin, hmax, wmin, wmax);
    for (int k = 0; k < s.classes; k++) printf("  %5d  %-5d %s\n", k, count[k], s.class_names[k]);
    for (int i = 0; samples && i < s.n; i++) {
        const ShardEntry *e = &s.index[i];
        printf("sample %d %u %ux%u %s\n", i, e->label, e->h, e->w, shard_name(&s, i));
    }
    free(count);
    shard_close(&s);
    return 0;
}

// repro data list | pack DIR --out FILE | info FILE (usage_data)
int cmd_data(int argc, char **argv, const char *prog)
{
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) return usage_data(stdout, prog);
    if (argc == 1 && !strcmp(argv[0], "list")) return data_list();
    if (argc >= 1 && !strcmp(argv[0], "pack")) return data_pack(argc - 1, argv + 1, prog);
    if (argc == 2 && !strcmp(argv[0], "info")) return data_info(argv[1], false);
    if (argc == 3 && !strcmp(argv[0], "info") && !strcmp(argv[2], "--samples")) return data_info(argv[1], true);
    if (argc >= 1) log_error("data: unknown or incomplete subcommand '%s' (valid: list, pack, info)", argv[0]);
    return usage_data(stderr, prog);
}
