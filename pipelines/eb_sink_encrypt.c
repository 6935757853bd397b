/*
 * The encrypting sink (see eb_sink.h): wraps another sink and passes on
 * protected bytes.
 *
 *   cenc, cbcs (CMAF)  the init section and every part/segment through
 *                      eb_cenc (sample entries, pssh, senc/saiz/saio,
 *                      samples encrypted in place)
 *   aes-128            each segment whole, AES-128-CBC with PKCS#7 and a
 *                      fresh random IV (or its sequence number:
 *                      eb_sink_encrypt_sequence_ivs) reported with it (EXT-X-KEY IV=);
 *                      the CMAF init section stays clear (HLS allows it when
 *                      EXT-X-MAP comes before EXT-X-KEY, as encbox writes)
 *
 * Parts: a low-latency segment is reported part by part, then whole; the
 * segment passed on is the concatenation of the protected parts (the same
 * samples must not be encrypted twice: cenc IVs would differ). aes-128
 * has no parts (each would need its own IV and padding): refused.
 */
#include "eb_sink.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libavutil/bprint.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/mem.h>

#include "eb_cenc.h"
#include "eb_clock.h"
#include "eb_error.h"
#include "eb_log.h"

typedef struct EbEncRendition {
    EbSinkRendition r;
    EbCencTrack *track;
    AVBPrint parts;     /* protected parts of the open segment */
    size_t parts_clear; /* their clear size */
    int64_t parts_sequence;
} EbEncRendition;

typedef struct EbEncryptSink {
    EbSegmentSink *next;
    EbEncryptionScheme scheme;
    EbCencKey key;
    int nb;
    EbEncRendition rend[EB_SINK_MAX_RENDITIONS];
    atomic_llong ns; /* time spent encrypting */
    int sequence_ivs; /* aes-128: IV = the media sequence number */
    char detail[256];
} EbEncryptSink;

static EbEncRendition *eb_enc_rendition(EbSegmentSink *s, int i)
{
    EbEncryptSink *es = s->priv;
    return i >= 0 && i < es->nb ? &es->rend[i] : NULL;
}

static int eb_enc_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size)
{
    EbEncryptSink *es = s->priv;
    EbEncRendition *er = eb_enc_rendition(s, rendition);
    uint8_t *out = NULL;
    size_t out_size = 0;
    int64_t t0 = eb_clock_ns();
    int ret;

    if (!er)
        return EB_ERR(EINVAL);
    if (es->scheme == EB_ENCRYPT_AES128)
        return eb_sink_init(es->next, rendition, data, size);
    eb_cenc_track_free(&er->track);
    ret = eb_cenc_track_open(es->scheme == EB_ENCRYPT_CBCS ? EB_CENC_SCHEME_CBCS
                                                           : EB_CENC_SCHEME_CENC,
                             &es->key, data, size, &er->track, es->detail, sizeof(es->detail));
    if (ret >= 0)
        ret = eb_cenc_track_init(er->track, NULL, 0, &out, &out_size);
    atomic_fetch_add(&es->ns, eb_clock_ns() - t0);
    if (ret < 0) {
        EB_LOGE("encrypt", "rendition %s: cannot protect its init section: %s", er->r.name,
                es->detail[0] ? es->detail : eb_strerror(ret));
        return ret;
    }
    ret = eb_sink_init(es->next, rendition, out, out_size);
    av_free(out);
    return ret;
}

/* The protected bytes of a part or a segment: *out av_malloc'd. */
static int eb_enc_bytes(EbEncryptSink *es, EbEncRendition *er, const EbSegmentReport *rep,
                        uint8_t **out, size_t *out_size, uint8_t iv[16])
{
    int64_t t0 = eb_clock_ns();
    int ret;

    if (es->scheme == EB_ENCRYPT_AES128) {
        if (es->sequence_ivs) {
            memset(iv, 0, 8);
            AV_WB64(iv + 8, (uint64_t)rep->sequence);
        } else if (getrandom(iv, 16, 0) != 16) {
            return EB_ERR(EIO);
        }
        ret = eb_aes128_cbc_encrypt(es->key.key, iv, rep->data, rep->size, out, out_size);
    } else if (!er->track) {
        return EB_ERR(EINVAL); /* no init section came first */
    } else {
        ret = eb_cenc_track_fragment(er->track, rep->data, rep->size, out, out_size);
    }
    atomic_fetch_add(&es->ns, eb_clock_ns() - t0);
    if (ret < 0)
        EB_LOGE("encrypt", "rendition %s: cannot encrypt segment %lld: %s", er->r.name,
                (long long)rep->sequence, eb_strerror(ret));
    return ret;
}

static int eb_enc_part(EbSegmentSink *s, const EbSegmentReport *part)
{
    EbEncryptSink *es = s->priv;
    EbEncRendition *er = eb_enc_rendition(s, part->rendition);
    EbSegmentReport rep = *part;
    uint8_t *out = NULL, iv[16];
    size_t out_size = 0;
    int ret;

    if (!er)
        return EB_ERR(EINVAL);
    if (es->scheme == EB_ENCRYPT_AES128) {
        snprintf(es->detail, sizeof(es->detail),
                 "aes-128 encrypts whole segments: it cannot be used with low-latency parts");
        return EB_ERR(ENOTSUP);
    }
    if (er->parts_sequence != part->sequence) {
        av_bprint_clear(&er->parts);
        er->parts_clear = 0;
        er->parts_sequence = part->sequence;
    }
    if ((ret = eb_enc_bytes(es, er, part, &out, &out_size, iv)) < 0)
        return ret;
    av_bprint_append_data(&er->parts, (const char *)out, (unsigned)out_size);
    er->parts_clear += part->size;
    rep.data = out;
    rep.size = out_size;
    ret = av_bprint_is_complete(&er->parts) ? eb_sink_part(es->next, &rep) : EB_ERR(ENOMEM);
    av_free(out);
    return ret;
}

static int eb_enc_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    EbEncryptSink *es = s->priv;
    EbEncRendition *er = eb_enc_rendition(s, seg->rendition);
    EbSegmentReport rep = *seg;
    uint8_t *out = NULL, iv[16];
    size_t out_size = 0;
    int ret;

    if (!er)
        return EB_ERR(EINVAL);
    if (er->parts_sequence == seg->sequence && er->parts.len) {
        /* the segment is its parts: pass on what the parts became */
        if (er->parts_clear != seg->size)
            return EB_ERR(EINVAL);
        rep.data = (const uint8_t *)er->parts.str;
        rep.size = er->parts.len;
        ret = eb_sink_segment(es->next, &rep);
        av_bprint_clear(&er->parts);
        er->parts_clear = 0;
        er->parts_sequence = 0;
        return ret;
    }
    if ((ret = eb_enc_bytes(es, er, seg, &out, &out_size, iv)) < 0)
        return ret;
    rep.data = out;
    rep.size = out_size;
    rep.iv = es->scheme == EB_ENCRYPT_AES128 ? iv : NULL;
    ret = eb_sink_segment(es->next, &rep);
    av_free(out);
    return ret;
}

static int eb_enc_end(EbSegmentSink *s, int rendition)
{
    EbEncryptSink *es = s->priv;
    return eb_sink_end(es->next, rendition);
}

static void eb_enc_free(EbSegmentSink *s)
{
    EbEncryptSink *es = s->priv;

    if (!es)
        return;
    for (int i = 0; i < es->nb; i++) {
        eb_cenc_track_free(&es->rend[i].track);
        av_bprint_finalize(&es->rend[i].parts, NULL);
    }
    memset(&es->key, 0, sizeof(es->key));
    free(es);
}

static const EbSegmentSinkOps eb_encrypt_sink_ops = {
    .name = "encrypt",
    .init = eb_enc_init,
    .part = eb_enc_part,
    .segment = eb_enc_segment,
    .end = eb_enc_end,
    .free = eb_enc_free,
};

int eb_sink_encrypt_open(EbSegmentSink *next, const EbSinkRendition *renditions, int nb,
                         EbEncryptionScheme scheme, const EbCencKey *key, EbSegmentSink **out,
                         char *detail, size_t detail_size)
{
    EbSegmentSink *s;
    EbEncryptSink *es;

    if (detail_size)
        detail[0] = 0;
    if (!next || nb < 0 || nb > EB_SINK_MAX_RENDITIONS || scheme == EB_ENCRYPT_NONE)
        return EB_ERR(EINVAL);
    for (int i = 0; i < nb; i++) {
        if (scheme != EB_ENCRYPT_AES128 && renditions[i].format != EB_FORMAT_CMAF) {
            snprintf(detail, detail_size, "%s encryption needs CMAF output (MPEG-TS: use aes-128)",
                     eb_encryption_scheme_name(scheme));
            return EB_ERR_BAD_OPTION;
        }
    }
    s = calloc(1, sizeof(*s));
    es = calloc(1, sizeof(*es));
    if (!s || !es) {
        free(s);
        free(es);
        return EB_ERR(ENOMEM);
    }
    es->next = next;
    es->scheme = scheme;
    es->key = *key;
    es->nb = nb;
    for (int i = 0; i < nb; i++) {
        es->rend[i].r = renditions[i];
        av_bprint_init(&es->rend[i].parts, 0, AV_BPRINT_SIZE_UNLIMITED);
    }
    s->ops = &eb_encrypt_sink_ops;
    s->priv = es;
    *out = s;
    return 0;
}

void eb_sink_encrypt_sequence_ivs(EbSegmentSink *s)
{
    if (s && s->ops == &eb_encrypt_sink_ops)
        ((EbEncryptSink *)s->priv)->sequence_ivs = 1;
}

double eb_sink_encrypt_seconds(const EbSegmentSink *s)
{
    EbEncryptSink *es;

    if (!s || s->ops != &eb_encrypt_sink_ops)
        return 0;
    es = s->priv;
    return (double)atomic_load(&es->ns) / 1e9;
}

const char *eb_sink_encrypt_detail(const EbSegmentSink *s)
{
    if (!s || s->ops != &eb_encrypt_sink_ops)
        return "";
    return ((const EbEncryptSink *)s->priv)->detail;
}
