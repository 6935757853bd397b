/*
 * Content keys and the built-in key store (see eb_keys.h).
 */
#include "eb_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_layout.h"
#include "eb_storage.h"

static const char *const eb_scheme_names[] = {"none", "aes-128", "cenc", "cbcs"};

const char *eb_encryption_scheme_name(EbEncryptionScheme s)
{
    return (unsigned)s < 4 ? eb_scheme_names[s] : "?";
}

int eb_encryption_scheme_parse(const char *name, EbEncryptionScheme *out)
{
    for (int i = 0; name && i < 4; i++) {
        if (!strcmp(name, eb_scheme_names[i])) {
            *out = (EbEncryptionScheme)i;
            return 0;
        }
    }
    return EB_ERR(EINVAL);
}

void eb_key_hex(const uint8_t in[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int eb_key_unhex(const char *in, uint8_t out[16])
{
    if (!in || strlen(in) != 32)
        return EB_ERR(EINVAL);
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = in[2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return EB_ERR(EINVAL);
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

void eb_key_uuid(const uint8_t in[16], char out[37])
{
    char hex[33];

    eb_key_hex(in, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---- the key store ---- */

typedef struct EbKeyStore {
    char dir[4096];
} EbKeyStore;

static int eb_key_store_path(const EbKeyStore *ks, const char *content_id, const uint8_t *kid,
                             char *out, size_t size)
{
    char hex[33];
    int n;

    if (!eb_storage_id_valid(content_id))
        return EB_ERR(EINVAL);
    if (!kid) {
        n = snprintf(out, size, "%s/%s", ks->dir, content_id);
    } else {
        eb_key_hex(kid, hex);
        n = snprintf(out, size, "%s/%s/%s.json", ks->dir, content_id, hex);
    }
    return n < 0 || (size_t)n >= size ? EB_ERR(ENAMETOOLONG) : 0;
}

static int eb_mkdir_private(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return EB_ERR(errno);
    return 0;
}

/* Writes text to path through a 0600 temporary file, synced, renamed. */
static int eb_write_private(const char *path, const char *text)
{
    char tmp[4400];
    size_t len = strlen(text), done = 0;
    int fd, ret = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return EB_ERR(errno);
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = EB_ERR(errno);
            break;
        }
        done += (size_t)n;
    }
    if (ret >= 0 && fsync(fd) < 0)
        ret = EB_ERR(errno);
    if (close(fd) < 0 && ret >= 0)
        ret = EB_ERR(errno);
    if (ret >= 0 && rename(tmp, path) < 0)
        ret = EB_ERR(errno);
    if (ret < 0)
        unlink(tmp);
    return ret;
}

/* Writes key under content_id (folders 0700, the file 0600, atomically). */
static int eb_key_store_write(const EbKeyStore *ks, const char *content_id, const EbContentKey *key)
{
    char path[4300], kid[33], k[33], iv[33], *text;
    json_t *o;
    int ret;

    if ((ret = eb_key_store_path(ks, content_id, NULL, path, sizeof(path))) < 0)
        return ret;
    if ((ret = eb_mkdir_private(ks->dir)) < 0 || (ret = eb_mkdir_private(path)) < 0)
        return ret;
    if ((ret = eb_key_store_path(ks, content_id, key->k.kid, path, sizeof(path))) < 0)
        return ret;
    eb_key_hex(key->k.kid, kid);
    eb_key_hex(key->k.key, k);
    eb_key_hex(key->k.iv, iv);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "content_id", content_id, "scheme",
                  eb_encryption_scheme_name(key->scheme), "kid", kid, "key", k, "iv", iv, "created",
                  (json_int_t)time(NULL));
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    memset(k, 0, sizeof(k));
    if (!text)
        return EB_ERR(ENOMEM);
    ret = eb_write_private(path, text);
    memset(text, 0, strlen(text));
    free(text);
    return ret;
}

static int eb_key_store_create(EbKeyProvider *p, const char *content_id, EbEncryptionScheme scheme,
                               EbContentKey *out)
{
    memset(out, 0, sizeof(*out));
    if (scheme == EB_ENCRYPT_NONE || !eb_storage_id_valid(content_id))
        return EB_ERR(EINVAL);
    if (getrandom(&out->k, sizeof(out->k), 0) != (ssize_t)sizeof(out->k))
        return EB_ERR(EIO);
    out->scheme = scheme;
    snprintf(out->content_id, sizeof(out->content_id), "%s", content_id);
    return eb_key_store_write(p->priv, content_id, out);
}

static int eb_key_store_get(EbKeyProvider *p, const char *content_id, const uint8_t kid[16],
                            EbContentKey *out)
{
    EbKeyStore *ks = p->priv;
    char path[4300];
    const char *scheme = NULL, *k = NULL, *iv = NULL, *id = NULL;
    json_error_t err;
    json_t *o;
    int ret;

    memset(out, 0, sizeof(*out));
    if ((ret = eb_key_store_path(ks, content_id, kid, path, sizeof(path))) < 0)
        return ret;
    o = json_load_file(path, 0, &err);
    if (!o)
        return access(path, F_OK) < 0 ? EB_ERR(ENOENT) : EB_ERR(EIO);
    if (json_unpack(o, "{s:s, s:s, s:s, s:s}", "content_id", &id, "scheme", &scheme, "key", &k,
                    "iv", &iv) < 0 ||
        strcmp(id, content_id) || eb_encryption_scheme_parse(scheme, &out->scheme) < 0 ||
        eb_key_unhex(k, out->k.key) < 0 || eb_key_unhex(iv, out->k.iv) < 0) {
        json_decref(o);
        return EB_ERR(EIO);
    }
    memcpy(out->k.kid, kid, 16);
    snprintf(out->content_id, sizeof(out->content_id), "%s", content_id);
    json_decref(o);
    return 0;
}

static void eb_key_store_free(EbKeyProvider *p)
{
    free(p->priv);
}

static const EbKeyProviderOps eb_key_store_ops = {
    .name = "store",
    .create = eb_key_store_create,
    .get = eb_key_store_get,
    .free = eb_key_store_free,
};

int eb_key_store_open(const char *dir, EbKeyProvider **out)
{
    EbKeyProvider *p = calloc(1, sizeof(*p));
    EbKeyStore *ks = calloc(1, sizeof(*ks));

    if (!p || !ks || !dir || strlen(dir) >= sizeof(ks->dir)) {
        free(p);
        free(ks);
        return dir ? EB_ERR(ENOMEM) : EB_ERR(EINVAL);
    }
    snprintf(ks->dir, sizeof(ks->dir), "%s", dir);
    p->ops = &eb_key_store_ops;
    p->priv = ks;
    *out = p;
    return 0;
}

int eb_key_store_prune(const char *dir, const char *content_id, const uint8_t *keep)
{
    EbKeyStore ks;
    char path[4300], keep_name[40] = "";
    DIR *d;
    struct dirent *e;
    int ret;

    snprintf(ks.dir, sizeof(ks.dir), "%s", dir);
    if ((ret = eb_key_store_path(&ks, content_id, NULL, path, sizeof(path))) < 0)
        return ret;
    if (keep) {
        eb_key_hex(keep, keep_name);
        strcat(keep_name, ".json");
    }
    d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : EB_ERR(errno);
    while ((e = readdir(d))) {
        char file[4600];
        if (e->d_name[0] == '.' || !strcmp(e->d_name, keep_name))
            continue;
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        unlink(file);
    }
    closedir(d);
    if (!keep)
        rmdir(path);
    return 0;
}

int eb_key_store_remove(const char *dir, const char *content_id, const uint8_t kid[16])
{
    EbKeyStore ks;
    char path[4300];
    int ret;

    snprintf(ks.dir, sizeof(ks.dir), "%s", dir);
    if ((ret = eb_key_store_path(&ks, content_id, kid, path, sizeof(path))) < 0)
        return ret;
    return unlink(path) < 0 && errno != ENOENT ? EB_ERR(errno) : 0;
}

int eb_key_store_put(const char *dir, const char *content_id, const EbContentKey *key)
{
    EbKeyStore ks;

    snprintf(ks.dir, sizeof(ks.dir), "%s", dir);
    return eb_key_store_write(&ks, content_id, key);
}

int eb_key_store_latest(const char *dir, const char *content_id, EbEncryptionScheme scheme,
                        EbContentKey *out)
{
    EbKeyStore ks;
    EbKeyProvider p = {.ops = &eb_key_store_ops, .priv = &ks};
    char path[4300];
    json_int_t best = -1;
    DIR *d;
    struct dirent *e;
    int ret;

    memset(out, 0, sizeof(*out));
    snprintf(ks.dir, sizeof(ks.dir), "%s", dir);
    if ((ret = eb_key_store_path(&ks, content_id, NULL, path, sizeof(path))) < 0)
        return ret;
    d = opendir(path);
    if (!d)
        return errno == ENOENT ? EB_ERR(ENOENT) : EB_ERR(errno);
    while ((e = readdir(d))) {
        char file[4600], hex[33];
        uint8_t kid[16];
        json_t *o;
        json_int_t created;
        EbContentKey k;
        if (strlen(e->d_name) != 37 || strcmp(e->d_name + 32, ".json"))
            continue;
        snprintf(hex, sizeof(hex), "%.32s", e->d_name);
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        if (eb_key_unhex(hex, kid) < 0 || !(o = json_load_file(file, 0, NULL)))
            continue;
        created = json_integer_value(json_object_get(o, "created"));
        json_decref(o);
        if (created <= best || eb_key_store_get(&p, content_id, kid, &k) < 0 || k.scheme != scheme)
            continue;
        best = created;
        *out = k;
        memset(&k, 0, sizeof(k));
    }
    closedir(d);
    return best >= 0 ? 0 : EB_ERR(ENOENT);
}

void eb_protection_text(EbProtectionText *pt, EbEncryptionScheme scheme, const uint8_t kid[16],
                        const char *laurl)
{
    char hex[33];

    memset(pt, 0, sizeof(*pt));
    eb_key_hex(kid, hex);
    eb_key_uuid(kid, pt->kid_uuid);
    if (scheme == EB_ENCRYPT_AES128)
        snprintf(pt->hls, sizeof(pt->hls), "METHOD=AES-128,URI=\"" EB_LAYOUT_KEY_URI_PREFIX "%s\"",
                 hex);
    else
        snprintf(pt->hls, sizeof(pt->hls),
                 "METHOD=%s,URI=\"" EB_LAYOUT_KEY_URI_PREFIX
                 "%s\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"",
                 scheme == EB_ENCRYPT_CENC ? "SAMPLE-AES-CTR" : "SAMPLE-AES", hex);
    pt->hls_keys[0] = pt->hls;
    pt->p.nb_hls_keys = 1;
    pt->p.hls_keys = pt->hls_keys;
    pt->p.hls_no_session_key = 1;
    if (scheme == EB_ENCRYPT_AES128)
        return;
    if (laurl && laurl[0])
        snprintf(pt->laurl, sizeof(pt->laurl), "%s", laurl);
    pt->dash[0] = (EbDashProtection){"urn:mpeg:dash:mp4protection:2011",
                                     eb_encryption_scheme_name(scheme), pt->kid_uuid, NULL, NULL};
    pt->dash[1] = (EbDashProtection){"urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e", "ClearKey1.0",
                                     NULL, NULL, pt->laurl[0] ? pt->laurl : NULL};
    pt->p.nb_dash = 2;
    pt->p.dash = pt->dash;
}

void eb_key_provider_free(EbKeyProvider **pp)
{
    EbKeyProvider *p = *pp;

    if (!p)
        return;
    if (p->ops->free)
        p->ops->free(p);
    free(p);
    *pp = NULL;
}
