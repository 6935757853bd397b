/*
 * eb_sql (api/eb_sql.h), the job store's one statement API, on both of its
 * engines: SQLite always, and PostgreSQL when with-postgres.sh started one
 * (EB_PG_URL). The same statements must give the same answers on both.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "eb_sql.h"
#include "eb_test_media.h"

static char tmp[4096];

static EbSql *open_engine(int pg)
{
    EbSql *db = NULL;
    char path[4200];
    if (pg) {
        assert_int_equal(eb_sql_open(getenv("EB_PG_URL"), "test", &db), 0);
        assert_true(eb_sql_is_pg(db));
        assert_int_equal(eb_sql_exec(db, "DROP TABLE IF EXISTS t"), 0);
        assert_int_equal(eb_sql_exec(db, "CREATE TABLE t (rowid BIGSERIAL PRIMARY KEY, "
                                         "id TEXT UNIQUE, n BIGINT, x DOUBLE PRECISION, s TEXT)"),
                         0);
    } else {
        snprintf(path, sizeof(path), "%s/sql-%d.db", tmp, (int)getpid());
        unlink(path);
        assert_int_equal(eb_sql_open(path, "test", &db), 0);
        assert_false(eb_sql_is_pg(db));
        assert_int_equal(
            eb_sql_exec(db, "CREATE TABLE t (id TEXT UNIQUE, n INTEGER, x REAL, s TEXT)"), 0);
    }
    return db;
}

/* Placeholders (bare and numbered, reused), NULLs, 64-bit integers,
 * doubles to the last digit, a '?' inside a literal, rows changed. */
static void statements(EbSql *db)
{
    EbSqlStmt *st;
    const double x = 1796587476.3001518;

    st = eb_sql_prepare(db, "INSERT INTO t (id, n, x, s) VALUES (?, ?, ?, ?)");
    assert_non_null(st);
    eb_sql_bind_text(st, 1, "a");
    eb_sql_bind_int64(st, 2, INT64_C(9007199254740993));
    eb_sql_bind_double(st, 3, x);
    eb_sql_bind_null(st, 4);
    assert_int_equal(eb_sql_step(st), 0);
    assert_int_equal(eb_sql_changes(st), 1);
    /* the same statement again with other values */
    eb_sql_reset(st);
    eb_sql_bind_text(st, 1, "b");
    eb_sql_bind_int64(st, 2, -5);
    eb_sql_bind_double(st, 3, 0.5);
    eb_sql_bind_text(st, 4, "what? 'quoted'");
    assert_int_equal(eb_sql_step(st), 0);
    eb_sql_finalize(st);

    st = eb_sql_prepare(db, "SELECT id, n, x, s, 'a ? b' FROM t WHERE n > ?1 OR id = ?2 "
                            "ORDER BY id");
    eb_sql_bind_int64(st, 1, 0);
    eb_sql_bind_text(st, 2, "b");
    assert_int_equal(eb_sql_step(st), 1);
    assert_string_equal(eb_sql_text(st, 0), "a");
    assert_true(eb_sql_int64(st, 1) == INT64_C(9007199254740993));
    assert_true(eb_sql_double(st, 2) == x);
    assert_true(eb_sql_is_null(st, 3));
    assert_null(eb_sql_text(st, 3));
    assert_string_equal(eb_sql_text(st, 4), "a ? b");
    assert_int_equal(eb_sql_step(st), 1);
    assert_string_equal(eb_sql_text(st, 0), "b");
    assert_int_equal(eb_sql_int64(st, 1), -5);
    assert_string_equal(eb_sql_text(st, 3), "what? 'quoted'");
    assert_int_equal(eb_sql_step(st), 0);
    eb_sql_finalize(st);

    /* a NULL parameter compared as text: the job list's "all states" */
    st = eb_sql_prepare(db, "SELECT COUNT(*) FROM t WHERE CAST(?1 AS TEXT) IS NULL OR id = ?1");
    eb_sql_bind_null(st, 1);
    assert_int_equal(eb_sql_step(st), 1);
    assert_int_equal(eb_sql_int64(st, 0), 2);
    eb_sql_finalize(st);

    /* a fenced UPDATE: the right token changes one row, a stale one none;
     * RETURNING reads the new value */
    st = eb_sql_prepare(db, "UPDATE t SET n = n + 1 WHERE id = ? AND n = ? RETURNING n");
    eb_sql_bind_text(st, 1, "b");
    eb_sql_bind_int64(st, 2, -5);
    assert_int_equal(eb_sql_step(st), 1);
    assert_int_equal(eb_sql_int64(st, 0), -4);
    eb_sql_finalize(st);
    st = eb_sql_prepare(db, "UPDATE t SET n = 0 WHERE id = ? AND n = ?");
    eb_sql_bind_text(st, 1, "b");
    eb_sql_bind_int64(st, 2, -5);
    assert_int_equal(eb_sql_step(st), 0);
    assert_int_equal(eb_sql_changes(st), 0);
    eb_sql_finalize(st);

    /* a unique key taken: -EEXIST in both engines, not a row */
    st = eb_sql_prepare(db, "INSERT INTO t (id) VALUES (?)");
    eb_sql_bind_text(st, 1, "a");
    assert_int_equal(eb_sql_step(st), -EEXIST);
    eb_sql_finalize(st);

    /* the engine's clock is the wall clock, in seconds */
    {
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT %s", eb_sql_now(db));
        st = eb_sql_prepare(db, sql);
        assert_int_equal(eb_sql_step(st), 1);
        assert_true(fabs(eb_sql_double(st, 0) - (double)time(NULL)) < 5);
        eb_sql_finalize(st);
    }
    /* a transaction rolled back leaves nothing */
    assert_int_equal(eb_sql_exec(db, "BEGIN"), 0);
    assert_int_equal(eb_sql_exec(db, "DELETE FROM t"), 0);
    assert_int_equal(eb_sql_exec(db, "ROLLBACK"), 0);
    st = eb_sql_prepare(db, "SELECT COUNT(*) FROM t");
    assert_int_equal(eb_sql_step(st), 1);
    assert_int_equal(eb_sql_int64(st, 0), 2);
    eb_sql_finalize(st);
}

static void test_sqlite(void **state)
{
    EbSql *db = open_engine(0);
    (void)state;
    statements(db);
    assert_int_equal(eb_sql_listen(db, "x"), -ENOTSUP);
    assert_int_equal(eb_sql_socket(db), -1);
    eb_sql_close(&db);
    assert_null(db);
}

static void test_postgresql(void **state)
{
    EbSql *db, *other;
    (void)state;
    if (!getenv("EB_PG_URL"))
        skip();
    db = open_engine(1);
    statements(db);
    /* LISTEN/NOTIFY across two connections */
    assert_int_equal(eb_sql_open(getenv("EB_PG_URL"), "test", &other), 0);
    assert_int_equal(eb_sql_listen(other, "eb_test"), 0);
    assert_true(eb_sql_socket(other) >= 0);
    assert_int_equal(eb_sql_exec(db, "NOTIFY eb_test"), 0);
    {
        int n = 0;
        for (int i = 0; i < 50 && n == 0; i++) {
            n = eb_sql_notifications(other);
            if (n == 0)
                usleep(20000);
        }
        assert_int_equal(n, 1);
    }
    eb_sql_close(&other);
    eb_sql_close(&db);
}

/* A URL's password never reaches the log, and a server that is not there
 * is an error, not a hang. */
static void test_postgresql_unreachable(void **state)
{
    EbSql *db = NULL;
    (void)state;
    assert_int_equal(
        eb_sql_open("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2", "test", &db), -EIO);
    assert_null(db);
    assert_true(eb_sql_target_is_pg("postgres://h/db"));
    assert_false(eb_sql_target_is_pg("/var/lib/encbox/jobs.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite),
        cmocka_unit_test(test_postgresql),
        cmocka_unit_test(test_postgresql_unreachable),
    };
    eb_test_tmpdir("sql", tmp, sizeof(tmp));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
