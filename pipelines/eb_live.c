/*
 * A live channel's run (see eb_live.h): the live input, the engine, and the
 * window sink that publishes a sliding window as segments arrive.
 *
 * DESIGN of the window sink. Every rendition's segmenter reports on its own
 * thread (eb_sink.h). A segment's file is written (atomically) as soon as
 * it is reported; it is *listed* only when the same sequence number exists
 * in every rendition, so all playlists and the MPD always describe the same
 * sequences (a player switching rungs never finds one missing, and DASH's
 * SegmentTimeline is one list for all). The publish step runs under the
 * sink's lock on whichever encoder thread completed the sequence: it picks
 * the window (the newest segments that fit window_seconds, at least three),
 * writes the media playlists, the master and the MPD, and deletes files
 * that left the window more than one window ago when the run is not
 * recorded. The segment lists stay in memory for the whole run (16 bytes
 * a segment: a day at 2 s is under a megabyte a rendition), because the
 * recording needs them all.
 *
 * The wall clock: media time 0 is the instant the feed's first frame was
 * decoded (eb_input_live_stats), fixed for the run: HLS prints
 * EXT-X-PROGRAM-DATE-TIME from it and the MPD's availabilityStartTime is it.
 */
#include "eb_live.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_manifest.h"
#include "eb_storage.h"

#define EB_LIVE_MIN_SEGMENTS 3

typedef struct EbLiveRend {
    EbSinkRendition r;
    EbRendition desc; /* from the engine, once started */
    int described;
    int timescale;
    int nb, alloc;
    EbSegmentInfo *segs; /* segs[i] is sequence i + 1 */
    int64_t deleted;     /* files of sequences <= this are gone */
    int ended;
} EbLiveRend;

typedef struct EbLiveSink {
    pthread_mutex_t lock;
    const EbLiveOptions *o;
    char dir[4096];
    EbInput *input; /* for the wall clock */
    int nb;
    EbLiveRend rend[EB_SINK_MAX_RENDITIONS];
    int64_t published;     /* newest sequence listed */
    int64_t first_listed;  /* oldest sequence listed */
    uint64_t published_ns; /* when it was listed (monotonic) */
    int64_t wallclock_us;  /* UTC of media time 0; 0 until known */
    int ended;             /* the channel ended: ENDLIST */
} EbLiveSink;

void eb_live_options_default(EbLiveOptions *o)
{
    memset(o, 0, sizeof(*o));
    eb_ladder_default(&o->ladder);
    o->preset = "veryfast";
    o->backend = "software";
    o->segment_seconds = 2.0;
    o->window_seconds = 60.0;
    o->record = 1;
    o->input.fd = -1;
    o->input.format = "mpegts";
    o->input.want_audio = 1;
}

int eb_live_window_start(const int64_t *durations, int nb, int64_t window, int min_segments)
{
    int64_t sum = 0;
    int first = nb;

    while (first > 0) {
        if (nb - first >= min_segments && sum + durations[first - 1] > window)
            break;
        sum += durations[first - 1];
        first--;
    }
    return first;
}

/* ---- the window sink ---- */

static EbLiveRend *eb_live_rend(EbLiveSink *ls, int i)
{
    return i >= 0 && i < ls->nb ? &ls->rend[i] : NULL;
}

static int eb_live_sink_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size)
{
    EbLiveSink *ls = s->priv;
    EbLiveRend *lr = eb_live_rend(ls, rendition);
    char path[4300];
    int ret;

    if (!lr)
        return EB_ERR(EINVAL);
    ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_INIT, lr->r.name, 1, path, sizeof(path));
    return ret < 0 ? ret : eb_storage_write_file(path, data, size);
}

/* The presentation of sequences first..last (1-based), or of every
 * sequence when recording (vod). Rendition descriptions point into ls. */
static void eb_live_presentation(EbLiveSink *ls, int64_t first, int64_t last, int vod,
                                 EbPresentation *p, EbRendition *video, EbRendition *audio)
{
    int nb_video = 0;

    memset(p, 0, sizeof(*p));
    p->format = EB_FORMAT_CMAF;
    p->segment_seconds = ls->o->segment_seconds;
    for (int i = 0; i < ls->nb; i++) {
        EbLiveRend *lr = &ls->rend[i];
        EbRendition *r = lr->r.is_audio ? audio : &video[nb_video++];
        *r = lr->desc;
        r->timescale = lr->timescale;
        r->segments = lr->segs + (first - 1);
        r->nb_segments = (int)(last - first + 1);
        if (lr->r.is_audio)
            p->audio = audio;
    }
    p->nb_video = nb_video;
    p->video = video;
    if (!vod) {
        p->type = EB_PRESENTATION_LIVE;
        p->first_sequence = first;
        p->ended = ls->ended;
        p->wallclock_us = ls->wallclock_us;
        p->anchor_us = 0;
    }
}

/* Lists sequences up to last (lock held). */
static int eb_live_publish(EbLiveSink *ls, int64_t last)
{
    EbRendition video[EB_LADDER_MAX_RUNGS], audio;
    EbPresentation p;
    int64_t *dur, window, first;
    EbLiveRend *ref = &ls->rend[0];
    int ret;

    for (int i = 0; i < ls->nb; i++)
        if (!ls->rend[i].described)
            return 0; /* the next sequence lists it */
    if (!ls->wallclock_us && ls->input) {
        EbLiveInputStats st;
        eb_input_live_stats(ls->input, &st);
        ls->wallclock_us = st.first_frame_wallclock_us;
    }
    dur = malloc((size_t)last * sizeof(*dur));
    if (!dur)
        return EB_ERR(ENOMEM);
    for (int64_t i = 0; i < last; i++)
        dur[i] = ref->segs[i].duration;
    window = (int64_t)(ls->o->window_seconds * ref->timescale);
    first = eb_live_window_start(dur, (int)last, window, EB_LIVE_MIN_SEGMENTS) + 1;
    free(dur);

    eb_live_presentation(ls, first, last, 0, &p, video, &audio);
    ret = eb_manifest_write_files(ls->dir, &p, EB_MANIFEST_ALL);
    if (ret < 0)
        return ret;
    ls->published = last;
    ls->first_listed = first;
    ls->published_ns = eb_clock_ns();

    if (!ls->o->record) {
        /* Gone from the playlists one window ago: no player still asks. */
        int64_t keep_from = first - (last - first + 1);
        for (int i = 0; i < ls->nb; i++) {
            EbLiveRend *lr = &ls->rend[i];
            for (; lr->deleted + 1 < keep_from; lr->deleted++) {
                char path[4300];
                if (eb_layout_file(ls->dir, EB_LAYOUT_CMAF_SEGMENT, lr->r.name, lr->deleted + 1,
                                   path, sizeof(path)) >= 0 &&
                    unlink(path) < 0 && errno != ENOENT)
                    EB_LOGW("live", "could not remove %s: %s", path, strerror(errno));
            }
        }
    }
    return 0;
}

/* The newest sequence every rendition has (lock held). */
static int64_t eb_live_complete(const EbLiveSink *ls)
{
    int64_t m = INT64_MAX;
    for (int i = 0; i < ls->nb; i++)
        if (ls->rend[i].nb < m)
            m = ls->rend[i].nb;
    return ls->nb ? m : 0;
}

static int eb_live_sink_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    EbLiveSink *ls = s->priv;
    EbLiveRend *lr = eb_live_rend(ls, seg->rendition);
    char path[4300];
    int ret;

    if (!lr || seg->sequence != lr->nb + 1)
        return EB_ERR(EINVAL);
    ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_SEGMENT, lr->r.name, seg->sequence, path,
                         sizeof(path));
    if (ret >= 0)
        ret = eb_storage_write_file(path, seg->data, seg->size);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&ls->lock);
    if (lr->nb == lr->alloc) {
        int n = lr->alloc ? 2 * lr->alloc : 256;
        void *p = realloc(lr->segs, (size_t)n * sizeof(*lr->segs));
        if (!p) {
            pthread_mutex_unlock(&ls->lock);
            return EB_ERR(ENOMEM);
        }
        lr->segs = p;
        lr->alloc = n;
    }
    memset(&lr->segs[lr->nb], 0, sizeof(lr->segs[0]));
    lr->segs[lr->nb].start = seg->start;
    lr->segs[lr->nb].duration = seg->duration;
    lr->segs[lr->nb].size = (int64_t)seg->size;
    lr->nb++;
    lr->timescale = seg->timescale;
    ret = 0;
    if (eb_live_complete(ls) > ls->published)
        ret = eb_live_publish(ls, eb_live_complete(ls));
    pthread_mutex_unlock(&ls->lock);
    return ret;
}

static int eb_live_sink_end(EbSegmentSink *s, int rendition)
{
    EbLiveSink *ls = s->priv;
    EbLiveRend *lr = eb_live_rend(ls, rendition);

    if (!lr)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&ls->lock);
    lr->ended = 1;
    pthread_mutex_unlock(&ls->lock);
    return 0;
}

static void eb_live_sink_free(EbSegmentSink *s)
{
    EbLiveSink *ls = s->priv;

    if (!ls)
        return;
    for (int i = 0; i < ls->nb; i++)
        free(ls->rend[i].segs);
    pthread_mutex_destroy(&ls->lock);
    free(ls);
}

static const EbSegmentSinkOps eb_live_sink_ops = {
    .name = "live-window",
    .init = eb_live_sink_init,
    .segment = eb_live_sink_segment,
    .end = eb_live_sink_end,
    .free = eb_live_sink_free,
};

static int eb_live_sink_open(const EbLiveOptions *o, const char *dir, EbInput *input,
                             const EbSinkRendition *rends, int nb, EbSegmentSink **out)
{
    EbSegmentSink *s = calloc(1, sizeof(*s));
    EbLiveSink *ls = calloc(1, sizeof(*ls));
    int ret = 0;

    if (!s || !ls) {
        free(s);
        free(ls);
        return EB_ERR(ENOMEM);
    }
    pthread_mutex_init(&ls->lock, NULL);
    ls->o = o;
    ls->input = input;
    snprintf(ls->dir, sizeof(ls->dir), "%s", dir);
    ls->nb = nb;
    for (int i = 0; i < nb && ret >= 0; i++) {
        char folder[4300];
        ls->rend[i].r = rends[i];
        ret = eb_layout_parent(dir, EB_LAYOUT_CMAF_SEGMENT, rends[i].name, folder, sizeof(folder));
        if (ret >= 0)
            ret = eb_storage_mkdirs(folder);
    }
    s->ops = &eb_live_sink_ops;
    s->priv = ls;
    if (ret < 0) {
        eb_sink_free(&s);
        return ret;
    }
    *out = s;
    return 0;
}

/* The engine's descriptions of every rendition (after start). */
static int eb_live_sink_describe(EbSegmentSink *s, const EbPipeline *pipe)
{
    EbLiveSink *ls = s->priv;
    int ret = 0;

    pthread_mutex_lock(&ls->lock);
    for (int i = 0; i < ls->nb && ret >= 0; i++) {
        ret = eb_pipeline_describe(pipe, i, &ls->rend[i].desc);
        ls->rend[i].described = ret >= 0;
    }
    pthread_mutex_unlock(&ls->lock);
    return ret;
}

/* The run is over: list what is left and, when the channel ends, close
 * the playlists (ENDLIST; the MPD stays dynamic without updates). */
static int eb_live_sink_finish(EbSegmentSink *s, int ended)
{
    EbLiveSink *ls = s->priv;
    int64_t last;
    int ret = 0;

    pthread_mutex_lock(&ls->lock);
    ls->ended = ended;
    last = eb_live_complete(ls);
    if (last > 0 && (last > ls->published || ended))
        ret = eb_live_publish(ls, last);
    pthread_mutex_unlock(&ls->lock);
    return ret;
}

/* ---- the recording: the run as a normal video, over the same bytes ---- */

static int eb_live_link(const char *from, const char *to)
{
    if (link(from, to) == 0)
        return 0;
    return EB_ERR(errno);
}

/* Publishes sequences 1..last as video id: a staging tree whose init
 * sections and segments are hard links to the channel's files (renumbered
 * from 1, as every VOD is), VOD manifests, then one rename. */
static int eb_live_record(EbSegmentSink *s, const char *root, const char *id, char *detail,
                          size_t size)
{
    EbLiveSink *ls = s->priv;
    EbRendition video[EB_LADDER_MAX_RUNGS], audio;
    EbPresentation p;
    char staging[4096] = "";
    int lock = -1, ret;
    int64_t last;

    pthread_mutex_lock(&ls->lock);
    last = eb_live_complete(ls);
    ret = last > 0 ? eb_storage_stage(root, id, staging, sizeof(staging), &lock) : EB_ERR(ENODATA);
    for (int i = 0; ret >= 0 && i < ls->nb; i++) {
        const char *r = ls->rend[i].r.name;
        char from[4300], to[4300];
        ret = eb_layout_parent(staging, EB_LAYOUT_CMAF_SEGMENT, r, to, sizeof(to));
        if (ret >= 0)
            ret = eb_storage_mkdirs(to);
        if (ret >= 0)
            ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_INIT, r, 1, from, sizeof(from));
        if (ret >= 0)
            ret = eb_layout_file(staging, EB_LAYOUT_CMAF_INIT, r, 1, to, sizeof(to));
        if (ret >= 0)
            ret = eb_live_link(from, to);
        for (int64_t n = 1; ret >= 0 && n <= last; n++) {
            ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_SEGMENT, r, n, from, sizeof(from));
            if (ret >= 0)
                ret = eb_layout_file(staging, EB_LAYOUT_CMAF_SEGMENT, r, n, to, sizeof(to));
            if (ret >= 0)
                ret = eb_live_link(from, to);
        }
    }
    if (ret >= 0) {
        eb_live_presentation(ls, 1, last, 1, &p, video, &audio);
        ret = eb_manifest_write_files(staging, &p, EB_MANIFEST_ALL);
    }
    pthread_mutex_unlock(&ls->lock);
    if (ret >= 0)
        ret = eb_storage_publish(root, id, staging, 0);
    if (ret >= 0)
        staging[0] = '\0';
    else
        snprintf(detail, size, "the recording %s was not published: %s", id, eb_strerror(ret));
    if (staging[0])
        eb_storage_remove_tree(staging);
    if (lock >= 0)
        close(lock);
    return ret;
}

/* ---- the run ---- */

typedef struct EbLiveRun {
    const EbLiveOptions *o;
    EbInput *in;
    EbSegmentSink *sink;
} EbLiveRun;

static void eb_live_progress(const EbPipelineProgress *pp, void *opaque)
{
    EbLiveRun *run = opaque;
    EbLiveSink *ls = run->sink->priv;
    EbLiveInputStats st;
    EbLiveProgress p;

    memset(&p, 0, sizeof(p));
    p.engine = *pp;
    eb_input_live_stats(run->in, &st);
    p.dropped = st.dropped;
    p.lag_seconds = st.lag_seconds;
    p.av_offset_seconds = st.av_offset_seconds;
    p.timestamp_jumps = st.timestamp_jumps;
    p.bytes = st.bytes;
    pthread_mutex_lock(&ls->lock);
    p.last_sequence = ls->published;
    p.edge_age_seconds = ls->published ? (eb_clock_ns() - ls->published_ns) / 1e9 : -1;
    pthread_mutex_unlock(&ls->lock);
    run->o->progress(&p, run->o->opaque);
}

static int eb_live_check(const EbLiveOptions *o, char *detail, size_t size)
{
    if (!o->storage_root || !o->channel || !eb_storage_id_valid(o->channel)) {
        snprintf(detail, size, "channel name '%s' is not usable (letters, digits, - and _)",
                 o->channel ? o->channel : "");
        return EB_ERR_BAD_ID;
    }
    if (o->segment_seconds < 1.0 || o->segment_seconds > 10.0) {
        snprintf(detail, size, "live segment length %.3f s is outside 1..10 s", o->segment_seconds);
        return EB_ERR(EINVAL);
    }
    if (o->window_seconds < EB_LIVE_MIN_SEGMENTS * o->segment_seconds) {
        snprintf(detail, size, "window of %.1f s is shorter than %d segments of %.1f s",
                 o->window_seconds, EB_LIVE_MIN_SEGMENTS, o->segment_seconds);
        return EB_ERR(EINVAL);
    }
    if (o->input.fd < 0) {
        snprintf(detail, size, "no feed to read");
        return EB_ERR(EBADF);
    }
    return 0;
}

static void eb_live_default_recording(const char *channel, char *out, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, size, "%s-%s", channel, stamp);
}

int eb_live_run(const EbLiveOptions *o, EbLiveResult *res)
{
    const EbHalBackend *backend;
    EbHalDevice *dev = NULL;
    EbInput *in = NULL;
    EbPipeline *pipe = NULL;
    EbSegmentSink *sink = NULL;
    EbRungPlan plans[EB_LADDER_MAX_RUNGS];
    int ret, nb, hw_stage = 0;
    char *detail = res->error_detail;
    size_t dsize = sizeof(res->error_detail);

    memset(res, 0, sizeof(*res));
    ret = eb_live_check(o, detail, dsize);
    if (ret < 0)
        return ret;
    backend = eb_hal_find(o->backend ? o->backend : "software");
    if (!backend) {
        snprintf(detail, dsize, "no backend named '%s' in this build", o->backend);
        return EB_ERR(EINVAL);
    }
    ret = eb_layout_live_dir(o->storage_root, o->channel, res->output_dir, sizeof(res->output_dir));
    if (ret >= 0)
        ret = eb_storage_prepare(o->storage_root);
    if (ret >= 0) {
        /* A run starts a new window: what an earlier run left is not
         * continued (its recording, if any, has its own links). */
        eb_storage_remove_tree(res->output_dir);
        ret = eb_storage_mkdirs(res->output_dir);
    }
    if (ret < 0) {
        snprintf(detail, dsize, "cannot create the channel's folder %.400s", res->output_dir);
        return ret;
    }
    ret = eb_hal_device_open(backend, NULL, &dev);
    if (ret < 0) {
        snprintf(detail, dsize, "%s device did not open: %s", backend->name, eb_strerror(ret));
        goto end;
    }
    {
        EbLiveInputOptions io = o->input;
        io.want_audio = io.want_audio && o->ladder.audio_bitrate > 0;
        if (!io.cancel)
            io.cancel = o->cancel;
        ret = eb_input_live_open(&io, dev, &in, detail, dsize);
    }
    if (ret < 0)
        goto end;
    {
        EbSourceGeometry g = eb_input_info(in)->geometry;
        nb = eb_ladder_plan(&o->ladder, &g, plans);
        if (nb < 0) {
            ret = nb;
            snprintf(detail, dsize, "no rung of ladder '%s' fits the feed's %dx%d", o->ladder.name,
                     g.width, g.height);
            goto end;
        }
    }
    {
        EbPipelineConfig pc = {
            .input = in,
            .dev = dev,
            .plans = plans,
            .nb_rungs = nb,
            .format = EB_FORMAT_CMAF,
            .segment_seconds = o->segment_seconds,
            .preset = o->preset ? o->preset : "veryfast",
            .encoder_threads = o->encoder_threads,
            .audio_bitrate = o->ladder.audio_bitrate,
            .cancel = o->cancel,
        };
        ret = eb_pipeline_open(&pc, &pipe, detail, dsize, &hw_stage);
        if (ret < 0)
            goto end;
    }
    {
        EbSinkRendition rends[EB_SINK_MAX_RENDITIONS];
        int nb_rend = eb_pipeline_renditions(pipe, rends, EB_SINK_MAX_RENDITIONS);
        ret = eb_live_sink_open(o, res->output_dir, in, rends, nb_rend, &sink);
        if (ret < 0)
            goto end;
    }
    ret = eb_pipeline_start(pipe, sink, NULL);
    if (ret >= 0)
        ret = eb_live_sink_describe(sink, pipe);
    if (ret >= 0) {
        EbLiveRun run = {.o = o, .in = in, .sink = sink};
        ret = eb_pipeline_wait(pipe, o->progress ? eb_live_progress : NULL, &run);
    }
    if (ret == EB_ERR_CANCELED)
        ret = 0; /* a stop is a normal end of a run */
    if (ret < 0) {
        const char *d = eb_pipeline_error_detail(pipe);
        if (d[0])
            snprintf(detail, dsize, "%s", d);
    }
    {
        /* Whatever ended the run, list what was completed. */
        int end_channel = o->end_on_eof || (o->cancel && atomic_load(o->cancel));
        int fret = eb_live_sink_finish(sink, end_channel);
        if (ret >= 0 && fret < 0) {
            ret = fret;
            snprintf(detail, dsize, "the final playlists were not written: %s", eb_strerror(fret));
        }
        if (end_channel && o->record) {
            if (o->recording_id)
                snprintf(res->recording_id, sizeof(res->recording_id), "%s", o->recording_id);
            else
                eb_live_default_recording(o->channel, res->recording_id, sizeof(res->recording_id));
            fret = eb_live_record(sink, o->storage_root, res->recording_id, detail, dsize);
            if (fret < 0) {
                res->recording_id[0] = '\0';
                if (ret >= 0 && fret != EB_ERR(ENODATA))
                    ret = fret;
            }
        }
    }
    {
        EbLiveSink *ls = sink->priv;
        EbLiveInputStats st;
        res->segments = ls->published;
        res->first_sequence = ls->first_listed;
        res->last_sequence = ls->published;
        for (int64_t i = 0; i < ls->published && ls->nb; i++)
            res->duration += ls->rend[0].segs[i].duration / (double)ls->rend[0].timescale;
        eb_input_live_stats(in, &st);
        res->dropped = st.dropped;
    }
end:
    eb_pipeline_free(&pipe);
    eb_sink_free(&sink);
    eb_input_close(&in);
    eb_hal_device_close(&dev);
    return ret;
}
