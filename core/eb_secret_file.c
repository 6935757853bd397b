/*
 * Owner-only secret files (see eb_secret_file.h).
 */
#include "eb_secret_file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

FILE *eb_secret_fopen(const char *path, const char *setting, int *ret, char *err, size_t size)
{
    struct stat st;
    FILE *f = fopen(path, "re");

    if (!f || fstat(fileno(f), &st) < 0) {
        *ret = -errno;
        snprintf(err, size, "%s %s: %s", setting, path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    if (st.st_mode & 077) {
        *ret = -EPERM;
        snprintf(err, size, "%s %s: mode %o lets others read it; make it 0600", setting, path,
                 (unsigned)(st.st_mode & 0777));
        fclose(f);
        return NULL;
    }
    *ret = 0;
    return f;
}
