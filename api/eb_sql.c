/*
 * SQLite and PostgreSQL behind one statement API (see eb_sql.h).
 */
#include "eb_sql.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_db.h"
#include "eb_log.h"

#define EB_SQL_MAX_PARAMS 32

struct EbSql {
    sqlite3 *lite;
    PGconn *pg;
    char module[32];
    char listen[64]; /* channel to LISTEN on again after a reconnection */
};

struct EbSqlStmt {
    EbSql *db;
    sqlite3_stmt *lite;
    /* PostgreSQL: the translated text, the parameters as text, the result
     * of the run and the current row (-1 before the first). */
    char *sql;
    char *params[EB_SQL_MAX_PARAMS];
    int nb_params;
    PGresult *res;
    int row;
    int64_t changes;
};

int eb_sql_is_pg(const EbSql *db)
{
    return db->pg != NULL;
}

const char *eb_sql_now(const EbSql *db)
{
    return db->pg ? "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
                  : "((julianday('now') - 2440587.5) * 86400.0)";
}

/* The URL without its password, for logs. */
static void eb_sql_redact(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://"), *at = strchr(url, '@'), *colon;

    snprintf(out, size, "%s", url);
    if (!scheme || !at)
        return;
    colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    if (colon)
        snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
}

/* The connection, made again when it broke (a restarted server). */
static int eb_sql_pg_ready(EbSql *db)
{
    PGresult *r;

    if (PQstatus(db->pg) == CONNECTION_OK)
        return 0;
    PQreset(db->pg);
    if (PQstatus(db->pg) != CONNECTION_OK) {
        EB_LOGE(db->module, "postgresql: %s", PQerrorMessage(db->pg));
        return -EIO;
    }
    EB_LOGI(db->module, "postgresql: connected again");
    if (db->listen[0]) {
        char sql[96];
        snprintf(sql, sizeof(sql), "LISTEN %s", db->listen);
        r = PQexec(db->pg, sql);
        PQclear(r);
    }
    return 0;
}

int eb_sql_open(const char *target, const char *module, EbSql **out)
{
    EbSql *db = calloc(1, sizeof(*db));
    int ret;

    *out = NULL;
    if (!db)
        return -ENOMEM;
    snprintf(db->module, sizeof(db->module), "%s", module);
    if (!eb_sql_target_is_pg(target)) {
        if ((ret = eb_db_open(target, module, &db->lite)) < 0) {
            free(db);
            return ret;
        }
        *out = db;
        return 0;
    }
    db->pg = PQconnectdb(target);
    if (!db->pg || PQstatus(db->pg) != CONNECTION_OK) {
        char shown[512];
        eb_sql_redact(target, shown, sizeof(shown));
        EB_LOGE(module, "cannot connect to %s: %s", shown,
                db->pg ? PQerrorMessage(db->pg) : "out of memory");
        PQfinish(db->pg);
        free(db);
        return -EIO;
    }
    /* Warnings of CREATE ... IF NOT EXISTS are not the log's business. */
    PQsetNoticeProcessor(db->pg, NULL, NULL);
    if (eb_sql_exec(db, "SET client_min_messages = warning") < 0) {
        eb_sql_close(&db);
        return -EIO;
    }
    *out = db;
    return 0;
}

void eb_sql_close(EbSql **pdb)
{
    EbSql *db = *pdb;
    if (!db)
        return;
    if (db->lite)
        sqlite3_close(db->lite);
    if (db->pg)
        PQfinish(db->pg);
    free(db);
    *pdb = NULL;
}

int eb_sql_exec(EbSql *db, const char *sql)
{
    if (db->lite) {
        char *err = NULL;
        if (sqlite3_exec(db->lite, sql, NULL, NULL, &err) != SQLITE_OK) {
            EB_LOGE(db->module, "sqlite: %s", err ? err : "?");
            sqlite3_free(err);
            return -EIO;
        }
        return 0;
    }
    if (eb_sql_pg_ready(db) < 0)
        return -EIO;
    {
        PGresult *r = PQexec(db->pg, sql);
        ExecStatusType s = PQresultStatus(r);
        int ret = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -EIO;
        if (ret < 0)
            EB_LOGE(db->module, "postgresql: %s", PQresultErrorMessage(r));
        PQclear(r);
        return ret;
    }
}

/* SQLite's placeholders as PostgreSQL's: "?N" to "$N", "?" to the next
 * number; nothing inside quotes changes. */
static char *eb_sql_translate(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1), *o = out;
    int maxn = 0;
    char quote = 0;

    if (!out)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
            *o++ = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
        } else if (*p == '?') {
            int num;
            if (p[1] >= '0' && p[1] <= '9') {
                num = (int)strtol(p + 1, (char **)&p, 10);
                p--;
            } else {
                num = maxn + 1;
            }
            if (num > maxn)
                maxn = num;
            o += sprintf(o, "$%d", num);
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

EbSqlStmt *eb_sql_prepare(EbSql *db, const char *sql)
{
    EbSqlStmt *st = calloc(1, sizeof(*st));

    if (!st)
        return NULL;
    st->db = db;
    st->row = -1;
    if (db->lite) {
        if (sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, NULL) != SQLITE_OK) {
            EB_LOGE(db->module, "sqlite: %s", sqlite3_errmsg(db->lite));
            free(st);
            return NULL;
        }
        return st;
    }
    if (!(st->sql = eb_sql_translate(sql))) {
        free(st);
        return NULL;
    }
    return st;
}

static void eb_sql_param(EbSqlStmt *st, int i, char *v)
{
    if (i < 1 || i > EB_SQL_MAX_PARAMS) {
        EB_LOGE(st->db->module, "parameter %d out of range", i);
        free(v);
        return;
    }
    free(st->params[i - 1]);
    st->params[i - 1] = v;
    if (i > st->nb_params)
        st->nb_params = i;
}

void eb_sql_bind_text(EbSqlStmt *st, int i, const char *v)
{
    if (!st)
        return;
    if (st->lite) {
        if (v)
            sqlite3_bind_text(st->lite, i, v, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st->lite, i);
        return;
    }
    eb_sql_param(st, i, v ? strdup(v) : NULL);
}

void eb_sql_bind_int64(EbSqlStmt *st, int i, int64_t v)
{
    char b[32];
    if (!st)
        return;
    if (st->lite) {
        sqlite3_bind_int64(st->lite, i, v);
        return;
    }
    snprintf(b, sizeof(b), "%" PRId64, v);
    eb_sql_param(st, i, strdup(b));
}

void eb_sql_bind_double(EbSqlStmt *st, int i, double v)
{
    char b[40];
    if (!st)
        return;
    if (st->lite) {
        sqlite3_bind_double(st->lite, i, v);
        return;
    }
    snprintf(b, sizeof(b), "%.17g", v);
    eb_sql_param(st, i, strdup(b));
}

void eb_sql_bind_null(EbSqlStmt *st, int i)
{
    eb_sql_bind_text(st, i, NULL);
}

int eb_sql_step(EbSqlStmt *st)
{
    ExecStatusType s;

    if (!st)
        return -EIO;
    if (st->lite) {
        int rc = sqlite3_step(st->lite);
        if (rc == SQLITE_ROW)
            return 1;
        if (rc == SQLITE_DONE) {
            st->changes = sqlite3_changes(st->db->lite);
            return 0;
        }
        if (rc == SQLITE_CONSTRAINT &&
            (sqlite3_extended_errcode(st->db->lite) == SQLITE_CONSTRAINT_UNIQUE ||
             sqlite3_extended_errcode(st->db->lite) == SQLITE_CONSTRAINT_PRIMARYKEY))
            return -EEXIST; /* the caller says which key was taken */
        EB_LOGE(st->db->module, "sqlite: %s", sqlite3_errmsg(st->db->lite));
        return -EIO;
    }
    if (st->res) {
        st->row++;
        return st->row < PQntuples(st->res) ? 1 : 0;
    }
    if (eb_sql_pg_ready(st->db) < 0)
        return -EIO;
    st->res = PQexecParams(st->db->pg, st->sql, st->nb_params, NULL,
                           (const char *const *)st->params, NULL, NULL, 0);
    s = PQresultStatus(st->res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(st->res, PG_DIAG_SQLSTATE);
        int unique = state && !strcmp(state, "23505"); /* unique_violation */
        if (!unique)
            EB_LOGE(st->db->module, "postgresql: %s", PQresultErrorMessage(st->res));
        PQclear(st->res);
        st->res = NULL;
        return unique ? -EEXIST : -EIO;
    }
    st->changes = *PQcmdTuples(st->res) ? strtoll(PQcmdTuples(st->res), NULL, 10) : 0;
    st->row = 0;
    return PQntuples(st->res) > 0 ? 1 : 0;
}

void eb_sql_reset(EbSqlStmt *st)
{
    if (!st)
        return;
    if (st->lite) {
        sqlite3_reset(st->lite);
        return;
    }
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
}

int64_t eb_sql_changes(const EbSqlStmt *st)
{
    return st ? st->changes : 0;
}

/* 1 when the current row has that column. */
static int eb_sql_pg_cell(const EbSqlStmt *st, int col)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && col >= 0 &&
           col < PQnfields(st->res) && !PQgetisnull(st->res, st->row, col);
}

int eb_sql_is_null(EbSqlStmt *st, int col)
{
    if (st->lite)
        return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
    return !eb_sql_pg_cell(st, col);
}

const char *eb_sql_text(EbSqlStmt *st, int col)
{
    if (st->lite)
        return (const char *)sqlite3_column_text(st->lite, col);
    return eb_sql_pg_cell(st, col) ? PQgetvalue(st->res, st->row, col) : NULL;
}

int64_t eb_sql_int64(EbSqlStmt *st, int col)
{
    const char *t;
    if (st->lite)
        return sqlite3_column_int64(st->lite, col);
    t = eb_sql_text(st, col);
    /* PostgreSQL's booleans read as 1 and 0 too. */
    return !t ? 0 : *t == 't' ? 1 : *t == 'f' ? 0 : strtoll(t, NULL, 10);
}

double eb_sql_double(EbSqlStmt *st, int col)
{
    const char *t;
    if (st->lite)
        return sqlite3_column_double(st->lite, col);
    t = eb_sql_text(st, col);
    return t ? strtod(t, NULL) : 0.0;
}

void eb_sql_finalize(EbSqlStmt *st)
{
    if (!st)
        return;
    if (st->lite)
        sqlite3_finalize(st->lite);
    PQclear(st->res);
    for (int i = 0; i < st->nb_params; i++)
        free(st->params[i]);
    free(st->sql);
    free(st);
}

int eb_sql_listen(EbSql *db, const char *channel)
{
    char sql[96];

    if (!db->pg)
        return -ENOTSUP;
    snprintf(db->listen, sizeof(db->listen), "%s", channel);
    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    return eb_sql_exec(db, sql);
}

int eb_sql_socket(EbSql *db)
{
    return db->pg && PQstatus(db->pg) == CONNECTION_OK ? PQsocket(db->pg) : -1;
}

int eb_sql_notifications(EbSql *db)
{
    PGnotify *n;
    int count = 0;

    if (!db->pg)
        return 0;
    if (!PQconsumeInput(db->pg)) {
        EB_LOGW(db->module, "postgresql: %s", PQerrorMessage(db->pg));
        return eb_sql_pg_ready(db) < 0 ? -EIO : 0;
    }
    while ((n = PQnotifies(db->pg))) {
        count++;
        PQfreemem(n);
    }
    return count;
}
