/* See eb_test_frames.h. */
#include "eb_test_frames.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

AVFrame *eb_test_frame(int w, int h, enum AVPixelFormat fmt)
{
    AVFrame *f = av_frame_alloc();

    assert_non_null(f);
    f->format = fmt;
    f->width = w;
    f->height = h;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    return f;
}

EbFanoutConfig eb_test_fanout_config(int sw, int sh, int rotation, int n, const int (*sizes)[2])
{
    EbFanoutConfig cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.src_width = sw;
    cfg.src_height = sh;
    cfg.src_format = AV_PIX_FMT_YUV420P;
    cfg.chroma_location = AVCHROMA_LOC_LEFT;
    cfg.rotation = rotation;
    cfg.nb_outputs = n;
    for (int i = 0; i < n && i < EB_HAL_MAX_OUTPUTS; i++) {
        cfg.outputs[i].width = sizes[i][0];
        cfg.outputs[i].height = sizes[i][1];
    }
    return cfg;
}

int eb_test_backend_usable(const char *name)
{
    const EbHalBackend *b = eb_hal_find(name);
    EbHalProbe pr;

    memset(&pr, 0, sizeof(pr));
    if (!b || !b->probe || b->probe(&pr) < 0 || !pr.usable)
        return 0;
    fprintf(stderr, "%s is usable on this machine: skipping a test of a box without it\n", name);
    return 1;
}
