/*
 * RFC 6381 codec strings (the HLS CODECS attribute, DASH @codecs) of a video
 * encoder's output, read from its extradata: the parameter sets an encoder
 * opened with AV_CODEC_FLAG_GLOBAL_HEADER leaves there, either as Annex B
 * NAL units (libx264, libx265, the hardware encoders) or as an
 * avcC/hvcC record. Pure functions, unit-tested on constructed bytes.
 *
 *   H.264: avc1.PPCCLL (profile_idc, constraint flags, level_idc, hex).
 *   HEVC:  hvc1.[A|B|C]<profile_idc>.<compatibility flags, bit-reversed,
 *          hex>.<L|H><level_idc>[.<constraint byte>...] (ISO/IEC 14496-15
 *          Annex E; trailing zero constraint bytes are left out), e.g.
 *          hvc1.1.6.L93.B0 for Main at level 3.1.
 */
#ifndef EB_CODEC_STRING_H
#define EB_CODEC_STRING_H

#include <stddef.h>
#include <stdint.h>

/* Return 0 with out filled, or EB_ERR(EINVAL) when the extradata holds no
 * readable SPS (out is then left empty). */
int eb_codec_string_avc(const uint8_t *extradata, int size, char *out, size_t out_size);
int eb_codec_string_hevc(const uint8_t *extradata, int size, char *out, size_t out_size);

#endif
