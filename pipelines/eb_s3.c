/*
 * The S3 client of the object-storage output (see eb_s3.h): libcurl signs
 * (SigV4), GnuTLS hashes the payloads.
 */
#include "eb_s3.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eb_log.h"
#include "eb_secret_file.h"

#define EB_S3_BODY_MAX 8192 /* of an answer: error documents, upload ids */
#define EB_S3_MAX_PARTS 10000

static double eb_s3_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- credentials ------------------------------------------------------ */

/* key = value of section [default] of an AWS shared-credentials file. */
static void eb_s3_ini_value(const char *line, const char *key, char *out, size_t size)
{
    size_t n = strlen(key);
    const char *p = line + strspn(line, " \t");
    if (strncmp(p, key, n))
        return;
    p += n;
    p += strspn(p, " \t");
    if (*p != '=')
        return;
    p++;
    p += strspn(p, " \t");
    snprintf(out, size, "%.*s", (int)strcspn(p, " \t\r\n"), p);
}

static int eb_s3_read_credentials(EbS3 *s3, const char *path, char *err, size_t size)
{
    char line[2200];
    int in_default = 0, ret;
    FILE *f = eb_secret_fopen(path, "storage.s3.credentials_file", &ret, err, size);

    if (!f)
        return ret;
    while (fgets(line, sizeof(line), f)) {
        const char *p = line + strspn(line, " \t");
        if (*p == '[') {
            in_default = !strncmp(p, "[default]", 9);
            continue;
        }
        if (!in_default)
            continue;
        eb_s3_ini_value(p, "aws_access_key_id", s3->access_key, sizeof(s3->access_key));
        eb_s3_ini_value(p, "aws_secret_access_key", s3->secret_key, sizeof(s3->secret_key));
        eb_s3_ini_value(p, "aws_session_token", s3->session_token, sizeof(s3->session_token));
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return 0;
}

int eb_s3_init(EbS3 *s3, const char *endpoint, const char *bucket, const char *region,
               const char *prefix, int path_style, int64_t part_size, const char *credentials_file,
               char *err, size_t size)
{
    size_t n;
    int ret;

    memset(s3, 0, sizeof(*s3));
    err[0] = 0;
    n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    snprintf(s3->endpoint, sizeof(s3->endpoint), "%.*s", (int)n, endpoint);
    snprintf(s3->bucket, sizeof(s3->bucket), "%s", bucket);
    snprintf(s3->region, sizeof(s3->region), "%s", region && *region ? region : "us-east-1");
    snprintf(s3->prefix, sizeof(s3->prefix), "%s%s", prefix ? prefix : "",
             prefix && *prefix && prefix[strlen(prefix) - 1] != '/' ? "/" : "");
    s3->path_style = path_style;
    s3->part_size = part_size < EB_S3_MIN_PART ? EB_S3_MIN_PART : part_size;
    if (!s3->endpoint[0] || !s3->bucket[0]) {
        snprintf(err, size, "storage.s3 needs an endpoint and a bucket");
        return -EINVAL;
    }
    if (credentials_file && *credentials_file) {
        if ((ret = eb_s3_read_credentials(s3, credentials_file, err, size)) < 0)
            return ret;
    } else {
        const char *a = getenv("AWS_ACCESS_KEY_ID"), *s = getenv("AWS_SECRET_ACCESS_KEY");
        const char *t = getenv("AWS_SESSION_TOKEN");
        snprintf(s3->access_key, sizeof(s3->access_key), "%s", a ? a : "");
        snprintf(s3->secret_key, sizeof(s3->secret_key), "%s", s ? s : "");
        snprintf(s3->session_token, sizeof(s3->session_token), "%s", t ? t : "");
    }
    if (!s3->access_key[0] || !s3->secret_key[0]) {
        snprintf(err, size,
                 "no S3 credentials: set storage.s3.credentials_file, or "
                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        return -EINVAL;
    }
    return 0;
}

/* ---- requests --------------------------------------------------------- */

/* key's path under the prefix, percent-encoded but for '/'. */
static int eb_s3_path(const EbS3 *s3, const char *key, char *out, size_t size)
{
    static const char safe[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/";
    char full[1536];
    size_t o = 0;

    if ((size_t)snprintf(full, sizeof(full), "%s%s", s3->prefix, key) >= sizeof(full))
        return -ENAMETOOLONG;
    for (const unsigned char *p = (const unsigned char *)full; *p; p++) {
        if (o + 4 >= size)
            return -ENAMETOOLONG;
        if (strchr(safe, *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = 0;
    return 0;
}

int eb_s3_url(const EbS3 *s3, const char *key, char *out, size_t size)
{
    char path[2048];
    const char *scheme_end = strstr(s3->endpoint, "://");
    int n;

    if (eb_s3_path(s3, key, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if (s3->path_style || !scheme_end)
        n = snprintf(out, size, "%s/%s%s%s", s3->endpoint, s3->bucket, path[0] ? "/" : "", path);
    else
        n = snprintf(out, size, "%.*s%s.%s/%s", (int)(scheme_end + 3 - s3->endpoint), s3->endpoint,
                     s3->bucket, scheme_end + 3, path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

typedef struct EbS3Body {
    /* what is sent: a file range, or memory */
    int fd;
    int64_t offset, left;
    const char *mem;
    size_t mem_len;
    /* what came back */
    char answer[EB_S3_BODY_MAX];
    size_t answer_len;
    char etag[128];
    char content_type[128];
    char cache_control[128];
    char *get; /* GET: the whole object */
    size_t get_len, get_cap;
    int keep_get;
} EbS3Body;

static size_t eb_s3_read_cb(char *buf, size_t size, size_t n, void *ud)
{
    EbS3Body *b = ud;
    size_t want = size * n;
    ssize_t got;

    if ((int64_t)want > b->left)
        want = (size_t)b->left;
    if (want == 0)
        return 0;
    if (b->mem) {
        memcpy(buf, b->mem + b->offset, want);
        got = (ssize_t)want;
    } else {
        got = pread(b->fd, buf, want, b->offset);
    }
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    b->offset += got;
    b->left -= got;
    return (size_t)got;
}

static size_t eb_s3_write_cb(char *p, size_t size, size_t n, void *ud)
{
    EbS3Body *b = ud;
    size_t len = size * n;

    if (b->keep_get) {
        if (b->get_len + len > b->get_cap) {
            size_t cap = (b->get_len + len) * 2;
            char *g = realloc(b->get, cap + 1);
            if (!g)
                return 0;
            b->get = g;
            b->get_cap = cap;
        }
        memcpy(b->get + b->get_len, p, len);
        b->get_len += len;
    }
    if (b->answer_len < sizeof(b->answer) - 1) {
        size_t k = len < sizeof(b->answer) - 1 - b->answer_len
                       ? len
                       : sizeof(b->answer) - 1 - b->answer_len;
        memcpy(b->answer + b->answer_len, p, k);
        b->answer_len += k;
        b->answer[b->answer_len] = 0;
    }
    return len;
}

static void eb_s3_header_value(const char *line, size_t len, const char *name, char *out,
                               size_t size)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n))
        return;
    line += n;
    len -= n;
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
        len--;
    snprintf(out, size, "%.*s", (int)len, line);
}

static size_t eb_s3_header_cb(char *p, size_t size, size_t n, void *ud)
{
    EbS3Body *b = ud;
    size_t len = size * n;
    eb_s3_header_value(p, len, "etag:", b->etag, sizeof(b->etag));
    eb_s3_header_value(p, len, "content-type:", b->content_type, sizeof(b->content_type));
    eb_s3_header_value(p, len, "cache-control:", b->cache_control, sizeof(b->cache_control));
    return len;
}

/* The text between <tag> and </tag> of an answer, or "". */
static void eb_s3_xml(const char *doc, const char *tag, char *out, size_t size)
{
    char open[64], close[64];
    const char *a, *z;

    out[0] = 0;
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if (!(a = strstr(doc, open)) || !(z = strstr(a, close)))
        return;
    a += strlen(open);
    snprintf(out, size, "%.*s", (int)(z - a), a);
}

/* SHA-256 of the body, hex. */
static int eb_s3_payload_hash(const EbS3Body *b, char *hex)
{
    unsigned char d[32];
    gnutls_hash_hd_t h;

    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return -EIO;
    if (b->mem) {
        gnutls_hash(h, b->mem, b->mem_len);
    } else if (b->fd >= 0) {
        char buf[65536];
        int64_t off = b->offset, left = b->left;
        while (left > 0) {
            ssize_t got =
                pread(b->fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf), off);
            if (got <= 0) {
                gnutls_hash_deinit(h, d);
                return -EIO;
            }
            gnutls_hash(h, buf, (size_t)got);
            off += got;
            left -= got;
        }
    }
    gnutls_hash_deinit(h, d);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    return 0;
}

/* One request, retried (see eb_s3.h). query: "" or "uploads" or
 * "partNumber=1&uploadId=..."; headers: extra ones (may be NULL). Returns
 * the final HTTP status (2xx: done), or a negative errno for a network
 * failure; err says what the service or the network said. */
static long eb_s3_request(const EbS3 *s3, const char *method, const char *key, const char *query,
                          EbS3Body *body, const char *const *headers, EbS3Stats *stats, char *err,
                          size_t size)
{
    char url[4096], sigv4[128], hash[65], hdr[2300];
    int64_t offset0 = body->offset, left0 = body->left;
    double delay = 0.5;
    long status = 0;

    if (eb_s3_url(s3, key, url, sizeof(url)) < 0) {
        snprintf(err, size, "%s: the object's name is too long", key);
        return -ENAMETOOLONG;
    }
    if (query && *query)
        snprintf(url + strlen(url), sizeof(url) - strlen(url), "?%s", query);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", s3->region);
    if (eb_s3_payload_hash(body, hash) < 0) {
        snprintf(err, size, "%s: cannot read what to send", key);
        return -EIO;
    }
    for (int attempt = 1; attempt <= EB_S3_ATTEMPTS; attempt++) {
        struct curl_slist *hl = NULL;
        char cerr[CURL_ERROR_SIZE] = "";
        CURLcode rc;
        CURL *c = curl_easy_init();

        if (!c) {
            snprintf(err, size, "out of memory");
            return -ENOMEM;
        }
        body->offset = offset0;
        body->left = left0;
        body->answer_len = 0;
        body->answer[0] = 0;
        body->etag[0] = 0;
        body->get_len = 0;
        snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", hash);
        hl = curl_slist_append(hl, hdr);
        if (s3->session_token[0]) {
            snprintf(hdr, sizeof(hdr), "x-amz-security-token: %s", s3->session_token);
            hl = curl_slist_append(hl, hdr);
        }
        for (int i = 0; headers && headers[i]; i++)
            hl = curl_slist_append(hl, headers[i]);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, eb_s3_write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, eb_s3_header_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, body);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!strcmp(method, "PUT")) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, eb_s3_read_cb);
            curl_easy_setopt(c, CURLOPT_READDATA, body);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)left0);
        } else if (!strcmp(method, "POST")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->mem ? body->mem : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->mem_len);
        } else if (!strcmp(method, "HEAD")) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(method, "GET")) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        }
        rc = curl_easy_perform(c);
        status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        if (rc == CURLE_OK && status < 500 && status != 408 && status != 429) {
            if (status >= 300) {
                char code[128], msg[512];
                eb_s3_xml(body->answer, "Code", code, sizeof(code));
                eb_s3_xml(body->answer, "Message", msg, sizeof(msg));
                snprintf(err, size, "%s %s: HTTP %ld%s%s%s%s", method, key, status,
                         code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
            }
            return status;
        }
        if (rc != CURLE_OK)
            snprintf(err, size, "%s %s: %s", method, key, cerr[0] ? cerr : curl_easy_strerror(rc));
        else
            snprintf(err, size, "%s %s: HTTP %ld", method, key, status);
        if (attempt == EB_S3_ATTEMPTS)
            break;
        if (stats)
            stats->retries++;
        EB_LOGW("s3", "%s; retrying in %.1f s", err, delay);
        usleep((useconds_t)(delay * 1e6));
        delay *= 2;
    }
    return status ? status : -EIO;
}

/* ---- objects ---------------------------------------------------------- */

const char *eb_s3_content_type(const char *name)
{
    static const char *const types[][2] = {
        {".m3u8", "application/vnd.apple.mpegurl"},
        {".mpd", "application/dash+xml"},
        {".m4s", "video/iso.segment"},
        {".mp4", "video/mp4"},
        {".m4a", "audio/mp4"},
        {".ts", "video/mp2t"},
        {".aac", "audio/aac"},
        {".vtt", "text/vtt"},
        {".jpg", "image/jpeg"},
        {".png", "image/png"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcasecmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

int eb_s3_is_manifest(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".m3u8") || !strcasecmp(dot, ".mpd"));
}

const char *eb_s3_cache_control(const char *name)
{
    /* A manifest changes when the video is published again (overwrite);
     * what it lists never changes under the same name. */
    return eb_s3_is_manifest(name) ? "public, max-age=60" : "public, max-age=31536000, immutable";
}

/* Content-Type and Cache-Control headers for key. */
static void eb_s3_object_headers(const char *key, char ct[160], char cc[160], const char *hdrs[3])
{
    snprintf(ct, 160, "Content-Type: %s", eb_s3_content_type(key));
    snprintf(cc, 160, "Cache-Control: %s", eb_s3_cache_control(key));
    hdrs[0] = ct;
    hdrs[1] = cc;
    hdrs[2] = NULL;
}

static int eb_s3_status_error(long status)
{
    return status < 0 ? (int)status : status == 404 ? -ENOENT : status == 403 ? -EACCES : -EIO;
}

static int eb_s3_multipart(const EbS3 *s3, const char *key, int fd, int64_t total, EbS3Stats *stats,
                           char *err, size_t size)
{
    char ct[160], cc[160], query[600], upload_id[512], *doc = NULL;
    const char *hdrs[3];
    EbS3Body b = {.fd = -1};
    int64_t nparts = (total + s3->part_size - 1) / s3->part_size;
    size_t cap, o;
    long status;
    int ret = 0;

    if (nparts > EB_S3_MAX_PARTS) {
        snprintf(err, size, "%s: too large for %d parts of %lld bytes", key, EB_S3_MAX_PARTS,
                 (long long)s3->part_size);
        return -EFBIG;
    }
    eb_s3_object_headers(key, ct, cc, hdrs);
    b.mem = "";
    /* "uploads=", not "uploads": the form SigV4 canonicalizes to */
    status = eb_s3_request(s3, "POST", key, "uploads=", &b, hdrs, stats, err, size);
    eb_s3_xml(b.answer, "UploadId", upload_id, sizeof(upload_id));
    if (status < 200 || status > 299 || !upload_id[0]) {
        if (status >= 200 && status <= 299)
            snprintf(err, size, "POST %s?uploads: no UploadId in the answer", key);
        return status < 0 ? (int)status : -EIO;
    }
    cap = 128 + (size_t)nparts * 192;
    if (!(doc = malloc(cap))) {
        ret = -ENOMEM;
        goto abort;
    }
    o = (size_t)snprintf(doc, cap, "<CompleteMultipartUpload>");
    for (int64_t i = 0; i < nparts; i++) {
        int64_t off = i * s3->part_size;
        EbS3Body pb = {.fd = fd,
                       .offset = off,
                       .left = total - off < s3->part_size ? total - off : s3->part_size};
        snprintf(query, sizeof(query), "partNumber=%lld&uploadId=%s", (long long)(i + 1),
                 upload_id);
        status = eb_s3_request(s3, "PUT", key, query, &pb, NULL, stats, err, size);
        if (status < 200 || status > 299 || !pb.etag[0]) {
            ret = status < 0 ? (int)status : -EIO;
            goto abort;
        }
        o += (size_t)snprintf(doc + o, cap - o,
                              "<Part><PartNumber>%lld</PartNumber><ETag>%s</ETag></Part>",
                              (long long)(i + 1), pb.etag);
    }
    snprintf(doc + o, cap - o, "</CompleteMultipartUpload>");
    snprintf(query, sizeof(query), "uploadId=%s", upload_id);
    memset(&b, 0, sizeof(b));
    b.fd = -1;
    b.mem = doc;
    b.mem_len = strlen(doc);
    {
        const char *xml[] = {"Content-Type: application/xml", NULL};
        status = eb_s3_request(s3, "POST", key, query, &b, xml, stats, err, size);
    }
    /* S3 may answer 200 with an error document when completing fails. */
    if (status >= 200 && status <= 299 && !strstr(b.answer, "<Error>")) {
        free(doc);
        if (stats)
            stats->multipart_objects++;
        return 0;
    }
    if (status >= 200 && status <= 299)
        snprintf(err, size, "POST %s?uploadId: %s", key, b.answer);
    ret = status < 0 ? (int)status : -EIO;
abort:
    free(doc);
    {
        char aerr[256];
        EbS3Body ab = {.fd = -1};
        snprintf(query, sizeof(query), "uploadId=%s", upload_id);
        eb_s3_request(s3, "DELETE", key, query, &ab, NULL, NULL, aerr, sizeof(aerr));
    }
    return ret;
}

int eb_s3_put_file(const EbS3 *s3, const char *key, const char *path, EbS3Stats *stats, char *err,
                   size_t size)
{
    char ct[160], cc[160];
    const char *hdrs[3];
    struct stat st;
    long status;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ret = fd < 0 ? -errno : -EINVAL;
        snprintf(err, size, "%s: cannot read it: %s", path, strerror(-ret));
        if (fd >= 0)
            close(fd);
        return ret;
    }
    if (st.st_size > s3->part_size) {
        ret = eb_s3_multipart(s3, key, fd, st.st_size, stats, err, size);
    } else {
        EbS3Body b = {.fd = fd, .offset = 0, .left = st.st_size};
        eb_s3_object_headers(key, ct, cc, hdrs);
        status = eb_s3_request(s3, "PUT", key, NULL, &b, hdrs, stats, err, size);
        ret = status >= 200 && status <= 299 ? 0 : eb_s3_status_error(status);
    }
    close(fd);
    if (ret == 0 && stats) {
        stats->objects++;
        stats->bytes += st.st_size;
    }
    return ret;
}

int eb_s3_put_data(const EbS3 *s3, const char *key, const void *data, size_t len,
                   const char *cache_control, EbS3Stats *stats, char *err, size_t size)
{
    char ct[160], cc[160];
    const char *hdrs[3];
    EbS3Body b = {.fd = -1, .mem = len ? data : "", .mem_len = len, .left = (int64_t)len};
    long status;

    eb_s3_object_headers(key, ct, cc, hdrs);
    if (cache_control)
        snprintf(cc, sizeof(cc), "Cache-Control: %s", cache_control);
    status = eb_s3_request(s3, "PUT", key, NULL, &b, hdrs, stats, err, size);
    if (status < 200 || status > 299)
        return eb_s3_status_error(status);
    if (stats) {
        stats->objects++;
        stats->bytes += (int64_t)len;
    }
    return 0;
}

int eb_s3_create_bucket(const EbS3 *s3, char *err, size_t size)
{
    EbS3 top = *s3;
    EbS3Body b = {.fd = -1, .left = 0};
    long status;

    /* the bucket's own URL: no key, no prefix */
    top.prefix[0] = 0;
    status = eb_s3_request(&top, "PUT", "", NULL, &b, NULL, NULL, err, size);
    if ((status >= 200 && status <= 299) || strstr(b.answer, "BucketAlreadyOwnedByYou"))
        return 0;
    return eb_s3_status_error(status);
}

int eb_s3_delete(const EbS3 *s3, const char *key, char *err, size_t size)
{
    EbS3Body b = {.fd = -1};
    long status = eb_s3_request(s3, "DELETE", key, NULL, &b, NULL, NULL, err, size);
    return (status >= 200 && status <= 299) || status == 404 ? 0 : eb_s3_status_error(status);
}

int eb_s3_get(const EbS3 *s3, const char *key, char **out, size_t *len, char *content_type,
              char *cache_control, size_t hsize, char *err, size_t size)
{
    EbS3Body b = {.fd = -1, .keep_get = 1};
    long status = eb_s3_request(s3, "GET", key, NULL, &b, NULL, NULL, err, size);

    *out = NULL;
    *len = 0;
    if (status < 200 || status > 299) {
        free(b.get);
        return eb_s3_status_error(status);
    }
    if (!b.get && !(b.get = malloc(1)))
        return -ENOMEM;
    b.get[b.get_len] = 0;
    *out = b.get;
    *len = b.get_len;
    if (content_type)
        snprintf(content_type, hsize, "%s", b.content_type);
    if (cache_control)
        snprintf(cache_control, hsize, "%s", b.cache_control);
    return 0;
}

/* s percent-encoded for a query value (everything but unreserved). */
static void eb_s3_query_escape(const char *s, char *out, size_t size)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < size; p++) {
        if (strchr(safe, *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = 0;
}

int eb_s3_list(const EbS3 *s3, const char *key_prefix, int (*each)(void *opaque, const char *key),
               void *opaque, char *err, size_t size)
{
    EbS3 top = *s3;
    char full[1600], enc[4800], token[1024] = "", enc_token[3100], query[8200];
    int ret = 0;

    /* keys are listed from the bucket's top, so the prefix goes in the query */
    snprintf(full, sizeof(full), "%s%s", s3->prefix, key_prefix);
    top.prefix[0] = 0;
    eb_s3_query_escape(full, enc, sizeof(enc));
    do {
        EbS3Body b = {.fd = -1, .keep_get = 1};
        long status;
        const char *p;

        /* in the order SigV4 sorts them */
        eb_s3_query_escape(token, enc_token, sizeof(enc_token));
        snprintf(query, sizeof(query), "%s%s%slist-type=2&prefix=%s",
                 token[0] ? "continuation-token=" : "", token[0] ? enc_token : "",
                 token[0] ? "&" : "", enc);
        status = eb_s3_request(&top, "GET", "", query, &b, NULL, NULL, err, size);
        if (status < 200 || status > 299) {
            free(b.get);
            return eb_s3_status_error(status);
        }
        if (!b.get) {
            snprintf(err, size, "listing %s: an empty answer", full);
            return -EIO;
        }
        b.get[b.get_len] = 0;
        for (p = b.get; ret == 0 && (p = strstr(p, "<Key>"));) {
            const char *z = strstr(p, "</Key>");
            char key[1600];
            if (!z)
                break;
            snprintf(key, sizeof(key), "%.*s", (int)(z - p - 5), p + 5);
            ret = each(opaque, key);
            p = z;
        }
        token[0] = 0;
        if (strstr(b.get, "<IsTruncated>true</IsTruncated>"))
            eb_s3_xml(b.get, "NextContinuationToken", token, sizeof(token));
        free(b.get);
    } while (ret == 0 && token[0]);
    return ret;
}

/* ---- trees ------------------------------------------------------------ */

typedef struct EbS3List {
    char **rel;
    int nb, cap;
} EbS3List;

static int eb_s3_walk(const char *root, const char *rel, EbS3List *l)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    int ret = 0;

    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    if (!(d = opendir(path)))
        return -errno;
    while (ret == 0 && (e = readdir(d))) {
        char sub[4096], full[8200];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof(full), "%s/%s", root, sub);
        if (stat(full, &st) < 0) {
            ret = -errno;
        } else if (S_ISDIR(st.st_mode)) {
            ret = eb_s3_walk(root, sub, l);
        } else if (S_ISREG(st.st_mode)) {
            if (l->nb == l->cap) {
                char **r = realloc(l->rel, sizeof(*r) * (size_t)(l->cap ? l->cap * 2 : 64));
                if (!r) {
                    ret = -ENOMEM;
                    break;
                }
                l->rel = r;
                l->cap = l->cap ? l->cap * 2 : 64;
            }
            if (!(l->rel[l->nb] = strdup(sub)))
                ret = -ENOMEM;
            else
                l->nb++;
        }
    }
    closedir(d);
    return ret;
}

/* Media first (in name order), then manifests: the master playlist and the
 * MPD, which name the others, last of all. */
static int eb_s3_order(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    int ma = eb_s3_is_manifest(a), mb = eb_s3_is_manifest(b);
    if (ma != mb)
        return ma - mb;
    if (ma) {
        /* deeper (media playlists) before the top level (master, MPD) */
        int da = strchr(a, '/') != NULL, db = strchr(b, '/') != NULL;
        if (da != db)
            return db - da;
    }
    return strcmp(a, b);
}

int eb_s3_put_tree(const EbS3 *s3, const char *dir, const char *key_prefix, EbS3Stats *stats,
                   char *err, size_t size)
{
    EbS3List l = {0};
    EbS3Stats local = {0};
    double t0 = eb_s3_now();
    int ret, done = 0;

    if (!stats)
        stats = &local;
    if ((ret = eb_s3_walk(dir, "", &l)) < 0) {
        snprintf(err, size, "%s: cannot list it: %s", dir, strerror(-ret));
        goto end;
    }
    qsort(l.rel, (size_t)l.nb, sizeof(*l.rel), eb_s3_order);
    for (; done < l.nb; done++) {
        char key[2048], path[8200];
        snprintf(key, sizeof(key), "%s/%s", key_prefix, l.rel[done]);
        snprintf(path, sizeof(path), "%s/%s", dir, l.rel[done]);
        if ((ret = eb_s3_put_file(s3, key, path, stats, err, size)) < 0)
            break;
    }
    if (ret < 0) {
        /* Nothing half-published: what went up comes down again (no
         * manifest went up before every segment had). */
        char derr[512];
        for (int i = 0; i < done; i++) {
            char key[2048];
            snprintf(key, sizeof(key), "%s/%s", key_prefix, l.rel[i]);
            if (eb_s3_delete(s3, key, derr, sizeof(derr)) < 0)
                EB_LOGW("s3", "cannot remove %s after the failed upload: %s", key, derr);
        }
    }
end:
    for (int i = 0; i < l.nb; i++)
        free(l.rel[i]);
    free(l.rel);
    stats->seconds = eb_s3_now() - t0;
    return ret;
}

typedef struct EbS3Prune {
    const EbS3 *s3;
    const char *dir;
    size_t skip; /* of each listed key: the prefix, key_prefix and '/' */
    int removed;
    char *err;
    size_t size;
} EbS3Prune;

static int eb_s3_prune_one(void *opaque, const char *key)
{
    EbS3Prune *pr = opaque;
    char path[8200];
    struct stat st;

    if (strlen(key) <= pr->skip)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", pr->dir, key + pr->skip);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    {
        /* eb_s3_delete adds the configured prefix: give it the key below it */
        int ret = eb_s3_delete(pr->s3, key + strlen(pr->s3->prefix), pr->err, pr->size);
        if (ret < 0)
            return ret;
    }
    pr->removed++;
    return 0;
}

int eb_s3_prune_tree(const EbS3 *s3, const char *dir, const char *key_prefix, int *removed,
                     char *err, size_t size)
{
    char sub[1200];
    EbS3Prune pr = {.s3 = s3, .dir = dir, .err = err, .size = size};
    int ret;

    snprintf(sub, sizeof(sub), "%s/", key_prefix);
    pr.skip = strlen(s3->prefix) + strlen(sub);
    ret = eb_s3_list(s3, sub, eb_s3_prune_one, &pr, err, size);
    if (removed)
        *removed = pr.removed;
    return ret;
}
