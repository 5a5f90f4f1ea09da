/* engine/cli/main.c — the suite's command line: `repro COMMAND ...`, one table of commands.
 *
 * Commands (each has --help; cli.h says which file holds which):
 *   model NAME [model options] [--batch N] [--reparam]   layer table, params, MACs (--list: names)
 *   train --recipe FILE [--set section.key=value ...] [--weights FILE] [--out DIR] [--study NAME]
 *         [--resume | --force]                           a recipe's run, its run file and checkpoint
 *   export NAME [model options] [--seed S | --weights FILE [--ema]] [--reparam] --out FILE
 *   export RUN.h5 | DIR                                  run files as CSV
 *   eval --model NAME --weights FILE [--ema] [--reparam] [--recipe FILE] [--set ...] [--backend B]
 *   logits --model NAME --weights FILE [--ema] [--reparam] --input X.npy --out Y.npy [model options]
 *   recipe --keys | --check FILE [--set ...]
 *   check [--published FILE] [--results DIR]             published vs reproduced, claims
 *   data list | pack DIR --out FILE [--skip-bad] | info FILE   data sets, image folders to shards
 */
#include <stdio.h>  // printf
#include <string.h> // strcmp

#include "cli.h"

static const struct {
    const char *name;
    CommandFn  *run;
    const char *help;
} commands[] = {
    {"model", cmd_model, "print a named model's layers, params and macs (--list: the names)"},
    {"train", cmd_train, "train a recipe"},
    {"export", cmd_export, "write a model's weights as a timm state dict (.safetensors); run files as CSV"},
    {"logits", cmd_logits, "run a model on a .npy batch of images, write its logits (.npy)"},
    {"eval", cmd_eval, "top-1, top-5 and loss of weights on a recipe's test split"},
    {"recipe", cmd_recipe, "--keys: every recipe key, its default, range and meaning;\n"
                           "           --check FILE: load a recipe without training, print it resolved"},
    {"check", cmd_check, "published vs reproduced accuracies, and the studies' claims"},
    {"verify", cmd_verify, "a study's rerun vs its stored results vs the published numbers"},
    {"data", cmd_data, "list: the data sets; pack DIR --out FILE: an image folder into a shard; info FILE"},
};

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: %s COMMAND [ARGS]   (COMMAND --help for its arguments)\ncommands:\n", prog);
        for (int i = 0; i < LEN(commands); i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2, prog);
    char valid[256] = "";
    for (int i = 0, at = 0; i < LEN(commands); i++)
        at += snprintf(valid + at, sizeof valid - (size_t)at, "%s%s", i ? ", " : "", commands[i].name);
    log_error("unknown command '%s' (valid: %s)", argv[1], valid);
    return 2;
}
