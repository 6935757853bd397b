/*
 * Common Encryption of CMAF sections (see eb_cenc.h). Box layouts are
 * ISO/IEC 14496-12 (moov, trak, stsd, moof, traf, tfhd, trun, saiz, saio)
 * and ISO/IEC 23001-7 (sinf/frma/schm/schi/tenc, pssh, senc).
 *
 * Output is built in an AVBPrint: a box is written with a placeholder size
 * that is patched once its children are in.
 */
#include "eb_cenc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <libavutil/aes.h>
#include <libavutil/aes_ctr.h>
#include <libavutil/bprint.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/mem.h>

#include "eb_avc_slice.h"
#include "eb_error.h"

const uint8_t eb_cenc_common_system_id[16] = {0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02,
                                              0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b};

#define EB_TAG(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

enum {
    EB_CBCS_CRYPT_BLOCKS = 1, /* the 1:9 video pattern */
    EB_CBCS_SKIP_BLOCKS = 9,
    EB_CENC_IV_SIZE = 8,
    EB_MAX_SUBSAMPLES = 4096,
};

struct EbCencTrack {
    EbCencScheme scheme;
    EbCencKey key;
    int is_video;
    uint32_t format; /* the clear sample entry's 4CC: avc1, mp4a */
    int nal_length_size;
    EbAvcParams *avc; /* video: the parameter sets seen so far */
    uint64_t next_iv; /* cenc: the next sample's IV */
    struct AVAES *cbc;
    struct AVAESCTR *ctr;
    uint8_t *init_in; /* the clear init section */
    size_t init_size;
    /* per fragment scratch */
    uint32_t (*subs)[2]; /* clear, protected */
};

/* ---- box reading ---- */

typedef struct EbBox {
    uint32_t type;
    size_t size;   /* whole box */
    size_t header; /* 8 or 16 */
} EbBox;

/* The box at p (left bytes available): 0, or EINVAL when it does not fit. */
static int eb_box_read(const uint8_t *p, size_t left, EbBox *box)
{
    uint64_t size;

    if (left < 8)
        return EB_ERR(EINVAL);
    size = AV_RB32(p);
    box->type = AV_RB32(p + 4);
    box->header = 8;
    if (size == 1) {
        if (left < 16)
            return EB_ERR(EINVAL);
        size = AV_RB64(p + 8);
        box->header = 16;
    } else if (size == 0) {
        size = left;
    }
    if (size < box->header || size > left)
        return EB_ERR(EINVAL);
    box->size = (size_t)size;
    return 0;
}

/* ---- box writing ---- */

static size_t eb_box_open(AVBPrint *out, uint32_t type)
{
    uint8_t h[8];
    size_t at = out->len;

    AV_WB32(h, 0);
    AV_WB32(h + 4, type);
    av_bprint_append_data(out, (const char *)h, 8);
    return at;
}

static void eb_box_close(AVBPrint *out, size_t at)
{
    if (av_bprint_is_complete(out))
        AV_WB32(out->str + at, (uint32_t)(out->len - at));
}

static void eb_put(AVBPrint *out, const void *data, size_t n)
{
    av_bprint_append_data(out, (const char *)data, (unsigned)n);
}

static void eb_put8(AVBPrint *out, unsigned v)
{
    uint8_t b = (uint8_t)v;
    eb_put(out, &b, 1);
}

static void eb_put16(AVBPrint *out, unsigned v)
{
    uint8_t b[2];
    AV_WB16(b, v);
    eb_put(out, b, 2);
}

static void eb_put32(AVBPrint *out, uint32_t v)
{
    uint8_t b[4];
    AV_WB32(b, v);
    eb_put(out, b, 4);
}

static int eb_bprint_finish(AVBPrint *out, uint8_t **data, size_t *size)
{
    char *s;

    if (!av_bprint_is_complete(out)) {
        av_bprint_finalize(out, NULL);
        return EB_ERR(ENOMEM);
    }
    *size = out->len;
    if (av_bprint_finalize(out, &s) < 0)
        return EB_ERR(ENOMEM);
    *data = (uint8_t *)s;
    return 0;
}

int eb_cenc_pssh(const uint8_t system_id[16], const uint8_t (*kids)[16], int nb_kids,
                 const uint8_t *data, size_t data_size, uint8_t **out, size_t *out_size)
{
    AVBPrint b;
    size_t at;

    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    at = eb_box_open(&b, EB_TAG('p', 's', 's', 'h'));
    eb_put32(&b, 1u << 24); /* version 1: the key ids are listed */
    eb_put(&b, system_id, 16);
    eb_put32(&b, (uint32_t)nb_kids);
    for (int i = 0; i < nb_kids; i++)
        eb_put(&b, kids[i], 16);
    eb_put32(&b, (uint32_t)data_size);
    if (data_size)
        eb_put(&b, data, data_size);
    eb_box_close(&b, at);
    return eb_bprint_finish(&b, out, out_size);
}

/* ---- the init section ---- */

/* avcC: the NAL length size and the parameter sets. */
static int eb_cenc_read_avcc(EbCencTrack *t, const uint8_t *p, size_t n)
{
    size_t pos = 6;
    int nb;

    if (n < 7 || p[0] != 1)
        return EB_ERR(EINVAL);
    t->nal_length_size = (p[4] & 3) + 1;
    if (t->nal_length_size == 3)
        return EB_ERR(EINVAL);
    for (int set = 0; set < 2; set++) {
        if (pos >= n)
            return EB_ERR(EINVAL);
        nb = set == 0 ? (p[5] & 0x1f) : p[pos++];
        for (int i = 0; i < nb; i++) {
            size_t len;
            int ret;
            if (pos + 2 > n)
                return EB_ERR(EINVAL);
            len = AV_RB16(p + pos);
            pos += 2;
            if (pos + len > n)
                return EB_ERR(EINVAL);
            if ((ret = eb_avc_parse_param_set(t->avc, p + pos, len)) < 0)
                return ret;
            pos += len;
        }
    }
    return 0;
}

/* The sample entry's fixed fields before its child boxes. */
static size_t eb_sample_entry_fields(int is_video)
{
    /* SampleEntry 8 + VisualSampleEntry 70, or AudioSampleEntry (v0) 20 */
    return is_video ? 78 : 28;
}

static void eb_cenc_put_sinf(const EbCencTrack *t, AVBPrint *out)
{
    size_t sinf = eb_box_open(out, EB_TAG('s', 'i', 'n', 'f'));
    size_t at = eb_box_open(out, EB_TAG('f', 'r', 'm', 'a'));
    int cbcs = t->scheme == EB_CENC_SCHEME_CBCS;

    eb_put32(out, t->format);
    eb_box_close(out, at);
    at = eb_box_open(out, EB_TAG('s', 'c', 'h', 'm'));
    eb_put32(out, 0);
    eb_put32(out, cbcs ? EB_TAG('c', 'b', 'c', 's') : EB_TAG('c', 'e', 'n', 'c'));
    eb_put32(out, 0x00010000);
    eb_box_close(out, at);
    {
        size_t schi = eb_box_open(out, EB_TAG('s', 'c', 'h', 'i'));
        at = eb_box_open(out, EB_TAG('t', 'e', 'n', 'c'));
        eb_put32(out, cbcs ? 1u << 24 : 0); /* version 1 carries the pattern */
        eb_put8(out, 0);
        eb_put8(out, cbcs && t->is_video ? (EB_CBCS_CRYPT_BLOCKS << 4) | EB_CBCS_SKIP_BLOCKS : 0);
        eb_put8(out, 1); /* default_isProtected */
        eb_put8(out, cbcs ? 0 : EB_CENC_IV_SIZE);
        eb_put(out, t->key.kid, 16);
        if (cbcs) {
            eb_put8(out, 16);
            eb_put(out, t->key.iv, 16);
        }
        eb_box_close(out, at);
        eb_box_close(out, schi);
    }
    eb_box_close(out, sinf);
}

/* One sample entry of stsd: read (open) or rewritten as encv/enca (out). */
static int eb_cenc_entry(EbCencTrack *t, const uint8_t *p, const EbBox *box, AVBPrint *out)
{
    size_t fields = 0, pos;
    int is_video;

    switch (box->type) {
    case EB_TAG('a', 'v', 'c', '1'):
    case EB_TAG('a', 'v', 'c', '3'):
        is_video = 1;
        break;
    case EB_TAG('m', 'p', '4', 'a'):
        is_video = 0;
        break;
    default:
        return EB_ERR(ENOTSUP);
    }
    fields = eb_sample_entry_fields(is_video);
    if (box->size < box->header + fields)
        return EB_ERR(EINVAL);
    if (!out) {
        t->is_video = is_video;
        t->format = box->type;
        for (pos = box->header + fields; is_video && pos < box->size;) {
            EbBox child;
            int ret;
            if ((ret = eb_box_read(p + pos, box->size - pos, &child)) < 0)
                return ret;
            if (child.type == EB_TAG('a', 'v', 'c', 'C'))
                return eb_cenc_read_avcc(t, p + pos + child.header, child.size - child.header);
            pos += child.size;
        }
        return is_video ? EB_ERR(EINVAL) : 0;
    }
    {
        size_t at =
            eb_box_open(out, is_video ? EB_TAG('e', 'n', 'c', 'v') : EB_TAG('e', 'n', 'c', 'a'));
        eb_put(out, p + box->header, box->size - box->header);
        eb_cenc_put_sinf(t, out);
        eb_box_close(out, at);
    }
    return 0;
}

/* Walks (and, with out, rewrites) the boxes in p: containers down to stsd,
 * whose one sample entry is protected; pssh boxes appended to moov. */
static int eb_cenc_walk_init(EbCencTrack *t, const uint8_t *p, size_t n, AVBPrint *out,
                             const uint8_t *pssh, size_t pssh_size, int *entries)
{
    for (size_t pos = 0; pos < n;) {
        EbBox box;
        int ret;

        if ((ret = eb_box_read(p + pos, n - pos, &box)) < 0)
            return ret;
        switch (box.type) {
        case EB_TAG('m', 'o', 'o', 'v'):
        case EB_TAG('t', 'r', 'a', 'k'):
        case EB_TAG('m', 'd', 'i', 'a'):
        case EB_TAG('m', 'i', 'n', 'f'):
        case EB_TAG('s', 't', 'b', 'l'): {
            size_t at = out ? eb_box_open(out, box.type) : 0;
            if ((ret = eb_cenc_walk_init(t, p + pos + box.header, box.size - box.header, out, pssh,
                                         pssh_size, entries)) < 0)
                return ret;
            if (out && box.type == EB_TAG('m', 'o', 'o', 'v'))
                eb_put(out, pssh, pssh_size);
            if (out)
                eb_box_close(out, at);
            break;
        }
        case EB_TAG('s', 't', 's', 'd'): {
            const uint8_t *b = p + pos + box.header;
            size_t len = box.size - box.header, at = 0;
            EbBox entry;
            if (len < 8 || AV_RB32(b + 4) != 1)
                return EB_ERR(EINVAL);
            if ((ret = eb_box_read(b + 8, len - 8, &entry)) < 0)
                return ret;
            if (out) {
                at = eb_box_open(out, box.type);
                eb_put(out, b, 8);
            }
            if ((ret = eb_cenc_entry(t, b + 8, &entry, out)) < 0)
                return ret;
            if (out) {
                eb_put(out, b + 8 + entry.size, len - 8 - entry.size);
                eb_box_close(out, at);
            }
            (*entries)++;
            break;
        }
        default:
            if (out)
                eb_put(out, p + pos, box.size);
            break;
        }
        pos += box.size;
    }
    return 0;
}

int eb_cenc_track_open(EbCencScheme scheme, const EbCencKey *key, const uint8_t *init, size_t size,
                       EbCencTrack **out, char *detail, size_t detail_size)
{
    EbCencTrack *t;
    int entries = 0, ret;

    if (detail_size)
        detail[0] = 0;
    if (scheme != EB_CENC_SCHEME_CENC && scheme != EB_CENC_SCHEME_CBCS)
        return EB_ERR(EINVAL);
    t = av_mallocz(sizeof(*t));
    if (!t)
        return EB_ERR(ENOMEM);
    t->scheme = scheme;
    t->key = *key;
    t->avc = av_mallocz(sizeof(*t->avc));
    t->subs = av_malloc_array(EB_MAX_SUBSAMPLES, sizeof(*t->subs));
    t->init_in = av_memdup(init, size);
    t->init_size = size;
    if (!t->avc || !t->subs || !t->init_in) {
        ret = EB_ERR(ENOMEM);
        goto fail;
    }
    ret = eb_cenc_walk_init(t, init, size, NULL, NULL, 0, &entries);
    if (ret == EB_ERR(ENOTSUP)) {
        snprintf(detail, detail_size,
                 "only H.264 video and AAC audio can be encrypted (the slice header reader is "
                 "H.264's)");
        goto fail;
    }
    if (ret >= 0 && entries != 1)
        ret = EB_ERR(EINVAL);
    if (ret < 0) {
        snprintf(detail, detail_size, "the init section is not one readable H.264 or AAC track");
        goto fail;
    }
    /* cenc: a random start per track, so no two tracks under one key ever
     * share a counter block. */
    if (getrandom(&t->next_iv, sizeof(t->next_iv), 0) != sizeof(t->next_iv)) {
        ret = EB_ERR(EIO);
        goto fail;
    }
    t->cbc = av_aes_alloc();
    t->ctr = av_aes_ctr_alloc();
    if (!t->cbc || !t->ctr) {
        ret = EB_ERR(ENOMEM);
        goto fail;
    }
    if (av_aes_init(t->cbc, t->key.key, 128, 0) < 0 || av_aes_ctr_init(t->ctr, t->key.key) < 0) {
        ret = EB_ERR(EINVAL);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    eb_cenc_track_free(&t);
    return ret;
}

int eb_cenc_track_init(EbCencTrack *t, const uint8_t *extra_pssh, size_t extra_size, uint8_t **out,
                       size_t *out_size)
{
    AVBPrint b, pssh;
    uint8_t *common;
    size_t common_size;
    int entries = 0, ret;

    if ((ret = eb_cenc_pssh(eb_cenc_common_system_id, (const uint8_t(*)[16])t->key.kid, 1, NULL, 0,
                            &common, &common_size)) < 0)
        return ret;
    av_bprint_init(&pssh, 0, AV_BPRINT_SIZE_UNLIMITED);
    eb_put(&pssh, common, common_size);
    av_free(common);
    if (extra_size)
        eb_put(&pssh, extra_pssh, extra_size);
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    ret = av_bprint_is_complete(&pssh)
              ? eb_cenc_walk_init(t, t->init_in, t->init_size, &b, (const uint8_t *)pssh.str,
                                  pssh.len, &entries)
              : EB_ERR(ENOMEM);
    av_bprint_finalize(&pssh, NULL);
    if (ret < 0) {
        av_bprint_finalize(&b, NULL);
        return ret;
    }
    return eb_bprint_finish(&b, out, out_size);
}

/* ---- samples ---- */

/* The subsamples of one H.264 sample (length-prefixed NAL units) into
 * t->subs: returns their count or a negative error. */
static int eb_cenc_video_subsamples(EbCencTrack *t, const uint8_t *s, size_t size)
{
    size_t pos = 0, clear = 0;
    int nb = 0;

    while (pos < size) {
        size_t len = 0, hdr;
        int type, ret;

        if (pos + (size_t)t->nal_length_size > size)
            return EB_ERR(EINVAL);
        for (int i = 0; i < t->nal_length_size; i++)
            len = (len << 8) | s[pos + i];
        if (len == 0 || len > size - pos - (size_t)t->nal_length_size)
            return EB_ERR(EINVAL);
        type = s[pos + t->nal_length_size] & 0x1f;
        hdr = (size_t)t->nal_length_size;
        if (type == 7 || type == 8) {
            /* in-band parameter sets replace the avcC's */
            if ((ret = eb_avc_parse_param_set(t->avc, s + pos + hdr, len)) < 0)
                return ret;
        }
        if (type == 1 || type == 5) {
            size_t rest, prot;
            if ((ret = eb_avc_slice_header_size(t->avc, s + pos + hdr, len)) < 0)
                return ret;
            rest = len - (size_t)ret;
            prot = rest & ~(size_t)15;
            clear += hdr + (size_t)ret + (rest - prot);
            if (prot) {
                /* clear counts are 16-bit: a long clear run is its own entries */
                while (clear > 0xffff) {
                    if (nb >= EB_MAX_SUBSAMPLES)
                        return EB_ERR(E2BIG);
                    t->subs[nb][0] = 0xffff;
                    t->subs[nb++][1] = 0;
                    clear -= 0xffff;
                }
                if (nb >= EB_MAX_SUBSAMPLES)
                    return EB_ERR(E2BIG);
                t->subs[nb][0] = (uint32_t)clear;
                t->subs[nb++][1] = (uint32_t)prot;
                clear = 0;
            }
        } else {
            clear += hdr + len;
        }
        pos += (size_t)t->nal_length_size + len;
    }
    while (clear > 0) {
        uint32_t c = clear > 0xffff ? 0xffff : (uint32_t)clear;
        if (nb >= EB_MAX_SUBSAMPLES)
            return EB_ERR(E2BIG);
        t->subs[nb][0] = c;
        t->subs[nb++][1] = 0;
        clear -= c;
    }
    return nb;
}

/* cbcs over one protected range: the pattern from a fresh constant IV. */
static void eb_cbcs_range(EbCencTrack *t, uint8_t *d, size_t n, int pattern)
{
    uint8_t iv[16];

    memcpy(iv, t->key.iv, 16);
    if (!pattern) {
        if (n >= 16)
            av_aes_crypt(t->cbc, d, d, (int)(n / 16), iv, 0);
        return;
    }
    while (n >= 16 * EB_CBCS_CRYPT_BLOCKS) {
        size_t skip;
        av_aes_crypt(t->cbc, d, d, EB_CBCS_CRYPT_BLOCKS, iv, 0);
        d += 16 * EB_CBCS_CRYPT_BLOCKS;
        n -= 16 * EB_CBCS_CRYPT_BLOCKS;
        skip = n < 16 * EB_CBCS_SKIP_BLOCKS ? n : 16 * EB_CBCS_SKIP_BLOCKS;
        d += skip;
        n -= skip;
    }
}

/* Encrypts one sample in place and appends its auxiliary information
 * (IV, subsamples) to aux; *aux_size gets its size. */
static int eb_cenc_sample(EbCencTrack *t, uint8_t *d, size_t size, AVBPrint *aux,
                          unsigned *aux_size)
{
    int cbcs = t->scheme == EB_CENC_SCHEME_CBCS, nb = 0;
    size_t start = aux->len;

    if (!cbcs) {
        uint8_t iv[8];
        AV_WB64(iv, t->next_iv);
        t->next_iv++;
        eb_put(aux, iv, 8);
        av_aes_ctr_set_iv(t->ctr, iv);
    }
    if (!t->is_video) {
        if (cbcs)
            eb_cbcs_range(t, d, size, 0);
        else
            av_aes_ctr_crypt(t->ctr, d, d, (int)size);
        *aux_size = (unsigned)(aux->len - start);
        return 0;
    }
    if ((nb = eb_cenc_video_subsamples(t, d, size)) < 0)
        return nb;
    eb_put16(aux, (unsigned)nb);
    for (int i = 0; i < nb; i++) {
        eb_put16(aux, t->subs[i][0]);
        eb_put32(aux, t->subs[i][1]);
        d += t->subs[i][0];
        if (t->subs[i][1]) {
            if (cbcs)
                eb_cbcs_range(t, d, t->subs[i][1], 1);
            else
                av_aes_ctr_crypt(t->ctr, d, d, (int)t->subs[i][1]);
        }
        d += t->subs[i][1];
    }
    *aux_size = (unsigned)(aux->len - start);
    return 0;
}

/* ---- fragments ---- */

typedef struct EbTrun {
    size_t at; /* offset of the box in the traf's bytes */
    size_t size;
    int has_offset;
    int32_t data_offset;
    uint32_t count;
    size_t sizes_at; /* first sample's size field, or 0 (default size) */
    size_t stride;   /* bytes per sample record */
} EbTrun;

enum { EB_MAX_TRUNS = 16 };

typedef struct EbTraf {
    const uint8_t *p; /* traf body */
    size_t n;
    uint32_t default_size;
    int has_default_size;
    int nb_trun;
    EbTrun trun[EB_MAX_TRUNS];
} EbTraf;

static int eb_traf_read(const uint8_t *p, size_t n, EbTraf *tr)
{
    memset(tr, 0, sizeof(*tr));
    tr->p = p;
    tr->n = n;
    for (size_t pos = 0; pos < n;) {
        EbBox box;
        const uint8_t *b;
        size_t len;
        uint32_t flags;
        int ret;

        if ((ret = eb_box_read(p + pos, n - pos, &box)) < 0)
            return ret;
        b = p + pos + box.header;
        len = box.size - box.header;
        if (box.type == EB_TAG('s', 'e', 'n', 'c') || box.type == EB_TAG('s', 'a', 'i', 'z'))
            return EB_ERR(EINVAL); /* already protected */
        if (box.type == EB_TAG('t', 'f', 'h', 'd')) {
            size_t q = 8;
            if (len < 8)
                return EB_ERR(EINVAL);
            flags = AV_RB32(b) & 0xffffff;
            if (flags & 0x1) /* base-data-offset: never written by the segmenter */
                return EB_ERR(ENOTSUP);
            q += (flags & 0x2) ? 4 : 0;
            q += (flags & 0x8) ? 4 : 0;
            if (flags & 0x10) {
                if (len < q + 4)
                    return EB_ERR(EINVAL);
                tr->default_size = AV_RB32(b + q);
                tr->has_default_size = 1;
            }
        } else if (box.type == EB_TAG('t', 'r', 'u', 'n')) {
            EbTrun *t;
            size_t q = 8;
            if (tr->nb_trun >= EB_MAX_TRUNS || len < 8)
                return EB_ERR(EINVAL);
            t = &tr->trun[tr->nb_trun++];
            flags = AV_RB32(b) & 0xffffff;
            t->at = pos;
            t->size = box.size;
            t->count = AV_RB32(b + 4);
            if (flags & 0x1) {
                if (len < q + 4)
                    return EB_ERR(EINVAL);
                t->has_offset = 1;
                t->data_offset = (int32_t)AV_RB32(b + q);
                q += 4;
            }
            q += (flags & 0x4) ? 4 : 0;
            t->stride = 4 * (size_t) !!(flags & 0x100) + 4 * !!(flags & 0x200) +
                        4 * !!(flags & 0x400) + 4 * !!(flags & 0x800);
            if (flags & 0x200)
                t->sizes_at = box.header + q + ((flags & 0x100) ? 4 : 0);
            else if (!tr->has_default_size)
                return EB_ERR(EINVAL);
            if (t->count > (len - q) / (t->stride ? t->stride : 1) && t->stride)
                return EB_ERR(EINVAL);
        }
        pos += box.size;
    }
    return tr->nb_trun ? 0 : EB_ERR(EINVAL);
}

static uint32_t eb_trun_sample_size(const EbTraf *tr, const EbTrun *t, uint32_t i)
{
    if (!t->sizes_at)
        return tr->default_size;
    return AV_RB32(tr->p + t->at + t->sizes_at + (size_t)i * t->stride);
}

/* One moof (at p, m bytes) and the mdat after it (d bytes at p + m):
 * the protected pair appended to out. */
static int eb_cenc_pair(EbCencTrack *t, const uint8_t *p, size_t m, const EbBox *mdat,
                        AVBPrint *out)
{
    EbBox box, traf_box = {0};
    size_t traf_at = 0, moof_out, traf_out, senc_data, saio_field, trun_field[EB_MAX_TRUNS];
    EbTraf tr;
    AVBPrint aux, sizes;
    uint8_t *payload = NULL;
    size_t payload_size = mdat->size - mdat->header, cursor;
    uint32_t nb_samples = 0;
    unsigned first_size = 0;
    int same_size = 1, ret;

    /* find the one traf */
    for (size_t pos = 8; pos < m;) {
        if ((ret = eb_box_read(p + pos, m - pos, &box)) < 0)
            return ret;
        if (box.type == EB_TAG('t', 'r', 'a', 'f')) {
            if (traf_box.size)
                return EB_ERR(ENOTSUP);
            traf_box = box;
            traf_at = pos;
        }
        pos += box.size;
    }
    if (!traf_box.size)
        return EB_ERR(EINVAL);
    if ((ret = eb_traf_read(p + traf_at + traf_box.header, traf_box.size - traf_box.header, &tr)) <
        0)
        return ret;

    payload = av_memdup(p + m + mdat->header, payload_size);
    if (!payload && payload_size)
        return EB_ERR(ENOMEM);
    av_bprint_init(&aux, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&sizes, 0, AV_BPRINT_SIZE_UNLIMITED);

    /* the samples, in the mdat's own coordinates */
    cursor = 0;
    for (int i = 0; i < tr.nb_trun; i++) {
        const EbTrun *tn = &tr.trun[i];
        if (tn->has_offset) {
            int64_t off = (int64_t)tn->data_offset - (int64_t)(m + mdat->header);
            if (off < 0 || (uint64_t)off > payload_size) {
                ret = EB_ERR(EINVAL);
                goto end;
            }
            cursor = (size_t)off;
        }
        for (uint32_t k = 0; k < tn->count; k++) {
            uint32_t ssize = eb_trun_sample_size(&tr, tn, k);
            unsigned as;
            if (ssize > payload_size - cursor) {
                ret = EB_ERR(EINVAL);
                goto end;
            }
            if ((ret = eb_cenc_sample(t, payload + cursor, ssize, &aux, &as)) < 0)
                goto end;
            if (nb_samples == 0)
                first_size = as;
            same_size &= as == first_size;
            eb_put8(&sizes, as);
            if (as > 255) {
                ret = EB_ERR(E2BIG);
                goto end;
            }
            cursor += ssize;
            nb_samples++;
        }
    }

    /* the new moof: mfhd etc. as they were, the traf with its new boxes */
    moof_out = eb_box_open(out, EB_TAG('m', 'o', 'o', 'f'));
    eb_put(out, p + 8, traf_at - 8);
    traf_out = eb_box_open(out, EB_TAG('t', 'r', 'a', 'f'));
    {
        size_t trun_i = 0;
        for (size_t pos = 0; pos < tr.n;) {
            eb_box_read(tr.p + pos, tr.n - pos, &box);
            if (box.type == EB_TAG('t', 'r', 'u', 'n') && tr.trun[trun_i].has_offset)
                trun_field[trun_i] = out->len + box.header + 8;
            if (box.type == EB_TAG('t', 'r', 'u', 'n'))
                trun_i++;
            eb_put(out, tr.p + pos, box.size);
            pos += box.size;
        }
    }
    {
        /* senc first: a reader that takes the per-fragment information
         * from senc (ffmpeg's mov demuxer) then ignores saiz/saio, which
         * point into it for readers that go by them. */
        size_t at = eb_box_open(out, EB_TAG('s', 'e', 'n', 'c'));
        eb_put32(out, t->is_video ? 0x2 : 0);
        eb_put32(out, nb_samples);
        senc_data = out->len;
        eb_put(out, aux.str, aux.len);
        eb_box_close(out, at);
        at = eb_box_open(out, EB_TAG('s', 'a', 'i', 'z'));
        eb_put32(out, 0);
        /* a default of 0 means "the table follows": samples without any
         * auxiliary information (cbcs audio) get a table of zeros */
        eb_put8(out, same_size ? first_size : 0);
        eb_put32(out, nb_samples);
        if (!same_size || !first_size)
            eb_put(out, sizes.str, sizes.len);
        eb_box_close(out, at);
        at = eb_box_open(out, EB_TAG('s', 'a', 'i', 'o'));
        eb_put32(out, 0);
        eb_put32(out, 1);
        saio_field = out->len;
        eb_put32(out, 0);
        eb_box_close(out, at);
    }
    eb_box_close(out, traf_out);
    /* anything after the traf in the moof */
    eb_put(out, p + traf_at + traf_box.size, m - traf_at - traf_box.size);
    eb_box_close(out, moof_out);
    if (!av_bprint_is_complete(out) || !av_bprint_is_complete(&aux) ||
        !av_bprint_is_complete(&sizes)) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    {
        int64_t grew = (int64_t)(out->len - moof_out) - (int64_t)m;
        for (int i = 0; i < tr.nb_trun; i++)
            if (tr.trun[i].has_offset)
                AV_WB32(out->str + trun_field[i], (uint32_t)(tr.trun[i].data_offset + grew));
        AV_WB32(out->str + saio_field, (uint32_t)(senc_data - moof_out));
    }
    eb_put(out, p + m, mdat->header);
    eb_put(out, payload, payload_size);
    ret = av_bprint_is_complete(out) ? 0 : EB_ERR(ENOMEM);
end:
    av_free(payload);
    av_bprint_finalize(&aux, NULL);
    av_bprint_finalize(&sizes, NULL);
    return ret;
}

int eb_cenc_track_fragment(EbCencTrack *t, const uint8_t *in, size_t size, uint8_t **out,
                           size_t *out_size)
{
    AVBPrint b;
    int ret = 0;

    av_bprint_init(&b, size + 1024, AV_BPRINT_SIZE_UNLIMITED);
    for (size_t pos = 0; pos < size && ret >= 0;) {
        EbBox box, mdat;
        if ((ret = eb_box_read(in + pos, size - pos, &box)) < 0)
            break;
        if (box.type != EB_TAG('m', 'o', 'o', 'f')) {
            if (box.type == EB_TAG('m', 'd', 'a', 't')) {
                ret = EB_ERR(EINVAL); /* an mdat without its moof */
                break;
            }
            eb_put(&b, in + pos, box.size);
            pos += box.size;
            continue;
        }
        if (box.header != 8 ||
            (ret = eb_box_read(in + pos + box.size, size - pos - box.size, &mdat)) < 0 ||
            mdat.type != EB_TAG('m', 'd', 'a', 't')) {
            ret = ret < 0 ? ret : EB_ERR(EINVAL);
            break;
        }
        ret = eb_cenc_pair(t, in + pos, box.size, &mdat, &b);
        pos += box.size + mdat.size;
    }
    if (ret < 0) {
        av_bprint_finalize(&b, NULL);
        return ret;
    }
    return eb_bprint_finish(&b, out, out_size);
}

int eb_cenc_track_is_video(const EbCencTrack *t)
{
    return t->is_video;
}

void eb_cenc_track_free(EbCencTrack **tp)
{
    EbCencTrack *t = *tp;

    if (!t)
        return;
    av_free(t->avc);
    av_free(t->subs);
    av_free(t->init_in);
    av_free(t->cbc);
    av_free(t->ctr);
    memset(&t->key, 0, sizeof(t->key));
    av_free(t);
    *tp = NULL;
}

int eb_aes128_cbc_encrypt(const uint8_t key[16], const uint8_t iv_in[16], const uint8_t *in,
                          size_t size, uint8_t **out, size_t *out_size)
{
    struct AVAES *aes = av_aes_alloc();
    size_t full = size / 16 * 16, total = full + 16;
    uint8_t iv[16], last[16], *o;
    unsigned pad = (unsigned)(total - size);

    if (!aes)
        return EB_ERR(ENOMEM);
    if (size > (size_t)INT32_MAX * 16 - 32 || !(o = av_malloc(total))) {
        av_free(aes);
        return EB_ERR(ENOMEM);
    }
    av_aes_init(aes, key, 128, 0);
    memcpy(iv, iv_in, 16);
    if (full)
        av_aes_crypt(aes, o, in, (int)(full / 16), iv, 0);
    /* PKCS#7: the last block holds the rest and pad bytes of value pad */
    memcpy(last, in + full, size - full);
    memset(last + (size - full), (int)pad, pad);
    av_aes_crypt(aes, o + full, last, 1, iv, 0);
    av_free(aes);
    *out = o;
    *out_size = total;
    return 0;
}
