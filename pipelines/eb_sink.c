/*
 * Segment-sink dispatch and the file sink (see eb_sink.h). The file sink
 * is what a VOD job's segmenters always did, moved behind the interface:
 * one file per init section and segment, named by the layout module, and
 * the segment list the manifest writers read at the end.
 */
#include "eb_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_storage.h"

int eb_sink_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size)
{
    return s->ops->init ? s->ops->init(s, rendition, data, size) : 0;
}

int eb_sink_part(EbSegmentSink *s, const EbSegmentReport *part)
{
    return s->ops->part ? s->ops->part(s, part) : 0;
}

int eb_sink_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    return s->ops->segment(s, seg);
}

int eb_sink_end(EbSegmentSink *s, int rendition)
{
    return s->ops->end ? s->ops->end(s, rendition) : 0;
}

void eb_sink_free(EbSegmentSink **sp)
{
    EbSegmentSink *s = *sp;

    if (!s)
        return;
    if (s->ops->free)
        s->ops->free(s);
    free(s);
    *sp = NULL;
}

/* ---- file sink ---- */

typedef struct EbFileRendition {
    EbSinkRendition r;
    int timescale;
    int nb_segments;
    int segments_alloc;
    EbSegmentInfo *segments;
} EbFileRendition;

typedef struct EbFileSink {
    char dir[4096];
    int nb;
    EbFileRendition rend[EB_SINK_MAX_RENDITIONS];
} EbFileSink;

static EbFileRendition *eb_file_rendition(EbSegmentSink *s, int i)
{
    EbFileSink *fs = s->priv;
    return i >= 0 && i < fs->nb ? &fs->rend[i] : NULL;
}

static int eb_file_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size)
{
    EbFileSink *fs = s->priv;
    EbFileRendition *fr = eb_file_rendition(s, rendition);
    char path[4300];
    int ret;

    if (!fr)
        return EB_ERR(EINVAL);
    ret = eb_layout_file(fs->dir, EB_LAYOUT_CMAF_INIT, fr->r.name, 1, path, sizeof(path));
    return ret < 0 ? ret : eb_storage_write_file(path, data, size);
}

static int eb_file_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    EbFileSink *fs = s->priv;
    EbFileRendition *fr = eb_file_rendition(s, seg->rendition);
    EbSegmentInfo *si;
    char path[4300];
    int ret;

    if (!fr || seg->sequence < 1)
        return EB_ERR(EINVAL);
    ret = eb_layout_file(fs->dir, eb_layout_segment_item(fr->r.format), fr->r.name,
                         seg->sequence, path, sizeof(path));
    if (ret < 0)
        return ret;
    if (fr->nb_segments == fr->segments_alloc) {
        int n = fr->segments_alloc ? 2 * fr->segments_alloc : 64;
        void *p = realloc(fr->segments, (size_t)n * sizeof(*fr->segments));
        if (!p)
            return EB_ERR(ENOMEM);
        fr->segments = p;
        fr->segments_alloc = n;
    }
    ret = eb_storage_write_file(path, seg->data, seg->size);
    if (ret < 0)
        return ret;
    fr->timescale = seg->timescale;
    si = &fr->segments[fr->nb_segments++];
    memset(si, 0, sizeof(*si));
    si->start = seg->start;
    si->duration = seg->duration;
    si->size = (int64_t)seg->size;
    if (seg->iv) {
        si->has_iv = 1;
        memcpy(si->iv, seg->iv, 16);
    }
    return 0;
}

static void eb_file_free(EbSegmentSink *s)
{
    EbFileSink *fs = s->priv;

    for (int i = 0; fs && i < fs->nb; i++)
        free(fs->rend[i].segments);
    free(fs);
}

static const EbSegmentSinkOps eb_file_sink_ops = {
    .name = "file",
    .init = eb_file_init,
    .segment = eb_file_segment,
    .free = eb_file_free,
};

int eb_sink_file_open(const char *dir, const EbSinkRendition *renditions, int nb,
                      EbSegmentSink **out)
{
    EbSegmentSink *s;
    EbFileSink *fs;
    int ret = 0;

    *out = NULL;
    if (!dir || nb < 1 || nb > EB_SINK_MAX_RENDITIONS)
        return EB_ERR(EINVAL);
    s = calloc(1, sizeof(*s));
    fs = calloc(1, sizeof(*fs));
    if (!s || !fs) {
        free(s);
        free(fs);
        return EB_ERR(ENOMEM);
    }
    s->ops = &eb_file_sink_ops;
    s->priv = fs;
    snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
    fs->nb = nb;
    for (int i = 0; i < nb && ret >= 0; i++) {
        char folder[4300];
        fs->rend[i].r = renditions[i];
        ret = eb_layout_parent(dir, eb_layout_segment_item(renditions[i].format),
                               renditions[i].name, folder, sizeof(folder));
        if (ret >= 0)
            ret = eb_storage_mkdirs(folder);
    }
    if (ret < 0) {
        EB_LOGD("sink", "cannot create the rendition folders under %s: %s", dir,
                eb_strerror(ret));
        eb_sink_free(&s);
        return ret;
    }
    *out = s;
    return 0;
}

void eb_sink_file_describe(const EbSegmentSink *s, int rendition, EbRendition *r)
{
    const EbFileSink *fs = s->priv;
    const EbFileRendition *fr;

    if (s->ops != &eb_file_sink_ops || rendition < 0 || rendition >= fs->nb)
        return;
    fr = &fs->rend[rendition];
    r->timescale = fr->timescale;
    r->nb_segments = fr->nb_segments;
    r->segments = fr->segments;
}
