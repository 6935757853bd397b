/*
 * encbox's CUDA scaling fan-out kernel. One launch per source frame writes
 * every rung: blockIdx.z picks the job (one plane of one rung), and every
 * job reads the source (the direct plan, eb_scale_plan_depth with
 * max_depth 1), so the source is read by that one launch and no rung waits
 * for another. On a GPU a cascade (480p from 720p, ...) would save nothing
 * worth a launch per level: the source stays in L2 and a 1080p -> 360p
 * Lanczos-3 of 18 taps is small work for the device.
 *
 * Shared versus per backend: the filter definition (kernel, taps, phases,
 * rounding, pass order) is hal/scale/eb_scale_filter.h's, the CPU fan-out's
 * own, with the very tables it builds (made on the host, uploaded); which
 * picture a rung is made from is per backend: the CPU cascades, CUDA reads
 * the source. The per-sample arithmetic is eb_cuda_scale_sample() of
 * eb_fanout_cuda_shared.h. Each thread computes its output sample's
 * horizontal taps' intermediates itself, so on the same plan GPU and CPU
 * agree bit for bit. NV12's UV plane is one job: U and V share the chroma
 * tables.
 *
 * Rotation (90, 180, 270 clockwise) is applied here: a job's tables are
 * those of the rotated plane and its reads are remapped into the stored
 * source (see EbCudaScaleJob), so a rotated rung equals "rotate the planes
 * losslessly, then resize".
 *
 * Built to PTX by clang 14 (hal/nvidia/CMakeLists.txt). Not run on a GPU:
 * no development machine has one; the tests run the same per-sample code
 * on the host (tests/test_hal_cuda_plan.c).
 */
#include "eb_cuda_compat.h"
#include "eb_fanout_cuda_shared.h"

extern "C" __global__ void eb_fanout_nv12(const EbCudaScaleJob *jobs, const int *pos,
                                          const short *coef, EbCudaPics pics)
{
    const EbCudaScaleJob *j = &jobs[eb_ctaid_z()];
    int x = eb_ctaid_x() * eb_ntid_x() + eb_tid_x();
    int y = eb_ctaid_y() * eb_ntid_y() + eb_tid_y();
    if (x >= j->dst_w || y >= j->dst_h)
        return;
    eb_cuda_scale_sample(j, pos, coef, (const unsigned char *)pics.data[j->src_pic][j->plane],
                         pics.pitch[j->src_pic][j->plane],
                         (unsigned char *)pics.data[j->dst_pic][j->plane],
                         pics.pitch[j->dst_pic][j->plane], x, y);
}
