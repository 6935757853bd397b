/*
 * encbox's CUDA scaling fan-out kernel. One launch runs every resize job of
 * one cascade level (blockIdx.z picks the job: one plane of one rung), so
 * the source is read by one launch that writes every rung made from it;
 * rungs cascaded from a rung (eb_scale_plan: 480p from 720p, ...) follow in
 * one launch per level.
 *
 * The per-sample arithmetic is eb_cuda_scale_sample() of
 * eb_fanout_cuda_shared.h, the normative one of hal/scale/eb_scale_filter.h,
 * with the very tables the CPU fan-out uses (built on the host and
 * uploaded). Each thread computes its output sample's horizontal taps'
 * intermediates itself, so GPU and CPU agree bit for bit. NV12's UV plane
 * is one job: U and V share the chroma tables.
 */
#include "eb_cuda_compat.h"
#include "eb_fanout_cuda_shared.h"

extern "C" __global__ void eb_fanout_nv12(const EbCudaScaleJob *jobs, int first_job, const int *pos,
                                          const short *coef, EbCudaPics pics)
{
    const EbCudaScaleJob *j = &jobs[first_job + eb_ctaid_z()];
    int x = eb_ctaid_x() * eb_ntid_x() + eb_tid_x();
    int y = eb_ctaid_y() * eb_ntid_y() + eb_tid_y();
    if (x >= j->dst_w || y >= j->dst_h)
        return;
    eb_cuda_scale_sample(j, pos, coef, (const unsigned char *)pics.data[j->src_pic][j->plane],
                         pics.pitch[j->src_pic][j->plane],
                         (unsigned char *)pics.data[j->dst_pic][j->plane],
                         pics.pitch[j->dst_pic][j->plane], x, y);
}
