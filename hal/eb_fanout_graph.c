/*
 * The libavfilter-graph scaling fan-out (see eb_fanout_graph.h): the graph
 * text is built by pure functions from the backend's filter table, parsed
 * with avfilter_graph_parse2(), and its open pads are linked by label to one
 * buffer source and one buffersink per scaled rung.
 */
#include "eb_fanout_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_log.h"

#define EB_FANOUT_DESC_MAX 4096

struct EbFanoutGraph {
    EbFanoutConfig cfg;
    const char *name;     /* log module */
    int hw;               /* source frames are device frames */
    AVFilterGraph *graph; /* NULL when every output is a reference */
    AVFilterContext *src;
    AVFilterContext *sink[EB_HAL_MAX_OUTPUTS]; /* NULL for reference outputs */
    int failed; /* error of a failed run; the graph state is unknown */
};

static int is_hw_format(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d && (d->flags & AV_PIX_FMT_FLAG_HWACCEL);
}

int eb_fanout_graph_is_ref(const EbFanoutConfig *cfg, const EbFanoutFilters *flt, int i)
{
    return flt->passthrough && cfg->rotation == 0 && cfg->outputs[i].width == cfg->src_width &&
           cfg->outputs[i].height == cfg->src_height;
}

static int check_config(const EbFanoutConfig *cfg, const EbFanoutFilters *flt)
{
    if (!cfg || !flt || !flt->scale || cfg->nb_outputs < 1 ||
        cfg->nb_outputs > EB_HAL_MAX_OUTPUTS || cfg->src_width <= 0 || cfg->src_height <= 0)
        return EB_ERR(EINVAL);
    for (int i = 0; i < cfg->nb_outputs; i++)
        if (cfg->outputs[i].width <= 0 || cfg->outputs[i].height <= 0)
            return EB_ERR(EINVAL);
    return 0;
}

/* Appends to buf (of size, *len used); -ENOSPC when it does not fit. */
static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *len)
        return EB_ERR(ENOSPC);
    *len += (size_t)n;
    return 0;
}

static int append_scale(const EbFanoutFilters *flt, char *buf, size_t size, size_t *len, int w,
                        int h)
{
    int n = flt->scale(buf + *len, size - *len, w, h);
    if (n <= 0 || (size_t)n >= size - *len)
        return n < 0 || (size_t)n >= size - *len ? EB_ERR(ENOSPC) : EB_ERR(EINVAL);
    *len += (size_t)n;
    return 0;
}

int eb_fanout_graph_desc(const EbFanoutConfig *cfg, const EbFanoutFilters *flt, char *buf,
                         size_t size)
{
    int idx[EB_HAL_MAX_OUTPUTS], nb = 0, ret;
    const char *rot = NULL;
    size_t len = 0;

    if (!buf || size == 0)
        return EB_ERR(EINVAL);
    buf[0] = '\0';
    ret = check_config(cfg, flt);
    if (ret < 0)
        return ret;
    switch (cfg->rotation) {
    case 0:
        break;
    case 90:
        rot = flt->rotate90;
        break;
    case 180:
        rot = flt->rotate180;
        break;
    case 270:
        rot = flt->rotate270;
        break;
    default:
        return EB_ERR(EINVAL);
    }
    if (cfg->rotation && !rot)
        return EB_ERR(EINVAL);
    for (int i = 0; i < cfg->nb_outputs; i++)
        if (!eb_fanout_graph_is_ref(cfg, flt, i))
            idx[nb++] = i;
    if (nb == 0)
        return 0;

    ret = append(buf, size, &len, "[in]%s%s", rot ? rot : "", rot ? "," : "");
    if (ret >= 0 && nb == 1) {
        ret = append_scale(flt, buf, size, &len, cfg->outputs[idx[0]].width,
                           cfg->outputs[idx[0]].height);
        if (ret >= 0)
            ret = append(buf, size, &len, "[out%d]", idx[0]);
    } else if (ret >= 0) {
        ret = append(buf, size, &len, "split=%d", nb);
        for (int k = 0; k < nb && ret >= 0; k++)
            ret = append(buf, size, &len, "[s%d]", k);
        for (int k = 0; k < nb && ret >= 0; k++) {
            ret = append(buf, size, &len, ";[s%d]", k);
            if (ret >= 0)
                ret = append_scale(flt, buf, size, &len, cfg->outputs[idx[k]].width,
                                   cfg->outputs[idx[k]].height);
            if (ret >= 0)
                ret = append(buf, size, &len, "[out%d]", idx[k]);
        }
    }
    if (ret < 0)
        buf[0] = '\0';
    return ret;
}

int eb_fanout_graph_missing_filter(const char *desc, char *name, size_t size)
{
    const char *p = desc;

    if (size)
        name[0] = '\0';
    while (p && *p) {
        char tmp[64];
        size_t n = 0;

        /* Separators and pad labels between filters. */
        while (*p == ',' || *p == ';' || *p == ' ' || *p == '\n' || *p == '[') {
            if (*p == '[') {
                while (*p && *p != ']')
                    p++;
                if (*p)
                    p++;
            } else {
                p++;
            }
        }
        if (!*p)
            break;
        while (*p && *p != '=' && *p != ',' && *p != ';' && *p != '[' && *p != ' ') {
            if (n + 1 < sizeof(tmp))
                tmp[n++] = *p;
            p++;
        }
        tmp[n] = '\0';
        /* The filter's arguments, up to the next filter or label. */
        if (*p == '=')
            while (*p && *p != ',' && *p != ';' && *p != '[')
                p++;
        if (n > 0 && !avfilter_get_by_name(tmp)) {
            if (size)
                snprintf(name, size, "%s", tmp);
            return 1;
        }
    }
    return 0;
}

void eb_fanout_graph_free(EbFanoutGraph **g)
{
    if (!g || !*g)
        return;
    avfilter_graph_free(&(*g)->graph);
    av_freep(g);
}

/* The buffer source of the graph, declaring the source's geometry (and its
 * frames context for device frames). Timing is nominal: run sets every
 * output's timestamps from the source frame. */
static int open_source(EbFanoutGraph *g, AVBufferRef *src_frames)
{
    AVBufferSrcParameters *par;
    int ret;

    g->src = avfilter_graph_alloc_filter(g->graph, avfilter_get_by_name("buffer"), "in");
    par = av_buffersrc_parameters_alloc();
    if (!g->src || !par) {
        av_free(par);
        return EB_ERR(ENOMEM);
    }
    par->format = g->cfg.src_format;
    par->width = g->cfg.src_width;
    par->height = g->cfg.src_height;
    par->time_base = (AVRational){1, 25};
    par->frame_rate = (AVRational){25, 1};
    par->sample_aspect_ratio = (AVRational){1, 1};
    par->hw_frames_ctx = src_frames; /* referenced by parameters_set */
    ret = av_buffersrc_parameters_set(g->src, par);
    av_free(par);
    if (ret < 0)
        return ret;
    return avfilter_init_str(g->src, NULL);
}

static int open_sink(EbFanoutGraph *g, int i)
{
    const enum AVPixelFormat fmts[] = {g->cfg.src_format, AV_PIX_FMT_NONE};
    char label[16];
    int ret;

    snprintf(label, sizeof(label), "out%d", i);
    g->sink[i] = avfilter_graph_alloc_filter(g->graph, avfilter_get_by_name("buffersink"), label);
    if (!g->sink[i])
        return EB_ERR(ENOMEM);
    ret =
        av_opt_set_int_list(g->sink[i], "pix_fmts", fmts, AV_PIX_FMT_NONE, AV_OPT_SEARCH_CHILDREN);
    if (ret < 0)
        return ret;
    return avfilter_init_str(g->sink[i], NULL);
}

/* Links the parsed graph's open pads: "[in]" to the source, "[outI]" to
 * sink I. Anything else, or a pad left unlinked, is a bad description. */
static int link_pads(EbFanoutGraph *g, AVFilterInOut *ins, AVFilterInOut *outs, const char *desc)
{
    int linked[EB_HAL_MAX_OUTPUTS] = {0}, nb_in = 0, ret;

    for (AVFilterInOut *io = ins; io; io = io->next) {
        if (!io->name || strcmp(io->name, "in") != 0 || nb_in++ > 0) {
            EB_LOGE(g->name, "fan-out graph \"%s\": unexpected input pad [%s]", desc,
                    io->name ? io->name : "");
            return EB_ERR(EINVAL);
        }
        ret = avfilter_link(g->src, 0, io->filter_ctx, (unsigned)io->pad_idx);
        if (ret < 0)
            return ret;
    }
    for (AVFilterInOut *io = outs; io; io = io->next) {
        char *end = NULL;
        long i = -1;

        if (io->name && strncmp(io->name, "out", 3) == 0 && io->name[3])
            i = strtol(io->name + 3, &end, 10);
        if (i < 0 || i >= g->cfg.nb_outputs || !end || *end || !g->sink[i] || linked[i]) {
            EB_LOGE(g->name, "fan-out graph \"%s\": unexpected output pad [%s]", desc,
                    io->name ? io->name : "");
            return EB_ERR(EINVAL);
        }
        ret = avfilter_link(io->filter_ctx, (unsigned)io->pad_idx, g->sink[i], 0);
        if (ret < 0)
            return ret;
        linked[i] = 1;
    }
    if (nb_in != 1) {
        EB_LOGE(g->name, "fan-out graph \"%s\": no [in] pad", desc);
        return EB_ERR(EINVAL);
    }
    for (int i = 0; i < g->cfg.nb_outputs; i++) {
        if (g->sink[i] && !linked[i]) {
            EB_LOGE(g->name, "fan-out graph \"%s\": no [out%d] pad", desc, i);
            return EB_ERR(EINVAL);
        }
    }
    return 0;
}

/* Every sink gives its rung's size and format; device frames come in NV12
 * (what the rung encoders are opened for). */
static int check_sinks(const EbFanoutGraph *g, const char *desc)
{
    for (int i = 0; i < g->cfg.nb_outputs; i++) {
        const AVFilterContext *s = g->sink[i];
        AVBufferRef *fr;

        if (!s)
            continue;
        if (av_buffersink_get_w(s) != g->cfg.outputs[i].width ||
            av_buffersink_get_h(s) != g->cfg.outputs[i].height ||
            av_buffersink_get_format(s) != (int)g->cfg.src_format) {
            EB_LOGE(g->name, "fan-out graph \"%s\": output %d is %dx%d %s, not %dx%d", desc, i,
                    av_buffersink_get_w(s), av_buffersink_get_h(s),
                    av_get_pix_fmt_name((enum AVPixelFormat)av_buffersink_get_format(s)),
                    g->cfg.outputs[i].width, g->cfg.outputs[i].height);
            return EB_ERR(EINVAL);
        }
        if (!g->hw)
            continue;
        fr = av_buffersink_get_hw_frames_ctx(s);
        if (!fr || ((AVHWFramesContext *)fr->data)->sw_format != AV_PIX_FMT_NV12) {
            EB_LOGE(g->name, "fan-out graph \"%s\": output %d has no NV12 frames context", desc, i);
            return EB_ERR(EINVAL);
        }
    }
    return 0;
}

int eb_fanout_graph_open(const EbFanoutGraphParams *p, EbFanoutGraph **out)
{
    AVFilterInOut *ins = NULL, *outs = NULL;
    char desc[EB_FANOUT_DESC_MAX], missing[64];
    const char *name;
    EbFanoutGraph *g;
    int ret;

    *out = NULL;
    if (!p || !p->cfg || !p->filters)
        return EB_ERR(EINVAL);
    name = p->filters->name ? p->filters->name : "fanout";
    ret = eb_fanout_graph_desc(p->cfg, p->filters, desc, sizeof(desc));
    if (ret < 0) {
        EB_LOGE(name, "fan-out: unsupported configuration (%d outputs, rotation %d): %s",
                p->cfg ? p->cfg->nb_outputs : 0, p->cfg ? p->cfg->rotation : 0, eb_strerror(ret));
        return ret;
    }
    if (eb_fanout_graph_missing_filter(desc, missing, sizeof(missing))) {
        EB_LOGE(name, "fan-out unavailable: this libavfilter has no '%s' filter", missing);
        return EB_ERR(ENOSYS);
    }
    g = av_mallocz(sizeof(*g));
    if (!g)
        return EB_ERR(ENOMEM);
    g->cfg = *p->cfg;
    g->name = name;
    g->hw = is_hw_format(p->cfg->src_format);
    if (g->hw && !p->src_frames) {
        EB_LOGE(name, "fan-out: %s source without a frames context",
                av_get_pix_fmt_name(p->cfg->src_format));
        ret = EB_ERR(EINVAL);
        goto error;
    }
    if (!desc[0]) {
        /* Every output is the source itself. */
        *out = g;
        return 0;
    }

    g->graph = avfilter_graph_alloc();
    if (!g->graph) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    g->graph->nb_threads = 1;
    ret = open_source(g, p->src_frames);
    for (int i = 0; i < g->cfg.nb_outputs && ret >= 0; i++)
        if (!eb_fanout_graph_is_ref(&g->cfg, p->filters, i))
            ret = open_sink(g, i);
    if (ret < 0)
        goto error;
    ret = avfilter_graph_parse2(g->graph, desc, &ins, &outs);
    if (ret < 0) {
        EB_LOGE(name, "fan-out graph \"%s\" does not parse: %s", desc, eb_strerror(ret));
        goto error;
    }
    ret = link_pads(g, ins, outs, desc);
    if (ret < 0)
        goto error;
    for (unsigned i = 0; i < g->graph->nb_filters; i++) {
        AVFilterContext *f = g->graph->filters[i];
        int io = f == g->src;
        for (int k = 0; k < g->cfg.nb_outputs; k++)
            io |= f == g->sink[k];
        if (io)
            continue;
        if (p->hw_device && !f->hw_device_ctx) {
            f->hw_device_ctx = av_buffer_ref(p->hw_device);
            if (!f->hw_device_ctx) {
                ret = EB_ERR(ENOMEM);
                goto error;
            }
        }
        if (p->hw_device && p->filters->extra_hw_frames > 0)
            f->extra_hw_frames = p->filters->extra_hw_frames;
    }
    ret = avfilter_graph_config(g->graph, NULL);
    if (ret < 0) {
        EB_LOGE(name, "fan-out graph \"%s\" cannot be configured: %s", desc, eb_strerror(ret));
        goto error;
    }
    ret = check_sinks(g, desc);
    if (ret < 0)
        goto error;
    EB_LOGD(name, "fan-out graph: %s", desc);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    *out = g;
    return 0;
error:
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    eb_fanout_graph_free(&g);
    return ret;
}

/* What every output carries from its source frame. */
static void set_props(AVFrame *o, const AVFrame *src)
{
    o->pts = src->pts;
    o->pkt_dts = src->pkt_dts;
    o->best_effort_timestamp = src->best_effort_timestamp;
    o->pkt_duration = src->pkt_duration;
    o->time_base = src->time_base;
    o->key_frame = src->key_frame;
    o->pict_type = src->pict_type;
    o->color_primaries = src->color_primaries;
    o->color_trc = src->color_trc;
    o->colorspace = src->colorspace;
    o->color_range = src->color_range;
    o->chroma_location = src->chroma_location;
    o->sample_aspect_ratio = (AVRational){1, 1};
}

int eb_fanout_graph_run(EbFanoutGraph *g, const AVFrame *src, AVFrame **dst)
{
    int ret = 0;

    for (int i = 0; i < g->cfg.nb_outputs; i++)
        dst[i] = NULL;
    if (g->failed)
        return g->failed;
    if (src->width != g->cfg.src_width || src->height != g->cfg.src_height ||
        src->format != (int)g->cfg.src_format || (g->hw && !src->hw_frames_ctx))
        return EB_ERR(EINVAL);
    if (g->graph) {
        /* KEEP_REF: the graph takes its own reference, src stays the
         * caller's and is not written. */
        ret = av_buffersrc_add_frame_flags(g->src, (AVFrame *)src,
                                           AV_BUFFERSRC_FLAG_KEEP_REF | AV_BUFFERSRC_FLAG_PUSH);
        if (ret < 0) {
            EB_LOGE(g->name, "fan-out: source frame refused: %s", eb_strerror(ret));
            goto fail;
        }
    }
    for (int i = 0; i < g->cfg.nb_outputs; i++) {
        if (!g->sink[i]) {
            dst[i] = av_frame_clone(src);
            if (!dst[i]) {
                ret = EB_ERR(ENOMEM);
                goto fail;
            }
        } else {
            dst[i] = av_frame_alloc();
            if (!dst[i]) {
                ret = EB_ERR(ENOMEM);
                goto fail;
            }
            ret = av_buffersink_get_frame_flags(g->sink[i], dst[i], 0);
            if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
                EB_LOGE(g->name, "fan-out: output %d gave no frame for pts %lld", i,
                        (long long)src->pts);
                ret = EB_ERR(EIO);
            }
            if (ret < 0)
                goto fail;
        }
        set_props(dst[i], src);
    }
    return 0;
fail:
    for (int i = 0; i < g->cfg.nb_outputs; i++)
        av_frame_free(&dst[i]);
    g->failed = ret;
    return ret;
}

int eb_fanout_graph_frames(const EbFanoutGraph *g, int i, AVBufferRef **out)
{
    AVBufferRef *fr;

    *out = NULL;
    if (!g || i < 0 || i >= g->cfg.nb_outputs)
        return EB_ERR(EINVAL);
    if (!g->hw || !g->sink[i])
        return 0;
    fr = av_buffersink_get_hw_frames_ctx(g->sink[i]);
    if (!fr)
        return 0;
    *out = av_buffer_ref(fr);
    return *out ? 0 : EB_ERR(ENOMEM);
}

/* Makes ref (taken) the device's frames context of width x height. A
 * context it replaces stays alive for whoever holds references to it. */
static int install_frames(EbHalDevice *dev, int width, int height, AVBufferRef *ref)
{
    EbHalHwPriv *p = dev->priv;
    int ret = 0, i;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->nb_frames; i++)
        if (p->frames[i].width == width && p->frames[i].height == height)
            break;
    if (i < p->nb_frames) {
        av_buffer_unref(&p->frames[i].ref);
        p->frames[i].ref = ref;
    } else if (p->nb_frames < EB_HAL_HW_MAX_FRAMES) {
        p->frames[i].width = width;
        p->frames[i].height = height;
        p->frames[i].ref = ref;
        p->nb_frames++;
    } else {
        av_buffer_unref(&ref);
        ret = EB_ERR(ENOSPC);
    }
    pthread_mutex_unlock(&p->lock);
    return ret;
}

int eb_fanout_graph_hw_open(EbHalDevice *dev, const EbFanoutConfig *cfg, const EbFanoutFilters *flt,
                            EbFanoutGraph **out)
{
    EbHalHwPriv *hp = dev ? dev->priv : NULL;
    EbFanoutGraphParams par = {.cfg = cfg, .filters = flt};
    EbFanoutGraph *g = NULL;
    const char *name;
    int ret;

    *out = NULL;
    if (!hp || !hp->lock_init || !dev->hw_device_ctx || !cfg || !flt)
        return EB_ERR(EINVAL);
    name = flt->name ? flt->name : "fanout";
    if (cfg->src_format != hp->hw_format) {
        EB_LOGE(name, "fan-out: source frames are %s, this device gives %s",
                av_get_pix_fmt_name(cfg->src_format), av_get_pix_fmt_name(hp->hw_format));
        return EB_ERR(EINVAL);
    }
    /* A filter this libavfilter lacks is ENOSYS before anything is
     * allocated on the device. */
    {
        char desc[EB_FANOUT_DESC_MAX], missing[64];
        ret = eb_fanout_graph_desc(cfg, flt, desc, sizeof(desc));
        if (ret < 0) {
            EB_LOGE(name, "fan-out: unsupported configuration (%d outputs, rotation %d): %s",
                    cfg->nb_outputs, cfg->rotation, eb_strerror(ret));
            return ret;
        }
        if (eb_fanout_graph_missing_filter(desc, missing, sizeof(missing))) {
            EB_LOGE(name, "fan-out unavailable: this libavfilter has no '%s' filter", missing);
            return EB_ERR(ENOSYS);
        }
    }
    /* The source's frames context is only known once the decoder has run;
     * the graph declares the device's context of the source size instead.
     * VPP reads each input surface by its handle, on the same device. */
    ret = eb_hal_hw_frames(dev, cfg->src_width, cfg->src_height, &par.src_frames);
    if (ret < 0)
        return ret;
    par.hw_device = dev->hw_device_ctx;
    ret = eb_fanout_graph_open(&par, &g);
    av_buffer_unref(&par.src_frames);
    if (ret < 0)
        return ret;
    for (int i = 0; i < cfg->nb_outputs; i++) {
        AVBufferRef *fr = NULL;
        ret = eb_fanout_graph_frames(g, i, &fr);
        if (ret >= 0 && fr && cfg->outputs[i].width == cfg->src_width &&
            cfg->outputs[i].height == cfg->src_height) {
            /* The source's context stays the device's one of that size
             * (uploads draw from it); this rung's encoder must take the
             * graph's context (eb_fanout_graph_frames). */
            EB_LOGW(name, "fan-out: rung %d (%dx%d, rotated) keeps its own frames context", i,
                    cfg->outputs[i].width, cfg->outputs[i].height);
            av_buffer_unref(&fr);
        }
        if (ret >= 0 && fr)
            ret = install_frames(dev, cfg->outputs[i].width, cfg->outputs[i].height, fr);
        if (ret < 0) {
            eb_fanout_graph_free(&g);
            return ret;
        }
    }
    *out = g;
    return 0;
}
