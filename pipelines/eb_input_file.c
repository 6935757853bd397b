/*
 * The file input: EbSource (demux, decode, normalise) behind the engine's
 * input interface. Its one VOD-specific rule lives in finish(): a file
 * that stated a duration must deliver it (a cut-off upload fails the job
 * instead of publishing half a video).
 */
#include "eb_input.h"

#include <stdio.h>
#include <stdlib.h>

#include <libavutil/rational.h>

#include "eb_error.h"

static EbSource *eb_file_src(EbInput *in) { return in->priv; }

static const EbSourceInfo *eb_file_info(EbInput *in) { return eb_source_info(eb_file_src(in)); }

static int eb_file_next(EbInput *in, AVFrame *frame, int *is_audio)
{
    return eb_source_next(eb_file_src(in), frame, is_audio);
}

static int eb_file_finish(EbInput *in, char *detail, size_t size)
{
    return eb_source_short(eb_file_src(in), detail, size);
}

static void eb_file_stats(EbInput *in, EbSourceStats *out)
{
    eb_source_get_stats(eb_file_src(in), out);
}

static const char *eb_file_error_detail(EbInput *in)
{
    return eb_source_error_detail(eb_file_src(in));
}

static void eb_file_close(EbInput *in)
{
    EbSource *src = eb_file_src(in);
    eb_source_close(&src);
}

static const EbInputOps eb_input_file_ops = {
    .name = "file",
    .info = eb_file_info,
    .next = eb_file_next,
    .finish = eb_file_finish,
    .stats = eb_file_stats,
    .error_detail = eb_file_error_detail,
    .close = eb_file_close,
};

int eb_input_file_open(const char *path, EbHalDevice *dev, const EbSourceOptions *so,
                       EbInput **out, char *detail, size_t detail_size)
{
    EbInput *in = calloc(1, sizeof(*in));
    EbSource *src = NULL;
    int ret;

    *out = NULL;
    if (!in)
        return EB_ERR(ENOMEM);
    ret = eb_source_open(path, dev, so, &src, detail, detail_size);
    if (ret < 0) {
        free(in);
        return ret;
    }
    in->ops = &eb_input_file_ops;
    in->priv = src;
    *out = in;
    return 0;
}
