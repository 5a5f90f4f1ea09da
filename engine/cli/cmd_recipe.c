/* engine/cli/cmd_recipe.c — `repro recipe --keys | --check FILE`: the recipe key table, or one
 * recipe loaded and resolved without training.
 */
#include <stdio.h>  // printf, open_memstream
#include <string.h> // strcmp

#include "cli.h"

static int usage_recipe(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s recipe --keys\n"
               "       %s recipe --check FILE [--set section.key=value ...]\n"
               "  --keys prints every recipe key (section.key, as recipes and --set write it) with its\n"
               "  default, what is valid (a range, or the names it takes) and what it means.\n"
               "  --check loads FILE as train does (every key known, every value valid, the keys\n"
               "  consistent) without training, prints the resolved recipe, one \"needs:\" line for\n"
               "  each thing it names that this build lacks (data.dataset's reader, a teacher model:\n"
               "  the paper-tier recipes' ImageNet), and a last line \"check: FILE: ok\" or \"check:\n"
               "  FILE: valid, not trainable here (N needs)\". Exit status: 0 ok, 3 valid but not\n"
               "  trainable here, 1 invalid (one line per error), 2 usage.\n", prog, prog);
    return f == stdout ? 0 : 2;
}

// repro recipe --keys | --check FILE (usage_recipe)
int cmd_recipe(int argc, char **argv, const char *prog)
{
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) return usage_recipe(stdout, prog);
    if (argc == 1 && !strcmp(argv[0], "--keys")) {
        recipe_print_keys(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[0], "--check")) return usage_recipe(stderr, prog);
    const char *path = argv[1];
    char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else {
            log_error("recipe --check: unknown or incomplete argument '%s'", argv[i]);
            free(sets);
            return usage_recipe(stderr, prog);
        }
    }
    TrainConfig c;
    char *needs = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&needs, &len);
    CHECK(m, "recipe --check: open_memstream failed");
    int n = recipe_check(&c, path, n_sets, sets, m);
    fclose(m);
    free(sets);
    if (n >= 0) {
        char *text = recipe_text(&c), id[17];
        recipe_run_id(&c, id);
        printf("# resolved recipe (%s), run id %s\n%s\n%s", path, id, text, needs);
        free(text);
        if (n) printf("check: %s: valid, not trainable here (%d needs)\n", path, n);
        else printf("check: %s: ok\n", path);
    }
    free(needs);
    return n < 0 ? 1 : n ? 3 : 0;
}

