/*
 * A scaling fan-out built from a libavfilter graph: the VA-API and QSV
 * backends' fan-out (their video processing runs inside libavfilter's
 * scale_vaapi / transpose_vaapi / vpp_qsv), generic enough that a unit test
 * drives it with software frames and the software scale filter.
 *
 * One graph per fan-out:
 *
 *   buffer [hw_frames_ctx] -> [rotation chain] -> split=N -> scaler_0 -> buffersink_0
 *                                                        \-> scaler_k -> buffersink_k
 *
 * one scaler (one video-processing pass) per rung, all fed by one source
 * read. The backend supplies the text: its scaler for a size and its
 * rotation chains (EbFanoutFilters). An output of the source's size with no
 * rotation is, where the backend allows it, a reference to the source frame
 * (no filter, no copy); it then has no sink.
 *
 * Geometry: cfg->src_width/height are the frames fed in, before rotation;
 * cfg->outputs[] are after rotation (a 90 or 270 degree rotation of a
 * 1920x1080 source feeds 1080x1920 rungs).
 *
 * Whose pool the outputs come from: libavfilter 8 (FFmpeg 5.1) gives no way
 * to hand scale_vaapi or vpp_qsv an external frames context; each scaler
 * allocates its own output frames context when the graph is configured. So
 * the graph's sinks' frames contexts are the rungs' pools, and the encoders
 * must be opened with them (eb_fanout_graph_frames()). For a hardware device
 * eb_fanout_graph_hw_open() does this for the pipeline: it installs each
 * sink's frames context as the device's frames context of that size (the
 * cache behind eb_hal_hw_frames()), so an encoder opened afterwards with
 * eb_hal_hw_encoder_open() for that rung uses exactly the scaler's pool. The
 * fan-out must therefore be opened before the rungs' encoders (eb_vod does).
 * The source-size context is never replaced: the graph declares it as the
 * source's (the source frames context is unknown until the first frame;
 * VPP reads each input surface by its handle on the device), uploaded
 * source frames come from it, and the encoder of a reference (source-size)
 * rung uses it. A device decoder's frames come from the decoder's own
 * context instead: h264_vaapi takes them (it reads surface IDs), h264_qsv
 * does not (it wants surfaces of its own context), so with a QSV decoder
 * that rung's encoder must be opened with the decoder's hw_frames_ctx.
 * Hardware scalers get extra_hw_frames so their fixed pools cover the rung
 * queues and the encoders' references.
 *
 * Frames: run pushes the source with AV_BUFFERSRC_FLAG_KEEP_REF (src is only
 * read), pulls exactly one frame from every sink (the scalers are 1-in,
 * 1-out) and fails if a sink yields none; timestamps, duration, colour
 * properties and picture type are set from src on every output, SAR 1:1
 * (as the CPU fan-out does). After a failed run the graph refuses further
 * frames.
 */
#ifndef EB_FANOUT_GRAPH_H
#define EB_FANOUT_GRAPH_H

#include <stddef.h>

#include <libavutil/buffer.h>
#include <libavutil/frame.h>

#include "eb_hal.h"

/* How one backend scales and rotates, as filter-graph text. */
typedef struct EbFanoutFilters {
    const char *name; /* log module: "vaapi", "qsv", "test" */
    /* Writes the scaler of one output (after rotation): width x height in
     * the rung's pixel format, e.g. "scale_vaapi=w=1280:h=720:format=nv12".
     * Returns snprintf's value. */
    int (*scale)(char *buf, size_t size, int width, int height);
    /* Filter chains rotating clockwise by 90, 180, 270 degrees (may hold
     * commas: "hflip,vflip"); NULL: that rotation is not supported. */
    const char *rotate90, *rotate180, *rotate270;
    int passthrough;     /* 1: same-size, unrotated outputs are source refs */
    int extra_hw_frames; /* set on every filter when hw_device is given */
} EbFanoutFilters;

/* 1 if output i of cfg is a reference to the source under flt. */
int eb_fanout_graph_is_ref(const EbFanoutConfig *cfg, const EbFanoutFilters *flt, int i);

/* The graph description of cfg (pure): "[in]" labels the source, "[outI]"
 * the scaled output of rung I; rungs that are references do not appear.
 * Empty when every output is a reference. Returns 0, -EINVAL (bad geometry,
 * rotation not in {0, 90, 180, 270} or unsupported by flt) or -ENOSPC. */
int eb_fanout_graph_desc(const EbFanoutConfig *cfg, const EbFanoutFilters *flt, char *buf,
                         size_t size);

/* The first filter named in desc that this libavfilter does not have,
 * copied to name; returns 1 if one is missing, 0 if all are present. */
int eb_fanout_graph_missing_filter(const char *desc, char *name, size_t size);

typedef struct EbFanoutGraph EbFanoutGraph;

typedef struct EbFanoutGraphParams {
    const EbFanoutConfig *cfg;
    const EbFanoutFilters *filters;
    AVBufferRef *hw_device;  /* set on every filter; NULL for software frames */
    AVBufferRef *src_frames; /* frames context declared for the source; required
                              * when cfg->src_format is a hardware format */
} EbFanoutGraphParams;

/* Builds and configures the graph; *out freed with eb_fanout_graph_free().
 * Errors: -EINVAL (config, or a sink whose size/format is not the rung's),
 * -ENOSYS (a filter missing from libavfilter, logged by name), or what
 * libavfilter returned parsing or configuring the graph (logged with the
 * description). */
int eb_fanout_graph_open(const EbFanoutGraphParams *p, EbFanoutGraph **out);

/* One source frame in, cfg->nb_outputs new references out (dst[0..n-1],
 * owned by the caller). On error every dst[i] is NULL. */
int eb_fanout_graph_run(EbFanoutGraph *g, const AVFrame *src, AVFrame **dst);

/* The frames context output i's frames come from: a new reference in *out,
 * or NULL for a reference output (its frames are the source's: open that
 * rung's encoder with the source's frames context or one compatible with
 * it) and for software frames. Returns 0 or -EINVAL / -ENOMEM. */
int eb_fanout_graph_frames(const EbFanoutGraph *g, int i, AVBufferRef **out);

void eb_fanout_graph_free(EbFanoutGraph **g);

/* The hardware backends' fan-out on dev (an EbHalHwPriv device): checks
 * that cfg->src_format is the device's frame format and that libavfilter has
 * every filter (-ENOSYS, naming it, otherwise), declares the device's NV12
 * frames context of the source size as the source's, opens the graph and
 * installs every scaled output's frames context as the device's frames
 * context of that size (see above), so eb_hal_hw_frames() and the encoders
 * use the scalers' pools. */
int eb_fanout_graph_hw_open(EbHalDevice *dev, const EbFanoutConfig *cfg, const EbFanoutFilters *flt,
                            EbFanoutGraph **out);

#endif
