/*
 * libFuzzer target for the config loader. Each input is loaded as a config
 * file, as a ladder file (--ladder / API JSON) and as a command-line value,
 * and the loader's promises are checked, not only the absence of crashes:
 *   - success means no error was recorded, and errors carry sane lines;
 *   - what `config show` prints for a loaded file loads back without error
 *     to the same configuration (eb_config_diff finds nothing);
 *   - a loaded ladder has 1..8 rungs, tallest first, unique names.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_config.h"

static void eb_fuzz_check_errors(const EbConfigErrors *errs, size_t size)
{
    for (int i = 0; i < errs->nb; i++)
        if (errs->items[i].line < -1 || (size_t)errs->items[i].line > size + 1 ||
            !errs->items[i].message[0])
            abort();
}

static void eb_fuzz_round_trip(const EbConfig *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    EbConfigErrors errs = {0};
    EbConfig back;
    EbConfigDiff diff;

    if (!m)
        return;
    if (eb_config_write_show(cfg, m) < 0)
        abort();
    fclose(m);
    if (eb_config_load_buffer(text, len, "show.yaml", &back, &errs) != 0 ||
        eb_config_errors_count(&errs) != 0) {
        eb_config_errors_print(&errs, stderr);
        fprintf(stderr, "---- show output that did not load back:\n%s\n", text);
        abort();
    }
    if (eb_config_diff(cfg, &back, &diff) != 0) {
        fprintf(stderr, "---- show output loads to a different config (%s):\n%s\n",
                diff.nb_runtime ? diff.runtime[0] : diff.restart[0], text);
        abort();
    }
    eb_config_free(&back);
    eb_config_errors_free(&errs);
    free(text);
}

static void eb_fuzz_check_ladder(const EbLadder *l)
{
    if (l->nb_rungs < 1 || l->nb_rungs > EB_LADDER_MAX_RUNGS)
        abort();
    for (int i = 0; i < l->nb_rungs; i++) {
        if (i && l->rungs[i].height > l->rungs[i - 1].height)
            abort();
        if (l->rungs[i].maxrate && l->rungs[i].maxrate < l->rungs[i].bitrate)
            abort();
        for (int j = 0; j < i; j++)
            if (!strcmp(l->rungs[i].name, l->rungs[j].name))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EbConfigErrors errs = {0};
    EbConfig cfg;
    EbLadder lad;
    char *value;
    int ret;

    ret = eb_config_load_buffer((const char *)data, size, "fuzz.yaml", &cfg, &errs);
    eb_fuzz_check_errors(&errs, size);
    if (ret == 0) {
        if (eb_config_errors_count(&errs))
            abort();
        eb_fuzz_round_trip(&cfg);
    }
    eb_config_free(&cfg);
    eb_config_errors_free(&errs);

    ret = eb_ladder_load_buffer((const char *)data, size, "fuzz-ladder.yaml", &lad, &errs);
    eb_fuzz_check_errors(&errs, size);
    if (ret == 0) {
        if (eb_config_errors_count(&errs))
            abort();
        eb_fuzz_check_ladder(&lad);
    }
    eb_config_errors_free(&errs);

    /* as `--set ladders=<input>` (a NUL-terminated value) */
    if (size < 4096 && (value = malloc(size + 1))) {
        memcpy(value, data, size);
        value[size] = '\0';
        if (eb_config_defaults(&cfg) == 0) {
            if (eb_config_set(&cfg, "ladders", value, &errs) == 0) {
                eb_config_validate(&cfg, &errs);
                for (int i = 0; i < cfg.nb_ladders; i++)
                    if (!cfg.ladder_sources[i].broken)
                        eb_fuzz_check_ladder(&cfg.ladders[i]);
            }
            eb_config_free(&cfg);
        }
        eb_config_errors_free(&errs);
        free(value);
    }
    return 0;
}
