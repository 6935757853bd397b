/*
 * Cross-process session accounting (see eb_sessions.h).
 *
 * DESIGN
 *
 * Each device key has three slot files in the directory: <key>.encode,
 * <key>.decode and <key>.memory. Byte i of a file is slot i (memory: one
 * EB_SESSIONS_MEM_UNIT each). A slot is taken by holding a write lock on
 * its byte: an open-file-description lock (F_OFD_SETLK), so that every
 * lease owns its own descriptors and two leases of one process exclude each
 * other as two processes do (classic POSIX record locks belong to the
 * process and would merge). The kernel drops the locks when the
 * descriptors close, and a process that dies closes them, whatever killed
 * it: a crash cannot leak sessions, and no pid files or cleanup exist.
 *
 * A request is all or nothing. It takes <key>.lock with flock() for the
 * scan, so two requests never each take half of what both need; when not
 * everything is free it unlocks what it took and waits. It waits on inotify
 * (IN_CLOSE_WRITE on the directory), armed before the first try: a lease is
 * released by closing its slot descriptors (opened read-write), and a dying
 * process closes them too, so every release wakes the waiters, with no
 * polling. Waiters themselves keep their slot descriptors open between
 * tries (they unlock, not close), so waiting requests do not wake each
 * other; the guard file is opened read-only (IN_CLOSE_NOWRITE, unwatched).
 * Cancel is a pipe that becomes readable for good.
 *
 * Limits are the caller's (the configuration's device section): a request
 * scans slots 0..limit-1, so processes configured alike agree.
 */
#include "eb_sessions.h"
#include "eb_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eb_error.h"

enum { EB_KIND_ENCODE, EB_KIND_DECODE, EB_KIND_MEMORY, EB_KINDS };
static const char *const eb_kind_ext[EB_KINDS] = {"encode", "decode", "memory"};

struct EbSessions {
    char dir[256];
    int cancel_pipe[2];
};

struct EbSessionLease {
    int fd[EB_KINDS]; /* -1 where nothing of that kind is held */
};

static int make_dirs(const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int eb_sessions_open(const char *dir, EbSessions **out)
{
    EbSessions *s;
    int ret;

    *out = NULL;
    if (!dir)
        dir = getenv("EB_SESSIONS_DIR");
    if (!dir || !*dir)
        dir = EB_SESSIONS_DIR_DEFAULT;
    if (strlen(dir) >= sizeof(s->dir) - 80)
        return EB_ERR(ENAMETOOLONG);
    s = calloc(1, sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    ret = make_dirs(s->dir);
    if (ret < 0) {
        free(s);
        return ret;
    }
    if (pipe2(s->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        ret = -errno;
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void eb_sessions_close(EbSessions **sp)
{
    EbSessions *s = *sp;
    if (!s)
        return;
    close(s->cancel_pipe[0]);
    close(s->cancel_pipe[1]);
    free(s);
    *sp = NULL;
}

void eb_sessions_cancel(EbSessions *s)
{
    char c = 1;
    ssize_t r = write(s->cancel_pipe[1], &c, 1);
    (void)r; /* a full pipe is already readable */
}

static int key_ok(const char *key)
{
    if (!key || !*key || strlen(key) > 64)
        return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-' || *p == ':'))
            return 0;
    return key[0] != '.';
}

static int open_file(const EbSessions *s, const char *key, const char *ext, int flags)
{
    char path[400];
    int fd;
    snprintf(path, sizeof(path), "%s/%s.%s", s->dir, key, ext);
    fd = open(path, flags | O_CREAT | O_CLOEXEC, 0666);
    return fd < 0 ? -errno : fd;
}

static int byte_lock(int fd, short type, int cmd, off_t at)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = at;
    fl.l_len = 1;
    return fcntl(fd, cmd, &fl);
}

/* Takes n free slots of fd among 0..limit-1, or none. 1 if taken, 0 if not
 * enough are free, or a negative errno. */
static int take_slots(int fd, int n, int limit)
{
    int got = 0, *taken;

    if (n <= 0)
        return 1;
    taken = malloc(sizeof(*taken) * (size_t)n);
    if (!taken)
        return EB_ERR(ENOMEM);
    for (int i = 0; i < limit && got < n; i++) {
        if (byte_lock(fd, F_WRLCK, F_OFD_SETLK, i) == 0)
            taken[got++] = i;
        else if (errno != EAGAIN && errno != EACCES) {
            int err = -errno;
            for (int k = 0; k < got; k++)
                byte_lock(fd, F_UNLCK, F_OFD_SETLK, taken[k]);
            free(taken);
            return err;
        }
    }
    if (got < n)
        for (int k = 0; k < got; k++)
            byte_lock(fd, F_UNLCK, F_OFD_SETLK, taken[k]);
    free(taken);
    return got == n;
}

static void unlock_all(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, F_OFD_SETLK, &fl); /* l_len 0: the whole file */
}

static int64_t now_ms(void) { return (int64_t)(eb_clock_ns() / 1000000u); }

static void counts(const EbSessionRequest *req, const EbSessionLimits *lim, int need[EB_KINDS],
                   int limit[EB_KINDS])
{
    need[EB_KIND_ENCODE] = req->encode;
    need[EB_KIND_DECODE] = req->decode;
    limit[EB_KIND_ENCODE] = lim->max_encode;
    limit[EB_KIND_DECODE] = lim->max_decode;
    if (lim->memory_bytes > 0) {
        int64_t units = (req->memory + EB_SESSIONS_MEM_UNIT - 1) / EB_SESSIONS_MEM_UNIT;
        int64_t max = lim->memory_bytes / EB_SESSIONS_MEM_UNIT;
        need[EB_KIND_MEMORY] =
            units > EB_SESSIONS_MAX_SLOTS ? EB_SESSIONS_MAX_SLOTS + 1 : (int)units;
        limit[EB_KIND_MEMORY] = max > EB_SESSIONS_MAX_SLOTS ? EB_SESSIONS_MAX_SLOTS : (int)max;
    } else {
        need[EB_KIND_MEMORY] = 0;
        limit[EB_KIND_MEMORY] = 0;
    }
}

int eb_sessions_acquire(EbSessions *s, const EbSessionRequest *req, const EbSessionLimits *lim,
                        int timeout_ms, EbSessionLease **out)
{
    int need[EB_KINDS], limit[EB_KINDS], guard = -1, ino = -1, ret;
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    EbSessionLease *l;

    *out = NULL;
    if (!key_ok(req->device) || req->encode < 0 || req->decode < 0 || req->memory < 0)
        return EB_ERR(EINVAL);
    counts(req, lim, need, limit);
    for (int k = 0; k < EB_KINDS; k++)
        if (need[k] > limit[k] || limit[k] > EB_SESSIONS_MAX_SLOTS)
            return EB_ERR(E2BIG);
    l = calloc(1, sizeof(*l));
    if (!l)
        return EB_ERR(ENOMEM);
    for (int k = 0; k < EB_KINDS; k++)
        l->fd[k] = -1;
    for (int k = 0; k < EB_KINDS; k++) {
        if (!need[k])
            continue;
        l->fd[k] = open_file(s, req->device, eb_kind_ext[k], O_RDWR);
        if (l->fd[k] < 0) {
            ret = l->fd[k];
            l->fd[k] = -1;
            goto error;
        }
    }
    guard = open_file(s, req->device, "lock", O_RDONLY);
    if (guard < 0) {
        ret = guard;
        guard = -1;
        goto error;
    }
    if (timeout_ms != 0) {
        /* Armed before the first try: no release can slip between a
         * failed try and the wait. */
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0 || inotify_add_watch(ino, s->dir, IN_CLOSE_WRITE) < 0) {
            ret = -errno;
            goto error;
        }
    }
    for (;;) {
        int ok = 1, wait_ms;
        struct pollfd pfd[2];

        if (flock(guard, LOCK_EX) < 0) {
            ret = -errno;
            goto error;
        }
        for (int k = 0; k < EB_KINDS && ok == 1; k++) {
            if (!need[k])
                continue;
            ok = take_slots(l->fd[k], need[k], limit[k]);
            if (ok != 1)
                for (int j = 0; j < k; j++)
                    if (need[j])
                        unlock_all(l->fd[j]);
        }
        flock(guard, LOCK_UN);
        if (ok < 0) {
            ret = ok;
            goto error;
        }
        if (ok == 1)
            break;
        if (timeout_ms == 0) {
            ret = EB_ERR(ETIMEDOUT);
            goto error;
        }
        wait_ms = -1;
        if (timeout_ms > 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                ret = EB_ERR(ETIMEDOUT);
                goto error;
            }
            wait_ms = left > 1 << 30 ? 1 << 30 : (int)left;
        }
        pfd[0] = (struct pollfd){.fd = ino, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = s->cancel_pipe[0], .events = POLLIN};
        if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR) {
            ret = -errno;
            goto error;
        }
        if (pfd[1].revents & POLLIN) {
            ret = EB_ERR_CANCELED;
            goto error;
        }
        if (pfd[0].revents & POLLIN) {
            char buf[4096];
            while (read(ino, buf, sizeof(buf)) > 0)
                ;
        }
    }
    close(guard);
    if (ino >= 0)
        close(ino);
    *out = l;
    return 0;
error:
    if (guard >= 0)
        close(guard);
    if (ino >= 0)
        close(ino);
    eb_sessions_release(&l);
    return ret;
}

void eb_sessions_release(EbSessionLease **lp)
{
    EbSessionLease *l = *lp;
    if (!l)
        return;
    for (int k = 0; k < EB_KINDS; k++)
        if (l->fd[k] >= 0)
            close(l->fd[k]); /* drops the locks and wakes the waiters */
    free(l);
    *lp = NULL;
}

int eb_sessions_usage(EbSessions *s, const char *device, const EbSessionLimits *lim, int *encode,
                      int *decode, int64_t *memory)
{
    EbSessionRequest req = {.device = device};
    int need[EB_KINDS], limit[EB_KINDS], used[EB_KINDS] = {0};

    if (!key_ok(device))
        return EB_ERR(EINVAL);
    counts(&req, lim, need, limit);
    for (int k = 0; k < EB_KINDS; k++) {
        /* Read-only: closing it wakes nobody. A read-lock query conflicts
         * with every held write lock, whoever holds it. */
        int fd = open_file(s, device, eb_kind_ext[k], O_RDONLY);
        if (fd < 0)
            return fd;
        for (int i = 0; i < limit[k] && i < EB_SESSIONS_MAX_SLOTS; i++) {
            struct flock fl;
            memset(&fl, 0, sizeof(fl));
            fl.l_type = F_RDLCK;
            fl.l_whence = SEEK_SET;
            fl.l_start = i;
            fl.l_len = 1;
            if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
                used[k]++;
        }
        close(fd);
    }
    if (encode)
        *encode = used[EB_KIND_ENCODE];
    if (decode)
        *decode = used[EB_KIND_DECODE];
    if (memory)
        *memory = (int64_t)used[EB_KIND_MEMORY] * EB_SESSIONS_MEM_UNIT;
    return 0;
}
