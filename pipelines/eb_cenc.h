/*
 * Common Encryption (ISO/IEC 23001-7) of CMAF sections, as encbox's
 * segmenters write them (libavformat's mp4 muxer, fragmented, one track
 * per file, default-base-is-moof). ffmpeg 5.1 cannot write cbcs, pssh or
 * per-fragment senc/saiz/saio, so this rewrites its output:
 *
 *   init section  avc1/mp4a -> encv/enca with sinf (frma, schm, schi/tenc),
 *                 a pssh (the common system id, v1, listing the key id)
 *                 at the end of moov
 *   fragment      every moof gets saiz + saio + senc in its traf (trun
 *                 data offsets moved by what the moof grew); every sample
 *                 in the mdat encrypted in place, sizes unchanged
 *
 * Schemes:
 *   cenc  AES-128-CTR, 8-byte per-sample IVs (a random start per track,
 *         +1 per sample)
 *   cbcs  AES-128-CBC, a constant 16-byte IV (tenc), video with the 1:9
 *         pattern, audio with whole blocks (pattern 0:0)
 * Video (H.264) is subsample-encrypted: each NAL unit's length, header and
 * slice header stay clear (eb_avc_slice.h), non-VCL NAL units stay clear,
 * and the protected range of a slice is a whole number of 16-byte blocks
 * (the remainder joins the clear bytes before it). Audio samples are
 * encrypted whole (no subsamples; cbcs leaves a trailing partial block
 * clear, as the scheme says).
 *
 * AES is libavutil's (av_aes, av_aes_ctr).
 *
 * Threading: an EbCencTrack is used by one thread at a time (a rendition's
 * callbacks are serial).
 */
#ifndef EB_CENC_H
#define EB_CENC_H

#include <stddef.h>
#include <stdint.h>

typedef enum EbCencScheme {
    EB_CENC_SCHEME_CENC = 1,
    EB_CENC_SCHEME_CBCS = 2,
} EbCencScheme;

/* The W3C common system id (ClearKey and any CENC-aware player). */
extern const uint8_t eb_cenc_common_system_id[16];

typedef struct EbCencKey {
    uint8_t kid[16];
    uint8_t key[16];
    uint8_t iv[16]; /* cbcs: the constant IV; cenc: the first 8 bytes start the
                     * per-sample IVs */
} EbCencKey;

typedef struct EbCencTrack EbCencTrack;

/* A track's encryptor from its clear init section. The caller owns *out
 * (eb_cenc_track_free). Errors: EB_ERR(EINVAL) for a section that is not
 * one track of H.264 or AAC (HEVC: ENOTSUP, with the reason in detail). */
int eb_cenc_track_open(EbCencScheme scheme, const EbCencKey *key, const uint8_t *init, size_t size,
                       EbCencTrack **out, char *detail, size_t detail_size);

/* The protected init section: *out (av_malloc'd, the caller's) of *out_size
 * bytes. extra_pssh: whole pssh boxes (a key provider's, for other DRM
 * systems) appended after the common one, or NULL. */
int eb_cenc_track_init(EbCencTrack *t, const uint8_t *extra_pssh, size_t extra_size, uint8_t **out,
                       size_t *out_size);

/* Encrypts a segment or a part (any boxes; each moof+mdat pair is
 * protected, other boxes - styp, prft, sidx - are copied): *out
 * (av_malloc'd, the caller's). Fragments must come in decode order: cenc
 * IVs follow the samples. */
int eb_cenc_track_fragment(EbCencTrack *t, const uint8_t *in, size_t size, uint8_t **out,
                           size_t *out_size);

/* Whether the track is video (subsample-encrypted). */
int eb_cenc_track_is_video(const EbCencTrack *t);

void eb_cenc_track_free(EbCencTrack **t);

/* A whole pssh box (version 1) for system_id listing kids, with data
 * (NULL/0: none): *out av_malloc'd, the caller's. */
int eb_cenc_pssh(const uint8_t system_id[16], const uint8_t (*kids)[16], int nb_kids,
                 const uint8_t *data, size_t data_size, uint8_t **out, size_t *out_size);

/* AES-128-CBC with PKCS#7 padding over a whole buffer (HLS METHOD=AES-128
 * segments): *out av_malloc'd, (size / 16 + 1) * 16 bytes. */
int eb_aes128_cbc_encrypt(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                          size_t size, uint8_t **out, size_t *out_size);

#endif
