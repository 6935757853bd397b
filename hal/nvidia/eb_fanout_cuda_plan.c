/*
 * Host-side planning of the CUDA fan-out (see eb_fanout_cuda_plan.h). No
 * CUDA here: the plan is uploaded by eb_fanout_cuda.c and emulated by the
 * tests (on the host; nothing here has been run on a GPU).
 */
#include "eb_fanout_cuda_plan.h"

#include <stdlib.h>
#include <string.h>

#include "eb_error.h"

static int tables_add(EbCudaPlan *t, const EbScaleFilter *flt, int *pos_off, int *coef_off)
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

/* One plane's job: tables for the rotated plane sw x sh -> dw x dh, luma
 * centred, chroma with the rotated picture's sitings hs / vs. */
static int job_init(EbCudaScaleJob *j, EbCudaPlan *t, int plane, EbScaleSiting hs, EbScaleSiting vs,
                    int sw, int sh, int dw, int dh)
{
    EbScaleFilter hf, vf;
    int ret;

    if (!plane)
        hs = vs = EB_SCALE_SITING_CENTER;
    ret = eb_scale_filter_init(&hf, sw, dw, hs);
    if (ret < 0)
        return ret;
    ret = eb_scale_filter_init(&vf, sh, dh, vs);
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

void eb_cuda_plan_uninit(EbCudaPlan *p)
{
    free(p->pos);
    free(p->coef);
    p->pos = NULL;
    p->coef = NULL;
}

int eb_cuda_plan_init(EbCudaPlan *p, const EbFanoutConfig *cfg)
{
    int w[EB_HAL_MAX_OUTPUTS], h[EB_HAL_MAX_OUTPUTS], ret;
    int rot = cfg->rotation, rw, rh;
    EbScaleSiting hs, vs;

    memset(p, 0, sizeof(*p));
    if (cfg->nb_outputs < 1 || cfg->nb_outputs > EB_HAL_MAX_OUTPUTS)
        return EB_ERR(EINVAL);
    if (rot != 0 && rot != 90 && rot != 180 && rot != 270)
        return EB_ERR(EINVAL);
    /* Everything below is in the rotated geometry: the picture the rungs
     * are resized from is the source rotated (outputs[] sizes are after
     * rotation). */
    rw = rot == 90 || rot == 270 ? cfg->src_height : cfg->src_width;
    rh = rot == 90 || rot == 270 ? cfg->src_width : cfg->src_height;
    p->nb_outputs = cfg->nb_outputs;
    for (int i = 0; i < cfg->nb_outputs; i++) {
        w[i] = cfg->outputs[i].width;
        h[i] = cfg->outputs[i].height;
    }
    /* The direct plan: every resized rung from the source, so one launch. */
    ret = eb_scale_plan_depth(rw, rh, cfg->nb_outputs, w, h, 1, p->order, p->parent, p->copy);
    if (ret < 0)
        return ret;
    eb_scale_chroma_siting_rotated(cfg->chroma_location, rot, &hs, &vs);
    for (int n = 0; n < cfg->nb_outputs; n++) {
        int i = p->order[n];

        /* A rung of the rotated source's size is a reference to the source
         * only without rotation; rotated, it is a job whose tables are the
         * identity (one tap of 1 << 14: exact), a lossless rotation. A rung
         * of an earlier rung's size stays a reference to that rung. */
        if (p->copy[i] && p->parent[i] < 0 && rot)
            p->copy[i] = 0;
        if (p->copy[i])
            continue;
        for (int plane = 0; plane < 2; plane++) {
            EbCudaScaleJob *j = &p->jobs[p->nb_jobs];
            memset(j, 0, sizeof(*j));
            j->src_pic = 0;
            j->dst_pic = 1 + i;
            j->rot = rot;
            ret = plane ? job_init(j, p, 1, hs, vs, (rw + 1) / 2, (rh + 1) / 2, (w[i] + 1) / 2,
                                   (h[i] + 1) / 2)
                        : job_init(j, p, 0, hs, vs, rw, rh, w[i], h[i]);
            if (ret < 0) {
                eb_cuda_plan_uninit(p);
                return ret;
            }
            if (j->dst_w > p->max_w)
                p->max_w = j->dst_w;
            if (j->dst_h > p->max_h)
                p->max_h = j->dst_h;
            p->nb_jobs++;
        }
    }
    return 0;
}

void eb_cuda_plan_emulate(const EbCudaPlan *p, const EbCudaPics *pics)
{
    /* The launch's grid: blockIdx.z over the jobs, x/y over the largest
     * output, threads outside a job's size return. */
    for (int z = 0; z < p->nb_jobs; z++) {
        const EbCudaScaleJob *j = &p->jobs[z];
        const unsigned char *src =
            (const unsigned char *)(uintptr_t)pics->data[j->src_pic][j->plane];
        unsigned char *dst = (unsigned char *)(uintptr_t)pics->data[j->dst_pic][j->plane];
        for (int y = 0; y < p->max_h; y++)
            for (int x = 0; x < p->max_w; x++)
                if (x < j->dst_w && y < j->dst_h)
                    eb_cuda_scale_sample(j, p->pos, p->coef, src, pics->pitch[j->src_pic][j->plane],
                                         dst, pics->pitch[j->dst_pic][j->plane], x, y);
    }
}
