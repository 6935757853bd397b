/*
 * Host side of the CUDA scaling fan-out: NV12 CUDA frames in (NVDEC's
 * output), every rung's NV12 CUDA frame out, with the kernel of
 * eb_fanout_cuda.cu (embedded PTX, loaded with cuModuleLoadData through
 * ffnvcodec's loader).
 *
 * At open: the cascade plan (eb_scale_plan, the same as the CPU fan-out's),
 * the filter tables of every resize (eb_scale_filter_init, the same tables),
 * grouped by cascade level and uploaded once with the job descriptors. Per
 * frame: output surfaces from each rung's frames context (shared with that
 * rung's encoder through eb_hal_hw_frames), one launch per cascade level on
 * the device's stream, then a stream sync so the frames are complete when
 * handed on. A rung of its parent's size is a reference, as on the CPU.
 *
 * Not validated on hardware (no development machine has a GPU); the
 * arithmetic is the CPU's, bit for bit, by construction.
 */
#include <stdlib.h>
#include <string.h>

#include <libavutil/hwcontext.h>

#include "eb_error.h"
#include "eb_fanout_cuda_shared.h"
#include "eb_hal_hw.h"
#include "eb_log.h"
#include "eb_nvidia.h"
#include "eb_nvidia_loader.h"
#include "eb_scale_filter.h"

#include <libavutil/hwcontext_cuda.h>

_Static_assert(EB_LADDER_MAX_RUNGS + 1 <= EB_CUDA_MAX_PICS, "picture table too small");

struct EbFanout {
    const CudaFunctions *cu;
    CUcontext ctx;
    CUstream stream;
    CUmodule mod;
    CUfunction fn;
    EbFanoutConfig cfg;
    int order[EB_LADDER_MAX_RUNGS], parent[EB_LADDER_MAX_RUNGS], copy[EB_LADDER_MAX_RUNGS];
    AVBufferRef *frames[EB_LADDER_MAX_RUNGS];
    int nb_levels;
    struct {
        int first, nb, max_w, max_h;
    } level[EB_SCALE_MAX_DEPTH + 1];
    CUdeviceptr d_jobs, d_pos, d_coef;
};

static int cu_check(const EbFanout *f, CUresult r, const char *what)
{
    const char *text;
    int err;
    (void)f;
    if (r == CUDA_SUCCESS)
        return 0;
    err = eb_nvidia_cuda_status(r, &text);
    EB_LOGE("nvidia", "%s: %s", what, text);
    return err;
}

/* Growable host copies of the tables. */
typedef struct EbTables {
    int32_t *pos;
    int16_t *coef;
    int nb_pos, nb_coef;
} EbTables;

static int tables_add(EbTables *t, const EbScaleFilter *flt, int *pos_off, int *coef_off)
{
    int32_t *p = realloc(t->pos, sizeof(*p) * (size_t)(t->nb_pos + flt->dst_size));
    int16_t *c;
    if (!p)
        return EB_ERR(ENOMEM);
    t->pos = p;
    c = realloc(t->coef, sizeof(*c) * (size_t)(t->nb_coef + flt->dst_size * flt->taps));
    if (!c)
        return EB_ERR(ENOMEM);
    t->coef = c;
    memcpy(t->pos + t->nb_pos, flt->pos, sizeof(*p) * (size_t)flt->dst_size);
    memcpy(t->coef + t->nb_coef, flt->coef, sizeof(*c) * (size_t)flt->dst_size * flt->taps);
    *pos_off = t->nb_pos;
    *coef_off = t->nb_coef;
    t->nb_pos += flt->dst_size;
    t->nb_coef += flt->dst_size * flt->taps;
    return 0;
}

/* One plane's job: tables for sw x sh -> dw x dh. */
static int job_init(EbCudaScaleJob *j, EbTables *t, int plane, int sw, int sh, int dw, int dh)
{
    EbScaleFilter hf, vf;
    int ret;

    ret = eb_scale_filter_init(&hf, sw, dw, plane ? EB_SCALE_SITING_COSITED : EB_SCALE_SITING_CENTER);
    if (ret < 0)
        return ret;
    ret = eb_scale_filter_init(&vf, sh, dh, EB_SCALE_SITING_CENTER);
    if (ret < 0) {
        eb_scale_filter_uninit(&hf);
        return ret;
    }
    j->plane = plane;
    j->src_w = sw;
    j->src_h = sh;
    j->dst_w = dw;
    j->dst_h = dh;
    j->htaps = hf.taps;
    j->vtaps = vf.taps;
    ret = tables_add(t, &hf, &j->hpos, &j->hcoef);
    if (ret >= 0)
        ret = tables_add(t, &vf, &j->vpos, &j->vcoef);
    eb_scale_filter_uninit(&hf);
    eb_scale_filter_uninit(&vf);
    return ret;
}

static int upload(EbFanout *f, CUdeviceptr *d, const void *src, size_t size)
{
    int ret = cu_check(f, f->cu->cuMemAlloc(d, size ? size : 1), "cuMemAlloc");
    if (ret < 0)
        return ret;
    return size ? cu_check(f, f->cu->cuMemcpyHtoD(d[0], src, size), "cuMemcpyHtoD") : 0;
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
    for (int i = 0; i < EB_LADDER_MAX_RUNGS; i++)
        av_buffer_unref(&f->frames[i]);
    free(f);
    *fp = NULL;
}

int eb_nvidia_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    char reason[EB_HAL_REASON_MAX] = "";
    EbCudaScaleJob jobs[2 * EB_LADDER_MAX_RUNGS];
    int job_level[2 * EB_LADDER_MAX_RUNGS], depth[EB_LADDER_MAX_RUNGS];
    int w[EB_LADDER_MAX_RUNGS], h[EB_LADDER_MAX_RUNGS], nb_jobs = 0, ret;
    EbCudaScaleJob sorted[2 * EB_LADDER_MAX_RUNGS];
    EbTables t = {0};
    AVCUDADeviceContext *hw;
    EbFanout *f;
    CUcontext dummy;
    int pushed = 0;

    *out = NULL;
    if (!eb_nvidia_have_kernel()) {
        EB_LOGE("nvidia", "CUDA fan-out kernel missing (built without clang)");
        return EB_ERR(ENOSYS);
    }
    if (!dev->hw_device_ctx || cfg->src_format != AV_PIX_FMT_CUDA || cfg->rotation != 0 ||
        cfg->nb_outputs < 1 || cfg->nb_outputs > EB_LADDER_MAX_RUNGS)
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

    for (int i = 0; i < cfg->nb_outputs; i++) {
        w[i] = cfg->outputs[i].width;
        h[i] = cfg->outputs[i].height;
    }
    ret = eb_scale_plan(cfg->src_width, cfg->src_height, cfg->nb_outputs, w, h, f->order,
                        f->parent, f->copy);
    if (ret < 0)
        goto error;
    for (int n = 0; n < cfg->nb_outputs; n++) {
        int i = f->order[n], p = f->parent[i];
        int pw = p < 0 ? cfg->src_width : w[p], ph = p < 0 ? cfg->src_height : h[p];
        int pd = p < 0 ? 0 : depth[p];

        depth[i] = f->copy[i] ? pd : pd + 1;
        ret = eb_hal_hw_frames(dev, w[i], h[i], &f->frames[i]);
        if (ret < 0)
            goto error;
        if (f->copy[i])
            continue;
        for (int plane = 0; plane < 2; plane++) {
            EbCudaScaleJob *j = &jobs[nb_jobs];
            memset(j, 0, sizeof(*j));
            j->src_pic = p < 0 ? 0 : 1 + p;
            j->dst_pic = 1 + i;
            ret = plane ? job_init(j, &t, 1, (pw + 1) / 2, (ph + 1) / 2, (w[i] + 1) / 2,
                                   (h[i] + 1) / 2)
                        : job_init(j, &t, 0, pw, ph, w[i], h[i]);
            if (ret < 0)
                goto error;
            job_level[nb_jobs++] = depth[i];
        }
    }
    /* Jobs grouped by level: one launch per level. */
    for (int lv = 1, k = 0; lv <= EB_SCALE_MAX_DEPTH; lv++) {
        int first = k;
        for (int n = 0; n < nb_jobs; n++) {
            if (job_level[n] != lv)
                continue;
            sorted[k++] = jobs[n];
            if (jobs[n].dst_w > f->level[f->nb_levels].max_w)
                f->level[f->nb_levels].max_w = jobs[n].dst_w;
            if (jobs[n].dst_h > f->level[f->nb_levels].max_h)
                f->level[f->nb_levels].max_h = jobs[n].dst_h;
        }
        if (k > first) {
            f->level[f->nb_levels].first = first;
            f->level[f->nb_levels].nb = k - first;
            f->nb_levels++;
        }
    }

    ret = cu_check(f, f->cu->cuCtxPushCurrent(f->ctx), "cuCtxPushCurrent");
    if (ret < 0)
        goto error;
    pushed = 1;
    ret = cu_check(f, f->cu->cuModuleLoadData(&f->mod, eb_fanout_cuda_ptx), "cuModuleLoadData");
    if (ret < 0)
        goto error;
    ret = cu_check(f, f->cu->cuModuleGetFunction(&f->fn, f->mod, "eb_fanout_nv12"),
                   "cuModuleGetFunction");
    if (ret < 0)
        goto error;
    ret = upload(f, &f->d_jobs, sorted, sizeof(sorted[0]) * (size_t)nb_jobs);
    if (ret >= 0)
        ret = upload(f, &f->d_pos, t.pos, sizeof(*t.pos) * (size_t)t.nb_pos);
    if (ret >= 0)
        ret = upload(f, &f->d_coef, t.coef, sizeof(*t.coef) * (size_t)t.nb_coef);
    if (ret < 0)
        goto error;
    f->cu->cuCtxPopCurrent(&dummy);
    free(t.pos);
    free(t.coef);
    *out = f;
    return 0;
error:
    if (pushed)
        f->cu->cuCtxPopCurrent(&dummy);
    free(t.pos);
    free(t.coef);
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
        int i = f->order[n], p = f->parent[i];
        if (f->copy[i]) {
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
    ret = cu_check(f, f->cu->cuCtxPushCurrent(f->ctx), "cuCtxPushCurrent");
    if (ret < 0)
        goto error;
    for (int lv = 0; lv < f->nb_levels && ret >= 0; lv++) {
        int first = f->level[lv].first;
        void *args[] = {&f->d_jobs, &first, &f->d_pos, &f->d_coef, &pics};
        ret = cu_check(f,
                       f->cu->cuLaunchKernel(
                           f->fn, (unsigned)(f->level[lv].max_w + EB_CUDA_BLOCK_W - 1) / EB_CUDA_BLOCK_W,
                           (unsigned)(f->level[lv].max_h + EB_CUDA_BLOCK_H - 1) / EB_CUDA_BLOCK_H,
                           (unsigned)f->level[lv].nb, EB_CUDA_BLOCK_W, EB_CUDA_BLOCK_H, 1, 0,
                           f->stream, args, NULL),
                       "cuLaunchKernel");
    }
    if (ret >= 0)
        ret = cu_check(f, f->cu->cuStreamSynchronize(f->stream), "cuStreamSynchronize");
    f->cu->cuCtxPopCurrent(&dummy);
    if (ret < 0)
        goto error;
    return 0;
error:
    for (int i = 0; i < n_out; i++)
        av_frame_free(&dst[i]);
    return ret;
}
