/*
 * The pipeline engine (pipelines/eb_pipeline.c) on its seams alone: an
 * input made here (frames generated in memory, no file, no duration, a
 * gap in the timestamps as a live feed has) and a sink made here (it
 * records what the segmenters report and writes nothing). So these tests
 * break when the engine starts to depend on a file, on frame counting
 * instead of media time, or on writing files itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavutil/frame.h>

#include "eb_error.h"
#include "eb_hal.h"
#include "eb_input.h"
#include "eb_pipeline.h"
#include "eb_sink.h"
#include "eb_test_frames.h"

#define W 320
#define H 180

/* ---- an input that generates frames ---- */

typedef struct GenInput {
    EbSourceInfo info;
    int64_t next_pts, last_pts;
    int64_t gap_at, gap_frames;     /* after pts gap_at, skip gap_frames */
    int64_t handed;
    int fail_at;                    /* >= 0: next() fails on that frame */
} GenInput;

static const EbSourceInfo *gen_info(EbInput *in) { return &((GenInput *)in->priv)->info; }

static int gen_next(EbInput *in, AVFrame *frame, int *is_audio)
{
    GenInput *g = in->priv;
    AVFrame *f;

    if (g->next_pts > g->last_pts)
        return EB_EOF;
    if (g->fail_at >= 0 && g->handed == g->fail_at)
        return EB_ERR(EIO);
    f = eb_test_frame(W, H, AV_PIX_FMT_YUV420P);
    /* a moving gradient, so the encoder has something to code */
    for (int y = 0; y < H; y++)
        memset(f->data[0] + y * f->linesize[0], (int)((y + g->next_pts * 3) & 0xff), W);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < H / 2; y++)
            memset(f->data[p] + y * f->linesize[p], 128, W / 2);
    f->pts = g->next_pts;
    av_frame_move_ref(frame, f);
    av_frame_free(&f);
    *is_audio = 0;
    g->handed++;
    g->next_pts += g->next_pts == g->gap_at ? 1 + g->gap_frames : 1;
    return 0;
}

static void gen_stats(EbInput *in, EbSourceStats *out)
{
    GenInput *g = in->priv;
    memset(out, 0, sizeof(*out));
    out->frames_decoded = out->frames_out = g->handed;
}

static const char *gen_error_detail(EbInput *in)
{
    (void)in;
    return "generated input failed on purpose";
}

static void gen_close(EbInput *in) { free(in->priv); }

static const EbInputOps gen_ops = {
    .name = "generated",
    .info = gen_info,
    .next = gen_next,
    .stats = gen_stats,
    .error_detail = gen_error_detail,
    .close = gen_close,
};

static EbInput *gen_open(int64_t frames, int64_t gap_at, int64_t gap_frames)
{
    EbInput *in = calloc(1, sizeof(*in));
    GenInput *g = calloc(1, sizeof(*g));

    assert_non_null(in);
    assert_non_null(g);
    g->info.geometry.width = W;
    g->info.geometry.height = H;
    g->info.out_width = W;
    g->info.out_height = H;
    g->info.frame_rate = (AVRational){25, 1};
    g->info.duration = 0; /* unknown, as live */
    g->info.color_primaries = AVCOL_PRI_BT709;
    g->info.color_trc = AVCOL_TRC_BT709;
    g->info.colorspace = AVCOL_SPC_BT709;
    g->info.color_range = AVCOL_RANGE_MPEG;
    g->info.chroma_location = AVCHROMA_LOC_LEFT;
    g->info.video_codec = "generated";
    g->last_pts = frames - 1 + (gap_at >= 0 ? gap_frames : 0);
    g->gap_at = gap_at;
    g->gap_frames = gap_frames;
    g->fail_at = -1;
    in->ops = &gen_ops;
    in->priv = g;
    return in;
}

/* ---- a sink that records ---- */

#define MAX_SEGS 64

typedef struct RecRendition {
    int inits;
    size_t init_bytes;
    int nb;
    EbSegmentReport seg[MAX_SEGS]; /* data pointers cleared: not kept */
    int ended;
} RecRendition;

typedef struct RecSink {
    RecRendition r[EB_SINK_MAX_RENDITIONS];
    int fail_on_segment;            /* > 0: that segment of rendition 0 fails */
} RecSink;

static int rec_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size)
{
    RecSink *rs = s->priv;
    /* an init section is an ftyp box first */
    assert_true(size > 8);
    assert_memory_equal(data + 4, "ftyp", 4);
    rs->r[rendition].inits++;
    rs->r[rendition].init_bytes = size;
    return 0;
}

static int rec_segment(EbSegmentSink *s, const EbSegmentReport *seg)
{
    RecSink *rs = s->priv;
    RecRendition *r = &rs->r[seg->rendition];

    assert_true(seg->size > 8);
    /* what the segmenter reports is a fragment: moof first */
    assert_memory_equal(seg->data + 4, "moof", 4);
    if (rs->fail_on_segment > 0 && seg->rendition == 0 && seg->sequence == rs->fail_on_segment)
        return EB_ERR(ENOSPC);
    assert_true(r->nb < MAX_SEGS);
    r->seg[r->nb] = *seg;
    r->seg[r->nb].data = NULL;
    r->nb++;
    return 0;
}

static int rec_end(EbSegmentSink *s, int rendition)
{
    RecSink *rs = s->priv;
    rs->r[rendition].ended++;
    return 0;
}

static const EbSegmentSinkOps rec_ops = {
    .name = "record",
    .init = rec_init,
    .segment = rec_segment,
    .end = rec_end,
};

/* ---- running the engine ---- */

typedef struct Run {
    EbHalDevice *dev;
    EbPipeline *pipe;
    EbSegmentSink sink;
    RecSink rec;
    EbPipelineStats st;
    char detail[600];
} Run;

static double cap_fps; /* the 90p rung's max_fps for the next run_engine */

static int run_engine(Run *run, EbInput *in, double segment_seconds, int nb_rungs)
{
    EbRungPlan plans[2];
    int hw = 0, ret;

    memset(run, 0, sizeof(*run));
    memset(plans, 0, sizeof(plans));
    snprintf(plans[0].rung.name, sizeof(plans[0].rung.name), "180p");
    plans[0].rung.bitrate = 300000;
    plans[0].width = W;
    plans[0].height = H;
    snprintf(plans[1].rung.name, sizeof(plans[1].rung.name), "90p");
    plans[1].rung.bitrate = 100000;
    plans[1].width = 160;
    plans[1].height = 90;
    plans[1].rung.max_fps = cap_fps;
    assert_int_equal(eb_hal_device_open(eb_hal_find("software"), NULL, &run->dev), 0);
    {
        EbPipelineConfig pc = {.input = in,
                               .dev = run->dev,
                               .plans = plans,
                               .nb_rungs = nb_rungs,
                               .format = EB_FORMAT_CMAF,
                               .segment_seconds = segment_seconds,
                               .preset = "ultrafast",
                               .encoder_threads = 1};
        ret = eb_pipeline_open(&pc, &run->pipe, run->detail, sizeof(run->detail), &hw);
    }
    assert_int_equal(ret, 0);
    assert_int_equal(hw, 0);
    run->sink.ops = &rec_ops;
    run->sink.priv = &run->rec;
    return 0;
}

static int run_finish(Run *run)
{
    int ret = eb_pipeline_start(run->pipe, &run->sink, NULL);

    if (ret >= 0)
        ret = eb_pipeline_wait(run->pipe, NULL, NULL);
    eb_pipeline_stats(run->pipe, &run->st);
    return ret;
}

static void run_free(Run *run, EbInput **in)
{
    eb_pipeline_free(&run->pipe);
    eb_hal_device_close(&run->dev);
    eb_input_close(in);
}

/* Every rung cuts at the same boundaries of the policy (2 s at 25 fps:
 * frames 0, 50, 100), every segment starts with a keyframe, the sink gets
 * one init section per rendition before the segments and one end, and the
 * segments tile the timeline without a hole. */
static void test_engine_reports_every_segment_to_the_sink(void **state)
{
    EbInput *in = gen_open(125, -1, 0);
    Run run;
    (void)state;

    run_engine(&run, in, 2.0, 2);
    assert_int_equal(run_finish(&run), 0);
    for (int r = 0; r < 2; r++) {
        RecRendition *rr = &run.rec.r[r];
        int64_t t = 0;
        assert_int_equal(rr->inits, 1);
        assert_int_equal(rr->ended, 1);
        assert_int_equal(rr->nb, 3);
        for (int i = 0; i < rr->nb; i++) {
            const EbSegmentReport *s = &rr->seg[i];
            assert_int_equal(s->rendition, r);
            assert_int_equal(s->sequence, i + 1);
            assert_int_equal(s->part, -1);
            assert_true(s->independent);
            /* start in the timescale: frame 50 k at 25 fps */
            assert_int_equal(s->start * 25, (int64_t)i * 50 * s->timescale);
            assert_int_equal(s->start, t);
            t += s->duration;
        }
        /* 125 frames in all: 50 + 50 + 25 */
        assert_int_equal(t * 25, 125 * (int64_t)rr->seg[0].timescale);
        assert_int_equal(run.st.rungs[r].frames, 125);
        assert_int_equal(run.st.rungs[r].nb_segments, 3);
    }
    run_free(&run, &in);
}

/* A 3.2 s hole in the timestamps (a live feed that stalled): the frame
 * after the hole starts the segment of the latest boundary it passed, as
 * an IDR, and nothing is cut in between. */
static void test_engine_cuts_on_media_time_across_a_gap(void **state)
{
    /* frames 0..59, then pts jumps from 59 to 140 (5.6 s), 40 more frames */
    EbInput *in = gen_open(100, 59, 80);
    Run run;
    RecRendition *rr;
    (void)state;

    run_engine(&run, in, 2.0, 1);
    assert_int_equal(run_finish(&run), 0);
    rr = &run.rec.r[0];
    /* segments start at pts 0 and 50; 140 is the first frame past
     * boundary 100, so it starts the third; boundary 150 starts the last */
    assert_int_equal(rr->nb, 4);
    {
        const int64_t starts[4] = {0, 50, 140, 150};
        for (int i = 0; i < 4; i++)
            assert_int_equal(rr->seg[i].start * 25, starts[i] * rr->seg[i].timescale);
    }
    assert_int_equal(run.st.rungs[0].frames, 100);
    run_free(&run, &in);
}

/* The input's failure is the job's first error, with its detail; a
 * rendition that never closed is not reported as ended. */
static void test_engine_first_error_is_the_inputs(void **state)
{
    EbInput *in = gen_open(200, -1, 0);
    Run run;
    (void)state;

    ((GenInput *)in->priv)->fail_at = 60;
    run_engine(&run, in, 2.0, 2);
    assert_int_equal(run_finish(&run), EB_ERR(EIO));
    assert_string_equal(eb_pipeline_error_detail(run.pipe), "generated input failed on purpose");
    assert_int_equal(run.rec.r[0].ended, 0);
    run_free(&run, &in);
}

/* A sink that fails (a full disk) fails the job with its error. */
static void test_engine_sink_error_fails_the_job(void **state)
{
    EbInput *in = gen_open(200, -1, 0);
    Run run;
    (void)state;

    run_engine(&run, in, 2.0, 2);
    run.rec.fail_on_segment = 2;
    assert_int_equal(run_finish(&run), EB_ERR(ENOSPC));
    assert_int_equal(run.rec.r[0].nb, 1);
    run_free(&run, &in);
}

/* A rung's frame-rate cap: the capped rung encodes one frame per slot of
 * 1/cap (and every boundary frame), cuts at the same boundaries as the
 * others, its segments still tile the timeline, and it states its rate. */
static void test_engine_caps_a_rungs_frame_rate(void **state)
{
    EbInput *in = gen_open(125, -1, 0);
    EbRendition v;
    Run run;
    (void)state;

    cap_fps = 12.5;
    run_engine(&run, in, 2.0, 2);
    cap_fps = 0;
    assert_int_equal(run_finish(&run), 0);
    assert_int_equal(run.st.rungs[0].frames, 125);
    assert_int_equal(run.st.rungs[1].frames, 63); /* even frames 0..124 */
    for (int r = 0; r < 2; r++) {
        RecRendition *rr = &run.rec.r[r];
        int64_t t = 0;
        assert_int_equal(rr->nb, 3);
        for (int i = 0; i < rr->nb; i++) {
            assert_int_equal(rr->seg[i].start * 25, (int64_t)i * 50 * rr->seg[i].timescale);
            assert_int_equal(rr->seg[i].start, t);
            t += rr->seg[i].duration;
        }
        /* the capped rung's last frame lasts its slot: 2 ticks of 1/25 */
        assert_int_equal(t * 25, (r ? 126 : 125) * (int64_t)rr->seg[0].timescale);
    }
    assert_int_equal(eb_pipeline_describe(run.pipe, 1, &v), 0);
    assert_int_equal(v.frame_rate.num * 2, 25 * v.frame_rate.den);
    assert_int_equal(eb_pipeline_describe(run.pipe, 0, &v), 0);
    assert_int_equal(v.frame_rate.num, 25 * v.frame_rate.den);
    run_free(&run, &in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_reports_every_segment_to_the_sink),
        cmocka_unit_test(test_engine_cuts_on_media_time_across_a_gap),
        cmocka_unit_test(test_engine_first_error_is_the_inputs),
        cmocka_unit_test(test_engine_sink_error_fails_the_job),
        cmocka_unit_test(test_engine_caps_a_rungs_frame_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
