/*
 * Host-side planning of the CUDA fan-out (see eb_fanout_cuda_plan.h). No
 * CUDA here: the plan is uploaded by eb_fanout_cuda.c and emulated by the
 * tests.
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

/* One plane's job: tables for sw x sh -> dw x dh, with the CPU fan-out's
 * sitings (luma centred; chroma by the source's chroma_location). */
static int job_init(EbCudaScaleJob *j, EbCudaPlan *t, int plane, int chroma_location, int sw,
                    int sh, int dw, int dh)
{
    EbScaleSiting hs = EB_SCALE_SITING_CENTER, vs = EB_SCALE_SITING_CENTER;
    EbScaleFilter hf, vf;
    int ret;

    if (plane)
        eb_scale_chroma_siting(chroma_location, &hs, &vs);
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
    EbCudaScaleJob jobs[2 * EB_LADDER_MAX_RUNGS];
    int job_level[2 * EB_LADDER_MAX_RUNGS], depth[EB_LADDER_MAX_RUNGS];
    int w[EB_LADDER_MAX_RUNGS], h[EB_LADDER_MAX_RUNGS], nb = 0, ret;

    memset(p, 0, sizeof(*p));
    if (cfg->nb_outputs < 1 || cfg->nb_outputs > EB_LADDER_MAX_RUNGS)
        return EB_ERR(EINVAL);
    p->nb_outputs = cfg->nb_outputs;
    for (int i = 0; i < cfg->nb_outputs; i++) {
        w[i] = cfg->outputs[i].width;
        h[i] = cfg->outputs[i].height;
    }
    ret = eb_scale_plan(cfg->src_width, cfg->src_height, cfg->nb_outputs, w, h, p->order, p->parent,
                        p->copy);
    if (ret < 0)
        return ret;
    for (int n = 0; n < cfg->nb_outputs; n++) {
        int i = p->order[n], par = p->parent[i];
        int pw = par < 0 ? cfg->src_width : w[par], ph = par < 0 ? cfg->src_height : h[par];
        int pd = par < 0 ? 0 : depth[par];

        depth[i] = p->copy[i] ? pd : pd + 1;
        if (p->copy[i])
            continue;
        for (int plane = 0; plane < 2; plane++) {
            EbCudaScaleJob *j = &jobs[nb];
            memset(j, 0, sizeof(*j));
            j->src_pic = par < 0 ? 0 : 1 + par;
            j->dst_pic = 1 + i;
            ret = plane ? job_init(j, p, 1, cfg->chroma_location, (pw + 1) / 2, (ph + 1) / 2,
                                   (w[i] + 1) / 2, (h[i] + 1) / 2)
                        : job_init(j, p, 0, cfg->chroma_location, pw, ph, w[i], h[i]);
            if (ret < 0) {
                eb_cuda_plan_uninit(p);
                return ret;
            }
            job_level[nb++] = depth[i];
        }
    }
    /* Grouped by level: a level's parents are all made by earlier ones. */
    for (int lv = 1; lv <= EB_SCALE_MAX_DEPTH; lv++) {
        int first = p->nb_jobs;
        for (int n = 0; n < nb; n++) {
            if (job_level[n] != lv)
                continue;
            p->jobs[p->nb_jobs++] = jobs[n];
            if (jobs[n].dst_w > p->level[p->nb_levels].max_w)
                p->level[p->nb_levels].max_w = jobs[n].dst_w;
            if (jobs[n].dst_h > p->level[p->nb_levels].max_h)
                p->level[p->nb_levels].max_h = jobs[n].dst_h;
        }
        if (p->nb_jobs > first) {
            p->level[p->nb_levels].first = first;
            p->level[p->nb_levels].nb = p->nb_jobs - first;
            p->nb_levels++;
        }
    }
    return 0;
}

void eb_cuda_plan_emulate(const EbCudaPlan *p, int lv, const EbCudaPics *pics)
{
    /* The launch's grid: blockIdx.z over the level's jobs, x/y over the
     * largest output, threads outside a job's size return. */
    for (int z = 0; z < p->level[lv].nb; z++) {
        const EbCudaScaleJob *j = &p->jobs[p->level[lv].first + z];
        const unsigned char *src =
            (const unsigned char *)(uintptr_t)pics->data[j->src_pic][j->plane];
        unsigned char *dst = (unsigned char *)(uintptr_t)pics->data[j->dst_pic][j->plane];
        for (int y = 0; y < p->level[lv].max_h; y++)
            for (int x = 0; x < p->level[lv].max_w; x++)
                if (x < j->dst_w && y < j->dst_h)
                    eb_cuda_scale_sample(j, p->pos, p->coef, src, pics->pitch[j->src_pic][j->plane],
                                         dst, pics->pitch[j->dst_pic][j->plane], x, y);
    }
}
