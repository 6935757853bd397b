/*
 * H.264 slice header length (see eb_avc_slice.h). The syntax followed is
 * ITU-T H.264 (08/2021) 7.3.2.1.1 (SPS), 7.3.2.2 (PPS), 7.3.3 (slice
 * header), 7.3.3.1 (ref_pic_list_modification), 7.3.3.2
 * (pred_weight_table) and 7.3.3.3 (dec_ref_pic_marking).
 */
#include "eb_avc_slice.h"

#include <errno.h>
#include <string.h>

#include "eb_error.h"

/* An RBSP (emulation prevention bytes removed) read bit by bit; a read
 * past the end sets overrun instead of reading garbage. escaped_at maps
 * RBSP bytes back to the NAL unit's. */
enum { EB_RBSP_MAX = 4096 };

typedef struct EbBits {
    uint8_t buf[EB_RBSP_MAX];
    uint16_t escaped_at[EB_RBSP_MAX]; /* NAL offset of buf[i] */
    size_t size;
    size_t pos; /* bits */
    int overrun;
} EbBits;

static void eb_bits_load(EbBits *b, const uint8_t *nal, size_t size)
{
    int zeros = 0;

    b->size = 0;
    b->pos = 0;
    b->overrun = 0;
    for (size_t i = 0; i < size && b->size < EB_RBSP_MAX; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] ? 0 : zeros + 1;
        b->escaped_at[b->size] = (uint16_t)i;
        b->buf[b->size++] = nal[i];
    }
}

static unsigned eb_bit(EbBits *b)
{
    unsigned v;

    if (b->pos >= b->size * 8) {
        b->overrun = 1;
        return 0;
    }
    v = (b->buf[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
    b->pos++;
    return v;
}

static uint32_t eb_bits(EbBits *b, int n)
{
    uint32_t v = 0;

    while (n-- > 0)
        v = (v << 1) | eb_bit(b);
    return v;
}

static uint32_t eb_ue(EbBits *b)
{
    int zeros = 0;

    while (!eb_bit(b)) {
        if (b->overrun || ++zeros > 31) {
            b->overrun = 1;
            return 0;
        }
    }
    return zeros ? ((1u << zeros) - 1) + eb_bits(b, zeros) : 0;
}

static int32_t eb_se(EbBits *b)
{
    uint32_t k = eb_ue(b);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

static void eb_skip_scaling_list(EbBits *b, int n)
{
    int last = 8, next = 8;

    for (int j = 0; j < n && !b->overrun; j++) {
        if (next != 0)
            next = (last + eb_se(b) + 256) % 256;
        last = next ? next : last;
    }
}

static int eb_avc_parse_sps(EbAvcParams *params, EbBits *b)
{
    EbAvcSps sps = {.valid = 1, .chroma_array_type = 1};
    unsigned profile, id;

    profile = eb_bits(b, 8);
    eb_bits(b, 16); /* constraint flags, level_idc */
    id = eb_ue(b);
    if (id >= 32)
        return EB_ERR(EINVAL);
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
        profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
        profile == 139 || profile == 134 || profile == 135) {
        unsigned chroma_format_idc = eb_ue(b);
        if (chroma_format_idc == 3)
            sps.separate_colour_plane = (int)eb_bit(b);
        sps.chroma_array_type = sps.separate_colour_plane ? 0 : (int)chroma_format_idc;
        eb_ue(b);        /* bit_depth_luma_minus8 */
        eb_ue(b);        /* bit_depth_chroma_minus8 */
        eb_bit(b);       /* qpprime_y_zero_transform_bypass_flag */
        if (eb_bit(b)) { /* seq_scaling_matrix_present_flag */
            int n = chroma_format_idc != 3 ? 8 : 12;
            for (int i = 0; i < n; i++)
                if (eb_bit(b))
                    eb_skip_scaling_list(b, i < 6 ? 16 : 64);
        }
    }
    sps.log2_max_frame_num = (int)eb_ue(b) + 4;
    sps.poc_type = (int)eb_ue(b);
    if (sps.poc_type == 0) {
        sps.log2_max_poc_lsb = (int)eb_ue(b) + 4;
    } else if (sps.poc_type == 1) {
        unsigned cycle;
        sps.delta_pic_order_always_zero = (int)eb_bit(b);
        eb_se(b);
        eb_se(b);
        cycle = eb_ue(b);
        if (cycle > 255)
            return EB_ERR(EINVAL);
        for (unsigned i = 0; i < cycle; i++)
            eb_se(b);
    } else if (sps.poc_type != 2) {
        return EB_ERR(EINVAL);
    }
    eb_ue(b);  /* max_num_ref_frames */
    eb_bit(b); /* gaps_in_frame_num_value_allowed_flag */
    eb_ue(b);  /* pic_width_in_mbs_minus1 */
    eb_ue(b);  /* pic_height_in_map_units_minus1 */
    sps.frame_mbs_only = (int)eb_bit(b);
    if (b->overrun || sps.log2_max_frame_num > 16 || sps.log2_max_poc_lsb > 16)
        return EB_ERR(EINVAL);
    params->sps[id] = sps;
    return 0;
}

static int eb_avc_parse_pps(EbAvcParams *params, EbBits *b)
{
    EbAvcPps pps = {.valid = 1};
    unsigned id = eb_ue(b);

    pps.sps_id = (int)eb_ue(b);
    if (id >= 256 || pps.sps_id >= 32)
        return EB_ERR(EINVAL);
    pps.cabac = (int)eb_bit(b);
    pps.bottom_field_pic_order_in_frame_present = (int)eb_bit(b);
    if (eb_ue(b) != 0) /* num_slice_groups_minus1: FMO */
        return EB_ERR(ENOTSUP);
    pps.num_ref_idx_default[0] = (int)eb_ue(b) + 1;
    pps.num_ref_idx_default[1] = (int)eb_ue(b) + 1;
    pps.weighted_pred = (int)eb_bit(b);
    pps.weighted_bipred_idc = (int)eb_bits(b, 2);
    eb_se(b); /* pic_init_qp_minus26 */
    eb_se(b); /* pic_init_qs_minus26 */
    eb_se(b); /* chroma_qp_index_offset */
    pps.deblocking_filter_control_present = (int)eb_bit(b);
    eb_bit(b); /* constrained_intra_pred_flag */
    pps.redundant_pic_cnt_present = (int)eb_bit(b);
    if (b->overrun || pps.num_ref_idx_default[0] > 32 || pps.num_ref_idx_default[1] > 32)
        return EB_ERR(EINVAL);
    params->pps[id] = pps;
    return 0;
}

int eb_avc_parse_param_set(EbAvcParams *params, const uint8_t *nal, size_t size)
{
    EbBits b;
    int type;

    if (!size)
        return EB_ERR(EINVAL);
    type = nal[0] & 0x1f;
    eb_bits_load(&b, nal + 1, size - 1);
    if (type == 7)
        return eb_avc_parse_sps(params, &b);
    if (type == 8)
        return eb_avc_parse_pps(params, &b);
    return EB_ERR(EINVAL);
}

static void eb_skip_ref_list_modification(EbBits *b)
{
    if (!eb_bit(b)) /* ref_pic_list_modification_flag_lX */
        return;
    for (int n = 0; n < 100 && !b->overrun; n++) {
        unsigned idc = eb_ue(b);
        if (idc == 3)
            return;
        if (idc > 5) {
            b->overrun = 1;
            return;
        }
        eb_ue(b); /* abs_diff_pic_num_minus1, long_term_pic_num, abs_diff_view_idx */
    }
}

static void eb_skip_pred_weight_table(EbBits *b, const EbAvcSps *sps, int is_b,
                                      const int num_ref[2])
{
    eb_ue(b); /* luma_log2_weight_denom */
    if (sps->chroma_array_type != 0)
        eb_ue(b); /* chroma_log2_weight_denom */
    for (int list = 0; list < 1 + is_b; list++) {
        for (int i = 0; i < num_ref[list] && !b->overrun; i++) {
            if (eb_bit(b)) { /* luma_weight_flag */
                eb_se(b);
                eb_se(b);
            }
            if (sps->chroma_array_type != 0 && eb_bit(b)) { /* chroma_weight_flag */
                for (int j = 0; j < 4; j++)
                    eb_se(b);
            }
        }
    }
}

static void eb_skip_dec_ref_pic_marking(EbBits *b, int idr)
{
    if (idr) {
        eb_bit(b); /* no_output_of_prior_pics_flag */
        eb_bit(b); /* long_term_reference_flag */
        return;
    }
    if (!eb_bit(b)) /* adaptive_ref_pic_marking_mode_flag */
        return;
    for (int n = 0; n < 100 && !b->overrun; n++) {
        unsigned op = eb_ue(b);
        if (op == 0)
            return;
        if (op > 6) {
            b->overrun = 1;
            return;
        }
        if (op == 1 || op == 3)
            eb_ue(b); /* difference_of_pic_nums_minus1 */
        if (op == 2)
            eb_ue(b); /* long_term_pic_num */
        if (op == 3 || op == 6)
            eb_ue(b); /* long_term_frame_idx */
        if (op == 4)
            eb_ue(b); /* max_long_term_frame_idx_plus1 */
    }
}

int eb_avc_slice_header_size(const EbAvcParams *params, const uint8_t *nal, size_t size)
{
    EbBits b; /* 12 KiB on the caller's stack */
    const EbAvcSps *sps;
    const EbAvcPps *pps;
    int type, ref_idc, idr, slice_type, field = 0, num_ref[2];
    unsigned pps_id;
    size_t bytes;

    if (size < 2)
        return EB_ERR(EINVAL);
    type = nal[0] & 0x1f;
    ref_idc = (nal[0] >> 5) & 3;
    if (type != 1 && type != 5)
        return EB_ERR(EINVAL);
    idr = type == 5;
    eb_bits_load(&b, nal + 1, size - 1);

    eb_ue(&b); /* first_mb_in_slice */
    slice_type = (int)(eb_ue(&b) % 5);
    pps_id = eb_ue(&b);
    if (b.overrun || pps_id >= 256 || !params->pps[pps_id].valid)
        return EB_ERR(EINVAL);
    pps = &params->pps[pps_id];
    sps = &params->sps[pps->sps_id];
    if (!sps->valid)
        return EB_ERR(EINVAL);
    if (sps->separate_colour_plane)
        eb_bits(&b, 2);                   /* colour_plane_id */
    eb_bits(&b, sps->log2_max_frame_num); /* frame_num */
    if (!sps->frame_mbs_only) {
        field = (int)eb_bit(&b);
        if (field)
            eb_bit(&b); /* bottom_field_flag */
    }
    if (idr)
        eb_ue(&b); /* idr_pic_id */
    if (sps->poc_type == 0) {
        eb_bits(&b, sps->log2_max_poc_lsb);
        if (pps->bottom_field_pic_order_in_frame_present && !field)
            eb_se(&b); /* delta_pic_order_cnt_bottom */
    }
    if (sps->poc_type == 1 && !sps->delta_pic_order_always_zero) {
        eb_se(&b);
        if (pps->bottom_field_pic_order_in_frame_present && !field)
            eb_se(&b);
    }
    if (pps->redundant_pic_cnt_present)
        eb_ue(&b);
    /* slice_type % 5: 0 P, 1 B, 2 I, 3 SP, 4 SI */
    if (slice_type == 1)
        eb_bit(&b); /* direct_spatial_mv_pred_flag */
    num_ref[0] = pps->num_ref_idx_default[0];
    num_ref[1] = pps->num_ref_idx_default[1];
    if (slice_type == 0 || slice_type == 1 || slice_type == 3) {
        if (eb_bit(&b)) { /* num_ref_idx_active_override_flag */
            num_ref[0] = (int)eb_ue(&b) + 1;
            if (slice_type == 1)
                num_ref[1] = (int)eb_ue(&b) + 1;
        }
    }
    if (num_ref[0] > 32 || num_ref[1] > 32)
        return EB_ERR(EINVAL);
    if (slice_type != 2 && slice_type != 4)
        eb_skip_ref_list_modification(&b);
    if (slice_type == 1)
        eb_skip_ref_list_modification(&b);
    if ((pps->weighted_pred && (slice_type == 0 || slice_type == 3)) ||
        (pps->weighted_bipred_idc == 1 && slice_type == 1))
        eb_skip_pred_weight_table(&b, sps, slice_type == 1, num_ref);
    if (ref_idc)
        eb_skip_dec_ref_pic_marking(&b, idr);
    if (pps->cabac && slice_type != 2 && slice_type != 4)
        eb_ue(&b); /* cabac_init_idc */
    eb_se(&b);     /* slice_qp_delta */
    if (slice_type == 3 || slice_type == 4) {
        if (slice_type == 3)
            eb_bit(&b); /* sp_for_switch_flag */
        eb_se(&b);      /* slice_qs_delta */
    }
    if (pps->deblocking_filter_control_present) {
        if (eb_ue(&b) != 1) { /* disable_deblocking_filter_idc */
            eb_se(&b);
            eb_se(&b);
        }
    }
    /* CABAC slice data starts byte-aligned (cabac_alignment_one_bit);
     * CAVLC's first byte is shared with the header: both round up. */
    bytes = (b.pos + 7) / 8;
    if (b.overrun || bytes >= b.size)
        return EB_ERR(EINVAL);
    /* Back to the NAL unit's bytes: the RBSP byte that follows the header
     * starts the slice data, escapes before it belong to the header. */
    return 1 + (int)b.escaped_at[bytes];
}
