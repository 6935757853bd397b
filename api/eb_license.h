/*
 * The box's key and license endpoints, pure parts (no HTTP): which
 * endpoint a media path names, and the W3C ClearKey license exchange.
 *
 *   /videos/<id>/license        POST: {"kids": [base64url...], "type": ...}
 *                               answered {"keys": [{"kty": "oct", "kid":
 *                               base64url, "k": base64url}], "type": ...}
 *                               (W3C Encrypted Media Extensions, 9.1.3/9.1.4)
 *   /videos/<id>/keys/<kid hex> GET: the 16 key bytes (HLS AES-128 and the
 *                               HLS ClearKey KEYFORMAT)
 *
 * Who may ask is eb_api_server.c's business (the API token, or a signed
 * link to the video); the answers come from a key provider (eb_keys.h).
 */
#ifndef EB_LICENSE_H
#define EB_LICENSE_H

#include <stddef.h>
#include <stdint.h>

#include "eb_keys.h"

typedef enum EbKeyEndpoint {
    EB_KEY_ENDPOINT_NONE = 0, /* not a key endpoint: a file of the tree */
    EB_KEY_ENDPOINT_LICENSE,
    EB_KEY_ENDPOINT_KEY,
} EbKeyEndpoint;

/* rel is a media path after "/videos/": "<id>/license" or
 * "<id>/keys/<32 hex digits>". Fills id (a valid video id) and, for a key,
 * kid. Anything else under keys/ or a bad id is still KEY (so it is never
 * served as a file) with *valid 0. */
EbKeyEndpoint eb_key_endpoint(const char *rel, char *id, size_t id_size, uint8_t kid[16],
                              int *valid);

#define EB_LICENSE_MAX_KIDS 16

/* A ClearKey license for content_id: the JWK set text (*out, malloc'd, the
 * caller's) holding every requested key id that provider has for it.
 * Returns how many keys it holds (0 is a valid answer: none of those ids
 * is this video's), or EB_ERR(EINVAL) for a request that is not a ClearKey
 * license request (more than EB_LICENSE_MAX_KIDS ids, ids that are not 16
 * bytes of base64url). */
int eb_clearkey_license(EbKeyProvider *provider, const char *content_id, const char *body,
                        size_t len, char **out);

/* base64url without padding (RFC 4648 5, as JWK writes it) of 16 bytes,
 * and back (0, or EB_ERR(EINVAL)). */
void eb_base64url16(const uint8_t in[16], char out[23]);
int eb_unbase64url16(const char *in, uint8_t out[16]);

#endif
