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
 * With storage.s3 the sink also feeds the window's copy in the bucket
 * (eb_s3_mirror.h): each file is queued once written, a segment before
 * the publish step that lists it queues the manifests, so the bucket's
 * order is the listing's; the sending happens on the mirror's thread.
 *
 * The wall clock: media time 0 is the instant the feed's first frame was
 * decoded (eb_input_live_stats), fixed for the run: HLS prints
 * EXT-X-PROGRAM-DATE-TIME from it and the MPD's availabilityStartTime is it.
 */
#include "eb_live.h"

#include <errno.h>
#include <libavutil/common.h>
#include <libavutil/mathematics.h>
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
#include "eb_live_log.h"
#include "eb_log.h"
#include "eb_manifest.h"
#include "eb_s3.h"
#include "eb_s3_mirror.h"
#include "eb_storage.h"

#define EB_LIVE_MIN_SEGMENTS 3
/* Parts are listed for the newest listed segments only (RFC 8216bis asks
 * for at least the last three target durations' worth); their files are
 * removed a few segments later, once no player can still be reading them. */
#define EB_LIVE_PART_SEGMENTS 3
#define EB_LIVE_PART_FILES_KEPT 6
/* seconds the bucket's copy may take to send what is queued at the end */
#define EB_LIVE_MIRROR_DRAIN_S 30.0

typedef struct EbLiveRend {
    EbSinkRendition r;
    EbRendition desc; /* from the engine, once started */
    int described;
    int timescale;
    int nb, alloc;
    EbSegmentInfo *segs; /* segs[i] is sequence i + 1 */
    int64_t deleted;     /* files of sequences <= this are gone */
    int ended;
    /* low latency: this rendition's newest parts (sequence order) */
    EbPartInfo *parts;
    int nb_parts, alloc_parts;
    int64_t parts_deleted; /* part files of sequences <= this are gone */
} EbLiveRend;

typedef struct EbLiveSink {
    pthread_mutex_t lock;
    const EbLiveOptions *o;
    char dir[4096];
    EbInput *input; /* for the wall clock; NULL: a session ended from its log */
    int nb;
    EbLiveRend rend[EB_SINK_MAX_RENDITIONS];
    int64_t base;          /* sequence number of segs[0]: the session's first */
    int run_first;         /* segs index of this run's first segment */
    int have_offset;       /* run_offset_us is known */
    int64_t run_offset_us; /* this run's media time 0 on the session's clock */
    FILE *log;             /* the session log (eb_live_log.h), appending */
    int logged_desc;       /* this run's renditions are in the log */
    int64_t published;     /* newest sequence listed; base - 1: none */
    int64_t first_listed;  /* oldest sequence listed */
    uint64_t published_ns; /* when it was listed (monotonic) */
    int64_t wallclock_us;  /* UTC of media time 0; 0 until known */
    int ended;             /* the channel ended: ENDLIST */
    /* protected (o->encryption): the channel's key, where it is kept, and
     * the live manifests' protection (set at open, read-only after) */
    int protected;
    EbContentKey key;
    char key_store[4200];
    EbProtectionText pt;
    /* storage.s3: the window's copy in the bucket, fed as files are
     * written (init, segments, parts, then the manifests that list them,
     * then the removals); NULL: none */
    EbS3Mirror *mirror;
} EbLiveSink;

void eb_live_options_default(EbLiveOptions *o)
{
    memset(o, 0, sizeof(*o));
    eb_ladder_default(&o->ladder);
    o->preset = "veryfast";
    o->backend = "software";
    o->segment_seconds = 2.0;
    o->window_seconds = 60.0;
    o->part_seconds = EB_LIVE_DEFAULT_PART_SECONDS;
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

/* The bucket's copy of a media file of the window, by its path relative
 * to the window (see EbLiveSink.mirror). */
static void eb_live_mirror_put(EbLiveSink *ls, const char *rel)
{
    if (ls->mirror)
        eb_s3_mirror_put(ls->mirror, rel);
}

static void eb_live_mirror_delete(EbLiveSink *ls, const char *rel)
{
    if (ls->mirror)
        eb_s3_mirror_delete(ls->mirror, rel);
}

/* The same for a file of the layout (item of rendition r, number n). */
static void eb_live_mirror_item(EbLiveSink *ls, EbLayoutItem item, const char *r, int64_t n,
                                int remove)
{
    char rel[1024];

    if (!ls->mirror || eb_layout_path(item, r, n, rel, sizeof(rel)) < 0)
        return;
    if (remove)
        eb_s3_mirror_delete(ls->mirror, rel);
    else if (item == EB_LAYOUT_HLS_MEDIA || item == EB_LAYOUT_HLS_MASTER ||
             item == EB_LAYOUT_DASH_MPD)
        eb_s3_mirror_put_manifest(ls->mirror, rel); /* its content now */
    else
        eb_s3_mirror_put(ls->mirror, rel);
}

/* The manifests eb_manifest_write_files just wrote (what: its flags). */
static void eb_live_mirror_manifests(EbLiveSink *ls, const EbPresentation *p, unsigned what)
{
    if (!ls->mirror)
        return;
    for (int i = 0; (what & EB_MANIFEST_MEDIA) && i < p->nb_video + p->nb_audio; i++)
        eb_live_mirror_item(ls, EB_LAYOUT_HLS_MEDIA,
                            i < p->nb_video ? p->video[i].name : p->audio[i - p->nb_video].name, 1,
                            0);
    if (what & EB_MANIFEST_MASTER)
        eb_live_mirror_item(ls, EB_LAYOUT_HLS_MASTER, NULL, 1, 0);
    if (what & EB_MANIFEST_MPD)
        eb_live_mirror_item(ls, EB_LAYOUT_DASH_MPD, NULL, 1, 0);
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
    if (ret >= 0)
        ret = eb_storage_write_file(path, data, size);
    if (ret >= 0)
        eb_live_mirror_item(ls, EB_LAYOUT_CMAF_INIT, lr->r.name, 1, 0);
    return ret;
}

/* The number of discontinuities among segs[0..n) of a rendition. */
static int64_t eb_live_discontinuities(const EbLiveRend *lr, int64_t n)
{
    int64_t d = 0;
    for (int64_t i = 0; i < n; i++)
        d += lr->segs[i].discontinuity;
    return d;
}

/* The live window of sequences first..last (absolute). Rendition
 * descriptions point into ls. */
static void eb_live_presentation(EbLiveSink *ls, int64_t first, int64_t last, EbPresentation *p,
                                 EbRendition *video, EbRendition *audio)
{
    int nb_video = 0, nb_audio = 0;

    memset(p, 0, sizeof(*p));
    p->format = EB_FORMAT_CMAF;
    p->segment_seconds = ls->o->segment_seconds;
    for (int i = 0; i < ls->nb; i++) {
        EbLiveRend *lr = &ls->rend[i];
        EbRendition *r = lr->r.is_audio ? &audio[nb_audio++] : &video[nb_video++];
        *r = lr->desc;
        r->timescale = lr->timescale;
        r->segments = lr->segs + (first - ls->base);
        r->nb_segments = (int)(last - first + 1);
        r->parts = lr->parts;
        r->nb_parts = lr->nb_parts;
        r->last_complete = ls->base + lr->nb - 1;
    }
    p->nb_audio = nb_audio;
    p->audio = nb_audio ? audio : NULL;
    p->nb_video = nb_video;
    p->video = video;
    p->type = EB_PRESENTATION_LIVE;
    p->part_target = ls->o->part_seconds;
    p->first_sequence = first;
    p->discontinuity_sequence = eb_live_discontinuities(&ls->rend[0], first - ls->base);
    p->ended = ls->ended;
    p->wallclock_us = ls->wallclock_us;
    p->anchor_us = 0;
    p->utc_timing_url = ls->o->utc_timing_url;
    p->protection = ls->protected ? &ls->pt.p : NULL;
}

/* The whole session as a VOD, numbered from 1: each rendition's segments
 * copied into segs[i] (the caller frees them), each run placed right after
 * the one before (the time the publisher was away is not in the
 * recording), so the DASH Periods follow each other without a gap. */
static int eb_live_vod_presentation(EbLiveSink *ls, int64_t n, EbPresentation *p,
                                    EbRendition *video, EbRendition *audio, EbSegmentInfo **segs)
{
    const EbLiveRend *ref = &ls->rend[0];
    int nb_video = 0, nb_audio = 0;

    memset(p, 0, sizeof(*p));
    p->format = EB_FORMAT_CMAF;
    p->segment_seconds = ls->o->segment_seconds;
    for (int i = 0; i < ls->nb; i++) {
        segs[i] = malloc((size_t)n * sizeof(EbSegmentInfo));
        if (!segs[i])
            return EB_ERR(ENOMEM);
        memcpy(segs[i], ls->rend[i].segs, (size_t)n * sizeof(EbSegmentInfo));
        /* each segment's date on the live clock, before the runs are
         * placed end to end: a player's program date-time (and the chat
         * replayed by it) is the session's own */
        for (int64_t k = 0; ls->wallclock_us && k < n; k++)
            segs[i][k].date_us =
                ls->wallclock_us + av_rescale(segs[i][k].start, 1000000, ls->rend[i].timescale);
    }
    p->wallclock_us = ls->wallclock_us;
    for (int64_t k = 0, off_us = 0, shifted = 0; k < n; k++) {
        const EbSegmentInfo *s = &ref->segs[k];
        if (k > 0 && s->discontinuity && s->media_offset != ref->segs[k - 1].media_offset) {
            /* The previous run's end, as placed (its longest rendition: the
             * audio is padded to the video's end), is this run's start. */
            int64_t end_us = 0;
            for (int i = 0; i < ls->nb; i++) {
                const EbSegmentInfo *prev = &segs[i][k - 1];
                end_us = FFMAX(end_us, av_rescale(prev->start + prev->duration, 1000000,
                                                  ls->rend[i].timescale));
            }
            off_us = end_us - av_rescale(s->start - s->media_offset, 1000000, ref->timescale);
            shifted = 1;
        }
        for (int i = 0; shifted && i < ls->nb; i++) {
            EbSegmentInfo *c = &segs[i][k];
            int64_t off = av_rescale(off_us, ls->rend[i].timescale, 1000000);
            c->start = c->start - c->media_offset + off;
            c->media_offset = off;
        }
    }
    for (int i = 0; i < ls->nb; i++) {
        EbLiveRend *lr = &ls->rend[i];
        EbRendition *r = lr->r.is_audio ? &audio[nb_audio++] : &video[nb_video++];
        *r = lr->desc;
        r->timescale = lr->timescale;
        r->segments = segs[i];
        r->nb_segments = (int)n;
    }
    p->nb_audio = nb_audio;
    p->audio = nb_audio ? audio : NULL;
    p->nb_video = nb_video;
    p->video = video;
    return 0;
}

/* Appends to the session log what listing sequences up to last adds to
 * it (lock held): this run's renditions, the anchor, the sequences. */
static int eb_live_log_publish(EbLiveSink *ls, int64_t last)
{
    int ret = 0;

    if (!ls->log)
        return 0;
    if (!ls->logged_desc) {
        EbRendition d[EB_SINK_MAX_RENDITIONS];
        for (int i = 0; i < ls->nb; i++) {
            d[i] = ls->rend[i].desc;
            d[i].timescale = ls->rend[i].timescale;
        }
        if (ls->run_first == 0)
            ret = eb_live_log_wallclock(ls->log, ls->wallclock_us);
        if (ret >= 0)
            ret = eb_live_log_renditions(ls->log, eb_input_info(ls->input), d, ls->nb);
        ls->logged_desc = ret >= 0;
    }
    for (int64_t q = ls->published + 1; ret >= 0 && q <= last; q++) {
        const EbSegmentInfo *segs[EB_SINK_MAX_RENDITIONS];
        for (int i = 0; i < ls->nb; i++)
            segs[i] = &ls->rend[i].segs[q - ls->base];
        ret = eb_live_log_sequence(ls->log, q, segs[0]->discontinuity, segs, ls->nb);
    }
    return ret;
}

/* Forgets parts of segments listed long enough ago (lock held), and
 * removes their files a few segments later. */
static void eb_live_prune_parts(EbLiveSink *ls, EbLiveRend *lr)
{
    int64_t keep_from = ls->published - EB_LIVE_PART_SEGMENTS + 1;
    int drop = 0;

    while (drop < lr->nb_parts && lr->parts[drop].sequence < keep_from)
        drop++;
    if (drop) {
        memmove(lr->parts, lr->parts + drop, (size_t)(lr->nb_parts - drop) * sizeof(*lr->parts));
        lr->nb_parts -= drop;
    }
    if (lr->parts_deleted < ls->base - 1)
        lr->parts_deleted = ls->base - 1;
    for (; lr->parts_deleted < ls->published - EB_LIVE_PART_FILES_KEPT; lr->parts_deleted++) {
        char rel[1024], path[5400];
        for (int k = 0;; k++) {
            if (eb_layout_part_path(lr->r.name, lr->parts_deleted + 1, k, rel, sizeof(rel)) < 0)
                break;
            snprintf(path, sizeof(path), "%s/%s", ls->dir, rel);
            if (unlink(path) < 0) {
                if (errno != ENOENT)
                    EB_LOGW("live", "could not remove %s: %s", path, strerror(errno));
                break;
            }
            eb_live_mirror_delete(ls, rel);
        }
    }
}

/* Lists sequences up to last (lock held). */
static int eb_live_publish(EbLiveSink *ls, int64_t last)
{
    EbRendition video[EB_LADDER_MAX_RUNGS], audio[EB_MAX_AUDIO_TRACKS];
    EbPresentation p;
    int64_t *dur, window, first, n = last - ls->base + 1;
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
    dur = malloc((size_t)n * sizeof(*dur));
    if (!dur)
        return EB_ERR(ENOMEM);
    for (int64_t i = 0; i < n; i++)
        dur[i] = ref->segs[i].duration;
    window = (int64_t)(ls->o->window_seconds * ref->timescale);
    first = ls->base + eb_live_window_start(dur, (int)n, window, EB_LIVE_MIN_SEGMENTS);
    free(dur);

    /* Logged before listed: a number a player saw is never given again. */
    ret = eb_live_log_publish(ls, last);
    if (ret < 0)
        return ret;
    ls->published = last;
    for (int i = 0; i < ls->nb; i++)
        eb_live_prune_parts(ls, &ls->rend[i]);
    eb_live_presentation(ls, first, last, &p, video, audio);
    ret = eb_manifest_write_files(ls->dir, &p, EB_MANIFEST_ALL);
    if (ret < 0)
        return ret;
    eb_live_mirror_manifests(ls, &p, EB_MANIFEST_ALL);
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
                eb_live_mirror_item(ls, EB_LAYOUT_CMAF_SEGMENT, lr->r.name, lr->deleted + 1, 1);
            }
        }
    }
    return 0;
}

/* The newest sequence every rendition has (lock held); base - 1: none. */
static int64_t eb_live_complete(const EbLiveSink *ls)
{
    int64_t m = INT64_MAX;
    for (int i = 0; i < ls->nb; i++)
        if (ls->rend[i].nb < m)
            m = ls->rend[i].nb;
    return ls->base - 1 + (ls->nb ? m : 0);
}

/* This run's media time 0 on the session's clock (lock held): where its
 * first frame arrived on the wall clock, never before the end of what the
 * session has listed (the clock only moves forward). */
static void eb_live_run_offset(EbLiveSink *ls)
{
    EbLiveInputStats st;
    int64_t end_us = 0;

    if (ls->have_offset)
        return;
    ls->have_offset = 1;
    if (ls->run_first == 0 || !ls->input)
        return;
    for (int i = 0; i < ls->nb; i++) {
        const EbLiveRend *lr = &ls->rend[i];
        const EbSegmentInfo *e = &lr->segs[ls->run_first - 1];
        end_us = FFMAX(end_us, av_rescale(e->start + e->duration, 1000000, lr->timescale));
    }
    eb_input_live_stats(ls->input, &st);
    ls->run_offset_us = FFMAX(st.first_frame_wallclock_us - ls->wallclock_us, end_us);
}

static int eb_live_sink_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    EbLiveSink *ls = s->priv;
    EbLiveRend *lr = eb_live_rend(ls, seg->rendition);
    EbSegmentInfo *info;
    char path[4300];
    int ret;

    if (!lr || seg->sequence != lr->nb - ls->run_first + 1)
        return EB_ERR(EINVAL);
    ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_SEGMENT, lr->r.name, ls->base + lr->nb, path,
                         sizeof(path));
    if (ret >= 0)
        ret = eb_storage_write_file(path, seg->data, seg->size);
    if (ret < 0)
        return ret;
    /* queued before the manifests that will list it */
    eb_live_mirror_item(ls, EB_LAYOUT_CMAF_SEGMENT, lr->r.name, ls->base + lr->nb, 0);
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
    if (lr->timescale && lr->timescale != seg->timescale) {
        pthread_mutex_unlock(&ls->lock);
        return EB_ERR(EINVAL); /* the session's clock is in the first run's timescale */
    }
    lr->timescale = seg->timescale;
    eb_live_run_offset(ls);
    info = &lr->segs[lr->nb];
    memset(info, 0, sizeof(*info));
    info->media_offset = av_rescale(ls->run_offset_us, lr->timescale, 1000000);
    info->start = seg->start + info->media_offset;
    info->duration = seg->duration;
    info->size = (int64_t)seg->size;
    info->discontinuity = ls->run_first > 0 && lr->nb == ls->run_first;
    if (seg->iv) { /* aes-128: the segment's IV (its sequence number, see eb_live_run) */
        info->has_iv = 1;
        memcpy(info->iv, seg->iv, 16);
    }
    lr->nb++;
    ret = 0;
    if (eb_live_complete(ls) > ls->published)
        ret = eb_live_publish(ls, eb_live_complete(ls));
    pthread_mutex_unlock(&ls->lock);
    return ret;
}

/* LL-DASH: once every rendition has written the first part of the segment
 * after the newest listed one (lock held), the MPD lists that segment too,
 * at its nominal duration, so that players ask for it while it is written
 * (the MPD's availabilityTimeOffset; the origin streams it). The listing
 * after it completes states its real duration (an audio segment's may
 * differ by an AAC frame, the last of a run is shorter). */
static int eb_live_list_open_segment(EbLiveSink *ls, int64_t seq)
{
    EbRendition video[EB_LADDER_MAX_RUNGS], audio[EB_MAX_AUDIO_TRACKS];
    EbSegmentInfo *copies[EB_SINK_MAX_RENDITIONS] = {0};
    EbPresentation p;
    int n = (int)(ls->published - ls->first_listed + 1), ret = 0;

    if (seq != ls->published + 1 || ls->published < ls->base || ls->ended ||
        !(ls->o->segment_seconds > 0))
        return 0;
    for (int i = 0; i < ls->nb; i++) {
        const EbLiveRend *lr = &ls->rend[i];
        int found = 0;
        if (!lr->described || !lr->timescale)
            return 0;
        for (int k = lr->nb_parts - 1; k >= 0 && !found; k--)
            found = lr->parts[k].sequence == seq && lr->parts[k].index == 0;
        if (!found)
            return 0; /* the last one to start lists it */
    }
    eb_live_presentation(ls, ls->first_listed, ls->published, &p, video, audio);
    for (int i = 0; i < p.nb_video + p.nb_audio && ret >= 0; i++) {
        EbRendition *r = i < p.nb_video ? &p.video[i] : &p.audio[i - p.nb_video];
        const EbLiveRend *lr = NULL;
        const EbPartInfo *first = NULL;
        EbSegmentInfo *open;
        for (int k = 0; k < ls->nb && !lr; k++)
            if (!strcmp(ls->rend[k].r.name, r->name))
                lr = &ls->rend[k];
        for (int k = lr ? lr->nb_parts - 1 : -1; k >= 0 && !first; k--)
            if (lr->parts[k].sequence == seq && lr->parts[k].index == 0)
                first = &lr->parts[k];
        copies[i] = malloc((size_t)(n + 1) * sizeof(*copies[i]));
        if (!first || !copies[i]) {
            ret = first ? EB_ERR(ENOMEM) : EB_ERR(EINVAL);
            break;
        }
        memcpy(copies[i], r->segments, (size_t)n * sizeof(*copies[i]));
        open = &copies[i][n];
        *open = copies[i][n - 1];
        open->start = first->start;
        open->duration = llround(ls->o->segment_seconds * lr->timescale);
        open->discontinuity = first->discontinuity;
        if (first->discontinuity)
            open->media_offset = av_rescale(ls->run_offset_us, lr->timescale, 1000000);
        r->segments = copies[i];
        r->nb_segments = n + 1;
    }
    if (ret >= 0)
        ret = eb_manifest_write_files(ls->dir, &p, EB_MANIFEST_MPD);
    if (ret >= 0)
        eb_live_mirror_manifests(ls, &p, EB_MANIFEST_MPD);
    for (int i = 0; i < EB_SINK_MAX_RENDITIONS; i++)
        free(copies[i]);
    return ret;
}

/* A part of the segment a rendition is writing: its own file, then this
 * rendition's playlist lists it (once a first segment is listed). */
static int eb_live_sink_part(EbSegmentSink *s, const EbSegmentReport *pt)
{
    EbLiveSink *ls = s->priv;
    EbLiveRend *lr = eb_live_rend(ls, pt->rendition);
    char rel[1024], path[5400];
    int64_t seq;
    int ret;

    if (!lr || pt->sequence != lr->nb - ls->run_first + 1 || pt->part < 0)
        return EB_ERR(EINVAL);
    if (!(ls->o->part_seconds > 0))
        return 0;
    seq = ls->base + lr->nb;
    ret = eb_layout_part_path(lr->r.name, seq, pt->part, rel, sizeof(rel));
    if (ret < 0)
        return ret;
    snprintf(path, sizeof(path), "%s/%s", ls->dir, rel);
    ret = eb_storage_write_file(path, pt->data, pt->size);
    if (ret < 0)
        return ret;
    eb_live_mirror_put(ls, rel);
    pthread_mutex_lock(&ls->lock);
    if (lr->timescale && lr->timescale != pt->timescale) {
        pthread_mutex_unlock(&ls->lock);
        return EB_ERR(EINVAL);
    }
    if (lr->nb_parts == lr->alloc_parts) {
        int n = lr->alloc_parts ? 2 * lr->alloc_parts : 64;
        void *p = realloc(lr->parts, (size_t)n * sizeof(*lr->parts));
        if (!p) {
            pthread_mutex_unlock(&ls->lock);
            return EB_ERR(ENOMEM);
        }
        lr->parts = p;
        lr->alloc_parts = n;
    }
    eb_live_run_offset(ls);
    lr->parts[lr->nb_parts++] = (EbPartInfo){
        .sequence = seq,
        .index = pt->part,
        .start = pt->start + av_rescale(ls->run_offset_us, pt->timescale, 1000000),
        .duration = pt->duration,
        .independent = pt->independent,
        .discontinuity = ls->run_first > 0 && lr->nb == ls->run_first,
    };
    eb_live_prune_parts(ls, lr);
    ret = 0;
    if (ls->published >= ls->base && lr->described && lr->timescale) {
        EbRendition video[EB_LADDER_MAX_RUNGS], audio[EB_MAX_AUDIO_TRACKS];
        EbPresentation p;
        int all = 1;
        for (int i = 0; i < ls->nb; i++)
            all &= ls->rend[i].described;
        if (all) {
            const EbRendition *r = NULL;
            eb_live_presentation(ls, ls->first_listed, ls->published, &p, video, audio);
            for (int i = 0; i < p.nb_video; i++)
                if (!strcmp(p.video[i].name, lr->r.name))
                    r = &p.video[i];
            for (int i = 0; i < p.nb_audio; i++)
                if (!strcmp(p.audio[i].name, lr->r.name))
                    r = &p.audio[i];
            if (r && (ret = eb_manifest_write_media(ls->dir, &p, r)) >= 0)
                eb_live_mirror_item(ls, EB_LAYOUT_HLS_MEDIA, r->name, 1, 0);
            if (ret >= 0 && pt->part == 0)
                ret = eb_live_list_open_segment(ls, seq);
        }
    }
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
    for (int i = 0; i < ls->nb; i++) {
        free(ls->rend[i].segs);
        free(ls->rend[i].parts);
    }
    if (ls->log)
        fclose(ls->log);
    if (ls->mirror) {
        EbS3MirrorStats st;
        /* what is queued goes up (the final manifests among it), within a
         * bound: a bucket that is away does not hold the channel's end */
        eb_s3_mirror_close(&ls->mirror, EB_LIVE_MIRROR_DRAIN_S, &st);
        EB_LOGI("live",
                "%s: the bucket's copy: %lld objects, %lld bytes, %lld removed, "
                "%lld failed, %lld dropped",
                ls->o->channel, (long long)st.objects, (long long)st.bytes, (long long)st.deleted,
                (long long)st.failed, (long long)st.dropped);
    }
    pthread_mutex_destroy(&ls->lock);
    explicit_bzero(&ls->key, sizeof(ls->key));
    free(ls);
}

static const EbSegmentSinkOps eb_live_sink_ops = {
    .name = "live-window",
    .init = eb_live_sink_init,
    .part = eb_live_sink_part,
    .segment = eb_live_sink_segment,
    .end = eb_live_sink_end,
    .free = eb_live_sink_free,
};

/* A window sink over dir for renditions rends, continuing the session in
 * log when it is given (its listed sequences become this sink's first,
 * this run's segments follow them after a discontinuity), else starting a
 * new session numbered from first_seq. The log file is opened for
 * appending either way. */
/* The license URL of a channel or a recording for the MPDs: absolute
 * (public_base_url + path) or none. */
static void eb_live_laurl(const EbLiveOptions *o, const char *tree, const char *id, char *out,
                          size_t size)
{
    out[0] = 0;
    if (o->public_base_url && o->public_base_url[0])
        snprintf(out, size, "%s/%s/%s/" EB_LAYOUT_LICENSE_NAME, o->public_base_url, tree, id);
}

/* The channel's key (the newest of its scheme, or a new one) and the live
 * manifests' protection. */
static int eb_live_key(EbLiveSink *ls)
{
    const EbLiveOptions *o = ls->o;
    char laurl[512];
    int ret;

    if (o->key_store)
        snprintf(ls->key_store, sizeof(ls->key_store), "%s", o->key_store);
    else
        snprintf(ls->key_store, sizeof(ls->key_store), "%s/keys", o->storage_root);
    ret = eb_key_store_latest(ls->key_store, o->channel, o->encryption, &ls->key);
    if (ret == EB_ERR(ENOENT)) {
        EbKeyProvider *kp = NULL;
        ret = eb_key_store_open(ls->key_store, &kp);
        if (ret >= 0)
            ret = kp->ops->create(kp, o->channel, o->encryption, &ls->key);
        eb_key_provider_free(&kp);
    }
    if (ret < 0) {
        EB_LOGE("live", "%s: no content key from the key store %s: %s", o->channel, ls->key_store,
                eb_strerror(ret));
        return ret;
    }
    eb_live_laurl(o, EB_LAYOUT_LIVE_DIR, o->channel, laurl, sizeof(laurl));
    eb_protection_text(&ls->pt, o->encryption, ls->key.k.kid, laurl);
    ls->protected = 1;
    return 0;
}

static int eb_live_sink_open(const EbLiveOptions *o, const char *dir, EbInput *input,
                             const EbSinkRendition *rends, int nb, const EbLiveLog *log,
                             int64_t first_seq, EbSegmentSink **out)
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
    ls->base = log ? log->first_seq : first_seq;
    ls->published = ls->base - 1;
    ls->first_listed = ls->base;
    s->ops = &eb_live_sink_ops;
    s->priv = ls;
    for (int i = 0; i < nb && ret >= 0; i++) {
        EbLiveRend *lr = &ls->rend[i];
        char folder[4300];
        lr->r = rends[i];
        ret = eb_layout_parent(dir, EB_LAYOUT_CMAF_SEGMENT, rends[i].name, folder, sizeof(folder));
        if (ret >= 0)
            ret = eb_storage_mkdirs(folder);
        if (ret >= 0 && log && log->nb_seq) {
            lr->alloc = (int)log->nb_seq + 256;
            lr->segs = malloc((size_t)lr->alloc * sizeof(*lr->segs));
            if (!lr->segs) {
                ret = EB_ERR(ENOMEM);
                break;
            }
            memcpy(lr->segs, log->segs[i], (size_t)log->nb_seq * sizeof(*lr->segs));
            lr->nb = (int)log->nb_seq;
            lr->timescale = log->desc[i].timescale;
            if (!input) {
                lr->desc = log->desc[i];
                lr->described = 1;
            }
        }
    }
    if (ret >= 0 && log && log->nb_seq) {
        ls->run_first = (int)log->nb_seq;
        ls->logged_desc = !input; /* no run: nothing new to describe */
        ls->wallclock_us = log->wallclock_us;
        ls->published = ls->base + log->nb_seq - 1;
        for (int i = 0; i < ls->nb; i++) /* unlinking an absent file is harmless */
            ls->rend[i].deleted = ls->base - 1;
    }
    if (ret >= 0 && o->encryption != EB_ENCRYPT_NONE)
        ret = eb_live_key(ls);
    if (ret >= 0 && o->s3) {
        char prefix[512];
        snprintf(prefix, sizeof(prefix), EB_LAYOUT_LIVE_DIR "/%s", o->channel);
        /* a CDN keeps a live manifest half a segment at most */
        ret = eb_s3_mirror_open(o->s3, dir, prefix, (int)(o->segment_seconds / 2), &ls->mirror);
    }
    if (ret >= 0)
        ret = log ? eb_live_log_append(dir, &ls->log) : eb_live_log_start(dir, first_seq, &ls->log);
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
    if (last >= ls->base && (last > ls->published || ended))
        ret = eb_live_publish(ls, last);
    pthread_mutex_unlock(&ls->lock);
    return ret;
}

/* ---- the recording: the session as a normal video, over the same bytes ---- */

static int eb_live_link(const char *from, const char *to)
{
    if (link(from, to) == 0)
        return 0;
    return EB_ERR(errno);
}

/* Publishes the session's listed sequences as video id: a staging tree
 * whose init sections and segments are hard links to the channel's files
 * (renumbered from 1, as every VOD is), VOD manifests, then one rename.
 * rec receives what was published. */
static int eb_live_record(EbSegmentSink *s, const char *root, const char *id, EbLiveRecording *rec,
                          char *detail, size_t size)
{
    EbLiveSink *ls = s->priv;
    EbRendition video[EB_LADDER_MAX_RUNGS], audio[EB_MAX_AUDIO_TRACKS];
    EbSegmentInfo *copies[EB_SINK_MAX_RENDITIONS] = {0};
    EbPresentation p;
    EbProtectionText rec_pt;
    char staging[4096] = "";
    int lock = -1, ret;
    int64_t n;

    pthread_mutex_lock(&ls->lock);
    n = ls->published - ls->base + 1;
    ret = n > 0 ? eb_storage_stage(root, id, staging, sizeof(staging), &lock) : EB_ERR(ENODATA);
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
        for (int64_t k = 1; ret >= 0 && k <= n; k++) {
            ret = eb_layout_file(ls->dir, EB_LAYOUT_CMAF_SEGMENT, r, ls->base + k - 1, from,
                                 sizeof(from));
            if (ret >= 0)
                ret = eb_layout_file(staging, EB_LAYOUT_CMAF_SEGMENT, r, k, to, sizeof(to));
            if (ret >= 0)
                ret = eb_live_link(from, to);
        }
    }
    if (ret >= 0)
        ret = eb_live_vod_presentation(ls, n, &p, video, audio, copies);
    if (ret >= 0 && ls->protected) {
        /* the recording is a video of its own: the channel's key under its
         * id, so its license and key URIs answer */
        char laurl[512];
        ret = eb_key_store_put(ls->key_store, id, &ls->key);
        eb_live_laurl(ls->o, EB_LAYOUT_VIDEOS_DIR, id, laurl, sizeof(laurl));
        eb_protection_text(&rec_pt, ls->o->encryption, ls->key.k.kid, laurl);
        p.protection = &rec_pt.p;
    }
    if (ret >= 0)
        ret = eb_manifest_write_files(staging, &p, EB_MANIFEST_ALL);
    if (ret >= 0) {
        const EbLiveRend *ref = &ls->rend[0];
        const EbSegmentInfo *last = &ref->segs[n - 1];
        memset(rec, 0, sizeof(*rec));
        snprintf(rec->id, sizeof(rec->id), "%s", id);
        rec->duration = eb_rendition_duration(&video[0]);
        rec->start_unix =
            (ls->wallclock_us + av_rescale(ref->segs[0].start, 1000000, ref->timescale)) / 1e6;
        rec->end_unix =
            (ls->wallclock_us + av_rescale(last->start + last->duration, 1000000, ref->timescale)) /
            1e6;
        rec->segments = n;
    }
    for (int i = 0; i < ls->nb; i++)
        free(copies[i]);
    pthread_mutex_unlock(&ls->lock);
    if (ret >= 0 && ls->o->s3) {
        char key[128], err[400];
        EbS3Stats st = {0};
        snprintf(key, sizeof(key), "%s/%.64s", EB_LAYOUT_VIDEOS_DIR, id);
        if (eb_s3_put_tree(ls->o->s3, staging, key, &st, err, sizeof(err)) < 0) {
            EB_LOGE("live",
                    "recording %s: the upload to the object store failed, the recording "
                    "stays on this box: %s",
                    id, err);
        } else {
            rec->objects = st.objects;
            rec->bytes = st.bytes;
            EB_LOGI("live", "recording %s: %d objects, %.1f MB to the object store in %.2f s", id,
                    st.objects, st.bytes / 1e6, st.seconds);
        }
    }
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

static void eb_live_default_recording(const char *channel, int64_t wallclock_us, char *out,
                                      size_t size)
{
    time_t t = wallclock_us ? (time_t)(wallclock_us / 1000000) : time(NULL);
    struct tm tm;
    char stamp[32];

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, size, "%s-%s", channel, stamp);
}

/* Ends the session of sink s: ENDLIST playlists, the recording when the
 * channel records (o->recording_id or <channel>-<session start>), E in the
 * log. res->recording_id says what was published. */
static int eb_live_end_session(const EbLiveOptions *o, EbSegmentSink *s, EbLiveResult *res)
{
    EbLiveSink *ls = s->priv;
    char *detail = res->error_detail;
    size_t dsize = sizeof(res->error_detail);
    int ret = eb_live_sink_finish(s, 1);

    if (ret < 0) {
        snprintf(detail, dsize, "the final playlists were not written: %s", eb_strerror(ret));
        return ret;
    }
    if (o->record && ls->published >= ls->base) {
        EbLiveRecording rec;
        char id[128];
        if (o->recording_id)
            snprintf(id, sizeof(id), "%s", o->recording_id);
        else
            eb_live_default_recording(o->channel, ls->wallclock_us, id, sizeof(id));
        ret = eb_live_record(s, o->storage_root, id, &rec, detail, dsize);
        if (ret == EB_ERR_EXISTS) {
            /* An earlier try published it and died before the log said so. */
            EB_LOGW("live", "recording %s already published", id);
            ret = 0;
        } else if (ret >= 0) {
            snprintf(res->recording_id, sizeof(res->recording_id), "%s", id);
            if (o->recorded)
                o->recorded(&rec, o->opaque);
        }
        if (ret < 0)
            return ret;
    }
    pthread_mutex_lock(&ls->lock);
    ret = ls->log ? eb_live_log_end(ls->log) : 0;
    pthread_mutex_unlock(&ls->lock);
    if (ret < 0)
        snprintf(detail, dsize, "the session log was not written: %s", eb_strerror(ret));
    return ret;
}

/* Ends the session left open in dir's log (a run that died, or one that
 * left it open for a reconnect): the same as its run would have. */
static int eb_live_end_logged(const EbLiveOptions *o, const char *dir, const EbLiveLog *log,
                              EbLiveResult *res)
{
    EbSinkRendition rends[EB_SINK_MAX_RENDITIONS];
    EbSegmentSink *s = NULL;
    int ret;

    for (int i = 0; i < log->nb; i++) {
        memset(&rends[i], 0, sizeof(rends[i]));
        snprintf(rends[i].name, sizeof(rends[i].name), "%s", log->desc[i].name);
        rends[i].is_audio = log->desc[i].is_audio;
        rends[i].format = EB_FORMAT_CMAF;
    }
    ret = eb_live_sink_open(o, dir, NULL, rends, log->nb, log, 0, &s);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "the open session of %s could not be read back: %s", o->channel, eb_strerror(ret));
        return ret;
    }
    ret = eb_live_end_session(o, s, res);
    eb_sink_free(&s);
    return ret;
}

/* 1 when this run's renditions can continue the logged session: the same
 * names, sizes, frame rate and sample rate (so the same timescales). */
static int eb_live_can_continue(const EbLiveLog *log, const EbSinkRendition *rends, int nb,
                                const EbRungPlan *plans, const EbSourceInfo *info)
{
    int v = 0;

    if (!log->open || log->nb_seq <= 0 || log->nb != nb)
        return 0;
    for (int i = 0; i < nb; i++) {
        const EbRendition *d = &log->desc[i];
        if (strcmp(d->name, rends[i].name) || d->is_audio != rends[i].is_audio)
            return 0;
        if (!d->is_audio && (d->width != plans[v].width || d->height != plans[v].height))
            return 0;
        v += !d->is_audio;
    }
    return !av_cmp_q(log->source_rate, info->frame_rate) &&
           log->source_sample_rate == (info->nb_audio ? info->audio[0].sample_rate : 0);
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
    if (o->part_seconds != 0 &&
        (o->part_seconds < 0.1 || o->part_seconds > o->segment_seconds / 2)) {
        snprintf(detail, size, "part length %.3f s is outside 0.1 s..half a segment (%.3f s)",
                 o->part_seconds, o->segment_seconds / 2);
        return EB_ERR(EINVAL);
    }
    if (o->encryption == EB_ENCRYPT_AES128 && o->part_seconds > 0) {
        snprintf(detail, size,
                 "aes-128 encrypts whole segments: it cannot be used with low-latency parts "
                 "(use cenc or cbcs, or no low latency)");
        return EB_ERR_BAD_OPTION;
    }
    if (o->input.fd < 0) {
        snprintf(detail, size, "no feed to read");
        return EB_ERR(EBADF);
    }
    return 0;
}

/* The session log of the channel's folder, and the folder. A new session
 * (not continuing) starts a fresh tree: what an earlier session left has
 * its own links in its recording. */
static int eb_live_prepare(const EbLiveOptions *o, EbLiveLog *log, EbLiveResult *res)
{
    char *detail = res->error_detail;
    size_t dsize = sizeof(res->error_detail);
    int ret =
        eb_layout_live_dir(o->storage_root, o->channel, res->output_dir, sizeof(res->output_dir));

    if (ret >= 0)
        ret = eb_storage_prepare(o->storage_root);
    if (ret >= 0)
        ret = eb_storage_mkdirs(res->output_dir);
    if (ret < 0) {
        snprintf(detail, dsize, "cannot create the channel's folder %.400s", res->output_dir);
        return ret;
    }
    ret = eb_live_log_load(res->output_dir, log);
    if (ret == EB_ERR(EINVAL)) {
        EB_LOGW("live", "%s: the session log is not readable; a new session starts", o->channel);
        ret = 0;
    }
    if (ret < 0)
        snprintf(detail, dsize, "the session log of %s: %s", o->channel, eb_strerror(ret));
    return ret;
}

int eb_live_finish(const EbLiveOptions *o, EbLiveResult *res)
{
    EbLiveLog log;
    int ret;

    memset(res, 0, sizeof(*res));
    if (!o->storage_root || !o->channel || !eb_storage_id_valid(o->channel)) {
        snprintf(res->error_detail, sizeof(res->error_detail), "channel name '%s' is not usable",
                 o->channel ? o->channel : "");
        return EB_ERR_BAD_ID;
    }
    ret = eb_live_prepare(o, &log, res);
    if (ret >= 0 && log.open && log.nb_seq > 0) {
        ret = eb_live_end_logged(o, res->output_dir, &log, res);
        res->segments = log.nb_seq;
        res->first_sequence = log.first_seq;
        res->last_sequence = log.first_seq + log.nb_seq - 1;
    }
    eb_live_log_free(&log);
    return ret;
}

int eb_live_run(const EbLiveOptions *o, EbLiveResult *res)
{
    const EbHalBackend *backend;
    EbHalDevice *dev = NULL;
    EbInput *in = NULL;
    EbPipeline *pipe = NULL;
    EbSegmentSink *sink = NULL, *esink = NULL; /* esink: the encrypting sink over sink */
    EbRungPlan plans[EB_LADDER_MAX_RUNGS];
    EbLiveLog log;
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
    ret = eb_live_prepare(o, &log, res);
    if (ret < 0)
        return ret;
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
    if (o->planned) {
        const EbSourceInfo *info = eb_input_info(in);
        double fps = av_q2d(info->frame_rate);
        EbLivePlan plan = {.width = info->geometry.width,
                           .height = info->geometry.height,
                           .fps = fps,
                           .nb_rungs = nb};
        for (int i = 0; i < nb; i++)
            plan.pixel_rate += (double)plans[i].width * plans[i].height * fps;
        o->planned(&plan, o->opaque);
    }
    {
        EbPipelineConfig pc = {
            .input = in,
            .dev = dev,
            .plans = plans,
            .nb_rungs = nb,
            .format = EB_FORMAT_CMAF,
            .segment_seconds = o->segment_seconds,
            .part_seconds = o->part_seconds,
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
        int cont = o->continue_session &&
                   eb_live_can_continue(&log, rends, nb_rend, plans, eb_input_info(in));
        if (!cont && log.open && log.nb_seq > 0) {
            /* An open session this run cannot continue (not asked to, or
             * the feed changed): it ends as its own run would have. */
            EbLiveOptions earlier = *o;
            earlier.recording_id = NULL; /* the given id is this run's session's */
            EB_LOGI("live", "%s: the open session ends; a new one starts", o->channel);
            ret = eb_live_end_logged(&earlier, res->output_dir, &log, res);
            if (ret < 0)
                goto end;
        }
        if (!cont) {
            int64_t next = eb_live_log_next(&log);
            eb_storage_remove_tree(res->output_dir);
            ret = eb_storage_mkdirs(res->output_dir);
            if (ret >= 0)
                ret = eb_live_sink_open(o, res->output_dir, in, rends, nb_rend, NULL, next, &sink);
        } else {
            EB_LOGI("live", "%s: continuing the session at sequence %lld", o->channel,
                    (long long)eb_live_log_next(&log));
            ret = eb_live_sink_open(o, res->output_dir, in, rends, nb_rend, &log, 0, &sink);
        }
        if (ret < 0) {
            snprintf(detail, dsize, "the channel's window could not be set up: %s",
                     eb_strerror(ret));
            goto end;
        }
    }
    {
        EbLiveSink *ls = sink->priv;
        if (ls->protected) {
            EbSinkRendition rends[EB_SINK_MAX_RENDITIONS];
            int nb_rend = eb_pipeline_renditions(pipe, rends, EB_SINK_MAX_RENDITIONS);
            char kid[33];
            ret = eb_sink_encrypt_open(sink, rends, nb_rend, o->encryption, &ls->key.k, &esink,
                                       detail, dsize);
            if (ret < 0)
                goto end;
            /* aes-128 IVs are the media sequence numbers: the session log
             * keeps no IV, and a segment listed before a restart must
             * decrypt with what the playlist says after it (a segment
             * without IV= uses its sequence number, RFC 8216 5.2) */
            eb_sink_encrypt_sequence_ivs(esink);
            eb_key_hex(ls->key.k.kid, kid);
            snprintf(res->key_id, sizeof(res->key_id), "%s", kid);
        }
    }
    ret = eb_pipeline_start(pipe, esink ? esink : sink, NULL);
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
        /* Whatever ended the run, list what was completed; the session ends
         * with the feed (or a stop) unless it is left open for a reconnect. */
        int end_channel = o->end_on_eof || (o->cancel && atomic_load(o->cancel));
        int fret = end_channel ? eb_live_end_session(o, sink, res) : eb_live_sink_finish(sink, 0);
        if (ret >= 0 && fret < 0) {
            ret = fret;
            if (!res->error_detail[0])
                snprintf(detail, dsize, "the final playlists were not written: %s",
                         eb_strerror(fret));
        }
    }
    {
        EbLiveSink *ls = sink->priv;
        EbLiveInputStats st;
        res->segments = ls->published - ls->base + 1;
        res->first_sequence = ls->base;
        res->last_sequence = ls->published;
        for (int64_t i = 0; i < res->segments && ls->nb; i++)
            res->duration += ls->rend[0].segs[i].duration / (double)ls->rend[0].timescale;
        eb_input_live_stats(in, &st);
        res->dropped = st.dropped;
    }
end:
    eb_pipeline_free(&pipe);
    eb_sink_free(&esink);
    eb_sink_free(&sink);
    eb_live_log_free(&log);
    eb_input_close(&in);
    eb_hal_device_close(&dev);
    return ret;
}
