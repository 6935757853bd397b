/*
 * The daemon's SQLite file (jobs.database): the job store and the channel
 * store each open their own connection to it through here, so both get
 * the same file rules. The file holds secrets (job secrets, channel stream
 * keys and SRT passphrases), so it is the owner's only: mode 0600, and so
 * are the -wal and -shm files SQLite makes beside it (SQLite gives them
 * the database file's mode). A file made by an older daemon with a wider
 * mode is narrowed when it is opened (a warning when it cannot be: not
 * the daemon's own file).
 */
#ifndef EB_DB_H
#define EB_DB_H

#include <sqlite3.h>

/* Opens (creates) path read-write for one store (module names it in logs):
 * mode 0600 as above, WAL, synchronous NORMAL, a 5 s busy timeout, full
 * mutex (the stores guard it with their own lock too). *out is the
 * caller's, closed with sqlite3_close(). Returns 0, or a negative errno
 * (logged: the file cannot be created or opened) with *out NULL. */
int eb_db_open(const char *path, const char *module, sqlite3 **out);

#endif
