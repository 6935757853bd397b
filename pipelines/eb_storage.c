/* Storage tree: id rules, staging, atomic publish. See eb_storage.h. */
#include "eb_storage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <dirent.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_layout.h"
#include "eb_log.h"

int eb_storage_id_valid(const char *id)
{
    size_t n = 0;

    if (!id)
        return 0;
    for (; id[n]; n++) {
        unsigned char c = (unsigned char)id[n];
        if (!(isalnum(c) || c == '_' || c == '-') || c > 0x7f)
            return 0;
    }
    return n >= 1 && n <= EB_VIDEO_ID_MAX;
}

/* The ASCII letter a Latin-1 or Latin Extended-A letter is written with
 * (U+00C0..U+017F: "é" -> 'e', "Ł" -> 'L'), or 0. */
static char eb_latin_base(unsigned cp)
{
    static const char l1[] = "AAAAAAACEEEEIIIIDNOOOOO_OUUUUYTsaaaaaaaceeeeiiiidnooooo_ouuuuyty";
    static const char ext[] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLl"
                              "LlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
    _Static_assert(sizeof(ext) == 128 + 1, "one letter per code point U+0100..U+017F");
    char c = 0;

    if (cp >= 0xC0 && cp <= 0xFF)
        c = l1[cp - 0xC0];
    else if (cp >= 0x100 && cp <= 0x17F)
        c = ext[cp - 0x100];
    return isalpha((unsigned char)c) ? c : 0;
}

/* One UTF-8 character at p: its code point into *cp, its length returned
 * (1 for a byte that does not start a valid sequence; *cp is then 0). */
static int eb_utf8_next(const unsigned char *p, unsigned *cp)
{
    int n = p[0] >= 0xF0 && p[0] < 0xF8 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    unsigned v = n == 4 ? p[0] & 7u : n == 3 ? p[0] & 15u : p[0] & 31u;

    *cp = 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (n == 1)
        return 1;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 1;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

void eb_storage_id_from_path(const char *path, char *id, size_t size)
{
    const char *base = strrchr(path, '/');
    const char *dot;
    size_t n = 0;

    base = base ? base + 1 : path;
    dot = strrchr(base, '.'); /* the last extension is dropped */
    for (const char *p = base; *p && p != dot && n + 1 < size && n < EB_VIDEO_ID_MAX;) {
        unsigned cp;
        int len = eb_utf8_next((const unsigned char *)p, &cp);
        char c = cp < 0x80 && (isalnum((int)cp) || cp == '-' || cp == '_') ? (char)cp
                                                                           : eb_latin_base(cp);
        /* Accented letters keep their letter; anything else is one '_' per
         * run, not one per byte. */
        if (c)
            id[n++] = c;
        else if (n == 0 || id[n - 1] != '_')
            id[n++] = '_';
        p += len;
    }
    id[n] = '\0';
    if (n == 0 || strspn(id, "_") == n)
        snprintf(id, size, "video");
}

int eb_storage_mkdirs(const char *dir)
{
    char tmp[4096];
    size_t len;

    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
        return EB_ERR(ENAMETOOLONG);
    len = strlen(tmp);
    for (size_t i = 1; i <= len; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return EB_ERR(errno);
            tmp[i] = c;
        }
    }
    return 0;
}

int eb_storage_prepare(const char *root)
{
    char path[4096];
    int ret;

    snprintf(path, sizeof(path), "%s/" EB_LAYOUT_VIDEOS_DIR, root);
    ret = eb_storage_mkdirs(path);
    if (ret < 0)
        return ret;
    snprintf(path, sizeof(path), "%s/" EB_LAYOUT_STAGING_DIR, root);
    return eb_storage_mkdirs(path);
}

int eb_storage_exists(const char *root, const char *id)
{
    char path[4096];
    struct stat st;

    eb_layout_video_dir(root, id, path, sizeof(path));
    return lstat(path, &st) == 0;
}

int eb_storage_stage(const char *root, const char *id, char *path, size_t size, int *lock)
{
    int fd;

    *lock = -1;
    if (snprintf(path, size, "%s/" EB_LAYOUT_STAGING_DIR "/%s.XXXXXX", root, id) >= (int)size)
        return EB_ERR(ENAMETOOLONG);
    if (!mkdtemp(path))
        return EB_ERR(errno);
    chmod(path, 0755);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        rmdir(path);
        return EB_ERR(err);
    }
    *lock = fd;
    return 0;
}

static int eb_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int eb_storage_remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : EB_ERR(errno);
    if (nftw(path, eb_remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return EB_ERR(errno ? errno : EIO);
    return 0;
}

int eb_storage_sweep_staging(const char *root, int *removed)
{
    char dir[4096], path[4400];
    struct dirent *e;
    DIR *d;
    int n = 0;

    if (removed)
        *removed = 0;
    snprintf(dir, sizeof(dir), "%s/" EB_LAYOUT_STAGING_DIR, root);
    d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : EB_ERR(errno);
    while ((e = readdir(d))) {
        int fd;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        /* Taken: nobody holds it, the job that made it is gone. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (eb_storage_remove_tree(path) == 0) {
                EB_LOGI("storage", "removed %s, left by a job that did not finish", path);
                n++;
            }
        }
        close(fd);
    }
    closedir(d);
    if (removed)
        *removed = n;
    return 0;
}

int eb_storage_publish(const char *root, const char *id, const char *staging, int overwrite)
{
    char dst[4096];

    if (eb_layout_video_dir(root, id, dst, sizeof(dst)) < 0)
        return EB_ERR(ENAMETOOLONG);
    /* RENAME_NOREPLACE makes "does it exist?" and "move it" one step, so two
     * jobs racing for one id cannot both win. */
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EEXIST)
        return EB_ERR(errno);
    if (!overwrite)
        return EB_ERR_EXISTS;
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, dst, RENAME_EXCHANGE) < 0)
        return EB_ERR(errno);
    /* staging now holds the previous version: the new one is published
     * whatever its removal does (a sweep may be removing it too). */
    if (eb_storage_remove_tree(staging) < 0)
        EB_LOGW("storage", "could not remove the replaced version in %s", staging);
    return 0;
}

int eb_storage_write_file(const char *path, const void *data, size_t size)
{
    /* Written beside the target and renamed over it: a reader (the origin,
     * a player polling a live playlist) sees the old file or the new one,
     * never a short one, and a failed write leaves the old file alone. */
    char tmp[4200];
    FILE *f;
    int ret = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)gettid()) >= (int)sizeof(tmp))
        return EB_ERR(ENAMETOOLONG);
    f = fopen(tmp, "wb");
    if (!f)
        return EB_ERR(errno);
    if (size && fwrite(data, 1, size, f) != size)
        ret = EB_ERR(errno ? errno : EIO);
    if (fflush(f) != 0 && ret == 0)
        ret = EB_ERR(errno ? errno : EIO);
    if (fclose(f) != 0 && ret == 0)
        ret = EB_ERR(errno ? errno : EIO);
    if (ret == 0 && rename(tmp, path) < 0)
        ret = EB_ERR(errno);
    if (ret < 0) {
        EB_LOGD("storage", "writing %s failed: %s", path, eb_strerror(ret));
        remove(tmp);
    }
    return ret;
}

int eb_storage_read_file(const char *path, size_t max, uint8_t **data, size_t *size)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

    *data = NULL;
    *size = 0;
    if (fd < 0)
        return EB_ERR(errno);
    if (fstat(fd, &st) < 0)
        ret = EB_ERR(errno);
    else if (!S_ISREG(st.st_mode))
        ret = EB_ERR(EISDIR);
    else if ((uint64_t)st.st_size > max)
        ret = EB_ERR(EFBIG);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    /* one byte more, to find a file that grew (a NUL for text readers) */
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return EB_ERR(ENOMEM);
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? EB_ERR(errno) : EB_ERR(EIO);
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    buf[got] = 0;
    *data = buf;
    *size = got;
    return 0;
}

int eb_storage_path_confined(const char *path, const char *const *roots)
{
    char real[PATH_MAX], root_real[PATH_MAX];

    if (!realpath(path, real))
        return 0;
    for (int i = 0; roots && roots[i]; i++) {
        size_t n;
        if (!realpath(roots[i], root_real))
            continue;
        n = strlen(root_real);
        /* "/data" holds "/data/x" but not "/database/x". */
        if (strncmp(real, root_real, n) == 0 &&
            (real[n] == '/' || real[n] == '\0' || (n == 1 && root_real[0] == '/')))
            return 1;
    }
    return 0;
}

int eb_storage_free_bytes(const char *root, uint64_t *out)
{
    struct statvfs sv;

    if (statvfs(root, &sv) < 0)
        return EB_ERR(errno);
    *out = (uint64_t)sv.f_bavail * sv.f_frsize;
    return 0;
}

int eb_storage_write_item(const char *dir, EbLayoutItem item, const char *r, const void *data,
                          size_t size)
{
    char path[4300];
    int ret = eb_layout_parent(dir, item, r, path, sizeof(path));

    if (ret >= 0)
        ret = eb_storage_mkdirs(path);
    if (ret >= 0)
        ret = eb_layout_file(dir, item, r, 1, path, sizeof(path));
    return ret < 0 ? ret : eb_storage_write_file(path, data, size);
}
