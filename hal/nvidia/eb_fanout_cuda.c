/*
 * Host side of the CUDA scaling fan-out: NV12 CUDA frames in (NVDEC's
 * output), every rung's NV12 CUDA frame out, with the kernel of
 * eb_fanout_cuda.cu (embedded PTX, loaded with cuModuleLoadData through
 * ffnvcodec's loader).
 *
 * At open: the direct plan (eb_scale_plan_depth with max_depth 1: every
 * resized rung made from the source, in the geometry after rotation), the
 * filter tables of every resize (eb_scale_filter_init, the CPU fan-out's
 * definition and tables; the CPU cascades instead, see
 * hal/scale/eb_scale_filter.h), uploaded once with the job descriptors. Per
 * frame: output surfaces from each rung's frames context (shared with that
 * rung's encoder through eb_hal_hw_frames), one launch on the device's
 * stream writing every rung (blockIdx.z over the jobs), then a stream sync
 * so the frames are complete when handed on. Rotation by 90, 180 or 270
 * degrees is done by that launch (remapped source reads); a rung of the
 * source's size is a reference only without rotation, and a rung of an
 * earlier rung's size is a reference to it, as on the CPU.
 *
 * Not validated on hardware (no development machine has a GPU): the
 * arithmetic and the rotation remap are the CPU's on the direct plan, bit
 * for bit, by construction, and checked on the host only
 * (tests/test_hal_cuda_plan.c runs the kernel's per-sample code there).
 */
#include <stdlib.h>
#include <string.h>

#include <libavutil/hwcontext.h>

#include "eb_error.h"
#include "eb_fanout_cuda_plan.h"
#include "eb_hal_hw.h"
#include "eb_log.h"
#include "eb_nvidia.h"
#include "eb_nvidia_loader.h"
#include "eb_scale_filter.h"

#include <libavutil/hwcontext_cuda.h>

_Static_assert(EB_HAL_MAX_OUTPUTS + 1 <= EB_CUDA_MAX_PICS, "picture table too small");

struct EbFanout {
    const CudaFunctions *cu;
    CUcontext ctx;
    CUstream stream;
    CUmodule mod;
    CUfunction fn;
    EbFanoutConfig cfg;
    EbCudaPlan plan;
    AVBufferRef *frames[EB_HAL_MAX_OUTPUTS];
    CUdeviceptr d_jobs, d_pos, d_coef;
};

static int cu_check(CUresult r, const char *what)
{
    const char *text;
    int err;
    if (r == CUDA_SUCCESS)
        return 0;
    err = eb_nvidia_cuda_status(r, &text);
    EB_LOGE("nvidia", "%s: %s", what, text);
    return err;
}

static int upload(EbFanout *f, CUdeviceptr *d, const void *src, size_t size)
{
    int ret = cu_check(f->cu->cuMemAlloc(d, size ? size : 1), "cuMemAlloc");
    if (ret < 0)
        return ret;
    return size ? cu_check(f->cu->cuMemcpyHtoD(d[0], src, size), "cuMemcpyHtoD") : 0;
}

void eb_nvidia_fanout_close(EbFanout **fp)
{
    EbFanout *f = *fp;
    CUcontext dummy;
    if (!f)
        return;
    if (f->cu && f->ctx && f->cu->cuCtxPushCurrent(f->ctx) == CUDA_SUCCESS) {
        if (f->d_jobs)
            f->cu->cuMemFree(f->d_jobs);
        if (f->d_pos)
            f->cu->cuMemFree(f->d_pos);
        if (f->d_coef)
            f->cu->cuMemFree(f->d_coef);
        if (f->mod)
            f->cu->cuModuleUnload(f->mod);
        f->cu->cuCtxPopCurrent(&dummy);
    }
    for (int i = 0; i < EB_HAL_MAX_OUTPUTS; i++)
        av_buffer_unref(&f->frames[i]);
    eb_cuda_plan_uninit(&f->plan);
    free(f);
    *fp = NULL;
}

int eb_nvidia_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    char reason[EB_HAL_REASON_MAX] = "";
    AVCUDADeviceContext *hw;
    EbFanout *f;
    CUcontext dummy;
    int pushed = 0, ret;

    *out = NULL;
    if (!eb_nvidia_have_kernel()) {
        EB_LOGE("nvidia", "CUDA fan-out kernel missing (built without clang)");
        return EB_ERR(ENOSYS);
    }
    if (!dev->hw_device_ctx || cfg->src_format != AV_PIX_FMT_CUDA ||
        (cfg->rotation != 0 && cfg->rotation != 90 && cfg->rotation != 180 &&
         cfg->rotation != 270) ||
        cfg->nb_outputs < 1 || cfg->nb_outputs > EB_HAL_MAX_OUTPUTS)
        return EB_ERR(EINVAL);
    f = calloc(1, sizeof(*f));
    if (!f)
        return EB_ERR(ENOMEM);
    f->cfg = *cfg;
    ret = eb_nvidia_cuda(&f->cu, reason, sizeof(reason));
    if (ret < 0) {
        EB_LOGE("nvidia", "%s", reason);
        goto error;
    }
    hw = ((AVHWDeviceContext *)dev->hw_device_ctx->data)->hwctx;
    f->ctx = hw->cuda_ctx;
    f->stream = hw->stream;
    ret = eb_cuda_plan_init(&f->plan, cfg);
    if (ret < 0)
        goto error;
    /* Each rung's surfaces come from the frames context its encoder uses. */
    for (int i = 0; i < cfg->nb_outputs; i++) {
        ret = eb_hal_hw_frames(dev, cfg->outputs[i].width, cfg->outputs[i].height, &f->frames[i]);
        if (ret < 0)
            goto error;
    }
    ret = cu_check(f->cu->cuCtxPushCurrent(f->ctx), "cuCtxPushCurrent");
    if (ret < 0)
        goto error;
    pushed = 1;
    ret = cu_check(f->cu->cuModuleLoadData(&f->mod, eb_fanout_cuda_ptx), "cuModuleLoadData");
    if (ret < 0)
        goto error;
    ret = cu_check(f->cu->cuModuleGetFunction(&f->fn, f->mod, "eb_fanout_nv12"),
                   "cuModuleGetFunction");
    if (ret < 0)
        goto error;
    ret = upload(f, &f->d_jobs, f->plan.jobs, sizeof(f->plan.jobs[0]) * (size_t)f->plan.nb_jobs);
    if (ret >= 0)
        ret = upload(f, &f->d_pos, f->plan.pos, sizeof(*f->plan.pos) * (size_t)f->plan.nb_pos);
    if (ret >= 0)
        ret = upload(f, &f->d_coef, f->plan.coef, sizeof(*f->plan.coef) * (size_t)f->plan.nb_coef);
    if (ret < 0)
        goto error;
    f->cu->cuCtxPopCurrent(&dummy);
    *out = f;
    return 0;
error:
    if (pushed)
        f->cu->cuCtxPopCurrent(&dummy);
    eb_nvidia_fanout_close(&f);
    return ret;
}

int eb_nvidia_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    EbCudaPics pics;
    CUcontext dummy;
    int n_out = f->cfg.nb_outputs, ret = 0;

    memset(&pics, 0, sizeof(pics));
    for (int i = 0; i < n_out; i++)
        dst[i] = NULL;
    pics.data[0][0] = (CUdeviceptr)src->data[0];
    pics.data[0][1] = (CUdeviceptr)src->data[1];
    pics.pitch[0][0] = src->linesize[0];
    pics.pitch[0][1] = src->linesize[1];
    for (int n = 0; n < n_out; n++) {
        int i = f->plan.order[n], p = f->plan.parent[i];
        if (f->plan.copy[i]) {
            dst[i] = av_frame_clone(p < 0 ? src : dst[p]);
            if (!dst[i]) {
                ret = EB_ERR(ENOMEM);
                goto error;
            }
        } else {
            dst[i] = av_frame_alloc();
            if (!dst[i]) {
                ret = EB_ERR(ENOMEM);
                goto error;
            }
            ret = av_hwframe_get_buffer(f->frames[i], dst[i], 0);
            if (ret < 0)
                goto error;
            ret = av_frame_copy_props(dst[i], src);
            if (ret < 0)
                goto error;
            dst[i]->sample_aspect_ratio = (AVRational){1, 1};
            dst[i]->crop_top = dst[i]->crop_bottom = dst[i]->crop_left = dst[i]->crop_right = 0;
        }
        pics.data[1 + i][0] = (CUdeviceptr)dst[i]->data[0];
        pics.data[1 + i][1] = (CUdeviceptr)dst[i]->data[1];
        pics.pitch[1 + i][0] = dst[i]->linesize[0];
        pics.pitch[1 + i][1] = dst[i]->linesize[1];
    }
    ret = cu_check(f->cu->cuCtxPushCurrent(f->ctx), "cuCtxPushCurrent");
    if (ret < 0)
        goto error;
    if (f->plan.nb_jobs > 0) {
        /* The one launch: every job (plane of a rung) reads the source. */
        void *args[] = {&f->d_jobs, &f->d_pos, &f->d_coef, &pics};
        ret = cu_check(f->cu->cuLaunchKernel(
                           f->fn, (unsigned)(f->plan.max_w + EB_CUDA_BLOCK_W - 1) / EB_CUDA_BLOCK_W,
                           (unsigned)(f->plan.max_h + EB_CUDA_BLOCK_H - 1) / EB_CUDA_BLOCK_H,
                           (unsigned)f->plan.nb_jobs, EB_CUDA_BLOCK_W, EB_CUDA_BLOCK_H, 1, 0,
                           f->stream, args, NULL),
                       "cuLaunchKernel");
    }
    if (ret >= 0)
        ret = cu_check(f->cu->cuStreamSynchronize(f->stream), "cuStreamSynchronize");
    f->cu->cuCtxPopCurrent(&dummy);
    if (ret < 0)
        goto error;
    return 0;
error:
    for (int i = 0; i < n_out; i++)
        av_frame_free(&dst[i]);
    return ret;
}
