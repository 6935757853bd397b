/*
 * encbox's CUDA scaling fan-out kernel. One launch runs every resize job of
 * one cascade level (blockIdx.z picks the job: one plane of one rung), so
 * the source is read by one launch that writes every rung made from it;
 * rungs cascaded from a rung (eb_scale_plan: 480p from 720p, ...) follow in
 * one launch per level.
 *
 * The arithmetic is the normative one of hal/scale/eb_scale_filter.h, with
 * the very tables the CPU fan-out uses (built on the host and uploaded):
 * vertical pass first to an int16 intermediate, mid = (sum coef * px +
 * (1 << 7)) >> 8 saturated to int16, then out = (sum coef * mid + (1 << 19))
 * >> 20 clamped to 0..255. Each thread computes its output sample's htaps
 * intermediates itself, so GPU and CPU agree bit for bit. NV12's UV plane
 * is one job: U and V share the chroma tables.
 */
#include "eb_cuda_compat.h"
#include "eb_fanout_cuda_shared.h"
#include "eb_scale_filter.h"

extern "C" __global__ void eb_fanout_nv12(const EbCudaScaleJob *jobs, int first_job,
                                          const int *pos, const short *coef, EbCudaPics pics)
{
    const EbCudaScaleJob *j = &jobs[first_job + eb_ctaid_z()];
    int x = eb_ctaid_x() * eb_ntid_x() + eb_tid_x();
    int y = eb_ctaid_y() * eb_ntid_y() + eb_tid_y();
    if (x >= j->dst_w || y >= j->dst_h)
        return;

    const int comps = j->plane ? 2 : 1;
    const unsigned char *src = (const unsigned char *)pics.data[j->src_pic][j->plane];
    unsigned char *dst = (unsigned char *)pics.data[j->dst_pic][j->plane];
    const int sp = pics.pitch[j->src_pic][j->plane];
    const int dp = pics.pitch[j->dst_pic][j->plane];
    const int htaps = j->htaps, vtaps = j->vtaps;
    const int x0 = pos[j->hpos + x], y0 = pos[j->vpos + y];
    const short *hc = coef + j->hcoef + x * htaps;
    const short *vc = coef + j->vcoef + y * vtaps;

    for (int c = 0; c < comps; c++) {
        int acc = 1 << (EB_SCALE_OUT_SHIFT - 1);
        for (int kx = 0; kx < htaps; kx++) {
            const unsigned char *col = src + (long)y0 * sp + (x0 + kx) * comps + c;
            int m = 1 << (EB_SCALE_MID_SHIFT - 1);
            for (int ky = 0; ky < vtaps; ky++)
                m += vc[ky] * col[(long)ky * sp];
            m >>= EB_SCALE_MID_SHIFT;
            m = m < -32768 ? -32768 : m > 32767 ? 32767 : m;
            acc += hc[kx] * m;
        }
        acc >>= EB_SCALE_OUT_SHIFT;
        dst[(long)y * dp + x * comps + c] = (unsigned char)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }
}
