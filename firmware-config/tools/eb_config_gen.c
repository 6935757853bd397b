/*
 * Writes the generated example file or settings reference to a path (the
 * config-example build target). Writes to a temporary file and renames it,
 * so a failed run never leaves a half-written file in the source tree.
 */
#include <stdio.h>
#include <string.h>

#include "eb_config.h"

int main(int argc, char **argv)
{
    char tmp[4096];
    FILE *f;
    int ret;

    if (argc != 3 || (strcmp(argv[1], "example") != 0 && strcmp(argv[1], "docs") != 0)) {
        fprintf(stderr, "usage: eb_config_gen example|docs OUTPUT\n");
        return 2;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
    if (!(f = fopen(tmp, "w"))) {
        perror(tmp);
        return 1;
    }
    ret = strcmp(argv[1], "example") == 0 ? eb_config_write_example(f) : eb_config_write_docs(f);
    if (fclose(f) != 0 || ret < 0 || rename(tmp, argv[2]) != 0) {
        perror(argv[2]);
        remove(tmp);
        return 1;
    }
    return 0;
}
