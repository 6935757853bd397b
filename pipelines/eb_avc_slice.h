/*
 * The length of an H.264 slice header (ITU-T H.264 7.3.3), for Common
 * Encryption's subsamples: ISO/IEC 23001-7 (cbcs, 10.4.2; and the 'cenc'
 * AVC rule) keeps each VCL NAL unit's header and slice header in the
 * clear, so a packager has to know where the slice data starts. That needs
 * the fields of the sequence and picture parameter sets the slice header
 * depends on; only those are kept.
 *
 * Not supported (an error, never a guess): slice groups (FMO,
 * num_slice_groups_minus1 > 0) and the MVC/SVC extension NAL units, which
 * no encoder encbox drives produces.
 */
#ifndef EB_AVC_SLICE_H
#define EB_AVC_SLICE_H

#include <stddef.h>
#include <stdint.h>

typedef struct EbAvcSps {
    int valid;
    int chroma_array_type;
    int separate_colour_plane;
    int log2_max_frame_num;
    int poc_type;
    int log2_max_poc_lsb;
    int delta_pic_order_always_zero;
    int frame_mbs_only;
} EbAvcSps;

typedef struct EbAvcPps {
    int valid;
    int sps_id;
    int cabac;
    int bottom_field_pic_order_in_frame_present;
    int num_ref_idx_default[2];
    int weighted_pred;
    int weighted_bipred_idc;
    int deblocking_filter_control_present;
    int redundant_pic_cnt_present;
} EbAvcPps;

typedef struct EbAvcParams {
    EbAvcSps sps[32];
    EbAvcPps pps[256];
} EbAvcParams;

/* Reads a parameter set NAL unit (type 7 or 8; header byte included,
 * emulation prevention bytes still in) into params. 0 or a negative error
 * (a set that cannot be read or uses what is not supported). */
int eb_avc_parse_param_set(EbAvcParams *params, const uint8_t *nal, size_t size);

/* The bytes of a coded slice NAL unit (type 1 or 5; header byte included)
 * that must stay clear: the NAL header and the slice header, rounded up to
 * a whole byte (CAVLC slice data starts mid-byte: that byte stays clear
 * too), emulation prevention bytes counted. >0, or a negative error (a
 * parameter set it names is missing, or the header runs past the unit). */
int eb_avc_slice_header_size(const EbAvcParams *params, const uint8_t *nal, size_t size);

#endif
