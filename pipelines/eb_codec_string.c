/*
 * Codec strings from parameter sets. The fields needed sit at fixed byte
 * offsets from the start of the SPS payload (H.264: the three bytes after
 * the NAL header; HEVC: the 12-byte general profile_tier_level after one
 * byte of ids), so no bit reader is needed, only the removal of emulation
 * prevention bytes (00 00 03) from the first bytes of the payload.
 */
#include "eb_codec_string.h"

#include <stdio.h>
#include <string.h>

#include "eb_error.h"

/* Copies up to max payload bytes of the NAL unit at p[0..n) (after its
 * header of hdr bytes) into out, dropping emulation prevention bytes.
 * Returns the number of bytes written. */
static int eb_nal_payload(const uint8_t *p, int n, int hdr, uint8_t *out, int max)
{
    int zeros = 0, o = 0;

    for (int i = hdr; i < n && o < max; i++) {
        if (zeros >= 2 && p[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = p[i] == 0 ? zeros + 1 : 0;
        out[o++] = p[i];
    }
    return o;
}

/* Finds the first Annex B NAL unit for which is_sps(first header byte) is
 * true; sets *nal and *len (up to the next start code or the end). */
static int eb_find_nal(const uint8_t *p, int n, int (*is_sps)(uint8_t), const uint8_t **nal,
                       int *len)
{
    for (int i = 0; i + 3 < n; i++) {
        if (p[i] || p[i + 1] || p[i + 2] != 1)
            continue;
        if (is_sps(p[i + 3])) {
            int end = i + 3;
            while (end + 2 < n &&
                   !(p[end] == 0 && p[end + 1] == 0 && (p[end + 2] == 1 || p[end + 2] == 0)))
                end++;
            if (end + 2 >= n)
                end = n;
            *nal = p + i + 3;
            *len = end - (i + 3);
            return 0;
        }
    }
    return EB_ERR(EINVAL);
}

static int eb_is_avc_sps(uint8_t b)
{
    return (b & 0x1f) == 7;
}

static int eb_is_hevc_sps(uint8_t b)
{
    return ((b >> 1) & 0x3f) == 33;
}

int eb_codec_string_avc(const uint8_t *p, int n, char *out, size_t size)
{
    uint8_t b[3];
    const uint8_t *nal;
    int len;

    if (size)
        out[0] = '\0';
    if (!p || n < 4)
        return EB_ERR(EINVAL);
    if (p[0] == 1) { /* avcC: version, profile, constraints, level */
        snprintf(out, size, "avc1.%02x%02x%02x", p[1], p[2], p[3]);
        return 0;
    }
    if (eb_find_nal(p, n, eb_is_avc_sps, &nal, &len) < 0 || eb_nal_payload(nal, len, 1, b, 3) < 3)
        return EB_ERR(EINVAL);
    snprintf(out, size, "avc1.%02x%02x%02x", b[0], b[1], b[2]);
    return 0;
}

/* ptl: the 12 bytes of general_profile_tier_level (profile space, tier and
 * profile idc; 32 compatibility flags; 48 bits of constraint flags; level). */
static void eb_hevc_string(const uint8_t *ptl, char *out, size_t size)
{
    static const char *const space[] = {"", "A", "B", "C"};
    uint32_t compat =
        (uint32_t)ptl[1] << 24 | (uint32_t)ptl[2] << 16 | (uint32_t)ptl[3] << 8 | ptl[4];
    uint32_t rev = 0;
    int last = 0, len;

    for (int i = 0; i < 32; i++)
        if (compat & (1u << i))
            rev |= 1u << (31 - i);
    len = snprintf(out, size, "hvc1.%s%d.%X.%c%d", space[ptl[0] >> 6], ptl[0] & 0x1f, rev,
                   ptl[0] & 0x20 ? 'H' : 'L', ptl[11]);
    for (int i = 0; i < 6; i++)
        if (ptl[5 + i])
            last = i + 1;
    for (int i = 0; i < last && len > 0 && (size_t)len < size; i++)
        len += snprintf(out + len, size - (size_t)len, ".%X", ptl[5 + i]);
}

int eb_codec_string_hevc(const uint8_t *p, int n, char *out, size_t size)
{
    uint8_t b[13];
    const uint8_t *nal;
    int len;

    if (size)
        out[0] = '\0';
    if (!p || n < 13)
        return EB_ERR(EINVAL);
    if (p[0] == 1) { /* hvcC: version, then the general profile_tier_level */
        eb_hevc_string(p + 1, out, size);
        return 0;
    }
    /* SPS payload: one byte of vps id, max sub-layers and nesting flag,
     * then profile_tier_level. */
    if (eb_find_nal(p, n, eb_is_hevc_sps, &nal, &len) < 0 ||
        eb_nal_payload(nal, len, 2, b, 13) < 13)
        return EB_ERR(EINVAL);
    eb_hevc_string(b + 1, out, size);
    return 0;
}
