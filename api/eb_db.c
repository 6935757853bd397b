/*
 * Opening the daemon's SQLite file owner-only (see eb_db.h). SQLite
 * creates a missing database with 0644 (less the umask) and gives its
 * -wal and -shm files the database's mode, so the file is made here first,
 * 0600, before SQLite sees it; then every one of the three that exists
 * with group or other bits is narrowed.
 */
#include "eb_db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eb_log.h"

#define EB_DB_MODE 0600

/* path + suffix to mode 0600 when it exists with more (a warning when it
 * cannot be changed). 0, or a negative errno when it cannot be looked at. */
static int eb_db_narrow(const char *path, const char *suffix, const char *module)
{
    char p[PATH_MAX + 8];
    struct stat st;

    if (snprintf(p, sizeof(p), "%s%s", path, suffix) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    if (stat(p, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if ((st.st_mode & 0777) == EB_DB_MODE)
        return 0;
    if (chmod(p, EB_DB_MODE) < 0) {
        /* Not ours (another user's file we may write): say so loudly, but
         * a daemon that ran on it before still runs. */
        EB_LOGW(module, "%s: cannot make it owner-only (mode %o, it holds secrets): %s", p,
                (unsigned)(st.st_mode & 0777), strerror(errno));
        return 0;
    }
    EB_LOGI(module, "%s: mode %o narrowed to %o (it holds secrets)", p,
            (unsigned)(st.st_mode & 0777), EB_DB_MODE);
    return 0;
}

int eb_db_open(const char *path, const char *module, sqlite3 **out)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    sqlite3 *db = NULL;
    char *err = NULL;
    int fd, ret;

    *out = NULL;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, EB_DB_MODE);
    if (fd < 0) {
        ret = -errno;
        EB_LOGE(module, "cannot open %s: %s", path, strerror(-ret));
        return ret;
    }
    close(fd);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if ((ret = eb_db_narrow(path, suffixes[i], module)) < 0) {
            EB_LOGE(module, "cannot check %s%s: %s", path, suffixes[i], strerror(-ret));
            return ret;
        }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        EB_LOGE(module, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", NULL, NULL,
                     &err) != SQLITE_OK) {
        EB_LOGE(module, "%s: sqlite: %s", path, err ? err : "?");
        sqlite3_free(err);
        sqlite3_close(db);
        return -EIO;
    }
    *out = db;
    return 0;
}
