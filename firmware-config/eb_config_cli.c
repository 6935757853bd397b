/*
 * `encbox config ...`: check files (every error, FILE:LINE: message), show
 * the effective configuration with the origin of each value, print the
 * generated example file or settings reference. src/encbox.c hands over
 * argv from "config" on; this file owns the subcommand's output and exit
 * codes (0 ok, 1 errors found, 2 usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_config.h"
#include "eb_error.h"

static void eb_config_usage(FILE *f)
{
    fputs("usage: encbox config check [FILE...]\n"
          "       encbox config check-ladder FILE\n"
          "       encbox config show [--config FILE] [--set NAME=VALUE]...\n"
          "       encbox config example | docs\n"
          "\n"
          "  check         report every error in FILE (default " EB_CONFIG_DEFAULT_PATH ")\n"
          "                as FILE:LINE: message; exit 1 if there is one\n"
          "  check-ladder  the same for a ladder file (encbox transcode --ladder FILE)\n"
          "  show          the effective configuration, each value marked default,\n"
          "                FILE:LINE or command line\n"
          "  example       an example file documenting every setting\n"
          "  docs          the settings reference in Markdown\n",
          f);
}

static int eb_config_cmd_check(int argc, char **argv, FILE *out, FILE *err)
{
    int rc = 0;

    for (int i = 2; i < argc || (argc == 2 && i == 2); i++) {
        const char *path = i < argc ? argv[i] : NULL;
        EbConfigErrors errs = {0};
        EbConfig cfg;
        int ret = eb_config_load(path, &cfg, &errs);

        if (eb_config_errors_count(&errs)) {
            eb_config_errors_print(&errs, err);
            rc = 1;
        } else if (ret < 0) {
            fprintf(err, "%s: %s\n", path ? path : EB_CONFIG_DEFAULT_PATH, eb_strerror(ret));
            rc = 1;
        } else if (!cfg.path) {
            fprintf(out, "%s: no such file; encbox runs on built-in defaults\n",
                    EB_CONFIG_DEFAULT_PATH);
        } else {
            fprintf(out, "%s: OK\n", cfg.path);
        }
        eb_config_errors_free(&errs);
        eb_config_free(&cfg);
    }
    return rc;
}

static int eb_config_cmd_check_ladder(int argc, char **argv, FILE *out, FILE *err)
{
    EbConfigErrors errs = {0};
    EbLadder lad;
    int rc = 0;

    if (argc != 3) {
        eb_config_usage(err);
        return 2;
    }
    if (eb_ladder_load_file(argv[2], &lad, &errs) < 0 || eb_config_errors_count(&errs)) {
        eb_config_errors_print(&errs, err);
        rc = 1;
    } else {
        fprintf(out, "%s: OK (ladder '%s', %d rung%s)\n", argv[2], lad.name, lad.nb_rungs,
                lad.nb_rungs > 1 ? "s" : "");
    }
    eb_config_errors_free(&errs);
    return rc;
}

static int eb_config_cmd_show(int argc, char **argv, FILE *out, FILE *err)
{
    const char *path = NULL;
    EbConfigErrors errs = {0};
    EbConfig cfg;
    int rc = 0, nb_sets = 0;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && strchr(argv[i + 1], '=')) {
            i++;
            nb_sets++;
        } else {
            fprintf(err, "encbox config show: unexpected argument '%s'\n", argv[i]);
            eb_config_usage(err);
            return 2;
        }
    }
    eb_config_load(path, &cfg, &errs);
    if (!eb_config_errors_count(&errs) && nb_sets) {
        for (int i = 2; i < argc; i++) {
            char *name, *eq;
            if (strcmp(argv[i], "--set") != 0) {
                i += strcmp(argv[i], "--config") == 0;
                continue;
            }
            name = strdup(argv[++i]);
            if (!name) {
                fprintf(err, "encbox config show: out of memory\n");
                rc = 1;
                break;
            }
            eq = strchr(name, '=');
            *eq = '\0';
            eb_config_set(&cfg, name, eq + 1, &errs);
            free(name);
        }
        if (!eb_config_errors_count(&errs))
            eb_config_validate(&cfg, &errs);
    }
    if (eb_config_errors_count(&errs)) {
        eb_config_errors_print(&errs, err);
        rc = 1;
    } else if (!rc && eb_config_write_show(&cfg, out) < 0) {
        rc = 1;
    }
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
    return rc;
}

int eb_config_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (!cmd) {
        eb_config_usage(err);
        return 2;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        eb_config_usage(out);
        return 0;
    }
    if (!strcmp(cmd, "check"))
        return eb_config_cmd_check(argc, argv, out, err);
    if (!strcmp(cmd, "check-ladder"))
        return eb_config_cmd_check_ladder(argc, argv, out, err);
    if (!strcmp(cmd, "show"))
        return eb_config_cmd_show(argc, argv, out, err);
    if ((!strcmp(cmd, "example") || !strcmp(cmd, "docs")) && argc == 2)
        return (!strcmp(cmd, "example") ? eb_config_write_example(out)
                                        : eb_config_write_docs(out)) < 0
                   ? 1
                   : 0;
    fprintf(err, "encbox config: unknown command '%s'\n", cmd);
    eb_config_usage(err);
    return 2;
}

int eb_config_cli(int argc, char **argv)
{
    return eb_config_cli_run(argc, argv, stdout, stderr);
}
