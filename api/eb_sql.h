/*
 * The job store's SQL connection: SQLite (a path, the one-box default) or
 * PostgreSQL (a postgresql:// or postgres:// URL, the rack's shared queue,
 * through libpq). One small statement API over both, shaped like SQLite's
 * (prepare, bind, step, column), so the store's queries are written once:
 *
 * - Placeholders are SQLite's: "?" (numbered in order) or "?N". For
 *   PostgreSQL they become "$N" when the statement is prepared.
 * - Parameters travel as text (PostgreSQL infers their types from the
 *   query, so write CAST(? AS TEXT) where it cannot); columns are read as
 *   text, integers or doubles whatever the engine stored.
 * - A statement runs at its first eb_sql_step(); each later step moves to
 *   the next row. eb_sql_changes() says how many rows the last UPDATE,
 *   INSERT or DELETE touched: a fenced UPDATE that touched none lost.
 * - What differs between the engines beyond that (table definitions, the
 *   clock, JSON access, row locks) the caller picks with eb_sql_is_pg().
 *
 * Threads: a connection is used by one thread at a time (the store holds
 * its lock around every call). PostgreSQL errors are logged with the
 * server's message; a lost connection is re-made at the next statement.
 */
#ifndef EB_SQL_H
#define EB_SQL_H

#include <stdint.h>
#include <string.h>

typedef struct EbSql EbSql;
typedef struct EbSqlStmt EbSqlStmt;

/* 1 when target names a PostgreSQL database (postgresql:// or postgres://). */
static inline int eb_sql_target_is_pg(const char *target)
{
    return target && (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11));
}

/* Opens target (see above): a SQLite path through eb_db_open (0600, WAL),
 * or a PostgreSQL URL. module names the store in logs. Returns 0, or a
 * negative errno (logged; a URL's password is never printed). */
int eb_sql_open(const char *target, const char *module, EbSql **out);
void eb_sql_close(EbSql **db);

int eb_sql_is_pg(const EbSql *db);

/* Runs sql (one or more statements, no parameters). 0 or -EIO (logged). */
int eb_sql_exec(EbSql *db, const char *sql);

/* NULL (logged) when sql cannot be prepared or memory runs out. */
EbSqlStmt *eb_sql_prepare(EbSql *db, const char *sql);
/* Parameters count from 1. A NULL text binds SQL NULL. */
void eb_sql_bind_text(EbSqlStmt *st, int i, const char *v);
void eb_sql_bind_int64(EbSqlStmt *st, int i, int64_t v);
void eb_sql_bind_double(EbSqlStmt *st, int i, double v);
void eb_sql_bind_null(EbSqlStmt *st, int i);
/* 1: a row is ready; 0: done; -EEXIST: a unique key (or primary key) was
 * taken (not logged: the caller knows which); -EIO: failed (logged). */
int eb_sql_step(EbSqlStmt *st);
/* Back to before the first step, the bindings kept. */
void eb_sql_reset(EbSqlStmt *st);
/* Rows the last step's UPDATE/INSERT/DELETE changed. */
int64_t eb_sql_changes(const EbSqlStmt *st);
/* Columns of the current row, from 0. NULL reads as NULL, 0 and 0.0. */
int eb_sql_is_null(EbSqlStmt *st, int col);
const char *eb_sql_text(EbSqlStmt *st, int col);
int64_t eb_sql_int64(EbSqlStmt *st, int col);
double eb_sql_double(EbSqlStmt *st, int col);
void eb_sql_finalize(EbSqlStmt *st);

/* The engine's own clock in seconds since the epoch, as an SQL expression:
 * leases are measured by the database's clock, not each box's. */
const char *eb_sql_now(const EbSql *db);

/* PostgreSQL: LISTENs on channel (again after a reconnection). 0, or
 * -ENOTSUP for SQLite, -EIO (logged). */
int eb_sql_listen(EbSql *db, const char *channel);
/* PostgreSQL: the connection's socket, to poll for notifications (then
 * eb_sql_notifications). -1 for SQLite or when not connected. */
int eb_sql_socket(EbSql *db);
/* Reads what the server sent and returns how many notifications arrived
 * (they are consumed); -EIO when the connection broke. */
int eb_sql_notifications(EbSql *db);

#endif
