/*
 * Content keys: the encryption schemes a job can ask for, and the key
 * providers that hand out their keys.
 *
 *   aes-128  HLS whole-segment AES-128-CBC (TS or CMAF; HLS only)
 *   cenc     Common Encryption, AES-CTR (CMAF; HLS and DASH)
 *   cbcs     Common Encryption, AES-CBC 1:9 pattern (CMAF; HLS and DASH)
 *
 * A key provider makes a fresh key for a piece of content (a video, a
 * channel) and finds it again by key id for the license service. Built
 * today: the key store, a folder of one 0600 JSON file per key
 * (<dir>/<content id>/<kid hex>.json, folders 0700), written atomically
 * before any segment is encrypted with it. Keys never go to logs, argv,
 * job JSON or the public tree; only key ids do.
 */
#ifndef EB_KEYS_H
#define EB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "eb_cenc.h"
#include "eb_manifest.h"

typedef enum EbEncryptionScheme {
    EB_ENCRYPT_NONE = 0,
    EB_ENCRYPT_AES128,
    EB_ENCRYPT_CENC,
    EB_ENCRYPT_CBCS,
} EbEncryptionScheme;

/* "aes-128", "cenc", "cbcs" ("none" for NONE). */
const char *eb_encryption_scheme_name(EbEncryptionScheme s);
/* 0, or EB_ERR(EINVAL) for a name that is none of them ("none" is NONE). */
int eb_encryption_scheme_parse(const char *name, EbEncryptionScheme *out);

/* A key as the store keeps it. */
typedef struct EbContentKey {
    EbEncryptionScheme scheme;
    EbCencKey k; /* kid, key, iv */
    char content_id[65];
} EbContentKey;

typedef struct EbKeyProvider EbKeyProvider;

typedef struct EbKeyProviderOps {
    const char *name;
    /* A fresh key for content_id under scheme, kept so get() finds it. */
    int (*create)(EbKeyProvider *p, const char *content_id, EbEncryptionScheme scheme,
                  EbContentKey *out);
    /* The key kid of content_id: 0, EB_ERR(ENOENT) when there is none. */
    int (*get)(EbKeyProvider *p, const char *content_id, const uint8_t kid[16], EbContentKey *out);
    void (*free)(EbKeyProvider *p);
} EbKeyProviderOps;

struct EbKeyProvider {
    const EbKeyProviderOps *ops;
    void *priv;
};

/* The built-in key store under dir (created 0700 on first use). */
int eb_key_store_open(const char *dir, EbKeyProvider **out);

/* Removes content_id's keys other than keep (NULL: all of them): after a
 * video is replaced, or deleted. */
int eb_key_store_prune(const char *dir, const char *content_id, const uint8_t *keep);

/* Removes one key of content_id (a job that failed before publishing). */
int eb_key_store_remove(const char *dir, const char *content_id, const uint8_t kid[16]);

void eb_key_provider_free(EbKeyProvider **p);

/* The newest key of content_id made for scheme (a live channel keeps its
 * key across runs and restarts): 0, or EB_ERR(ENOENT) when there is none. */
int eb_key_store_latest(const char *dir, const char *content_id, EbEncryptionScheme scheme,
                        EbContentKey *out);

/* Keeps key (its id, key, IV and scheme) under content_id too: a live
 * channel's recording is a video of its own, with the channel's key. */
int eb_key_store_put(const char *dir, const char *content_id, const EbContentKey *key);

/*
 * The manifests' protection for one key (eb_manifest.h EbProtection):
 *   HLS   one EXT-X-KEY; its URI is the key's, relative to the media
 *         playlist (EB_LAYOUT_KEY_URI_PREFIX: <tree>/keys/<kid>, which the
 *         origin answers with the token or through a signed link); aes-128
 *         gets an IV per segment; no EXT-X-SESSION-KEY (a relative URI
 *         there would resolve against the master)
 *   DASH  mp4protection with cenc:default_KID, and ClearKey (its own
 *         system id, DASH-IF IOP 4.1 7.6.2.4) with the license URL when one
 *         is given; the common pssh is in the init sections
 * The strings live in pt; laurl NULL or "": no Laurl.
 */
typedef struct EbProtectionText {
    EbProtection p;
    char hls[512];
    const char *hls_keys[1];
    EbDashProtection dash[2];
    char kid_uuid[37], laurl[512];
} EbProtectionText;

void eb_protection_text(EbProtectionText *pt, EbEncryptionScheme scheme, const uint8_t kid[16],
                        const char *laurl);

/* Hex (32 lowercase digits) and back; parse: 0 or EB_ERR(EINVAL). */
void eb_key_hex(const uint8_t in[16], char out[33]);
int eb_key_unhex(const char *in, uint8_t out[16]);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (DASH cenc:default_KID) */
void eb_key_uuid(const uint8_t in[16], char out[37]);

#endif
