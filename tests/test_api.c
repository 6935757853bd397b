/*
 * `encbox serve` over real HTTP on loopback (libcurl): auth, health,
 * devices, job validation and the job life cycle with real worker
 * processes, cancel (queued and running), a worker killed with SIGKILL, the
 * daemon killed with SIGKILL mid-job and restarted (the job completes),
 * uploads (and their clean-up), metrics (every line parsed), the device
 * inventory with sessions and limits, the origin (types, caching, Range,
 * ETag, traversal), signed links (valid, expired, tampered) and live channels
 * (/v1/channels: create, validation, end, restart). Media is made with the ffmpeg
 * command line, tiny so the suite stays fast under sanitizers.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sqlite3.h>

#include "eb_storage.h"
#include "eb_clock.h"
#include "eb_hal.h"
#include "eb_api.h"
#include "eb_error.h"
#include "eb_api_devices.h"
#include "eb_jobs.h"
#include "eb_keys.h"
#include "eb_license.h"
#include "eb_sessions.h"
#include "eb_test_media.h"
#include "eb_test_ws.h"

#define TOKEN "test-token-0123456789"
#define SIGN_KEY "signing-key-for-tests"

static char tmp[4096], inroot[4200], outside[4200], small_mp4[4300], long_mp4[4300];
static char tokfile[4300], keyfile[4300], cfgfile[4300], sessdir[4300];
static char tls_ca[4400]; /* CA file for https:// requests */
static int use_https;     /* daemon_start: the daemon speaks HTTPS */
static int listen_port;   /* daemon_start: > 0, the config's api.listen is used (no --listen)
                           * and this is its first port */

typedef struct Daemon {
    pid_t pid;
    int port;
    char storage[4300];
    char base[96];
} Daemon;

typedef struct Resp {
    long code;
    char *body;
    size_t len;
    char headers[4096];
    size_t hlen;
} Resp;

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    Resp *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    r->body[r->len] = 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    Resp *r = ud;
    size_t k = sz * n;
    if (r->hlen + k < sizeof(r->headers) - 1) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = 0;
    }
    return k;
}

/* Value of a response header (case-insensitive name), or "" . */
static const char *header(Resp *r, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    out[0] = 0;
    for (char *l = r->headers; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1;
            size_t n;
            while (*v == ' ')
                v++;
            n = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
            break;
        }
    return out;
}

/* One request; extra is one more header line or NULL. */
static long http(Resp *r, const char *method, const char *url, const char *token, const char *body,
                 size_t body_len, const char *extra)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[256];

    memset(r, 0, sizeof(*r));
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!strncmp(url, "https:", 6))
        curl_easy_setopt(c, CURLOPT_CAINFO, tls_ca); /* verified, not skipped */
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (extra)
        h = curl_slist_append(h, extra);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    else
        r->code = -1;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    return r->code;
}

static void resp_free(Resp *r)
{
    free(r->body);
    r->body = NULL;
}

static long api(Daemon *d, Resp *r, const char *method, const char *path, const char *json)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", d->base, path);
    return http(r, method, url, TOKEN, json, json ? strlen(json) : 0,
                json ? "Content-Type: application/json" : NULL);
}

static json_t *api_json(Daemon *d, long want, const char *method, const char *path,
                        const char *json)
{
    Resp r;
    json_error_t e;
    json_t *o;
    long code = api(d, &r, method, path, json);
    if (code != want)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, code, r.body);
    assert_int_equal(code, want);
    o = json_loads(r.body, 0, &e);
    resp_free(&r);
    assert_non_null(o);
    return o;
}

/* ---- the daemon ------------------------------------------------------ */

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An extra argument with "@PORT@" in it gets a fresh random port at each
 * try (an ingest listener's port can be taken too). */
#define EB_TEST_ANY_PORT "@PORT@"

static void daemon_extra_arg(const char *extra, char *out, size_t size)
{
    const char *at = extra ? strstr(extra, EB_TEST_ANY_PORT) : NULL;
    if (!at) {
        snprintf(out, size, "%s", extra ? extra : "");
        return;
    }
    snprintf(out, size, "%.*s%d%s", (int)(at - extra), extra,
             20000 + (int)((unsigned)rand() % 40000), at + strlen(EB_TEST_ANY_PORT));
}

/* Starts `encbox serve` on a random free loopback port; waits until
 * /v1/health answers. extra: one more argument or NULL. */
static void daemon_start(Daemon *d, const char *storage, const char *config, const char *extra1,
                         const char *extra2)
{
    const char *bin = getenv("EB_BINARY");
    /* listen_port is for this call only: a start that fails must not leave
     * the next tests trying the same taken port */
    int fixed_port = listen_port;
    listen_port = 0;
    assert_non_null(bin);
    snprintf(d->storage, sizeof(d->storage), "%s", storage);
    for (int attempt = 0; attempt < 20; attempt++) {
        char listen[32], log[4400], arg1[256], arg2[256];
        Resp r;
        int status;
        daemon_extra_arg(extra1, arg1, sizeof(arg1));
        daemon_extra_arg(extra2, arg2, sizeof(arg2));
        d->port = fixed_port > 0 ? fixed_port : 20000 + (int)((unsigned)rand() % 40000);
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
        snprintf(d->base, sizeof(d->base), "%s://%s", use_https ? "https" : "http", listen);
        snprintf(log, sizeof(log), "%s/daemon.log", storage);
        d->pid = fork();
        assert_true(d->pid >= 0);
        if (d->pid == 0) {
            const char *argv[24];
            int n = 0;
            /* Never outlive the test (ctest waits for its output pipe). */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (!freopen(log, "a", stderr) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                _exit(127);
            argv[n++] = bin;
            argv[n++] = "serve";
            if (fixed_port <= 0) {
                argv[n++] = "--listen";
                argv[n++] = listen;
            }
            argv[n++] = "--storage";
            argv[n++] = storage;
            argv[n++] = "--input-root";
            argv[n++] = inroot;
            argv[n++] = "--token-file";
            argv[n++] = tokfile;
            argv[n++] = "--config";
            argv[n++] = config ? config : cfgfile;
            if (extra1)
                argv[n++] = arg1;
            if (extra2)
                argv[n++] = arg2;
            argv[n] = NULL;
            execv(bin, (char *const *)argv);
            _exit(127);
        }
        for (int i = 0; i < 300; i++) {
            if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                d->pid = 0;
                break; /* port taken (exit 98) or a real failure: retry */
            }
            if (http(&r, "GET", (snprintf(log, sizeof(log), "%s/v1/health", d->base), log), NULL,
                     NULL, 0, NULL) == 200) {
                resp_free(&r);
                return;
            }
            resp_free(&r);
            nap_ms(100);
        }
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
    }
    fail_msg("encbox serve did not start");
}

/* SIGTERM and a clean exit (the sanitizers' checks pass). */
static void daemon_stop(Daemon *d)
{
    int status = 0;
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    d->pid = 0;
}

/* Polls a job until its state is one of the ended ones or want. */
static json_t *job_wait(Daemon *d, const char *id, const char *want, int seconds)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    for (int i = 0; i < seconds * 10; i++) {
        json_t *o = api_json(d, 200, "GET", path, NULL);
        const char *s = json_string_value(json_object_get(o, "state"));
        if (!strcmp(s, want) || !strcmp(s, "succeeded") || !strcmp(s, "failed") ||
            !strcmp(s, "canceled"))
            return o;
        json_decref(o);
        nap_ms(100);
    }
    fail_msg("job %s never reached %s", id, want);
    return NULL;
}

/* DELETEs job id (its path), checks it ends canceled, frees id and stops
 * the daemon. */
static void cancel_and_stop(Daemon *d, char *id, const char *path)
{
    json_t *o;

    json_decref(api_json(d, 202, "DELETE", path, NULL));
    o = job_wait(d, id, "canceled", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    json_decref(o);
    free(id);
    daemon_stop(d);
}

static char *submit(Daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* POSTs a job (201 expected); returns its id (caller frees). */
static char *submit(Daemon *d, const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    json_t *o;
    char *id;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    o = api_json(d, 201, "POST", "/v1/jobs", body);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "queued");
    id = strdup(json_string_value(json_object_get(o, "id")));
    json_decref(o);
    return id;
}

/* The pid of the daemon's one worker child (from /proc/<pid>/task/x/children). */
static pid_t worker_pid(pid_t daemon)
{
    char path[512], buf[256];
    DIR *dir;
    struct dirent *e;
    pid_t found = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)daemon);
    dir = opendir(path);
    assert_non_null(dir);
    while (!found && (e = readdir(dir))) {
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)daemon, e->d_name);
        f = fopen(path, "r");
        if (f && fgets(buf, sizeof(buf), f))
            found = (pid_t)atoi(buf);
        if (f)
            fclose(f);
    }
    closedir(dir);
    return found;
}

static void fresh_storage(const char *tag, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", tmp, tag);
    mkdir(out, 0755);
}

static int write_text(const char *path, const char *text);

/* ---- metrics ------------------------------------------------------------ */

static int metric_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Checks the Prometheus text format line by line: "# HELP name text",
 * "# TYPE name gauge|counter" (each family once, HELP before TYPE), and
 * samples `name{label="value",...} number` of a family typed above
 * (counters: _total names). Fails the test at the first bad line. */
static void metrics_check(const char *text)
{
    char typed[64][128];
    int summary[64] = {0}; /* typed[i] is a summary: its samples are _sum and _count */
    int nb_typed = 0, line_no = 0;

    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        char line[1024], name[128];
        size_t n, k = 0;
        assert_non_null(end); /* every line ends with a newline */
        n = (size_t)(end - p);
        assert_true(n > 0 && n < sizeof(line));
        memcpy(line, p, n);
        line[n] = 0;
        p = end + 1;
        line_no++;
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            const char *q = line + 7;
            while (metric_name_char(q[k], k == 0))
                k++;
            if (k == 0 || q[k] != ' ' || !q[k + 1]) {
                fprintf(stderr, "metrics line %d: %s\n", line_no, line);
                fail();
            }
            snprintf(name, sizeof(name), "%.*s", (int)k, q);
            if (line[2] == 'T') {
                const char *type = q + k + 1;
                assert_true(!strcmp(type, "gauge") || !strcmp(type, "counter") ||
                            !strcmp(type, "summary"));
                if (!strcmp(type, "counter"))
                    assert_non_null(strstr(name, "_total"));
                for (int i = 0; i < nb_typed; i++)
                    if (!strcmp(typed[i], name)) {
                        fprintf(stderr, "metrics: %s typed twice\n", name);
                        fail();
                    }
                assert_true(nb_typed < 64);
                summary[nb_typed] = !strcmp(type, "summary");
                snprintf(typed[nb_typed++], sizeof(typed[0]), "%s", name);
            }
            continue;
        }
        if (line[0] == '#') {
            fprintf(stderr, "metrics line %d: %s\n", line_no, line);
            fail();
        }
        /* A sample. */
        {
            const char *q = line;
            char *num_end;
            int known = 0;
            while (metric_name_char(q[k], k == 0))
                k++;
            assert_true(k > 0);
            snprintf(name, sizeof(name), "%.*s", (int)k, q);
            for (int i = 0; i < nb_typed; i++) {
                size_t tl = strlen(typed[i]);
                known |= !strcmp(typed[i], name) ||
                         (summary[i] && !strncmp(name, typed[i], tl) &&
                          (!strcmp(name + tl, "_sum") || !strcmp(name + tl, "_count")));
            }
            if (!known) {
                fprintf(stderr, "metrics line %d: no TYPE for %s\n", line_no, name);
                fail();
            }
            q += k;
            if (*q == '{') {
                q++;
                while (*q != '}') {
                    size_t l = 0;
                    while (metric_name_char(q[l], l == 0))
                        l++;
                    if (l == 0 || q[l] != '=' || q[l + 1] != '"') {
                        fprintf(stderr, "metrics line %d: bad label: %s\n", line_no, line);
                        fail();
                    }
                    q += l + 2;
                    while (*q && *q != '"') {
                        if (*q == '\\') {
                            assert_true(q[1] == '\\' || q[1] == '"' || q[1] == 'n');
                            q++;
                        }
                        q++;
                    }
                    assert_int_equal(*q, '"');
                    q++;
                    if (*q == ',')
                        q++;
                    else
                        assert_int_equal(*q, '}');
                }
                q++;
            }
            if (*q != ' ') {
                fprintf(stderr, "metrics line %d: %s\n", line_no, line);
                fail();
            }
            q++;
            strtod(q, &num_end);
            if (num_end == q || *num_end) {
                fprintf(stderr, "metrics line %d: bad value: %s\n", line_no, line);
                fail();
            }
        }
    }
}

/* The value of the sample whose name and labels are exactly series, or -1
 * when there is none. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* GET /metrics (no token needed by default), format checked; caller frees. */
static char *metrics_get(Daemon *d)
{
    Resp r;
    char url[256];
    snprintf(url, sizeof(url), "%s/metrics", d->base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    metrics_check(r.body);
    return r.body;
}

/* ---- tests ------------------------------------------------------------ */

/* The worker's publish question (eb_api_publish_gate) over the record
 * socket its box gives it: "go" publishes, "stop" and a box that went away
 * do not, and the question is one whole record. */
static int gate_answer(const char *answer)
{
    int sv[2], ret, status;
    char why[256] = "", q[128];
    pid_t pid;
    ssize_t n;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[1]);
        ret = eb_api_publish_gate(&sv[0], why, sizeof(why));
        _exit(ret == 0 ? 0 : ret == EB_ERR(EPERM) && strstr(why, "lease") ? 1 : 2);
    }
    close(sv[0]);
    n = read(sv[1], q, sizeof(q) - 1);
    assert_true(n > 0);
    q[n] = 0;
    assert_string_equal(q, "{\"publish\":\"ready\"}\n");
    if (answer)
        assert_int_equal(write(sv[1], answer, strlen(answer)), (ssize_t)strlen(answer));
    close(sv[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_publish_gate(void **state)
{
    (void)state;
    assert_int_equal(gate_answer("go\n"), 0);
    assert_int_equal(gate_answer("stop\n"), 1);
    assert_int_equal(gate_answer(NULL), 1); /* the box went away */
    assert_int_equal(gate_answer("gone\n"), 1);
}

static void test_health_auth_devices(void **state)
{
    Daemon d;
    Resp r;
    char url[256], h[256];
    char storage[4400];
    json_t *o, *arr;
    int software_usable = 0;
    (void)state;

    fresh_storage("auth", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    snprintf(url, sizeof(url), "%s/v1/health", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "\"ok\""));
    resp_free(&r);

    snprintf(url, sizeof(url), "%s/v1/jobs", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    assert_non_null(strstr(header(&r, "WWW-Authenticate", h, sizeof(h)), "Bearer"));
    resp_free(&r);
    assert_int_equal(http(&r, "GET", url, "wrong-token-0123456789", NULL, 0, NULL), 401);
    resp_free(&r);
    assert_int_equal(http(&r, "GET", url, TOKEN "x", NULL, 0, NULL), 401);
    resp_free(&r);
    /* A POST without a token never gets as far as the body. */
    assert_int_equal(http(&r, "POST", url, NULL, "{}", 2, NULL), 401);
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/v1/devices", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);

    o = api_json(&d, 200, "GET", "/v1/devices", NULL);
    arr = json_object_get(o, "backends");
    assert_true(json_array_size(arr) >= 1);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *b = json_array_get(arr, i), *inv = json_object_get(b, "inventory");
        const char *name = json_string_value(json_object_get(b, "backend"));
        int sw = !strcmp(name, "software");
        assert_true(json_is_boolean(json_object_get(b, "usable")));
        assert_true(json_is_integer(json_object_get(b, "devices")));
        assert_true(json_is_string(json_object_get(b, "description")));
        if (sw)
            software_usable = json_is_true(json_object_get(b, "usable"));
        else if (!json_is_true(json_object_get(b, "usable")))
            assert_true(strlen(json_string_value(json_object_get(b, "reason"))) > 0);
        /* Sessions (null where they cannot be counted) and limits. */
        assert_non_null(json_object_get(b, "sessions"));
        assert_true(json_is_object(json_object_get(b, "limits")));
        assert_true(json_is_boolean(json_object_get(json_object_get(b, "limits"), "configured")));
        /* The inventory: at least one entry, the one saying why when the
         * backend found no device. */
        assert_true(json_array_size(inv) >= 1);
        for (size_t k = 0; k < json_array_size(inv); k++) {
            json_t *dev = json_array_get(inv, k), *lim = json_object_get(dev, "limits");
            assert_string_equal(json_string_value(json_object_get(dev, "backend")), name);
            assert_true(json_is_string(json_object_get(dev, "device")));
            assert_true(json_is_string(json_object_get(dev, "name")));
            assert_true(json_is_string(json_object_get(dev, "pci_bus_id")));
            assert_true(json_is_string(json_object_get(dev, "driver_version")));
            assert_true(json_is_integer(json_object_get(dev, "memory")));
            assert_true(json_is_array(json_object_get(dev, "codecs")));
            assert_true(json_is_boolean(json_object_get(dev, "usable")));
            assert_non_null(json_object_get(dev, "sessions"));
            assert_true(json_is_object(lim));
            assert_non_null(json_object_get(lim, "encode"));
            assert_non_null(json_object_get(lim, "decode"));
            if (!json_is_true(json_object_get(dev, "usable")))
                assert_true(strlen(json_string_value(json_object_get(dev, "reason"))) > 0);
            if (sw) {
                /* The CPU: usable, and software jobs take no sessions. */
                assert_string_equal(json_string_value(json_object_get(dev, "device")), "cpu");
                assert_true(json_is_true(json_object_get(dev, "usable")));
                assert_int_equal(
                    json_integer_value(json_object_get(json_object_get(dev, "sessions"), "encode")),
                    0);
            } else if (!json_is_true(json_object_get(dev, "usable"))) {
                /* A hardware device that cannot run: its limits are still
                 * the ones a job would get. */
                assert_true(json_integer_value(json_object_get(lim, "encode")) > 0);
            }
        }
    }
    assert_true(software_usable);
    json_decref(o);

    assert_int_equal(api(&d, &r, "GET", "/v1/nothing", NULL), 404);
    resp_free(&r);
    assert_int_equal(api(&d, &r, "PUT", "/v1/jobs", NULL), 405);
    resp_free(&r);
    daemon_stop(&d);
}

/* 400 naming the field for each malformed request. */
static void test_bad_requests(void **state)
{
    static const struct {
        const char *body;
        long code;
        const char *field; /* NULL: no field */
    } cases[] = {
        {"{not json", 400, NULL},
        {"[1, 2]", 400, NULL},
        {"{}", 400, "input"},
        {"{\"input\": 5}", 400, "input"},
        {"{\"input\": \"relative.mp4\"}", 400, "input"},
        {"{\"input\": \"upload:nothex\"}", 400, "input"},
        {"{\"input\": \"upload:0123456789abcdef0123456789abcdef\"}", 400, "input"},
        {"{\"input\": \"@IN@/missing.mp4\"}", 400, "input"},
        {"{\"input\": \"@IN@/small.mp4\", \"priority\": 12}", 400, "priority"},
        {"{\"input\": \"@IN@/small.mp4\", \"priority\": \"high\"}", 400, "priority"},
        {"{\"input\": \"@IN@/small.mp4\", \"video_id\": \"a/b\"}", 400, "video_id"},
        {"{\"input\": \"@IN@/small.mp4\", \"overwrite\": \"yes\"}", 400, "overwrite"},
        {"{\"input\": \"@IN@/small.mp4\", \"format\": \"flv\"}", 400, "format"},
        {"{\"input\": \"@IN@/small.mp4\", \"segment_seconds\": 0}", 400, "segment_seconds"},
        {"{\"input\": \"@IN@/small.mp4\", \"preset\": \"warp\"}", 400, "preset"},
        {"{\"input\": \"@IN@/small.mp4\", \"backend\": \"quantum\"}", 400, "backend"},
        {"{\"input\": \"@IN@/small.mp4\", \"fallback\": 1}", 400, "fallback"},
        {"{\"input\": \"@IN@/small.mp4\", \"ladder\": \"nosuchpreset\"}", 400, "ladder"},
        {"{\"input\": \"@IN@/small.mp4\", \"ladder\": {\"rungs\": [{\"name\": \"x\", "
         "\"height\": -5}]}}",
         400, "ladder"},
        /* HEVC is CMAF only */
        {"{\"input\": \"@IN@/small.mp4\", \"format\": \"ts\", \"ladder\": {\"rungs\": "
         "[{\"name\": \"x\", \"height\": 240, \"bitrate\": 300000, \"codec\": \"hevc\"}]}}",
         400, "format"},
        {"{\"input\": \"@IN@/small.mp4\", \"colour\": \"red\"}", 400, "colour"},
        /* confinement: outside the roots, "..", a symlink out */
        {"{\"input\": \"@OUT@/secret.mp4\"}", 403, "input"},
        {"{\"input\": \"@IN@/../outside/secret.mp4\"}", 403, "input"},
        {"{\"input\": \"@IN@/link.mp4\"}", 403, "input"},
        /* no existence probe outside the roots: missing is 403 there too */
        {"{\"input\": \"@OUT@/missing.mp4\"}", 403, "input"},
        {"{\"input\": \"@OUT@/nosuchdir/x.mp4\"}", 403, "input"},
        /* a folder is not an input */
        {"{\"input\": \"@IN@/folder\"}", 400, "input"},
    };
    Daemon d;
    char storage[4400], body[8192];
    (void)state;

    fresh_storage("bad", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *s = cases[i].body;
        size_t n = 0;
        Resp r;
        json_error_t e;
        json_t *o, *err;
        /* @IN@ / @OUT@ stand for the input root and the folder beside it. */
        while (*s && n < sizeof(body) - 4400) {
            if (!strncmp(s, "@IN@", 4)) {
                n += (size_t)snprintf(body + n, sizeof(body) - n, "%s", inroot);
                s += 4;
            } else if (!strncmp(s, "@OUT@", 5)) {
                n += (size_t)snprintf(body + n, sizeof(body) - n, "%s", outside);
                s += 5;
            } else {
                body[n++] = *s++;
            }
        }
        body[n] = 0;
        api(&d, &r, "POST", "/v1/jobs", body);
        if (r.code != cases[i].code)
            fprintf(stderr, "case %zu: %s -> %ld %s\n", i, body, r.code, r.body);
        assert_int_equal(r.code, cases[i].code);
        o = json_loads(r.body, 0, &e);
        assert_non_null(o);
        err = json_object_get(o, "error");
        assert_non_null(json_object_get(err, "message"));
        if (cases[i].field)
            assert_string_equal(json_string_value(json_object_get(err, "field")), cases[i].field);
        json_decref(o);
        resp_free(&r);
    }
    {
        Resp r;
        assert_int_equal(api(&d, &r, "GET", "/v1/jobs?state=bogus", NULL), 400);
        resp_free(&r);
        assert_int_equal(api(&d, &r, "GET", "/v1/jobs?limit=0", NULL), 400);
        resp_free(&r);
        assert_int_equal(api(&d, &r, "GET", "/v1/jobs/0000000000000000", NULL), 404);
        resp_free(&r);
        assert_int_equal(api(&d, &r, "DELETE", "/v1/jobs/0000000000000000", NULL), 404);
        resp_free(&r);
    }
    daemon_stop(&d);
}

/* /v1/channels over HTTP: create (201, the SRT ingest URL carrying the
 * passphrase), 400 naming the field, 409 for a name in use, the token,
 * list and get, 405 with Allow, DELETE (ended, and again), and a
 * restarted daemon still has them (idle or ended), the database
 * owner-only. */
static void test_channels_http(void **state)
{
    static const struct {
        const char *body;
        const char *field; /* NULL: the body as a whole */
    } bad[] = {
        {"{oops", NULL},
        {"{}", "name"},
        {"{\"name\": \"Bad Name\"}", "name"},
        {"{\"name\": \"x\", \"segment_seconds\": 30}", "segment_seconds"},
        {"{\"name\": \"x\", \"window_seconds\": 3}", "window_seconds"},
        {"{\"name\": \"x\", \"ladder\": \"nosuchpreset\"}", "ladder"},
        {"{\"name\": \"x\", \"record\": \"yes\"}", "record"},
        {"{\"name\": \"x\", \"colour\": \"red\"}", "colour"},
    };
    Daemon d;
    Resp r;
    char storage[4400], flag[64], prefix[128], url[256], h[128], path[128], db[4500];
    char *id, *pass;
    const char *srt;
    json_t *o, *arr;
    struct stat st;
    (void)state;

    fresh_storage("channels", storage, sizeof(storage));
    snprintf(flag, sizeof(flag), "--srt-listen=127.0.0.1:" EB_TEST_ANY_PORT);
    daemon_start(&d, storage, NULL, flag, NULL);
    o = api_json(&d, 201, "POST", "/v1/channels", "{\"name\": \"news\", \"segment_seconds\": 4}");
    assert_string_equal(json_string_value(json_object_get(o, "state")), "idle");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "news");
    assert_true(json_number_value(json_object_get(o, "segment_seconds")) == 4.0);
    id = strdup(json_string_value(json_object_get(o, "id")));
    assert_int_equal(strncmp(id, "ch_", 3), 0);
    srt = json_string_value(json_object_get(json_object_get(o, "ingest"), "srt"));
    assert_non_null(srt);
    /* the listener's address (its port drawn by daemon_start), then the stream id */
    assert_int_equal(strncmp(srt, "srt://127.0.0.1:", 16), 0);
    srt += 16 + strspn(srt + 16, "0123456789");
    snprintf(prefix, sizeof(prefix), "?streamid=%%23!::r=news,m=publish&passphrase=");
    assert_int_equal(strncmp(srt, prefix, strlen(prefix)), 0);
    pass = strdup(srt + strlen(prefix));
    assert_int_equal(strlen(pass), 32);
    /* no RTMP listener: no RTMP URL */
    assert_true(json_is_null(json_object_get(json_object_get(o, "ingest"), "rtmp")));
    snprintf(url, sizeof(url), "%s",
             json_string_value(json_object_get(json_object_get(o, "outputs"), "hls")));
    assert_non_null(strstr(url, "/live/news/hls/master.m3u8"));
    json_decref(o);

    /* 400 naming the field, as job requests are answered */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_error_t e;
        json_t *err;
        api(&d, &r, "POST", "/v1/channels", bad[i].body);
        if (r.code != 400)
            fprintf(stderr, "case %zu: %s -> %ld %s\n", i, bad[i].body, r.code, r.body);
        assert_int_equal(r.code, 400);
        o = json_loads(r.body, 0, &e);
        assert_non_null(o);
        err = json_object_get(o, "error");
        assert_non_null(json_string_value(json_object_get(err, "message")));
        if (bad[i].field)
            assert_string_equal(json_string_value(json_object_get(err, "field")), bad[i].field);
        else
            assert_null(json_object_get(err, "field"));
        json_decref(o);
        resp_free(&r);
    }
    /* 409: a channel that has not ended has that name */
    assert_int_equal(api(&d, &r, "POST", "/v1/channels", "{\"name\": \"news\"}"), 409);
    assert_non_null(strstr(r.body, "\"field\":\"name\""));
    resp_free(&r);
    /* the API's token, as everywhere under /v1 */
    snprintf(url, sizeof(url), "%s/v1/channels", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);

    json_decref(api_json(&d, 201, "POST", "/v1/channels", "{\"name\": \"sport\"}"));
    o = api_json(&d, 200, "GET", "/v1/channels", NULL);
    arr = json_object_get(o, "channels");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
                        "sport");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "name")), "news");
    json_decref(o);
    o = api_json(&d, 200, "GET", "/v1/channels/news", NULL);
    assert_string_equal(json_string_value(json_object_get(o, "id")), id);
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/channels/%s", id);
    o = api_json(&d, 200, "GET", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "news");
    json_decref(o);
    assert_int_equal(api(&d, &r, "GET", "/v1/channels/nosuch", NULL), 404);
    resp_free(&r);
    assert_int_equal(api(&d, &r, "PUT", "/v1/channels", NULL), 405);
    assert_string_equal(header(&r, "Allow", h, sizeof(h)), "GET, POST");
    resp_free(&r);
    assert_int_equal(api(&d, &r, "PATCH", "/v1/channels/news", NULL), 405);
    assert_string_equal(header(&r, "Allow", h, sizeof(h)), "GET, DELETE");
    resp_free(&r);

    /* DELETE: ended with a time; again: still ended, 200 */
    o = api_json(&d, 200, "DELETE", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "ended");
    assert_true(json_is_number(json_object_get(o, "ended")));
    json_decref(o);
    o = api_json(&d, 200, "DELETE", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "ended");
    json_decref(o);
    assert_int_equal(api(&d, &r, "DELETE", "/v1/channels/nosuch", NULL), 404);
    resp_free(&r);
    daemon_stop(&d);

    /* a new daemon: both still there, sport idle with the same secret */
    daemon_start(&d, storage, NULL, flag, NULL);
    o = api_json(&d, 200, "GET", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "ended");
    srt = json_string_value(json_object_get(json_object_get(o, "ingest"), "srt"));
    assert_non_null(strstr(srt, pass));
    json_decref(o);
    o = api_json(&d, 200, "GET", "/v1/channels/sport", NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "idle");
    json_decref(o);
    /* the ended channel's name is free again */
    o = api_json(&d, 201, "POST", "/v1/channels", "{\"name\": \"news\"}");
    assert_string_not_equal(json_string_value(json_object_get(o, "id")), id);
    json_decref(o);
    daemon_stop(&d);
    /* the channels' secrets live in the job database: owner-only */
    snprintf(db, sizeof(db), "%s/jobs.db", storage);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(pass);
    free(id);
}

/* A publisher over SRT runs the channel: ffmpeg pushes a generated feed
 * with audio to the ingest URL the API handed out; while it runs the
 * channel is live and its window is on disk; when it leaves, the channel
 * is idle again with the run as a recording that is a published video. A
 * wrong passphrase starts nothing. */
/* ffmpeg publishing a generated 640x360 source with audio, paced, for
 * seconds: MPEG-TS over SRT to url, or FLV over RTMP with rtmp set. */
static pid_t publish_as(const char *url, int seconds, int rtmp)
{
    char cmd[2048];
    pid_t pid;

    snprintf(cmd, sizeof(cmd),
             "exec ffmpeg -hide_banner -loglevel quiet -re -f lavfi "
             "-i testsrc2=size=640x360:rate=25 -f lavfi -i sine -t %d -c:v libx264 "
             "-preset ultrafast -g 25 -c:a aac -f %s '%s%s'",
             seconds, rtmp ? "flv" : "mpegts", url, rtmp ? "" : "&pkt_size=1316");
    pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t publish(const char *url, int seconds)
{
    return publish_as(url, seconds, 0);
}

static const char *channel_state(Daemon *d, const char *name, json_t **keep)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/channels/%s", name);
    json_decref(*keep);
    *keep = api_json(d, 200, "GET", path, NULL);
    return json_string_value(json_object_get(*keep, "state"));
}

/* A daemon listening for SRT on a random port (config may be NULL), and
 * one channel created with body; url receives its SRT ingest URL. */
static void live_daemon(Daemon *d, const char *storage, const char *config, const char *body,
                        char *url, size_t size)
{
    char flag[64];
    json_t *o;

    snprintf(flag, sizeof(flag), "--srt-listen=127.0.0.1:" EB_TEST_ANY_PORT);
    daemon_start(d, storage, config, flag, NULL);
    o = api_json(d, 201, "POST", "/v1/channels", body);
    snprintf(url, size, "%s",
             json_string_value(json_object_get(json_object_get(o, "ingest"), "srt")));
    json_decref(o);
}

/* Polls the channel until its state is want (10 s at most). */
static int channel_wait(Daemon *d, const char *name, const char *want, json_t **view)
{
    for (int i = 0; i < 100; i++) {
        if (!strcmp(channel_state(d, name, view), want))
            return 1;
        nap_ms(100);
    }
    return 0;
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *slurp_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (f && buf)
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static void test_channel_srt_run(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[512], bad[512], path[4600], h[128];
    json_t *view = NULL, *recs, *stats;
    int status = 0, seen_live = 0, seen_window = 0, served = 0, seen_stats = 0;
    pid_t pub;
    char *m;
    (void)state;

    fresh_storage("channel-run", storage, sizeof(storage));
    live_daemon(&d, storage, NULL,
                "{\"name\": \"cam\", \"segment_seconds\": 1, \"window_seconds\": 30, "
                "\"reconnect_window_seconds\": 3}",
                url, sizeof(url));

    /* A wrong passphrase: refused in the handshake, nothing runs. */
    snprintf(bad, sizeof(bad), "%.*swrong-passphrase-123",
             (int)(strstr(url, "passphrase=") - url + 11), url);
    pub = publish(bad, 2);
    assert_true(pub > 0);
    assert_int_equal(waitpid(pub, &status, 0), pub);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(channel_state(&d, "cam", &view), "idle");

    pub = publish(url, 6);
    assert_true(pub > 0);
    snprintf(path, sizeof(path), "%s/live/cam/hls/master.m3u8", storage);
    for (int i = 0; i < 100 && waitpid(pub, &status, WNOHANG) == 0; i++) {
        seen_live |= !strcmp(channel_state(&d, "cam", &view), "live");
        seen_window |= access(path, R_OK) == 0;
        stats = json_object_get(view, "stats");
        if (!seen_stats && json_integer_value(json_object_get(stats, "sequence")) > 0) {
            /* The run's figures and the transport's, in the view and /metrics. */
            json_t *ingest = json_object_get(stats, "ingest");
            seen_stats = 1;
            assert_true(json_number_value(json_object_get(stats, "speed")) > 0);
            assert_true(json_number_value(json_object_get(
                            json_array_get(json_object_get(stats, "rungs"), 0), "speed")) > 0);
            assert_non_null(json_object_get(stats, "dropped_frames"));
            assert_non_null(json_object_get(stats, "edge_age_seconds"));
            assert_true(json_integer_value(json_object_get(ingest, "bytes_relayed")) > 0);
            assert_non_null(json_object_get(ingest, "rtt_ms"));
            api(&d, &r, "GET", "/metrics", NULL);
            assert_non_null(strstr(r.body, "encbox_live_ingest_bytes_total{channel=\"cam\"}"));
            assert_non_null(strstr(r.body, "encbox_live_srt_rtt_ms{channel=\"cam\"}"));
            resp_free(&r);
        }
        if (seen_window && !served) {
            /* The origin serves the window: playlists revalidated on every
             * use, with program date-times. */
            api(&d, &r, "GET", "/live/cam/hls/360p/index.m3u8", NULL);
            if (r.code == 200) {
                served = 1;
                assert_string_equal(header(&r, "Cache-Control", h, sizeof(h)), "no-cache");
                assert_non_null(strstr(r.body, "#EXT-X-PROGRAM-DATE-TIME:"));
                assert_null(strstr(r.body, "#EXT-X-ENDLIST"));
                resp_free(&r);
                /* Segment names never repeat on a channel: immutable; the
                 * init section keeps its name across runs: revalidated. */
                api(&d, &r, "GET", "/live/cam/cmaf/360p/segment_001.m4s", NULL);
                assert_int_equal(r.code, 200);
                assert_non_null(strstr(header(&r, "Cache-Control", h, sizeof(h)), "immutable"));
                resp_free(&r);
                api(&d, &r, "GET", "/live/cam/cmaf/360p/init.mp4", NULL);
                assert_int_equal(r.code, 200);
                assert_string_equal(header(&r, "Cache-Control", h, sizeof(h)), "no-cache");
            }
            resp_free(&r);
        }
        nap_ms(100);
    }
    assert_int_equal(waitpid(pub, &status, 0) == pub || errno == ECHILD, 1);
    assert_true(seen_live);
    assert_true(seen_window); /* published while the publisher was still sending */
    assert_true(served);
    assert_true(seen_stats);
    api(&d, &r, "GET", "/live/cam/.session", NULL);
    assert_int_equal(r.code, 404); /* the session log is not served */
    resp_free(&r);
    /* The MPD points players at the box's clock, which needs no token. */
    snprintf(path, sizeof(path), "%s/live/cam/dash/manifest.mpd", storage);
    m = slurp_text(path);
    assert_non_null(strstr(m, "<UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" "
                              "value=\"/v1/time\"/>"));
    free(m);
    {
        char turl[256];
        snprintf(turl, sizeof(turl), "%s/v1/time", d.base);
        assert_int_equal(http(&r, "GET", turl, NULL, NULL, 0, NULL), 200);
        assert_int_equal((int)strlen(r.body), 24); /* 2026-12-05T21:03:10.627Z */
        assert_int_equal(r.body[23], 'Z');
        resp_free(&r);
    }

    /* The publisher dropped: the channel waits for it, the window stays
     * open; it comes back in time and the session continues. */
    assert_true(channel_wait(&d, "cam", "reconnecting", &view));
    assert_int_equal(json_array_size(json_object_get(view, "recordings")), 0);
    pub = publish(url, 3);
    assert_true(pub > 0);
    assert_true(channel_wait(&d, "cam", "live", &view));
    assert_int_equal(waitpid(pub, &status, 0), pub);

    /* Gone past the reconnect window: the session ends, one recording of
     * both stretches, a discontinuity between them. */
    assert_true(channel_wait(&d, "cam", "reconnecting", &view));
    for (int i = 0; i < 100; i++) {
        if (!strcmp(channel_state(&d, "cam", &view), "idle") &&
            json_array_size(json_object_get(view, "recordings")) == 1)
            break;
        nap_ms(100);
    }
    recs = json_object_get(view, "recordings");
    assert_int_equal(json_array_size(recs), 1);
    assert_in_range((int)json_number_value(json_object_get(json_array_get(recs, 0), "duration")), 7,
                    10);
    snprintf(path, sizeof(path), "%s/videos/%s/hls/360p/index.m3u8", storage,
             json_string_value(json_object_get(json_array_get(recs, 0), "id")));
    m = slurp_text(path);
    assert_int_equal(count_of(m, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_non_null(strstr(m, "#EXT-X-ENDLIST"));
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam/hls/360p/index.m3u8", storage);
    m = slurp_text(path);
    assert_int_equal(count_of(m, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_non_null(strstr(m, "#EXT-X-ENDLIST"));
    free(m);
    json_decref(view);
    daemon_stop(&d);
}

/* The parent of pid (from /proc), or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;
    int ppid = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* pid (comm) state ppid ...: comm may hold spaces, so after the last ')' */
    if ((p = strrchr(buf, ')')) && sscanf(p + 1, " %*c %d", &ppid) == 1)
        return (pid_t)ppid;
    return -1;
}

/* The pid of the run worker of a channel of daemon d (from /proc: its
 * child, so tests running beside this one cannot be mistaken), or 0. */
static pid_t channel_worker(const Daemon *d, const char *name)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    char want[128];
    int wlen = snprintf(want, sizeof(want), "live%c%s%c", 0, name, 0);

    while (proc && !found && (e = readdir(proc))) {
        char path[300], cmd[4096];
        FILE *f;
        size_t n;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        n = fread(cmd, 1, sizeof(cmd), f);
        fclose(f);
        for (size_t i = 0; i + (size_t)wlen <= n; i++)
            if (!memcmp(cmd + i, want, (size_t)wlen) && memmem(cmd, n, "--continue", 10) &&
                parent_of((pid_t)atoi(e->d_name)) == d->pid) {
                found = (pid_t)atoi(e->d_name);
                break;
            }
    }
    if (proc)
        closedir(proc);
    return found;
}

/* Whether live playlist m lists a segment (not only parts of one: low
 * latency) after its n-th EXT-X-DISCONTINUITY. */
static int listed_after_discontinuity(const char *m, int n)
{
    const char *p = m;
    for (int i = 0; p && i < n; i++) {
        p = strstr(p, "#EXT-X-DISCONTINUITY\n");
        if (p)
            p++;
    }
    return p && strstr(p, "#EXTINF:") != NULL;
}

/* A worker killed under a connected publisher is restarted and the stream
 * goes on after a discontinuity; DELETE drops the publisher, ends the
 * channel and records the session at once. */
static void test_channel_worker_restart_and_delete(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[512], path[4600], conf[4500];
    json_t *view = NULL, *recs;
    int status = 0;
    pid_t pub, worker = 0;
    char *m;
    (void)state;

    fresh_storage("channel-restart", storage, sizeof(storage));
    snprintf(conf, sizeof(conf), "%s/hang.yaml", storage);
    assert_int_equal(write_text(conf, "live:\n  worker_timeout_seconds: 3\n"), 0);
    live_daemon(&d, storage, conf,
                "{\"name\": \"news\", \"segment_seconds\": 1, \"window_seconds\": 30}", url,
                sizeof(url));
    pub = publish(url, 30);
    assert_true(pub > 0);
    snprintf(path, sizeof(path), "%s/live/news/hls/360p/index.m3u8", storage);
    for (int i = 0; i < 100 && access(path, R_OK) != 0; i++)
        nap_ms(100);
    assert_int_equal(access(path, R_OK), 0);
    worker = channel_worker(&d, "news");
    assert_true(worker > 0);
    assert_int_equal(kill(worker, SIGKILL), 0);

    /* Restarted: counted, still live, and the playlist goes on past a
     * discontinuity. */
    for (int i = 0; i < 100; i++) {
        channel_state(&d, "news", &view);
        m = slurp_text(path);
        int again = listed_after_discontinuity(m, 1);
        free(m);
        if (again &&
            json_integer_value(json_object_get(json_object_get(view, "stats"), "restarts")) == 1)
            break;
        nap_ms(100);
    }
    assert_string_equal(json_string_value(json_object_get(view, "state")), "live");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(view, "stats"), "restarts")), 1);
    m = slurp_text(path);
    assert_int_equal(count_of(m, "#EXT-X-DISCONTINUITY\n"), 1);
    free(m);

    /* A hung worker (stopped: it reads and says nothing) is killed after
     * live.worker_timeout_seconds and restarted the same way. */
    worker = channel_worker(&d, "news");
    assert_true(worker > 0);
    assert_int_equal(kill(worker, SIGSTOP), 0);
    for (int i = 0; i < 100; i++) {
        channel_state(&d, "news", &view);
        if (json_integer_value(json_object_get(json_object_get(view, "stats"), "restarts")) == 2)
            break;
        nap_ms(100);
    }
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(view, "stats"), "restarts")), 2);
    assert_true(channel_worker(&d, "news") != worker);
    /* ...and the stream goes on: the new run lists a segment after a
     * second discontinuity (not just parts of one: low latency). */
    for (int i = 0; i < 100; i++) {
        int listed;
        m = slurp_text(path);
        listed = listed_after_discontinuity(m, 2);
        free(m);
        if (listed)
            break;
        nap_ms(100);
    }

    /* DELETE: the publisher is dropped, the channel ends, the session is
     * recorded without waiting for a reconnect. */
    api(&d, &r, "DELETE", "/v1/channels/news", NULL);
    assert_int_equal(r.code / 100, 2);
    resp_free(&r);
    for (int i = 0; i < 100 && waitpid(pub, &status, WNOHANG) == 0; i++)
        nap_ms(100);
    assert_int_equal(waitpid(pub, &status, WNOHANG) == 0 ? kill(pub, SIGKILL) : 0, 0);
    waitpid(pub, &status, 0);
    for (int i = 0; i < 100; i++) {
        channel_state(&d, "news", &view);
        if (json_array_size(json_object_get(view, "recordings")) == 1)
            break;
        nap_ms(100);
    }
    assert_string_equal(json_string_value(json_object_get(view, "state")), "ended");
    recs = json_object_get(view, "recordings");
    assert_int_equal(json_array_size(recs), 1);
    snprintf(path, sizeof(path), "%s/videos/%s/hls/360p/index.m3u8", storage,
             json_string_value(json_object_get(json_array_get(recs, 0), "id")));
    m = slurp_text(path);
    if (count_of(m, "#EXT-X-DISCONTINUITY\n") != 2) {
        char log_path[4600];
        char *log;
        snprintf(log_path, sizeof(log_path), "%s/live/news/.session", storage);
        log = slurp_text(log_path);
        fail_msg("the recording has %d discontinuities, not 2:\n%s\nsession log:\n%s",
                 count_of(m, "#EXT-X-DISCONTINUITY\n"), m ? m : "(none)", log ? log : "(none)");
    }
    free(m);
    json_decref(view);
    daemon_stop(&d);
}

/* The number of the last segment a media playlist lists (its last URI
 * line segment_NNN.m4s; parts, hints and reports are tags); 0: none. */
static long last_listed_segment(const char *m)
{
    long last = 0;
    for (const char *l = m; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *u = strstr(l, "segment_");
        if (*l != '#' && u && (!strchr(l, '\n') || u < strchr(l, '\n')))
            last = strtol(u + 8, NULL, 10);
    }
    return last;
}

/* The daemon stops while a channel waits for its publisher: the next
 * daemon finds the session open, records it, and the channel's numbering
 * continues in the next session (no name is reused). */
static void test_channel_survives_daemon_restart(void **state)
{
    Daemon d;
    char storage[4400], url[512], path[4600], flag[64];
    json_t *view = NULL;
    int status = 0;
    long last;
    pid_t pub;
    char *m;
    (void)state;

    fresh_storage("channel-restart-daemon", storage, sizeof(storage));
    live_daemon(&d, storage, NULL,
                "{\"name\": \"tv\", \"segment_seconds\": 1, \"window_seconds\": 30, "
                "\"reconnect_window_seconds\": 60}",
                url, sizeof(url));
    pub = publish(url, 4);
    assert_int_equal(waitpid(pub, &status, 0), pub);
    assert_true(channel_wait(&d, "tv", "reconnecting", &view));
    snprintf(path, sizeof(path), "%s/live/tv/hls/360p/index.m3u8", storage);
    m = slurp_text(path);
    last = last_listed_segment(m);
    free(m);
    assert_true(last >= 2);
    daemon_stop(&d);

    /* The same storage, a new daemon (and a new SRT port: the URL is the
     * channel's again). */
    snprintf(flag, sizeof(flag), "--srt-listen=127.0.0.1:" EB_TEST_ANY_PORT);
    daemon_start(&d, storage, NULL, flag, NULL);
    for (int i = 0; i < 100; i++) {
        channel_state(&d, "tv", &view);
        if (json_array_size(json_object_get(view, "recordings")) == 1)
            break;
        nap_ms(100);
    }
    assert_int_equal(json_array_size(json_object_get(view, "recordings")), 1);
    assert_string_equal(json_string_value(json_object_get(view, "state")), "idle");
    snprintf(url, sizeof(url), "%s",
             json_string_value(json_object_get(json_object_get(view, "ingest"), "srt")));
    pub = publish(url, 3);
    assert_int_equal(waitpid(pub, &status, 0), pub);
    assert_true(channel_wait(&d, "tv", "reconnecting", &view));
    m = slurp_text(path);
    {
        char want[64];
        snprintf(want, sizeof(want), "#EXT-X-MEDIA-SEQUENCE:%ld\n", last + 1);
        assert_non_null(strstr(m, want));
    }
    free(m);
    json_decref(view);
    daemon_stop(&d);
}

/* RTMP: a wrong stream key is refused; the channel's key publishes (FLV
 * into the same live run), a worker killed mid-stream restarts from the
 * feed's kept opening and the stream goes on; with no reconnect window the
 * session is recorded as soon as the publisher stops. */
static void test_channel_rtmp_run(void **state)
{
    Daemon d;
    char storage[4400], flag[64], url[512], bad[600], path[4600];
    json_t *o, *view = NULL, *recs;
    const char *transport = NULL;
    int status = 0;
    pid_t pub, worker;
    char *m;
    (void)state;

    fresh_storage("channel-rtmp", storage, sizeof(storage));
    snprintf(flag, sizeof(flag), "--rtmp-listen=127.0.0.1:" EB_TEST_ANY_PORT);
    daemon_start(&d, storage, NULL, flag, NULL);
    o = api_json(&d, 201, "POST", "/v1/channels",
                 "{\"name\": \"obs\", \"segment_seconds\": 1, \"window_seconds\": 30, "
                 "\"reconnect_window_seconds\": 0}");
    snprintf(url, sizeof(url), "%s",
             json_string_value(json_object_get(json_object_get(o, "ingest"), "rtmp")));
    json_decref(o);
    assert_int_equal(strncmp(url, "rtmp://127.0.0.1:", 17), 0);

    snprintf(bad, sizeof(bad), "%.*s/wrong-key-0123456789", (int)(strrchr(url, '/') - url), url);
    pub = publish_as(bad, 2, 1);
    assert_int_equal(waitpid(pub, &status, 0), pub);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(channel_state(&d, "obs", &view), "idle");

    pub = publish_as(url, 14, 1);
    snprintf(path, sizeof(path), "%s/live/obs/hls/360p/index.m3u8", storage);
    for (int i = 0; i < 100 && access(path, R_OK) != 0; i++)
        nap_ms(100);
    assert_int_equal(access(path, R_OK), 0);
    channel_state(&d, "obs", &view);
    assert_string_equal(json_string_value(json_object_get(view, "state")), "live");
    for (int i = 0; i < 50 && !transport; i++) {
        json_t *ingest;
        channel_state(&d, "obs", &view);
        ingest = json_object_get(json_object_get(view, "stats"), "ingest");
        transport = json_string_value(json_object_get(ingest, "transport"));
        if (!transport)
            nap_ms(100);
    }
    assert_non_null(transport);
    assert_string_equal(transport, "rtmp");
    worker = channel_worker(&d, "obs");
    assert_true(worker > 0);
    assert_int_equal(kill(worker, SIGKILL), 0);
    for (int i = 0; i < 100; i++) {
        int disc;
        m = slurp_text(path);
        disc = count_of(m, "#EXT-X-DISCONTINUITY\n");
        free(m);
        if (disc == 1)
            break;
        nap_ms(100);
    }
    m = slurp_text(path);
    assert_int_equal(count_of(m, "#EXT-X-DISCONTINUITY\n"), 1);
    free(m);
    assert_int_equal(waitpid(pub, &status, 0), pub);

    /* No reconnect window: recorded as soon as the publisher stopped. The
     * recording is listed when the worker has published it, the state goes
     * idle when the worker has exited: wait for both. */
    for (int i = 0; i < 100; i++) {
        const char *state = channel_state(&d, "obs", &view);
        if (json_array_size(json_object_get(view, "recordings")) == 1 && state &&
            !strcmp(state, "idle"))
            break;
        nap_ms(100);
    }
    assert_string_equal(json_string_value(json_object_get(view, "state")), "idle");
    recs = json_object_get(view, "recordings");
    assert_int_equal(json_array_size(recs), 1);
    assert_true(json_number_value(json_object_get(json_array_get(recs, 0), "duration")) > 6.0);
    json_decref(view);
    daemon_stop(&d);
}

/* Admission: a box configured to carry 1 Mpixel/s refuses a 640x360 feed
 * (5.8 Mpixel/s): the publisher is dropped, nothing is listed, the reason
 * is in the channel's view. */
static void test_channel_admission_refuses(void **state)
{
    Daemon d;
    char storage[4400], url[512], conf[4500], path[4600];
    json_t *view = NULL;
    const char *why = NULL;
    int status = 0;
    pid_t pub;
    (void)state;

    fresh_storage("channel-admission", storage, sizeof(storage));
    snprintf(conf, sizeof(conf), "%s/small.yaml", storage);
    assert_int_equal(write_text(conf, "live:\n  capacity_mpixels: 1\n"), 0);
    live_daemon(&d, storage, conf,
                "{\"name\": \"big\", \"segment_seconds\": 1, \"window_seconds\": 30}", url,
                sizeof(url));
    pub = publish(url, 20);
    assert_true(pub > 0);
    for (int i = 0; i < 100 && !why; i++) {
        channel_state(&d, "big", &view);
        why = json_string_value(json_object_get(json_object_get(view, "stats"), "refused"));
        if (!why)
            nap_ms(100);
    }
    assert_non_null(why);
    assert_non_null(strstr(why, "live.capacity_mpixels"));
    /* The publisher is dropped well before its 20 s. */
    for (int i = 0; i < 100 && waitpid(pub, &status, WNOHANG) == 0; i++)
        nap_ms(100);
    if (waitpid(pub, &status, WNOHANG) == 0) {
        kill(pub, SIGKILL);
        waitpid(pub, &status, 0);
        fail_msg("the refused publisher was not dropped");
    }
    assert_true(channel_wait(&d, "big", "idle", &view));
    snprintf(path, sizeof(path), "%s/live/big/hls/master.m3u8", storage);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(json_array_size(json_object_get(view, "recordings")), 0);
    json_decref(view);
    daemon_stop(&d);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* A job through to the published tree, then the origin over it. */
static void test_job_and_origin(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[512], h[256], etag[128], seg[4600], extra[256];
    json_t *o, *rungs;
    char *id;
    int64_t size;
    (void)state;

    fresh_storage("job", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"clip1\", \"priority\": 7, "
                "\"segment_seconds\": 1, \"ladder\": {\"name\": \"tiny\", \"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                small_mp4);
    o = job_wait(&d, id, "succeeded", 300);
    if (strcmp(json_string_value(json_object_get(o, "state")), "succeeded"))
        fprintf(stderr, "job: %s\n", json_dumps(o, 0));
    assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
    assert_string_equal(json_string_value(json_object_get(o, "video_id")), "clip1");
    assert_int_equal(json_integer_value(json_object_get(o, "priority")), 7);
    {
        /* auto: the first backend the probes find usable (software on a box
         * without a GPU); a device that fails after the start re-runs the
         * job on software, and the job says so. */
        const char *names[EB_HAL_MAX_DEVICES];
        EbHalProbe probes[EB_HAL_MAX_DEVICES];
        int nb = eb_hal_probe_all(NULL, names, probes), first = 0;
        const char *used = json_string_value(json_object_get(o, "backend_used"));
        while (first < nb && !probes[first].usable)
            first++;
        assert_true(first < nb);
        if (strcmp(used, names[first])) {
            assert_string_equal(used, "software");
            assert_true(json_is_true(json_object_get(o, "fell_back")));
        }
    }
    assert_true(json_number_value(json_object_get(json_object_get(o, "progress"), "percent")) >=
                99.9);
    rungs = json_object_get(o, "rungs");
    assert_int_equal(json_array_size(rungs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rungs, 0), "name")),
                        "180p");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rungs, 0), "frames")), 50);
    assert_true(json_is_false(json_object_get(o, "fell_back")));
    /* A software job copies no frame to or from a device, decodes on no device. */
    assert_true(json_is_integer(json_object_get(o, "device_uploads")));
    assert_int_equal(json_integer_value(json_object_get(o, "device_uploads")), 0);
    assert_true(json_is_integer(json_object_get(o, "device_downloads")));
    assert_int_equal(json_integer_value(json_object_get(o, "device_downloads")), 0);
    assert_true(json_is_null(json_object_get(o, "decode_note")));
    /* The source's one audio track, untagged ("und"): the default, no language. */
    assert_int_equal(json_array_size(json_object_get(o, "audio")), 1);
    assert_true(
        json_is_true(json_object_get(json_array_get(json_object_get(o, "audio"), 0), "default")));
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(o, "audio"), 0), "language")));
    assert_true(json_is_null(json_object_get(o, "audio_note")));
    /* progress.rungs of a finished job: the final per-rung figures. */
    rungs = json_object_get(json_object_get(o, "progress"), "rungs");
    assert_int_equal(json_array_size(rungs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rungs, 0), "name")),
                        "180p");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rungs, 0), "frames")), 50);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "outputs"), "hls")),
                        "/videos/clip1/hls/master.m3u8");
    json_decref(o);

    /* The same video id again: 409; with overwrite: accepted. */
    {
        char body[8192];
        snprintf(body, sizeof(body), "{\"input\": \"%s\", \"video_id\": \"clip1\"}", small_mp4);
        assert_int_equal(api(&d, &r, "POST", "/v1/jobs", body), 409);
        resp_free(&r);
    }
    /* Listing and filters. */
    o = api_json(&d, 200, "GET", "/v1/jobs?state=succeeded&limit=10", NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 1);
    assert_int_equal(json_array_size(json_object_get(o, "jobs")), 1);
    json_decref(o);
    o = api_json(&d, 200, "GET", "/v1/jobs?state=queued", NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 0);
    json_decref(o);
    /* Ended jobs cannot be canceled. */
    snprintf(url, sizeof(url), "/v1/jobs/%s", id);
    assert_int_equal(api(&d, &r, "DELETE", url, NULL), 409);
    resp_free(&r);

    /* Origin: types and caching. */
    snprintf(url, sizeof(url), "%s/videos/clip1/hls/master.m3u8", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "#EXTM3U"));
    assert_string_equal(header(&r, "Content-Type", h, sizeof(h)), "application/vnd.apple.mpegurl");
    assert_non_null(strstr(header(&r, "Cache-Control", h, sizeof(h)), "max-age=10"));
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "*");
    resp_free(&r);
    /* Without api.cors_origins the API answers no other origin. */
    snprintf(url, sizeof(url), "%s/v1/health", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, "Origin: https://evil.example"), 200);
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "");
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/videos/clip1/dash/manifest.mpd", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_string_equal(header(&r, "Content-Type", h, sizeof(h)), "application/dash+xml");
    resp_free(&r);

    snprintf(seg, sizeof(seg), "%s/videos/clip1/cmaf/180p/segment_001.m4s", storage);
    size = file_size(seg);
    assert_true(size > 200);
    snprintf(url, sizeof(url), "%s/videos/clip1/cmaf/180p/segment_001.m4s", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_int_equal((int64_t)r.len, size);
    assert_string_equal(header(&r, "Content-Type", h, sizeof(h)), "video/iso.segment");
    assert_non_null(strstr(header(&r, "Cache-Control", h, sizeof(h)), "immutable"));
    assert_true(strlen(header(&r, "Last-Modified", h, sizeof(h))) > 0);
    header(&r, "ETag", etag, sizeof(etag));
    assert_true(strlen(etag) > 2);
    resp_free(&r);
    /* Range: a slice, the tail, an unsatisfiable one. */
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, "Range: bytes=100-199"), 206);
    assert_int_equal(r.len, 100);
    snprintf(extra, sizeof(extra), "bytes 100-199/%lld", (long long)size);
    assert_string_equal(header(&r, "Content-Range", h, sizeof(h)), extra);
    resp_free(&r);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, "Range: bytes=-50"), 206);
    assert_int_equal(r.len, 50);
    resp_free(&r);
    snprintf(extra, sizeof(extra), "Range: bytes=%lld-", (long long)size + 10);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, extra), 416);
    snprintf(extra, sizeof(extra), "bytes */%lld", (long long)size);
    assert_string_equal(header(&r, "Content-Range", h, sizeof(h)), extra);
    resp_free(&r);
    /* Conditional GET. */
    snprintf(extra, sizeof(extra), "If-None-Match: %s", etag);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, extra), 304);
    resp_free(&r);
    assert_int_equal(http(&r, "HEAD", url, NULL, NULL, 0, NULL), 200);
    resp_free(&r);

    /* No way out of the tree: "..", encoded "..", hidden names, a symlink. */
    {
        static const char *const bad[] = {"/videos/../jobs.db",
                                          "/videos/clip1/../../jobs.db",
                                          "/videos/%2e%2e/jobs.db",
                                          "/videos/clip1/%2e%2e/%2e%2e/jobs.db",
                                          "/videos/.hidden",
                                          "/videos//etc/passwd",
                                          "/videos/escape/passwd",
                                          "/videos/clip1/hls/nothing.m3u8",
                                          "/.api/x.log",
                                          "/videos/"};
        char link[4600];
        snprintf(link, sizeof(link), "%s/videos/escape", storage);
        assert_int_equal(symlink("/etc", link), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(url, sizeof(url), "%s%s", d.base, bad[i]);
            http(&r, "GET", url, NULL, NULL, 0, NULL);
            if (r.code != 404)
                fprintf(stderr, "%s -> %ld\n", bad[i], r.code);
            assert_int_equal(r.code, 404);
            resp_free(&r);
        }
        unlink(link);
    }
    free(id);

    /* Metrics reflect what happened. */
    snprintf(url, sizeof(url), "%s/metrics", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "encbox_jobs{state=\"succeeded\"} 1"));
    assert_non_null(strstr(r.body, "encbox_frames_encoded_total 50"));
    assert_non_null(strstr(r.body, "encbox_api_requests_total{code=\"206\"} 2"));
    assert_non_null(strstr(r.body, "encbox_api_requests_total{code=\"416\"} 1"));
    resp_free(&r);
    {
        char *m = metrics_get(&d);
        assert_true(metric(m, "encbox_rung_frames_encoded_total{rung=\"180p\"}") == 50);
        assert_true(metric(m, "encbox_fallbacks_total") == 0);
        assert_true(metric(m, "encbox_queue_depth") == 0);
        assert_true(metric(m, "encbox_jobs{state=\"queued\"}") == 0);
        free(m);
    }
    daemon_stop(&d);
}

static void sha256_file(const char *path, char *hex)
{
    unsigned char d[32];
    gnutls_hash_hd_t h;
    char buf[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(gnutls_hash_init(&h, GNUTLS_DIG_SHA256), 0);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        gnutls_hash(h, buf, n);
    fclose(f);
    gnutls_hash_deinit(h, d);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_upload_then_job(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[512], hex[65], input[128], input_id[64];
    json_error_t e;
    json_t *o;
    char *data, *id;
    size_t len;
    (void)state;

    fresh_storage("upload", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    data = read_all(small_mp4, &len);
    snprintf(url, sizeof(url), "%s/v1/uploads", d.base);
    assert_int_equal(http(&r, "POST", url, NULL, data, len, NULL), 401);
    resp_free(&r);
    assert_int_equal(
        http(&r, "POST", url, TOKEN, data, len, "Content-Type: application/octet-stream"), 201);
    o = json_loads(r.body, 0, &e);
    resp_free(&r);
    free(data);
    assert_non_null(o);
    sha256_file(small_mp4, hex);
    assert_string_equal(json_string_value(json_object_get(o, "sha256")), hex);
    assert_int_equal(json_integer_value(json_object_get(o, "size")), (json_int_t)len);
    snprintf(input, sizeof(input), "upload:%s", json_string_value(json_object_get(o, "id")));
    snprintf(input_id, sizeof(input_id), "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    assert_int_equal(http(&r, "POST", url, TOKEN, "", 0, NULL), 400);
    resp_free(&r);

    id = submit(&d,
                "{\"input\": \"%s\", \"format\": \"ts\", \"ladder\": {\"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                input);
    o = job_wait(&d, id, "succeeded", 300);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
    /* Without video_id, the job id names the video. */
    assert_string_equal(json_string_value(json_object_get(o, "video_id")), id);
    assert_null(json_object_get(json_object_get(o, "outputs"), "dash"));
    json_decref(o);
    snprintf(url, sizeof(url), "%s/videos/%s/hls/180p/segment_001.ts", d.base, id);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_string_equal(header(&r, "Content-Type", input, sizeof(input)), "video/mp2t");
    resp_free(&r);
    /* Its job succeeded, so the upload goes (long before the 24 h
     * retention) and cannot be used again. */
    {
        char path[4600];
        int gone = 0;
        snprintf(path, sizeof(path), "%s/uploads/%s", storage, input_id);
        for (int i = 0; i < 600 && !gone; i++, nap_ms(100))
            gone = !eb_test_exists(path);
        assert_true(gone);
        snprintf(path, sizeof(path), "{\"input\": \"upload:%s\"}", input_id);
        assert_int_equal(api(&d, &r, "POST", "/v1/jobs", path), 400);
        resp_free(&r);
    }
    free(id);
    daemon_stop(&d);
}

/* POSTs file as an upload (201 expected); its id in id (33 bytes). */
static void upload_file(Daemon *d, const char *file, char *id)
{
    Resp r;
    json_error_t e;
    json_t *o;
    char url[512], *data;
    size_t len;

    data = read_all(file, &len);
    assert_non_null(data);
    snprintf(url, sizeof(url), "%s/v1/uploads", d->base);
    assert_int_equal(
        http(&r, "POST", url, TOKEN, data, len, "Content-Type: application/octet-stream"), 201);
    free(data);
    o = json_loads(r.body, 0, &e);
    resp_free(&r);
    assert_non_null(o);
    snprintf(id, 33, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
}

/* The entry of GET /v1/uploads for id (new reference), or NULL. */
static json_t *upload_listed(Daemon *d, const char *id)
{
    json_t *o = api_json(d, 200, "GET", "/v1/uploads", NULL), *found = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(o, "uploads"), i, v)
    {
        const char *vid = json_string_value(json_object_get(v, "id"));
        /* Never a partial upload. */
        assert_int_equal(strlen(vid), 32);
        if (!strcmp(vid, id))
            found = json_incref(v);
    }
    json_decref(o);
    return found;
}

static int upload_exists(const char *storage, const char *id)
{
    char path[4600];
    snprintf(path, sizeof(path), "%s/uploads/%s", storage, id);
    return eb_test_exists(path);
}

/* Waits up to seconds for the upload file to go; 1 when it has. */
static int upload_gone(const char *storage, const char *id, int seconds)
{
    for (int i = 0; i < seconds * 10; i++, nap_ms(100))
        if (!upload_exists(storage, id))
            return 1;
    return 0;
}

/* Upload clean-up (--upload-retention 5s): an upload no job uses goes after
 * the retention; uploads of a running and of a queued job stay however long
 * they wait; once those jobs end (canceled) they are kept for the retention
 * again, so a job can be submitted again, and then go. A partial upload
 * left by a crash is removed when the daemon starts. */
static void test_upload_cleanup(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], path[4600], conf[4600], unused[40], run_up[40], queued_up[40];
    char *run, *queued, *m;
    json_t *o;
    pid_t w = 0;
    (void)state;

    fresh_storage("cleanup", storage, sizeof(storage));
    snprintf(path, sizeof(path), "%s/uploads", storage);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/uploads/0123456789abcdef0123456789abcdef.part", storage);
    assert_int_equal(write_text(path, "half an upload"), 0);
    snprintf(conf, sizeof(conf), "%s/one.yaml", storage);
    assert_int_equal(write_text(conf, "thumbnails:\n  enabled: false\nlimits:\n  max_jobs: 1\n"),
                     0);
    daemon_start(&d, storage, conf, "--upload-retention", "5s");
    assert_false(eb_test_exists(path));
    {
        json_t *l = api_json(&d, 200, "GET", "/v1/uploads", NULL);
        assert_int_equal(json_integer_value(json_object_get(l, "retention_seconds")), 5);
        assert_int_equal(json_array_size(json_object_get(l, "uploads")), 0);
        json_decref(l);
    }

    upload_file(&d, small_mp4, unused);
    upload_file(&d, long_mp4, run_up);
    upload_file(&d, small_mp4, queued_up);
    o = upload_listed(&d, unused);
    assert_non_null(o);
    assert_true(json_is_false(json_object_get(o, "in_use")));
    json_decref(o);

    /* One worker slot (limits.max_jobs 1): the first job runs, held
     * stopped, the second waits in the queue. Both are queued at once,
     * well within the retention of their uploads. */
    run = submit(&d,
                 "{\"input\": \"upload:%s\", \"video_id\": \"keep1\", \"preset\": "
                 "\"veryslow\"}",
                 run_up);
    queued = submit(&d, "{\"input\": \"upload:%s\", \"video_id\": \"keep2\"}", queued_up);
    o = job_wait(&d, run, "running", 120);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    for (int i = 0; i < 200 && !w; i++, nap_ms(50))
        w = worker_pid(d.pid);
    assert_true(w > 0);
    assert_int_equal(kill(w, SIGSTOP), 0);

    /* The unused one goes after the retention ... */
    assert_true(upload_gone(storage, unused, 60));
    o = upload_listed(&d, unused);
    assert_null(o);
    /* ... the two others stay, however long their jobs wait. */
    nap_ms(8000);
    snprintf(path, sizeof(path), "/v1/jobs/%s", run);
    o = api_json(&d, 200, "GET", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/jobs/%s", queued);
    o = api_json(&d, 200, "GET", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "queued");
    json_decref(o);
    assert_true(upload_exists(storage, run_up));
    assert_true(upload_exists(storage, queued_up));
    o = upload_listed(&d, run_up);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "in_use")));
    json_decref(o);
    o = upload_listed(&d, queued_up);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "in_use")));
    json_decref(o);
    m = metrics_get(&d);
    assert_true(metric(m, "encbox_queue_depth") == 1);
    assert_true(metric(m, "encbox_uploads_removed_total") == 1);
    free(m);

    /* A job that did not succeed keeps its upload for the retention from
     * its end: canceled now, it is still there just after. */
    snprintf(path, sizeof(path), "/v1/jobs/%s", queued);
    o = api_json(&d, 202, "DELETE", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    json_decref(o);
    assert_true(upload_exists(storage, queued_up));
    kill(w, SIGCONT);
    snprintf(path, sizeof(path), "/v1/jobs/%s", run);
    o = api_json(&d, 202, "DELETE", path, NULL);
    json_decref(o);
    o = job_wait(&d, run, "canceled", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    json_decref(o);
    /* Then both go. */
    assert_true(upload_gone(storage, queued_up, 60));
    assert_true(upload_gone(storage, run_up, 60));
    snprintf(path, sizeof(path), "{\"input\": \"upload:%s\"}", run_up);
    assert_int_equal(api(&d, &r, "POST", "/v1/jobs", path), 400);
    resp_free(&r);
    free(run);
    free(queued);
    daemon_stop(&d);
}

/* A POST /v1/uploads cut off half way leaves no file and is never listed. */
static void test_upload_interrupted(void **state)
{
    Daemon d;
    char storage[4400], path[4600], head[512], chunk[65536];
    struct sockaddr_in a;
    int fd, seen_part = 0;
    (void)state;

    fresh_storage("interrupted", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)d.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(head, sizeof(head),
             "POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n",
             TOKEN);
    assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 4; i++)
        assert_int_equal(send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL), (ssize_t)sizeof(chunk));
    /* The partial file exists while the body comes, and is not listed. */
    snprintf(path, sizeof(path), "%s/uploads", storage);
    for (int i = 0; i < 300 && !seen_part; i++, nap_ms(100))
        seen_part = eb_test_dir_entries(path) == 1;
    assert_true(seen_part);
    {
        json_t *l = api_json(&d, 200, "GET", "/v1/uploads", NULL);
        assert_int_equal(json_array_size(json_object_get(l, "uploads")), 0);
        json_decref(l);
    }
    close(fd); /* the client goes away */
    {
        int empty = 0;
        for (int i = 0; i < 600 && !empty; i++, nap_ms(100))
            empty = eb_test_dir_entries(path) == 0;
        assert_true(empty);
    }
    daemon_stop(&d);
}

/* Sessions held on a device (here by this test, as a worker would hold
 * them) show in /v1/devices and /metrics, against the configured limit. */
static void test_device_sessions(void **state)
{
    Daemon d;
    char storage[4400], conf[4600];
    EbSessions *ses = NULL;
    EbSessionLease *lease = NULL;
    const EbSessionLimits lim = {.max_encode = 3, .max_decode = 32};
    const EbSessionRequest req = {.device = "renderD128", .encode = 2, .decode = 1};
    json_t *o, *dev = NULL;
    char *m;
    (void)state;

    fresh_storage("sessions", storage, sizeof(storage));
    snprintf(conf, sizeof(conf), "%s/devices.yaml", storage);
    assert_int_equal(write_text(conf, "thumbnails:\n  enabled: false\ndevices:\n"
                                      "  - backend: vaapi\n    device: /dev/dri/renderD128\n"
                                      "    max_sessions: 3\n"
                                      "  - backend: nvidia\n    max_sessions: 2\n"),
                     0);
    daemon_start(&d, storage, conf, NULL, NULL);
    assert_int_equal(eb_sessions_open(sessdir, &ses), 0);
    assert_int_equal(eb_sessions_acquire(ses, &req, &lim, 0, &lease), 0);

    o = api_json(&d, 200, "GET", "/v1/devices", NULL);
    {
        json_t *b, *inv, *v;
        size_t i, k;
        json_array_foreach(json_object_get(o, "backends"), i, b)
        {
            const char *name = json_string_value(json_object_get(b, "backend"));
            if (!strcmp(name, "nvidia")) {
                json_t *l = json_object_get(b, "limits");
                assert_int_equal(json_integer_value(json_object_get(l, "encode")), 2);
                assert_true(json_is_true(json_object_get(l, "configured")));
            }
            if (strcmp(name, "vaapi"))
                continue;
            inv = json_object_get(b, "inventory");
            json_array_foreach(inv, k, v)
            {
                if (!strcmp(json_string_value(json_object_get(v, "device")), "/dev/dri/renderD128"))
                    dev = json_incref(v);
            }
        }
    }
    json_decref(o);
    if (dev) { /* a build with VA-API */
        json_t *sessions = json_object_get(dev, "sessions"), *l = json_object_get(dev, "limits");
        assert_string_equal(json_string_value(json_object_get(dev, "session_key")), "renderD128");
        assert_int_equal(json_integer_value(json_object_get(sessions, "encode")), 2);
        assert_int_equal(json_integer_value(json_object_get(sessions, "decode")), 1);
        assert_int_equal(json_integer_value(json_object_get(l, "encode")), 3);
        assert_true(json_is_true(json_object_get(l, "configured")));
        json_decref(dev);
        m = metrics_get(&d);
        assert_true(metric(m, "encbox_device_sessions{backend=\"vaapi\",device=\"renderD128\","
                              "kind=\"encode\"}") == 2);
        assert_true(metric(m, "encbox_device_sessions{backend=\"vaapi\",device=\"renderD128\","
                              "kind=\"decode\"}") == 1);
        assert_true(metric(m, "encbox_device_session_limit{backend=\"vaapi\","
                              "device=\"renderD128\",kind=\"encode\"}") == 3);
        assert_true(metric(m, "encbox_device_session_limit{backend=\"vaapi\","
                              "device=\"renderD128\",kind=\"decode\"}") > 0);
        free(m);
        eb_sessions_release(&lease);
        m = metrics_get(&d);
        assert_true(metric(m, "encbox_device_sessions{backend=\"vaapi\",device=\"renderD128\","
                              "kind=\"encode\"}") == 0);
        free(m);
    } else {
        /* Without VA-API the families are still there, well formed. */
        m = metrics_get(&d);
        assert_non_null(strstr(m, "# TYPE encbox_device_sessions gauge"));
        assert_non_null(strstr(m, "# TYPE encbox_device_session_limit gauge"));
        free(m);
    }
    eb_sessions_release(&lease);
    eb_sessions_close(&ses);
    daemon_stop(&d);
}

/* A queued job is canceled at once; a running one stops, publishes nothing
 * and leaves no staging behind. */
/* The admission rule: a need that fits beside what is in use starts, one
 * that does not waits and says for what, one beyond the limits themselves
 * starts (it could never fit; the worker's own request is refused and the
 * fallback policy decides). */
static void test_admission_rule(void **state)
{
    EbSessionLimits lim = {.max_encode = 5, .max_decode = 32};
    char why[256];
    (void)state;
    assert_int_equal(eb_api_admission_decide("nvidia", 4, 1, &lim, 1, 1, why, sizeof(why)), 1);
    assert_string_equal(why, "");
    assert_int_equal(eb_api_admission_decide("nvidia", 4, 1, &lim, 2, 1, why, sizeof(why)), 0);
    assert_string_equal(why, "4 encode sessions on nvidia (2 of 5 in use)");
    lim.max_decode = 1;
    assert_int_equal(eb_api_admission_decide("renderD128", 1, 1, &lim, 0, 1, why, sizeof(why)), 0);
    assert_string_equal(why, "1 decode session on renderD128 (1 of 1 in use)");
    assert_int_equal(eb_api_admission_decide("nvidia", 6, 1, &lim, 0, 0, why, sizeof(why)), 1);
}

static atomic_int admit_open, admit_calls;

static int gate_admit(void *opaque, const EbJobSpec *spec, char *why, size_t size)
{
    (void)opaque;
    /* The stored job, decoded: its one inline rung. */
    assert_true(spec->ladder_inline);
    assert_int_equal(spec->ladder.nb_rungs, 1);
    atomic_fetch_add(&admit_calls, 1);
    if (atomic_load(&admit_open))
        return 1;
    snprintf(why, size, "4 encode sessions on nvidia (3 of 5 in use)");
    return 0;
}

/* The scheduler asks before starting the head of the queue: while the
 * answer is "wait" the job stays queued, says what it waits for, is asked
 * again without any event of this daemon (sessions are freed by other
 * processes), and starts once admitted. */
static void test_scheduler_waits_for_admission(void **state)
{
    char storage[4400], work[4500], db[4500];
    const char *roots[] = {inroot, NULL};
    EbJobsConfig jc = {0};
    EbJobs *jobs = NULL;
    EbJobSpec js;
    EbJobSpecError jerr;
    json_t *spec, *job = NULL;
    char id[64];
    (void)state;

    fresh_storage("admission", storage, sizeof(storage));
    snprintf(work, sizeof(work), "%s/work", storage);
    snprintf(db, sizeof(db), "%s/jobs.db", storage);
    mkdir(work, 0755);
    jc.exe = getenv("EB_BINARY");
    assert_non_null(jc.exe);
    jc.storage_root = storage;
    jc.db_path = db;
    jc.work_dir = work;
    jc.base_url = "";
    jc.max_jobs = 2;
    jc.watchdog_seconds = 300;
    jc.input_roots = roots;
    jc.admit = gate_admit;
    atomic_store(&admit_open, 0);
    atomic_store(&admit_calls, 0);
    assert_int_equal(eb_jobs_open(&jc, &jobs), 0);
    assert_int_equal(eb_jobs_start(jobs), 0);

    spec =
        json_pack("{s:s, s:s, s:b, s:{s:[{s:s, s:i, s:s}]}, s:s, s:f, s:s, s:s, s:s, s:i}", "input",
                  small_mp4, "video_id", "gated", "overwrite", 0, "ladder", "rungs", "name", "180p",
                  "height", 180, "bitrate", "300k", "format", "cmaf", "segment_seconds", 2.0,
                  "preset", "ultrafast", "backend", "auto", "fallback", "auto", "priority", 5);
    assert_non_null(spec);
    eb_job_spec_init(&js);
    assert_int_equal(eb_job_spec_from_json(spec, NULL, &js, &jerr), 0);
    assert_int_equal(eb_jobs_submit(jobs, &js, &job), 0);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(job, "id")));
    json_decref(job);
    json_decref(spec);
    eb_job_spec_clear(&js);

    /* Held back: still queued after several of the 1 s re-checks. */
    for (int i = 0; i < 100 && atomic_load(&admit_calls) < 3; i++)
        usleep(100000);
    assert_true(atomic_load(&admit_calls) >= 3);
    assert_int_equal(eb_jobs_get(jobs, id, &job), 0);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "queued");
    assert_string_equal(json_string_value(json_object_get(job, "waiting_for")),
                        "4 encode sessions on nvidia (3 of 5 in use)");
    json_decref(job);

    /* Admitted: it runs to the end without any other nudge. */
    atomic_store(&admit_open, 1);
    for (int i = 0; i < 1200; i++) {
        const char *st;
        assert_int_equal(eb_jobs_get(jobs, id, &job), 0);
        st = json_string_value(json_object_get(job, "state"));
        if (!strcmp(st, "succeeded") || !strcmp(st, "failed")) {
            assert_string_equal(st, "succeeded");
            assert_true(json_is_null(json_object_get(job, "waiting_for")));
            json_decref(job);
            job = NULL;
            break;
        }
        json_decref(job);
        job = NULL;
        usleep(250000);
    }
    assert_null(job);
    assert_int_equal(eb_jobs_get(jobs, id, &job), 0);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "succeeded");
    json_decref(job);
    eb_jobs_close(&jobs);
}

static void test_cancel(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], path[4600];
    json_t *o;
    char *run, *queued;
    (void)state;

    fresh_storage("cancel", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, "--max-jobs", "1");
    run = submit(&d, "{\"input\": \"%s\", \"video_id\": \"long1\", \"preset\": \"veryslow\"}",
                 long_mp4);
    queued = submit(&d, "{\"input\": \"%s\", \"video_id\": \"small2\"}", small_mp4);
    o = job_wait(&d, run, "running", 120);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    /* The second one waits (max-jobs 1), and is canceled while queued. */
    snprintf(path, sizeof(path), "/v1/jobs/%s", queued);
    o = api_json(&d, 202, "DELETE", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    json_decref(o);

    snprintf(path, sizeof(path), "/v1/jobs/%s", run);
    o = api_json(&d, 202, "DELETE", path, NULL);
    json_decref(o);
    o = job_wait(&d, run, "canceled", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    json_decref(o);
    snprintf(path, sizeof(path), "%s/videos/long1", storage);
    assert_false(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/.staging", storage);
    assert_int_equal(eb_test_dir_entries(path), 0);
    /* The canceled video id is free again. */
    free(submit(&d, "{\"input\": \"%s\", \"video_id\": \"small2\"}", small_mp4));
    assert_int_equal(api(&d, &r, "GET", "/v1/jobs?state=canceled", NULL), 200);
    assert_non_null(strstr(r.body, "\"total\":2"));
    resp_free(&r);
    free(run);
    free(queued);
    daemon_stop(&d);
}

/* Frames of rung name in a job's progress.rungs; -1 when not listed. */
static int64_t progress_rung(json_t *job, const char *name)
{
    json_t *rungs = json_object_get(json_object_get(job, "progress"), "rungs"), *v;
    size_t i;
    assert_true(json_is_array(rungs));
    json_array_foreach(rungs, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && !strcmp(n, name))
            return json_integer_value(json_object_get(v, "frames"));
    }
    return -1;
}

/* Per-rung figures while a job runs: the job's progress.rungs and
 * encbox_rung_frames_encoded_total grow before the job ends. */
static void test_rung_progress(void **state)
{
    Daemon d;
    char storage[4400], path[128];
    const char *series = "encbox_rung_frames_encoded_total{rung=\"r180\"}";
    int64_t first = -1, first_small = -1, last = -1, last_small = -1;
    double m_first = -1, m_last = -1;
    json_t *o;
    char *id;
    (void)state;

    fresh_storage("rungprog", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, "--max-jobs", "1");
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"rungs1\", \"preset\": \"veryslow\", "
                "\"ladder\": {\"name\": \"two\", \"rungs\": ["
                "{\"name\": \"r180\", \"height\": 180, \"bitrate\": \"300k\"},"
                "{\"name\": \"r120\", \"height\": 120, \"bitrate\": \"200k\"}]}}",
                long_mp4);
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    o = job_wait(&d, id, "running", 120);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    /* Two readings, both while it runs, the second higher than the first. */
    for (int i = 0; i < 3000 && (last <= first || m_last <= m_first); i++) {
        char *m;
        int64_t f, fs;
        double mv;
        o = api_json(&d, 200, "GET", path, NULL);
        if (strcmp(json_string_value(json_object_get(o, "state")), "running")) {
            fprintf(stderr, "job ended before its rungs were seen growing: %s\n", json_dumps(o, 0));
            fail();
        }
        f = progress_rung(o, "r180");
        fs = progress_rung(o, "r120");
        json_decref(o);
        m = metrics_get(&d);
        mv = metric(m, series);
        free(m);
        if (f > 0 && mv > 0 && first < 0) {
            first = f;
            first_small = fs;
            m_first = mv;
        } else if (first > 0) {
            last = f;
            last_small = fs;
            m_last = mv;
        }
        nap_ms(100);
    }
    print_message("r180: %lld -> %lld frames; r120: %lld -> %lld; metric %.0f -> %.0f\n",
                  (long long)first, (long long)last, (long long)first_small, (long long)last_small,
                  m_first, m_last);
    assert_true(first > 0 && last > first);
    assert_true(first_small >= 0 && last_small >= first_small);
    assert_true(m_first > 0 && m_last > m_first);
    /* Still running: the figures came from progress lines, not a result. */
    o = api_json(&d, 200, "GET", path, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    assert_true(json_is_null(json_object_get(o, "device_uploads")));
    json_decref(o);
    cancel_and_stop(&d, id, path);
}

/* /proc/<pid>/cmdline with its NULs as spaces; its length, 0 if none. */
static size_t read_cmdline(pid_t pid, char *out, size_t size)
{
    char path[64];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(out, 1, size - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!out[i])
            out[i] = ' ';
    out[n] = 0;
    return n;
}

/* 1 while one of pid's file descriptors is the daemon's spec memfd, 0
 * when none is, -1 when pid has gone. */
static int holds_spec_fd(pid_t pid)
{
    char path[64], link[384], target[512];
    struct dirent *e;
    DIR *dir;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    dir = opendir(path);
    if (!dir)
        return -1;
    while (!found && (e = readdir(dir))) {
        ssize_t n;
        snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = 0;
            found = strstr(target, "encbox-job-spec") != NULL;
        }
    }
    closedir(dir);
    return found;
}

/* A worker's command line, which every local user can read, holds nothing
 * of its job: the spec comes on a file descriptor (issue 13 item 7), which
 * the worker closes once it has read it. */
static void test_worker_cmdline(void **state)
{
    Daemon d;
    char storage[4400], path[128], cmdline[8192] = "";
    json_t *o;
    char *id;
    pid_t w = 0;
    size_t n = 0;
    int held = 1;
    (void)state;

    fresh_storage("cmdline", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, "--max-jobs", "1");
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"vid-on-fd\", \"preset\": \"veryslow\", "
                "\"segment_seconds\": 3, \"ladder\": {\"name\": \"ladder-on-fd\", \"rungs\": "
                "[{\"name\": \"r180\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                long_mp4);
    o = job_wait(&d, id, "running", 120);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    /* The child exists before it has exec'd (with the daemon's command
     * line): wait for the worker's own. */
    for (int i = 0; i < 200 && !strstr(cmdline, "--spec-fd"); i++, nap_ms(50)) {
        w = worker_pid(d.pid);
        n = w > 0 ? read_cmdline(w, cmdline, sizeof(cmdline)) : 0;
    }
    print_message("worker %d: %s\n", (int)w, cmdline);
    assert_true(n > 0);
    assert_non_null(strstr(cmdline, " transcode --spec-fd 4 "));
    assert_null(strstr(cmdline, "long.mp4"));
    assert_null(strstr(cmdline, inroot));
    assert_null(strstr(cmdline, storage));
    assert_null(strstr(cmdline, "vid-on-fd"));
    assert_null(strstr(cmdline, "ladder-on-fd"));
    assert_null(strstr(cmdline, "veryslow"));
    assert_null(strstr(cmdline, cfgfile));
    /* Read and closed: the worker, still running, keeps no copy of the
     * spec open. */
    for (int i = 0; i < 200 && (held = holds_spec_fd(w)) == 1; i++)
        nap_ms(50);
    assert_int_equal(held, 0);
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    cancel_and_stop(&d, id, path);
}

/* Reads what a pipe holds now (one report; none fails); its length. */
static size_t read_report(int fd, char *buf, size_t size)
{
    ssize_t n = read(fd, buf, size - 1);
    assert_true(n > 0);
    buf[n] = 0;
    return (size_t)n;
}

/* The worker's progress lines are JSON that jansson wrote: any note (quotes,
 * control bytes, non-UTF-8 driver text, far too long) comes out as one
 * line the daemon parses, in one write under PIPE_BUF. */
static void test_progress_lines(void **state)
{
    EbVodProgress p;
    EbVodResult res;
    char buf[2 * PIPE_BUF];
    int fds[2];
    size_t n;
    json_error_t e;
    json_t *o;
    const char *note;
    (void)state;

    assert_int_equal(pipe2(fds, O_NONBLOCK), 0); /* no line: read fails, no hang */
    memset(&res, 0, sizeof(res));
    for (size_t i = 0; i < sizeof(res.backend_note) - 1; i++)
        res.backend_note[i] = "\"\\\x01\xc3"[i % 4];
    snprintf(res.decode_note, sizeof(res.decode_note), "line\nbreak");
    snprintf(res.video_id, sizeof(res.video_id), "v1");
    res.backend = "software";
    res.nb_rungs = EB_LADDER_MAX_RUNGS;
    for (int i = 0; i < res.nb_rungs; i++)
        memset(res.rungs[i].name, '"', sizeof(res.rungs[i].name)); /* no NUL */
    res.nb_audio = EB_MAX_AUDIO_TRACKS;
    for (int k = 0; k < res.nb_audio; k++) {
        memset(res.audio[k].label, '"', sizeof(res.audio[k].label) - 1);
        snprintf(res.audio[k].language, sizeof(res.audio[k].language), "%s", k ? "fr" : "");
        res.audio[k].channels = 2;
        res.audio[k].is_default = k == 0;
    }
    memset(res.audio_note, '\\', sizeof(res.audio_note) - 1);
    eb_api_progress_result(fds[1], &res);
    n = read_report(fds[0], buf, sizeof(buf));
    assert_true(n < PIPE_BUF);
    assert_int_equal(buf[n - 1], '\n');
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
    o = json_loads(buf, 0, &e);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "done")));
    note = json_string_value(json_object_get(o, "backend_note"));
    assert_non_null(note);
    assert_int_equal(strncmp(note, "\"\\\x01?", 4), 0); /* cut to fit, never mangled */
    assert_string_equal(json_string_value(json_object_get(o, "decode_note")), "line\nbreak");
    assert_int_equal(json_array_size(json_object_get(o, "rungs")), EB_LADDER_MAX_RUNGS);
    /* Every audio rendition is reported, the default first, the language
     * null where the input does not say. */
    assert_int_equal(json_array_size(json_object_get(o, "audio")), EB_MAX_AUDIO_TRACKS);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(o, "audio"), 0), "language")));
    assert_true(
        json_is_true(json_object_get(json_array_get(json_object_get(o, "audio"), 0), "default")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "audio"), 1), "language")),
                        "fr");
    assert_int_equal(strlen(json_string_value(
                         json_object_get(json_array_get(json_object_get(o, "rungs"), 0), "name"))),
                     sizeof(res.rungs[0].name));
    json_decref(o);

    memset(&p, 0, sizeof(p));
    p.percent = 12.3456;
    p.frames_done = 7;
    p.nb_rungs = 1;
    snprintf(p.rung_names[0], sizeof(p.rung_names[0]), "r\"1");
    p.rung_frames[0] = 7;
    eb_api_progress_report(&p, &fds[1]);
    n = read_report(fds[0], buf, sizeof(buf));
    assert_int_equal(buf[n - 1], '\n');
    o = json_loads(buf, 0, &e);
    assert_non_null(o);
    assert_true(json_number_value(json_object_get(o, "percent")) == 12.35);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(o, "rungs"), 0), "name")),
        "r\"1");
    json_decref(o);
    close(fds[0]);
    close(fds[1]);
}

/* kill -9 of a worker fails that job alone; the daemon carries on. */
static void test_worker_crash(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[256];
    json_t *o;
    char *id, *next;
    pid_t w = 0;
    (void)state;

    fresh_storage("crash", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, "--max-jobs", "1");
    id = submit(&d, "{\"input\": \"%s\", \"video_id\": \"doomed\", \"preset\": \"veryslow\"}",
                long_mp4);
    o = job_wait(&d, id, "running", 120);
    json_decref(o);
    for (int i = 0; i < 100 && !w; i++, nap_ms(50))
        w = worker_pid(d.pid);
    assert_true(w > 0);
    assert_int_equal(kill(w, SIGKILL), 0);
    o = job_wait(&d, id, "failed", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "crashed"));
    json_decref(o);
    /* The daemon still runs jobs. */
    next = submit(&d,
                  "{\"input\": \"%s\", \"video_id\": \"after\", \"ladder\": {\"rungs\": "
                  "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                  small_mp4);
    o = job_wait(&d, next, "succeeded", 300);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
    json_decref(o);
    snprintf(url, sizeof(url), "%s/metrics", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "encbox_worker_crashes_total 1"));
    resp_free(&r);
    free(id);
    free(next);
    daemon_stop(&d);
}

/* DELETE wins even when the worker cannot act on its SIGTERM (here it is
 * stopped, inside a demuxer blocked on a FIFO segment): the daemon kills it
 * after the grace period and the job ends canceled, nothing published. A
 * pipe as the input itself is refused up front. */
static void test_cancel_of_a_blocked_worker(void **state)
{
    char storage[4300], fifo[4400], list[4400], body[4600], path[128];
    Daemon d;
    json_t *o;
    char *id;
    FILE *f;
    double t0;
    pid_t w = 0;
    (void)state;

    snprintf(fifo, sizeof(fifo), "%s/hang.ts", inroot);
    snprintf(list, sizeof(list), "%s/hang.m3u8", inroot);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    f = fopen(list, "w");
    assert_non_null(f);
    fprintf(f, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4.0,\n"
               "hang.ts\n#EXT-X-ENDLIST\n");
    fclose(f);
    /* a folder or a pipe is no input of its own */
    fresh_storage("blocked", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    snprintf(body, sizeof(body), "{\"input\": \"%s\"}", fifo);
    {
        Resp r;
        api(&d, &r, "POST", "/v1/jobs", body);
        assert_int_equal(r.code, 400);
        resp_free(&r);
    }
    id = submit(&d, "{\"input\": \"%s\", \"video_id\": \"blocked\"}", list);
    json_decref(job_wait(&d, id, "running", 60));
    for (int i = 0; i < 100 && !w; i++, nap_ms(50))
        w = worker_pid(d.pid);
    assert_true(w > 0);
    /* stopped, it cannot act on the SIGTERM (it stays pending) */
    assert_int_equal(kill(w, SIGSTOP), 0);
    t0 = (double)eb_clock_ns() / 1e9;
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    o = api_json(&d, 202, "DELETE", path, NULL);
    json_decref(o);
    o = job_wait(&d, id, "canceled", 40);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "canceled");
    assert_true((double)eb_clock_ns() / 1e9 - t0 < 30);
    json_decref(o);
    snprintf(body, sizeof(body), "%s/videos/blocked", storage);
    assert_false(eb_test_exists(body));
    free(id);
    daemon_stop(&d);
    unlink(fifo);
    unlink(list);
}

/* A worker that stops reporting (SIGSTOP) is killed by the watchdog. */
static void test_watchdog(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[4600];
    json_t *o;
    char *id;
    pid_t w = 0;
    (void)state;

    fresh_storage("watchdog", storage, sizeof(storage));
    /* a staging folder left by a job of an earlier daemon: swept at start */
    snprintf(url, sizeof(url), "%s/.staging/old.Xy12Zw", storage);
    assert_int_equal(eb_storage_mkdirs(url), 0);
    daemon_start(&d, storage, NULL, "--watchdog", "3");
    assert_false(eb_test_exists(url));
    id = submit(&d, "{\"input\": \"%s\", \"video_id\": \"stuck\", \"preset\": \"veryslow\"}",
                long_mp4);
    o = job_wait(&d, id, "running", 120);
    json_decref(o);
    for (int i = 0; i < 100 && !w; i++, nap_ms(50))
        w = worker_pid(d.pid);
    assert_true(w > 0);
    assert_int_equal(kill(w, SIGSTOP), 0);
    o = job_wait(&d, id, "failed", 60);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "hung"));
    json_decref(o);
    /* the killed worker's staging folder is gone too */
    snprintf(url, sizeof(url), "%s/.staging", storage);
    assert_int_equal(eb_test_dir_entries(url), 0);
    snprintf(url, sizeof(url), "%s/metrics", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "encbox_watchdog_kills_total 1"));
    resp_free(&r);
    free(id);
    daemon_stop(&d);
}

/* The worker confines what the input refers to as well: a playlist inside
 * the root naming a segment outside it fails the job. */
static void test_worker_confinement(void **state)
{
    Daemon d;
    char storage[4400], seg[4600], list[4600];
    json_t *o;
    char *id;
    FILE *f;
    (void)state;

    fresh_storage("confine", storage, sizeof(storage));
    snprintf(seg, sizeof(seg), "%s/seg.ts", outside);
    snprintf(list, sizeof(list), "%s/evil.m3u8", inroot);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 "
                                    "-preset ultrafast %s",
                                    seg),
                     0);
    f = fopen(list, "w");
    assert_non_null(f);
    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
               "#EXTINF:1.0,\n../outside/seg.ts\n#EXT-X-ENDLIST\n");
    fclose(f);
    daemon_start(&d, storage, NULL, NULL, NULL);
    id = submit(&d, "{\"input\": \"%s\", \"video_id\": \"evil\"}", list);
    o = job_wait(&d, id, "failed", 300);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "input roots"));
    json_decref(o);
    free(id);
    daemon_stop(&d);
}

/* kill -9 of the daemon mid-job; after a restart the job runs again from
 * the start and completes. */
static void test_daemon_crash_recovery(void **state)
{
    Daemon d;
    char storage[4400], path[4600];
    json_t *o;
    char *id;
    (void)state;

    fresh_storage("recover", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"phoenix\", \"preset\": \"medium\", "
                "\"ladder\": {\"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                long_mp4);
    o = job_wait(&d, id, "running", 120);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    kill(d.pid, SIGKILL);
    waitpid(d.pid, NULL, 0);
    d.pid = 0;
    snprintf(path, sizeof(path), "%s/videos/phoenix", storage);
    assert_false(eb_test_exists(path));

    daemon_start(&d, storage, NULL, NULL, NULL);
    o = job_wait(&d, id, "succeeded", 300);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 2);
    json_decref(o);
    assert_true(eb_test_exists(path));
    daemon_stop(&d);

    /* jobs.history_retention (30 days by default): a job that ended 40
     * days ago is forgotten at the next start. */
    {
        sqlite3 *db;
        char dbp[4600];
        snprintf(dbp, sizeof(dbp), "%s/jobs.db", storage);
        assert_int_equal(sqlite3_open(dbp, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(db, "UPDATE jobs SET finished = finished - 40 * 86400", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
    }
    daemon_start(&d, storage, NULL, NULL, NULL);
    {
        Resp r;
        char jp[128];
        snprintf(jp, sizeof(jp), "/v1/jobs/%s", id);
        assert_int_equal(api(&d, &r, "GET", jp, NULL), 404);
        resp_free(&r);
    }
    free(id);
    daemon_stop(&d);
}

static void test_signed_links(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[512], msg[128], hex[65], cfg[4600];
    unsigned char mac[32];
    long long exp;
    json_t *o;
    char *id;
    FILE *f;
    (void)state;

    fresh_storage("signed", storage, sizeof(storage));
    snprintf(cfg, sizeof(cfg), "%s/signed.yaml", tmp);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "api:\n  token_files: [%s]\n  signing_key_file: %s\n"
            "  cors_origins: [\"https://player.example\"]\n",
            tokfile, keyfile);
    fclose(f);
    daemon_start(&d, storage, cfg, NULL, NULL);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"sig\", \"ladder\": {\"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                small_mp4);
    o = job_wait(&d, id, "succeeded", 300);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "succeeded");
    json_decref(o);
    /* The job's own output links are signed, and work. */
    snprintf(url, sizeof(url), "/v1/jobs/%s", id);
    o = api_json(&d, 200, "GET", url, NULL);
    snprintf(url, sizeof(url), "%s%s", d.base,
             json_string_value(json_object_get(json_object_get(o, "outputs"), "hls")));
    json_decref(o);
    assert_non_null(strstr(url, "/s/"));
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_non_null(strstr(r.body, "#EXTM3U"));
    resp_free(&r);
    /* ... and so do the relative segment links inside them. */
    strcpy(strstr(url, "master.m3u8"), "180p/index.m3u8");
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    resp_free(&r);

    exp = (long long)time(NULL) + 600;
    snprintf(msg, sizeof(msg), "%lld/sig", exp);
    assert_int_equal(
        gnutls_hmac_fast(GNUTLS_MAC_SHA256, SIGN_KEY, strlen(SIGN_KEY), msg, strlen(msg), mac), 0);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    snprintf(url, sizeof(url), "%s/s/%lld/%s/videos/sig/hls/master.m3u8", d.base, exp, hex);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, "Origin: https://player.example"), 200);
    assert_non_null(strstr(r.body, "#EXTM3U"));
    /* A listed origin is echoed; others get nothing. */
    {
        char h[128];
        assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)),
                            "https://player.example");
        resp_free(&r);
        assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, "Origin: https://evil.example"), 200);
        assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "");
    }
    resp_free(&r);
    /* Tampered: another expiry, another video, a flipped digit. */
    snprintf(url, sizeof(url), "%s/s/%lld/%s/videos/sig/hls/master.m3u8", d.base, exp + 1, hex);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/s/%lld/%s/videos/other/hls/master.m3u8", d.base, exp, hex);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    resp_free(&r);
    hex[0] = hex[0] == '0' ? '1' : '0';
    snprintf(url, sizeof(url), "%s/s/%lld/%s/videos/sig/hls/master.m3u8", d.base, exp, hex);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    resp_free(&r);
    /* Expired, correctly signed. */
    exp = (long long)time(NULL) - 10;
    snprintf(msg, sizeof(msg), "%lld/sig", exp);
    gnutls_hmac_fast(GNUTLS_MAC_SHA256, SIGN_KEY, strlen(SIGN_KEY), msg, strlen(msg), mac);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    snprintf(url, sizeof(url), "%s/s/%lld/%s/videos/sig/hls/master.m3u8", d.base, exp, hex);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    assert_non_null(strstr(r.body, "expired"));
    resp_free(&r);
    /* With a signing key, unsigned paths are refused. */
    snprintf(url, sizeof(url), "%s/videos/sig/hls/master.m3u8", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    resp_free(&r);
    free(id);
    daemon_stop(&d);
}

static void signed_url(const Daemon *d, const char *key, const char *vid, char *url, size_t size);

/* Content protection through the daemon: the job object names the scheme,
 * key ids and a (signed) license URL, never a key; the ClearKey license
 * and the AES-128 key are served with the token or a signed link to that
 * video only, 401/403 otherwise, each counted in /metrics; ffmpeg's HLS
 * demuxer plays the AES-128 output fetching its key with the token. */
static void test_content_protection(void **state)
{
    Daemon d;
    Resp r;
    char storage[4400], url[2048], cfg[4600], path[4800], body[256], kid64[23], cmd[6000];
    char lic[1024], kid_hex[40];
    uint8_t kid[16], k[16];
    EbKeyProvider *kp = NULL;
    EbContentKey key;
    json_t *o, *enc, *jwk;
    json_error_t e;
    char *id, *id_aes, *m;
    FILE *f;
    (void)state;

    fresh_storage("protect", storage, sizeof(storage));
    snprintf(cfg, sizeof(cfg), "%s/protect.yaml", tmp);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "api:\n  token_files: [%s]\n  signing_key_file: %s\n", tokfile, keyfile);
    fclose(f);
    daemon_start(&d, storage, cfg, NULL, NULL);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"prot\", \"encryption\": {\"scheme\": "
                "\"cenc\"}, \"ladder\": {\"rungs\": [{\"name\": \"180p\", \"height\": 180, "
                "\"bitrate\": \"300k\"}]}}",
                small_mp4);
    id_aes = submit(&d,
                    "{\"input\": \"%s\", \"video_id\": \"prot_aes\", \"format\": \"ts\", "
                    "\"encryption\": {\"scheme\": \"aes-128\"}, \"ladder\": {\"rungs\": "
                    "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                    small_mp4);
    json_decref(job_wait(&d, id, "succeeded", 300));
    json_decref(job_wait(&d, id_aes, "succeeded", 300));
    snprintf(url, sizeof(url), "/v1/jobs/%s", id);
    o = api_json(&d, 200, "GET", url, NULL);
    enc = json_object_get(o, "encryption");
    assert_string_equal(json_string_value(json_object_get(enc, "scheme")), "cenc");
    assert_int_equal(json_array_size(json_object_get(enc, "key_ids")), 1);
    snprintf(kid_hex, sizeof(kid_hex), "%s",
             json_string_value(json_array_get(json_object_get(enc, "key_ids"), 0)));
    assert_int_equal(eb_key_unhex(kid_hex, kid), 0);
    snprintf(lic, sizeof(lic), "%s", json_string_value(json_object_get(enc, "license_url")));
    assert_non_null(strstr(lic, "/s/"));
    assert_non_null(strstr(lic, "/videos/prot/license"));
    /* the key itself is in the store only */
    snprintf(path, sizeof(path), "%s/keys", storage);
    assert_int_equal(eb_key_store_open(path, &kp), 0);
    assert_int_equal(kp->ops->get(kp, "prot", kid, &key), 0);
    {
        char hex[33], *text = json_dumps(o, 0);
        eb_key_hex(key.k.key, hex);
        assert_null(strstr(text, hex));
        free(text);
    }
    eb_base64url16(kid, kid64);
    snprintf(body, sizeof(body), "{\"kids\": [\"%s\"], \"type\": \"temporary\"}", kid64);
    /* through the signed link, no token */
    snprintf(url, sizeof(url), "%s%s", d.base, lic);
    assert_int_equal(
        http(&r, "POST", url, NULL, body, strlen(body), "Content-Type: application/json"), 200);
    jwk = json_loads(r.body, 0, &e);
    resp_free(&r);
    assert_non_null(jwk);
    json_decref(o);
    o = json_array_get(json_object_get(jwk, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(o, "kty")), "oct");
    assert_string_equal(json_string_value(json_object_get(o, "kid")), kid64);
    assert_int_equal(eb_unbase64url16(json_string_value(json_object_get(o, "k")), k), 0);
    assert_memory_equal(k, key.k.key, 16);
    json_decref(jwk);
    /* plain path: token or nothing */
    snprintf(url, sizeof(url), "%s/videos/prot/license", d.base);
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 401);
    resp_free(&r);
    assert_int_equal(http(&r, "POST", url, "wrong-token", body, strlen(body), NULL), 401);
    resp_free(&r);
    assert_int_equal(http(&r, "POST", url, TOKEN, body, strlen(body), NULL), 200);
    resp_free(&r);
    assert_int_equal(http(&r, "POST", url, TOKEN, "{\"kids\": 3}", 11, NULL), 400);
    resp_free(&r);
    assert_int_equal(
        http(&r, "POST", url, TOKEN, "{\"kids\": [\"AAAAAAAAAAAAAAAAAAAAAA\"]}", 36, NULL), 404);
    resp_free(&r);
    /* a channel's window has the same service, with the token (no channel
     * here has a key: 404 behind the token, 401 before it) */
    snprintf(url, sizeof(url), "%s/live/cam/license", d.base);
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 401);
    resp_free(&r);
    assert_int_equal(http(&r, "POST", url, TOKEN, body, strlen(body), NULL), 404);
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/live/cam/keys/%s", d.base, kid_hex);
    assert_int_equal(http(&r, "GET", url, TOKEN, NULL, 0, NULL), 404);
    resp_free(&r);
    /* a link signed for another video does not open this one's license */
    strcpy(strstr(lic, "/videos/") + 8, "prot_aes/license");
    snprintf(url, sizeof(url), "%s%s", d.base, lic);
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 403);
    resp_free(&r);
    eb_key_provider_free(&kp);

    /* AES-128: the key with the token, 401 without */
    snprintf(url, sizeof(url), "/v1/jobs/%s", id_aes);
    o = api_json(&d, 200, "GET", url, NULL);
    enc = json_object_get(o, "encryption");
    assert_string_equal(json_string_value(json_object_get(enc, "scheme")), "aes-128");
    assert_null(json_object_get(json_object_get(o, "outputs"), "dash"));
    snprintf(url, sizeof(url), "%s/videos/prot_aes/keys/%s", d.base,
             json_string_value(json_array_get(json_object_get(enc, "key_ids"), 0)));
    assert_int_equal(http(&r, "GET", url, TOKEN, NULL, 0, NULL), 200);
    assert_int_equal(r.len, 16);
    resp_free(&r);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);
    json_decref(o);
    /* ffmpeg's HLS demuxer plays it from a signed link with no token: the
     * playlist's relative key URI stays under the link, which is bound to
     * this video. */
    signed_url(&d, SIGN_KEY, "prot_aes", url, sizeof(url));
    strcpy(strstr(url, "master.m3u8"), "180p/index.m3u8");
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' -f framemd5 - 2>/dev/null | grep -c '^0,'",
             url);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(body, sizeof(body), f));
    pclose(f);
    assert_true(atoi(body) >= 25);

    m = metrics_get(&d);
    assert_true(metric(m, "encbox_key_requests_total{endpoint=\"license\",result=\"granted\"}") >=
                2);
    assert_true(metric(m, "encbox_key_requests_total{endpoint=\"license\",result="
                          "\"unauthorized\"}") >= 2);
    assert_true(metric(m, "encbox_key_requests_total{endpoint=\"key\",result=\"granted\"}") >= 2);
    assert_true(metric(m, "encbox_key_requests_total{endpoint=\"license\",result="
                          "\"bad_request\"}") >= 1);
    free(m);
    free(id);
    free(id_aes);
    daemon_stop(&d);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int group_setup(void **state)
{
    char path[4600];
    (void)state;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    eb_test_tmpdir("api", tmp, sizeof(tmp));
    snprintf(inroot, sizeof(inroot), "%s/inputs", tmp);
    snprintf(outside, sizeof(outside), "%s/outside", tmp);
    mkdir(inroot, 0755);
    mkdir(outside, 0755);
    snprintf(path, sizeof(path), "%s/folder", inroot);
    mkdir(path, 0755);
    snprintf(small_mp4, sizeof(small_mp4), "%s/small.mp4", inroot);
    snprintf(long_mp4, sizeof(long_mp4), "%s/long.mp4", inroot);
    snprintf(tokfile, sizeof(tokfile), "%s/tokens", tmp);
    snprintf(keyfile, sizeof(keyfile), "%s/signing.key", tmp);
    snprintf(cfgfile, sizeof(cfgfile), "%s/encbox.yaml", tmp);
    /* Session accounting of the daemons (and their workers) and of this
     * test, away from /run/encbox. */
    snprintf(sessdir, sizeof(sessdir), "%s/sessions", tmp);
    mkdir(sessdir, 0755);
    setenv("EB_SESSIONS_DIR", sessdir, 1);
    if (write_text(tokfile, "# API tokens\nanother-token-9876543210\n" TOKEN "\n") ||
        write_text(keyfile, SIGN_KEY "\n") ||
        write_text(cfgfile, "thumbnails:\n  enabled: false\n"))
        return -1;
    snprintf(path, sizeof(path), "%s/secret.mp4", outside);
    if (eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 2 "
                       "-c:v libx264 -preset ultrafast -c:a aac -shortest %s",
                       small_mp4) ||
        eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 "
                       "-preset ultrafast %s",
                       path) ||
        eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 40 "
                       "-c:v libx264 -preset ultrafast -c:a aac -shortest %s",
                       long_mp4))
        return -1;
    {
        char link[4600];
        snprintf(link, sizeof(link), "%s/link.mp4", inroot);
        if (symlink(path, link) < 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

/* api.tls_cert/key: the API speaks HTTPS only (certificate verified by the
 * client); api.metrics_auth: /metrics wants the token too. */
static void test_tls_and_metrics_auth(void **state)
{
    char storage[4300], conf[4400], key[4400], cmd[9400], url[256], text[9400];
    Daemon d;
    Resp r;
    (void)state;
    fresh_storage("tls", storage, sizeof(storage));
    snprintf(tls_ca, sizeof(tls_ca), "%s/cert.pem", storage);
    snprintf(key, sizeof(key), "%s/key.pem", storage);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
             key, tls_ca);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl cannot make a test certificate here: skipped\n");
        skip();
    }
    snprintf(conf, sizeof(conf), "%s/tls.yaml", storage);
    snprintf(text, sizeof(text),
             "thumbnails:\n  enabled: false\napi:\n  tls_cert: %s\n  tls_key: %s\n"
             "  metrics_auth: true\n",
             tls_ca, key);
    assert_int_equal(write_text(conf, text), 0);
    use_https = 1;
    daemon_start(&d, storage, conf, NULL, NULL);
    use_https = 0;
    assert_int_equal(strncmp(d.base, "https://", 8), 0);
    assert_int_equal(api(&d, &r, "GET", "/v1/health", NULL), 200);
    resp_free(&r);
    /* Plain HTTP to the TLS port gets no answer. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/health", d.port);
    assert_true(http(&r, "GET", url, NULL, NULL, 0, NULL) != 200);
    resp_free(&r);
    snprintf(url, sizeof(url), "%s/metrics", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);
    assert_int_equal(api(&d, &r, "GET", "/metrics", NULL), 200);
    assert_non_null(strstr(r.body, "encbox_"));
    resp_free(&r);
    daemon_stop(&d);
}

/* Waits up to 15 s for text to appear in the daemon's log. */
static int log_has(const Daemon *d, const char *text)
{
    char path[4400];
    for (int i = 0; i < 150; i++) {
        size_t len;
        char *log;
        snprintf(path, sizeof(path), "%s/daemon.log", d->storage);
        log = read_all(path, &len);
        if (log && memmem(log, len, text, strlen(text))) {
            free(log);
            return 1;
        }
        free(log);
        nap_ms(100);
    }
    return 0;
}

static void test_sighup_reload(void **state)
{
    char storage[4300], conf[4400];
    Daemon d;
    Resp r;
    (void)state;
    fresh_storage("sighup", storage, sizeof(storage));
    snprintf(conf, sizeof(conf), "%s/reload.yaml", storage);
    assert_int_equal(write_text(conf, "thumbnails:\n  enabled: false\nlimits:\n  max_jobs: 2\n"),
                     0);
    daemon_start(&d, storage, conf, NULL, NULL);

    /* A run-time setting is applied, a start-up one is reported. */
    assert_int_equal(write_text(conf, "thumbnails:\n  enabled: false\nlimits:\n  max_jobs: 1\n"
                                      "log:\n  format: json\nstorage:\n  uploads: elsewhere\n"),
                     0);
    kill(d.pid, SIGHUP);
    assert_true(log_has(&d, "applied now: limits.max_jobs, log.format; needs a restart: "
                            "storage.uploads"));

    /* A broken file changes nothing and says where it is wrong. */
    assert_int_equal(write_text(conf, "limits:\n  max_jobs: lots\n"), 0);
    kill(d.pid, SIGHUP);
    assert_true(log_has(&d, "reload.yaml:2:"));
    assert_true(log_has(&d, "keeping the running one"));
    assert_int_equal(api(&d, &r, "GET", "/v1/health", NULL), 200);
    resp_free(&r);
    daemon_stop(&d);
}

/* A signed link to video vid under key, as the origin checks it. */
static void signed_url(const Daemon *d, const char *key, const char *vid, char *url, size_t size)
{
    char msg[128], hex[65];
    unsigned char mac[32];
    long long exp = (long long)time(NULL) + 600;

    snprintf(msg, sizeof(msg), "%lld/%s", exp, vid);
    assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, strlen(key), msg, strlen(msg), mac),
                     0);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    snprintf(url, size, "%s/s/%lld/%s/videos/%s/hls/master.m3u8", d->base, exp, hex, vid);
}

/* SIGHUP rotates secrets: a removed token stops authenticating and the new
 * one starts, a link signed with the old key stops working and one signed
 * with the new key works, and the log says so. */
static void test_secret_rotation(void **state)
{
    char storage[4300], conf[4400], toks[4400], key[4400], text[9000], url[1024];
    char saved[sizeof(tokfile)];
    Daemon d;
    Resp r;
    (void)state;

    fresh_storage("rotate", storage, sizeof(storage));
    snprintf(toks, sizeof(toks), "%s/tokens", storage);
    snprintf(key, sizeof(key), "%s/sign.key", storage);
    snprintf(conf, sizeof(conf), "%s/rotate.yaml", storage);
    assert_int_equal(write_text(toks, TOKEN "\n"), 0);
    assert_int_equal(write_text(key, "old-signing-key-0123456789\n"), 0);
    snprintf(text, sizeof(text), "thumbnails: {enabled: false}\napi: {signing_key_file: %s}\n",
             key);
    assert_int_equal(write_text(conf, text), 0);
    memcpy(saved, tokfile, sizeof(saved));
    assert_true(strlen(toks) < sizeof(tokfile));
    memcpy(tokfile, toks, strlen(toks) + 1);
    daemon_start(&d, storage, conf, NULL, NULL);
    memcpy(tokfile, saved, sizeof(saved));

    /* a missing video behind a valid signature is a 404, a bad one a 403 */
    signed_url(&d, "old-signing-key-0123456789", "nothere", url, sizeof(url));
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 404);
    resp_free(&r);

    assert_int_equal(write_text(toks, "rotated-token-abcdef0123456789\n"), 0);
    assert_int_equal(write_text(key, "new-signing-key-9876543210\n"), 0);
    kill(d.pid, SIGHUP);
    assert_true(log_has(&d, "1 token and the signing key loaded"));
    assert_int_equal(api(&d, &r, "GET", "/v1/jobs", NULL), 401);
    resp_free(&r);
    snprintf(text, sizeof(text), "%s/v1/jobs", d.base);
    assert_int_equal(http(&r, "GET", text, "rotated-token-abcdef0123456789", NULL, 0, NULL), 200);
    resp_free(&r);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 403);
    resp_free(&r);
    signed_url(&d, "new-signing-key-9876543210", "nothere", url, sizeof(url));
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 404);
    resp_free(&r);

    /* an unreadable token file keeps the running tokens */
    unlink(toks);
    kill(d.pid, SIGHUP);
    assert_true(log_has(&d, "keeping the running tokens"));
    assert_int_equal(http(&r, "GET", text, "rotated-token-abcdef0123456789", NULL, 0, NULL), 200);
    resp_free(&r);
    /* daemon_stop needs the token no more: SIGTERM */
    daemon_stop(&d);
}

/* api.listen with several addresses: the daemon serves the same API on
 * each of them. */
/* A loopback port nobody listens on now (the kernel's pick): ports drawn
 * at random could be a server's of a test running beside this one. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* This box's entry of GET /v1/boxes. New reference. */
static json_t *this_box(Daemon *d)
{
    json_t *o = api_json(d, 200, "GET", "/v1/boxes", NULL), *me = NULL, *b;
    const char *name = json_string_value(json_object_get(o, "this_box"));
    size_t i;

    assert_non_null(name);
    json_array_foreach(json_object_get(o, "boxes"), i, b)
    {
        if (!strcmp(json_string_value(json_object_get(b, "name")), name))
            me = json_incref(b);
    }
    json_decref(o);
    assert_non_null(me);
    return me;
}

/* limits.bench_report: GET /v1/boxes reports the capacity an `encbox
 * bench` report measured (the reports kept in benchmarks/results, whose
 * .txt printed the same figures: 1.152 h of media per wall hour, 1 ladder
 * at real time; 3 live 720p channels of 46.9 Mpixel/s); a live report's
 * figure is the live capacity in force; a file that is not a report stops
 * the daemon (exit 2), naming the setting. */
static void test_boxes_report_bench_capacity(void **state)
{
    char storage[4300], cfg[4400], text[1024], log[4400], *logtext;
    json_t *me, *cap, *live;
    Daemon d;
    pid_t pid;
    int status;
    (void)state;

    fresh_storage("bench-cap", storage, sizeof(storage));
    snprintf(cfg, sizeof(cfg), "%s/bench-cap.yaml", storage);
    snprintf(text, sizeof(text),
             "thumbnails: {enabled: false}\nlimits:\n  bench_report: %s/benchmarks/results/"
             "2026-11-25-vm.json\n",
             EB_SOURCE_DIR);
    assert_int_equal(write_text(cfg, text), 0);
    daemon_start(&d, storage, cfg, NULL, NULL);
    me = this_box(&d);
    cap = json_object_get(me, "capacity");
    assert_true(json_is_object(cap));
    assert_string_equal(json_string_value(json_object_get(cap, "backend")), "software");
    assert_true(fabs(json_number_value(json_object_get(cap, "vod_hours_per_hour")) - 1.152) <
                0.001);
    assert_int_equal(json_integer_value(json_object_get(cap, "ladders_at_real_time")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cap, "source"), "height")),
                     1080);
    assert_true(json_is_null(json_object_get(cap, "live")));
    assert_string_equal(json_string_value(json_object_get(cap, "measured_at")),
                        "2026-11-25T03:51:05Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(me, "live_capacity"), "source")),
        "estimate (60 per online core)");
    json_decref(me);
    daemon_stop(&d);

    snprintf(text, sizeof(text),
             "thumbnails: {enabled: false}\nlimits:\n  bench_report: %s/benchmarks/results/"
             "2026-12-05-live-720p.json\n",
             EB_SOURCE_DIR);
    assert_int_equal(write_text(cfg, text), 0);
    daemon_start(&d, storage, cfg, NULL, NULL);
    me = this_box(&d);
    cap = json_object_get(me, "capacity");
    live = json_object_get(cap, "live");
    assert_int_equal(json_integer_value(json_object_get(live, "channels")), 3);
    assert_int_equal(json_integer_value(json_object_get(live, "height")), 720);
    assert_true(fabs(json_number_value(json_object_get(live, "mpixels_per_second")) - 140.6) < 0.1);
    assert_true(json_is_null(json_object_get(cap, "vod_hours_per_hour")));
    live = json_object_get(me, "live_capacity");
    assert_string_equal(json_string_value(json_object_get(live, "source")), "limits.bench_report");
    assert_true(fabs(json_number_value(json_object_get(live, "mpixels_per_second")) - 140.6) < 0.1);
    json_decref(me);
    daemon_stop(&d);

    /* not a bench report: the daemon does not start, and says why */
    {
        char bad[4400], body[4500];
        snprintf(bad, sizeof(bad), "%s/not-a-report.json", storage);
        assert_int_equal(write_text(bad, "{\"hello\": 1}\n"), 0);
        snprintf(body, sizeof(body), "limits:\n  bench_report: %s\n", bad);
        assert_int_equal(write_text(cfg, body), 0);
    }
    snprintf(log, sizeof(log), "%s/refused.log", storage);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!freopen(log, "w", stderr))
            _exit(127);
        execl(getenv("EB_BINARY"), getenv("EB_BINARY"), "serve", "--listen", "127.0.0.1:1",
              "--storage", storage, "--token-file", tokfile, "--config", cfg, (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    logtext = slurp_text(log);
    assert_non_null(strstr(logtext, "limits.bench_report"));
    assert_non_null(strstr(logtext, "not-a-report.json"));
    free(logtext);
}

/* POST /v1/beacons: players report without a token (CORS open to any
 * page, as the media), keyed to a published video; what they say shows in
 * /metrics per rendition and in GET /v1/analytics (token); a bad beacon is
 * refused naming its field, one for a video that is not published with
 * 404, a large one with 413, a client that sends too fast with 429. */
static void test_beacons_from_players(void **state)
{
    char storage[4300], url[512], body[8192], h[128], *m, *id;
    Daemon d;
    Resp r;
    json_t *o;
    int limited = 0;
    (void)state;

    fresh_storage("beacons", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"beaconvid\", \"ladder\": {\"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                small_mp4);
    json_decref(job_wait(&d, id, "succeeded", 300));
    free(id);
    snprintf(url, sizeof(url), "%s/v1/beacons", d.base);

    /* a page elsewhere asks first (preflight), then sends, with no token */
    assert_int_equal(http(&r, "OPTIONS", url, NULL, NULL, 0, "Origin: https://player.example"),
                     204);
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "*");
    resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"video_id\": \"beaconvid\", \"session_id\": \"sess-0001\", \"event\": \"start\", "
             "\"rendition\": \"180p\", \"startup_ms\": 640}");
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), "Content-Type: text/plain"),
                     204);
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", h, sizeof(h)), "*");
    resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"video_id\": \"beaconvid\", \"session_id\": \"sess-0001\", \"event\": "
             "\"heartbeat\", \"watched_s\": 12.5, \"rebuffers\": 1, \"rebuffer_ms\": 250}");
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 204);
    resp_free(&r);

    m = metrics_get(&d);
    assert_non_null(strstr(m, "encbox_player_sessions_total{video=\"beaconvid\"} 1\n"));
    assert_non_null(strstr(
        m, "encbox_player_watched_seconds_total{video=\"beaconvid\",rendition=\"180p\"} 12.500\n"));
    assert_non_null(
        strstr(m, "encbox_player_rebuffers_total{video=\"beaconvid\",rendition=\"180p\"} 1\n"));
    assert_non_null(strstr(m, "encbox_player_startup_seconds_sum{video=\"beaconvid\"} 0.640\n"));
    free(m);
    o = api_json(&d, 200, "GET", "/v1/analytics?video_id=beaconvid", NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "sessions")), 1);
    assert_true(json_real_value(json_object_get(o, "startup_ms_avg")) == 640);
    assert_int_equal(json_array_size(json_object_get(o, "minutes")), 1);
    json_decref(o);
    /* the analytics are the operator's: the token */
    snprintf(url, sizeof(url), "%s/v1/analytics?video_id=beaconvid", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);
    o = api_json(&d, 404, "GET", "/v1/analytics?video_id=nothere", NULL);
    json_decref(o);

    snprintf(url, sizeof(url), "%s/v1/beacons", d.base);
    /* refused, and why */
    snprintf(body, sizeof(body),
             "{\"video_id\": \"beaconvid\", \"session_id\": \"sess-0001\", \"event\": \"start\", "
             "\"fps\": 30}");
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 400);
    assert_non_null(strstr(r.body, "\"field\":\"fps\""));
    resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"video_id\": \"nothere\", \"session_id\": \"sess-0001\", \"event\": \"start\"}");
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 404);
    assert_non_null(strstr(r.body, "nothere"));
    resp_free(&r);
    memset(body, ' ', sizeof(body) - 1);
    body[sizeof(body) - 1] = 0;
    body[0] = '{';
    body[sizeof(body) - 2] = '}';
    assert_int_equal(http(&r, "POST", url, NULL, body, strlen(body), NULL), 413);
    resp_free(&r);
    /* too fast: 429 with Retry-After, the burst spent */
    snprintf(body, sizeof(body),
             "{\"video_id\": \"beaconvid\", \"session_id\": \"sess-0002\", \"event\": "
             "\"heartbeat\"}");
    for (int i = 0; i < 40; i++) {
        long code = http(&r, "POST", url, NULL, body, strlen(body), NULL);
        if (code == 429) {
            limited++;
            assert_string_equal(header(&r, "Retry-After", h, sizeof(h)), "1");
        } else {
            assert_int_equal(code, 204);
        }
        resp_free(&r);
    }
    assert_true(limited > 0);
    m = metrics_get(&d);
    assert_non_null(strstr(m, "encbox_beacons_total{result=\"invalid\"} 1\n"));
    assert_non_null(strstr(m, "encbox_beacons_total{result=\"unknown\"} 1\n"));
    assert_non_null(strstr(m, "encbox_beacons_total{result=\"too_large\"} 1\n"));
    free(m);
    daemon_stop(&d);
}

/* ---- GET /v1/events, through the tests' WebSocket client (eb_test_ws.h) ---- */

/* Opens GET /v1/events on d and checks the handshake (RFC 6455's example
 * key and its accept value). */
/* The upgrade request for path on a new connection to d: the socket, the
 * answer's head (nothing of the frames after it) in resp. */
static int ws_request(Daemon *d, const char *path, char *resp, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    char req[512];
    size_t got = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n",
             path, d->port);
    assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    /* byte by byte: nothing of the frames after the head */
    while (got < size - 1 && !(got >= 4 && !memcmp(resp + got - 4, "\r\n\r\n", 4))) {
        ssize_t n = recv(fd, resp + got, 1, 0);
        assert_int_equal(n, 1);
        got++;
    }
    resp[got] = 0;
    return fd;
}

static void ws_connect_to(Daemon *d, const char *path, EbTestWs *w)
{
    char resp[2048];
    int fd = ws_request(d, path, resp, sizeof(resp));

    assert_non_null(strstr(resp, "HTTP/1.1 101"));
    assert_non_null(strcasestr(resp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    eb_test_ws_client(w, fd);
}

static void ws_connect(Daemon *d, EbTestWs *w)
{
    ws_connect_to(d, "/v1/events", w);
}

/* GET /v1/events: the console's WebSocket. The token comes in the first
 * message; then every job event of the box arrives (the job's start, its
 * progress while it runs, its end), signed in or refused with 4401. */
static void test_events_socket(void **state)
{
    char storage[4300], url[512], want[128], *id;
    EbTestWs w, bad;
    Daemon d;
    Resp r;
    int k;
    (void)state;

    fresh_storage("events", storage, sizeof(storage));
    daemon_start(&d, storage, NULL, NULL, NULL);
    /* a plain GET is told to upgrade */
    snprintf(url, sizeof(url), "%s/v1/events", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 426);
    resp_free(&r);

    ws_connect(&d, &w);
    eb_test_ws_send(&w, "{\"token\": \"" TOKEN "\"}");
    assert_true(eb_test_ws_wait(&w, "\"ready\"", 10) >= 0);
    eb_test_ws_send(&w, "{\"type\": \"ping\"}");
    assert_true(eb_test_ws_wait(&w, "\"pong\"", 10) >= 0);
    id = submit(&d,
                "{\"input\": \"%s\", \"video_id\": \"evs\", \"ladder\": {\"rungs\": "
                "[{\"name\": \"180p\", \"height\": 180, \"bitrate\": \"300k\"}]}}",
                long_mp4);
    snprintf(want, sizeof(want), "\"job.succeeded\"");
    k = eb_test_ws_wait(&w, want, 300);
    assert_true(k >= 0);
    snprintf(want, sizeof(want), "\"id\":\"%s\"", id);
    assert_non_null(strstr(w.msgs[k], want));
    /* its life in order: queued, started, progress while it ran, the end */
    {
        int queued = -1, started = -1, updated = -1;
        for (int i = 0; i < w.nb_msgs; i++) {
            if (!strstr(w.msgs[i], want))
                continue;
            if (strstr(w.msgs[i], "\"type\":\"job.queued\"") && queued < 0)
                queued = i;
            if (strstr(w.msgs[i], "\"type\":\"job.started\"") && started < 0)
                started = i;
            if (strstr(w.msgs[i], "\"type\":\"job.updated\"") && updated < 0)
                updated = i;
        }
        assert_true(queued >= 0 && started > queued);
        assert_true(updated > started && updated < k);
        assert_non_null(strstr(w.msgs[updated], "\"progress\""));
    }
    free(id);

    /* a wrong token: closed with 4401, no event */
    ws_connect(&d, &bad);
    eb_test_ws_send(&bad, "{\"token\": \"not-the-token\"}");
    assert_int_equal(eb_test_ws_wait(&bad, "\"ready\"", 10), -1);
    assert_int_equal(bad.closed_code, 4401);
    eb_test_ws_free(&bad);
    eb_test_ws_free(&w);
    daemon_stop(&d);
}

/* A channel's chat: viewers join without a token and get the history;
 * what one sends reaches every viewer, stamped with the live edge's
 * program date-time; refusals (off air, too long, not an emoji, too fast,
 * not a moderator) come back as errors; a moderator (the token on the
 * socket, or DELETE with it) removes an item for everyone; the replay
 * endpoint gives the stored items by stamp; the viewers' cap holds. */
static void test_channel_chat(void **state)
{
    char storage[4400], conf[4500], url[512], path[4600], resp[1024], body[256], rpath[128];
    EbTestWs a, b, c;
    json_t *view = NULL, *item, *hist;
    double stamp = 0, at = 0;
    int64_t id = 0;
    Daemon d;
    Resp r;
    pid_t pub;
    int k, fd, status;
    (void)state;

    fresh_storage("chat", storage, sizeof(storage));
    snprintf(conf, sizeof(conf), "%s/chat.yaml", storage);
    assert_int_equal(write_text(conf, "chat:\n  max_chars: 20\n  messages_per_second: 1\n"
                                      "  viewers_per_channel: 2\n"),
                     0);
    live_daemon(&d, storage, conf,
                "{\"name\": \"talk\", \"segment_seconds\": 1, \"window_seconds\": 30}", url,
                sizeof(url));
    /* a viewer: no token; ready, then the (empty) history */
    ws_connect_to(&d, "/v1/channels/talk/chat", &a);
    assert_true(eb_test_ws_wait(&a, "\"moderator\":false", 10) >= 0);
    assert_true(eb_test_ws_wait(&a, "{\"type\":\"chat.history\",\"data\":{\"messages\":[]}}", 10) >=
                0);
    /* off air: nothing to pin a message to */
    eb_test_ws_send(&a, "{\"type\": \"message\", \"text\": \"hello\"}");
    assert_true(eb_test_ws_wait(&a, "not on air", 10) >= 0);

    pub = publish(url, 30);
    assert_true(pub > 0);
    assert_true(channel_wait(&d, "talk", "live", &view));
    snprintf(path, sizeof(path), "%s/live/talk/hls/360p/index.m3u8", storage);
    for (int i = 0; i < 150 && access(path, R_OK) != 0; i++)
        nap_ms(100);
    assert_int_equal(access(path, R_OK), 0);
    nap_ms(1100); /* the rate's bucket is full again */

    ws_connect_to(&d, "/v1/channels/talk/chat", &b);
    assert_true(eb_test_ws_wait(&b, "\"chat.history\"", 10) >= 0);
    /* a third viewer on this box: past chat.viewers_per_channel */
    fd = ws_request(&d, "/v1/channels/talk/chat", resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 503"));
    close(fd);

    /* a message reaches both viewers, stamped with the edge's date: behind
     * the wall clock by the pipeline's delay, no more */
    eb_test_ws_send(&a, "{\"type\": \"message\", \"name\": \"ann\", \"text\": \"hi all\"}");
    k = eb_test_ws_wait(&b, "\"chat.message\"", 10);
    assert_true(k >= 0);
    item = eb_test_ws_data(&b, k);
    assert_string_equal(json_string_value(json_object_get(item, "text")), "hi all");
    assert_string_equal(json_string_value(json_object_get(item, "name")), "ann");
    id = json_integer_value(json_object_get(item, "id"));
    stamp = json_number_value(json_object_get(item, "stamp"));
    at = json_number_value(json_object_get(item, "at"));
    assert_true(id > 0);
    assert_true(stamp > at - 10 && stamp < at + 2); /* -re sends a little ahead at first */
    json_decref(item);
    assert_true(eb_test_ws_wait(&a, "\"hi all\"", 10) >= 0);

    /* refusals, each to its sender alone */
    eb_test_ws_send(&b, "{\"type\": \"message\", \"text\": \"twenty-one characters\"}");
    assert_true(eb_test_ws_wait(&b, "longer than 20 characters", 10) >= 0);
    nap_ms(1100);
    eb_test_ws_send(&b, "{\"type\": \"reaction\", \"emoji\": \"lol\"}");
    assert_true(eb_test_ws_wait(&b, "a reaction is one of", 10) >= 0);
    nap_ms(1100);
    eb_test_ws_send(&b, "{\"type\": \"delete\", \"id\": 1}");
    assert_true(eb_test_ws_wait(&b, "only a moderator", 10) >= 0);
    /* a reaction (thumbs up) reaches the other viewer */
    nap_ms(1100);
    eb_test_ws_send(&b, "{\"type\": \"reaction\", \"emoji\": \"\xf0\x9f\x91\x8d\"}");
    assert_true(eb_test_ws_wait(&a, "\"chat.reaction\"", 10) >= 0);
    /* /metrics: the viewers on this box, what they sent, what was refused */
    api(&d, &r, "GET", "/metrics", NULL);
    assert_non_null(strstr(r.body, "encbox_chat_viewers{channel=\"talk\"} 2\n"));
    assert_non_null(strstr(r.body, "encbox_chat_items_total{kind=\"message\"} 1\n"));
    assert_non_null(strstr(r.body, "encbox_chat_items_total{kind=\"reaction\"} 1\n"));
    assert_non_null(
        strstr(r.body, "encbox_chat_refused_total 4\n")); /* off air, long, lol, delete */
    resp_free(&r);
    /* too fast: past the burst, the sender is told */
    for (int i = 0; i < 8; i++)
        eb_test_ws_send(&a, "{\"type\": \"message\", \"text\": \"spam\"}");
    assert_true(eb_test_ws_wait(&a, "too many messages", 10) >= 0);

    /* a wrong token leaves a viewer; the right one makes a moderator, who
     * removes the first message for everyone */
    eb_test_ws_send(&b, "{\"token\": \"not-it\"}");
    assert_true(eb_test_ws_wait(&b, "you are a viewer", 10) >= 0);
    eb_test_ws_send(&b, "{\"token\": \"" TOKEN "\"}");
    assert_true(eb_test_ws_wait(&b, "\"moderator\":true", 10) >= 0);
    nap_ms(1100);
    snprintf(body, sizeof(body), "{\"type\": \"delete\", \"id\": %lld}", (long long)id);
    eb_test_ws_send(&b, body);
    snprintf(body, sizeof(body), "{\"type\":\"chat.deleted\",\"data\":{\"id\":%lld}}",
             (long long)id);
    assert_true(eb_test_ws_wait(&a, body, 10) >= 0);
    assert_true(eb_test_ws_wait(&b, body, 10) >= 0);

    /* the replay: no token; the deleted one is gone; from/to by stamp */
    snprintf(url, sizeof(url), "%s/v1/channels/talk/chat", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    hist = json_loads(r.body, 0, NULL);
    resp_free(&r);
    assert_non_null(hist);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 6); /* 👍 + 5 spam */
    item = json_array_get(json_object_get(hist, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "reaction");
    json_decref(hist);
    snprintf(url, sizeof(url), "%s/v1/channels/talk/chat?from=%.3f&to=%.3f", d.base, stamp + 3600,
             stamp + 7200);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
    hist = json_loads(r.body, 0, NULL);
    resp_free(&r);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 0);
    assert_non_null(json_object_get(hist, "messages"));
    json_decref(hist);
    snprintf(url, sizeof(url), "%s/v1/channels/talk/chat?from=soon", d.base);
    assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 400);
    resp_free(&r);

    /* DELETE over REST: the token; once */
    hist = api_json(&d, 200, "GET", "/v1/channels/talk/chat", NULL);
    id = json_integer_value(
        json_object_get(json_array_get(json_object_get(hist, "messages"), 0), "id"));
    json_decref(hist);
    snprintf(url, sizeof(url), "%s/v1/channels/talk/chat/%lld", d.base, (long long)id);
    assert_int_equal(http(&r, "DELETE", url, NULL, NULL, 0, NULL), 401);
    resp_free(&r);
    snprintf(rpath, sizeof(rpath), "/v1/channels/talk/chat/%lld", (long long)id);
    api(&d, &r, "DELETE", rpath, NULL);
    assert_int_equal(r.code, 204);
    resp_free(&r);
    api(&d, &r, "DELETE", rpath, NULL);
    assert_int_equal(r.code, 404);
    resp_free(&r);
    snprintf(body, sizeof(body), "{\"type\":\"chat.deleted\",\"data\":{\"id\":%lld}}",
             (long long)id);
    assert_true(eb_test_ws_wait(&a, body, 10) >= 0);
    api(&d, &r, "GET", "/v1/channels/nope/chat", NULL);
    assert_int_equal(r.code, 404);
    resp_free(&r);

    /* a viewer that joins later gets what is left as history */
    eb_test_ws_free(&a);
    nap_ms(300);
    ws_connect_to(&d, "/v1/channels/talk/chat", &c);
    k = eb_test_ws_wait(&c, "\"chat.history\"", 10);
    assert_true(k >= 0);
    hist = eb_test_ws_data(&c, k);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 5);
    json_decref(hist);
    eb_test_ws_free(&b);
    eb_test_ws_free(&c);
    kill(pub, SIGTERM);
    waitpid(pub, &status, 0);
    json_decref(view);
    daemon_stop(&d);
}

static void test_listen_on_every_address(void **state)
{
    char storage[4300], cfg[4400], text[256], url[128];
    int p1 = free_port(), p2 = free_port();
    Daemon d;
    Resp r;
    (void)state;

    while (p2 == p1)
        p2 = free_port();

    fresh_storage("listen", storage, sizeof(storage));
    snprintf(cfg, sizeof(cfg), "%s/listen.yaml", storage);
    snprintf(text, sizeof(text),
             "thumbnails: {enabled: false}\napi:\n  listen: [\"127.0.0.1:%d\", \"127.0.0.1:%d\"]\n",
             p1, p2);
    assert_int_equal(write_text(cfg, text), 0);
    listen_port = p1;
    daemon_start(&d, storage, cfg, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(url, sizeof(url), "%s://127.0.0.1:%d/v1/health", use_https ? "https" : "http",
                 i ? p2 : p1);
        assert_int_equal(http(&r, "GET", url, NULL, NULL, 0, NULL), 200);
        resp_free(&r);
    }
    daemon_stop(&d);
}

/* limits.max_input_size: a job whose input file is larger gets 413 naming
 * the limit, before anything is queued. */
static void test_input_size_limit(void **state)
{
    char storage[4300], cfg[4400], big[4400], body[4600];
    Daemon d;
    Resp r;
    FILE *f;
    (void)state;

    fresh_storage("size", storage, sizeof(storage));
    snprintf(cfg, sizeof(cfg), "%s/size.yaml", storage);
    assert_int_equal(
        write_text(cfg, "thumbnails: {enabled: false}\nlimits: {max_input_size: 1M}\n"), 0);
    snprintf(big, sizeof(big), "%s/big.bin", inroot);
    f = fopen(big, "wb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 2 << 20, SEEK_SET), 0);
    fputc(0, f);
    fclose(f);
    daemon_start(&d, storage, cfg, NULL, NULL);
    snprintf(body, sizeof(body), "{\"input\": \"%s\"}", big);
    api(&d, &r, "POST", "/v1/jobs", body);
    assert_int_equal(r.code, 413);
    assert_non_null(strstr(r.body, "limits.max_input_size"));
    resp_free(&r);
    daemon_stop(&d);
    unlink(big);
}

int main(void)
{
    /* EB_TEST_FILTER=test_channel_* runs only the tests it matches. */
    if (getenv("EB_TEST_FILTER"))
        cmocka_set_test_filter(getenv("EB_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_gate),
        cmocka_unit_test(test_health_auth_devices),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_channels_http),
        cmocka_unit_test(test_channel_srt_run),
        cmocka_unit_test(test_channel_worker_restart_and_delete),
        cmocka_unit_test(test_channel_admission_refuses),
        cmocka_unit_test(test_channel_rtmp_run),
        cmocka_unit_test(test_channel_survives_daemon_restart),
        cmocka_unit_test(test_listen_on_every_address),
        cmocka_unit_test(test_boxes_report_bench_capacity),
        cmocka_unit_test(test_beacons_from_players),
        cmocka_unit_test(test_events_socket),
        cmocka_unit_test(test_channel_chat),
        cmocka_unit_test(test_secret_rotation),
        cmocka_unit_test(test_input_size_limit),
        cmocka_unit_test(test_job_and_origin),
        cmocka_unit_test(test_upload_then_job),
        cmocka_unit_test(test_upload_cleanup),
        cmocka_unit_test(test_upload_interrupted),
        cmocka_unit_test(test_device_sessions),
        cmocka_unit_test(test_admission_rule),
        cmocka_unit_test(test_scheduler_waits_for_admission),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_rung_progress),
        cmocka_unit_test(test_progress_lines),
        cmocka_unit_test(test_worker_cmdline),
        cmocka_unit_test(test_worker_crash),
        cmocka_unit_test(test_watchdog),
        cmocka_unit_test(test_cancel_of_a_blocked_worker),
        cmocka_unit_test(test_worker_confinement),
        cmocka_unit_test(test_daemon_crash_recovery),
        cmocka_unit_test(test_signed_links),
        cmocka_unit_test(test_content_protection),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_tls_and_metrics_auth),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
