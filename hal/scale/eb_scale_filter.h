/*
 * The scaler's filter definition: the one description of how encbox resizes
 * a picture. The CPU fan-out (hal/software/eb_fanout_cpu.c) runs it and the
 * CUDA kernel consumes the very same tables (built here on the host and
 * uploaded), so the two backends cannot drift apart. Everything that decides
 * an output sample value lives here: the kernel, the tap-count rule, the
 * sample-centre formula with its chroma siting, the edge rule, the fixed-point
 * precision and rounding, the pass order, and the plans that say which
 * picture each rung is resized from. Two plain-C row functions give the
 * normative arithmetic; any faster implementation must match them bit for bit.
 *
 * Shared versus per backend. The definition (kernel, taps, phases, rounding,
 * pass order) is shared by every backend. Which picture a rung is made from
 * is the backend's choice among the plans here: the CPU fan-out cascades
 * (eb_scale_plan: 480p from 720p, ...: cheaper on a CPU, measured below), the
 * CUDA fan-out resizes every rung directly from the source in one launch
 * (eb_scale_plan_depth with max_depth 1: the source stays in the GPU's L2,
 * and a launch per level would cost more than the cascade saves). Run on the
 * same plan, the two give the same bits (tests/test_hal_cuda_plan.c runs the
 * CPU fan-out with the direct plan to check it).
 *
 * Rotation (CUDA fan-out): a rotated resize is defined as the lossless
 * rotation of the Y and UV planes (a transpose and/or flips, each plane on
 * its own grid) followed by the resize above on the rotated picture, with
 * the chroma siting of the rotated picture (eb_scale_chroma_siting_rotated).
 *
 * Kernel: Lanczos-3, K(x) = sinc(x) * sinc(x / 3) for |x| < 3, else 0, with
 * sinc(x) = sin(pi x) / (pi x).
 *
 * Geometry, for one dimension, src_size S input samples to dst_size D output
 * samples, scale r = S / D. A sample's centre sits p samples from the left
 * (top) edge of its cell: p = 0.5 for centred siting, p = 0.25 for chroma of a
 * 2:1 subsampled plane that is co-sited with the even luma samples (MPEG-2 /
 * H.264 "left" siting horizontally; top siting vertically), p = 0.75 for one
 * co-sited with the odd samples (bottom siting). Which one a chroma plane uses
 * comes from the source's chroma_location (eb_scale_chroma_siting).
 * Output sample o lands at input coordinate
 *     c(o) = (o + p) * r - p        (p = 0.5: c = (o + 0.5) * S / D - 0.5)
 * When downscaling the kernel is stretched by s = max(1, r) (anti-aliasing),
 * so it reaches R = 3 * s input samples either side of c(o).
 *
 * Tap count: N = ceil(6 * S / D) when S > D, else 6; then N = min(N, S).
 * The same N serves every output sample of the table (1.5x: 9 taps; 2x: 12).
 *
 * Weights: input j gets K((j - c) / s); inputs outside 0..S-1 are clamped to
 * the edge sample and their weight folded onto it; the weights are divided by
 * their sum, then quantised to Q14 (EB_SCALE_COEF_BITS) by cumulative rounding
 * so that every output's N taps sum to exactly 1 << 14. pos[o] is the first
 * input of an N-wide window that holds every non-zero weight:
 *     0 <= pos[o] and pos[o] + N <= S      (a table never reads out of bounds)
 * The sum of |taps| stays below 2 << 14 (checked), which bounds the ranges
 * below.
 *
 * Fixed point of a 2-D resize (vertical pass first, then horizontal):
 *   vertical (8-bit in):   mid = (sum coef * px  + (1 << 7))  >> 8
 *                          an int16 with EB_SCALE_MID_FRAC_BITS = 6 fraction
 *                          bits, |mid| < 2^15 by the bound above;
 *   horizontal:            out = (sum coef * mid + (1 << 19)) >> 20,
 *                          clamped to 0..255.
 *   A single 1-D pass from 8 bits to 8 bits is out = clamp((sum coef * px +
 *   (1 << 13)) >> 14, 0, 255). Right shifts are arithmetic (floor).
 *
 * Why vertical first: a vertical tap is one multiply-add of a whole row
 * (SIMD across x, no gathers), a horizontal tap is a dot product per output
 * sample. Vertical first runs the cheap pass over src_w * dst_h samples and
 * the dear one over dst_w * dst_h; horizontal first would run the dear pass
 * over dst_w * src_h, which is 1.5x to 3x more for ladder rungs.
 */
#ifndef EB_SCALE_FILTER_H
#define EB_SCALE_FILTER_H

#include <stdint.h>

#define EB_SCALE_COEF_BITS 14
#define EB_SCALE_COEF_ONE (1 << EB_SCALE_COEF_BITS)
#define EB_SCALE_LANCZOS_A 3
#define EB_SCALE_MID_SHIFT 8
#define EB_SCALE_MID_FRAC_BITS (EB_SCALE_COEF_BITS - EB_SCALE_MID_SHIFT)
#define EB_SCALE_OUT_SHIFT (EB_SCALE_COEF_BITS + EB_SCALE_MID_FRAC_BITS)

/* Cascade plan limits: a rung is resized from the smallest already-made
 * picture that is at least 4/3 of its size in both dimensions and is itself
 * at most EB_SCALE_MAX_DEPTH - 1 resizes away from the source; otherwise from
 * the source. Measured against direct Lanczos-3 (swscale SWS_LANCZOS) on a
 * zone plate with noise and hard edges: 1080p -> 720p -> 480p -> 360p keeps
 * every rung at 42 dB or more (swscale's default bicubic: 35-42 dB). */
#define EB_SCALE_CASCADE_NUM 4
#define EB_SCALE_CASCADE_DEN 3
#define EB_SCALE_MAX_DEPTH 3

typedef enum EbScaleSiting {
    EB_SCALE_SITING_CENTER = 0,  /* p = 0.5: luma; centre-sited chroma */
    EB_SCALE_SITING_COSITED = 1, /* p = 0.25: 2:1 chroma on the even luma sample */
    EB_SCALE_SITING_COSITED_ODD = 2, /* p = 0.75: 2:1 chroma on the odd luma sample */
} EbScaleSiting;

/* Sitings of 4:2:0 chroma for an AVChromaLocation value (an int here, so this
 * header needs no libav): LEFT = horizontally co-sited, vertically centred
 * (MPEG-2/H.264 "type 0"); TOPLEFT co-sited both ways; TOP, BOTTOM,
 * BOTTOMLEFT accordingly; CENTER centred both ways. Decoders already resolve
 * their codec's default (an H.264, HEVC or MPEG-2 stream without the flag
 * reports LEFT), so UNSPECIFIED means truly unknown; it is taken as centred,
 * as swscale does. Rungs keep the source's siting. */
void eb_scale_chroma_siting(int chroma_location, EbScaleSiting *h, EbScaleSiting *v);

/* The siting seen from the other end of the axis (a flip): co-sited with
 * the even sample becomes co-sited with the odd one and back; centred stays.
 * Exact for planes of even luma size; for odd sizes the chroma grid of the
 * flipped picture pairs different luma samples and the siting is nominal. */
EbScaleSiting eb_scale_siting_flip(EbScaleSiting s);

/* Sitings of the chroma of a picture rotated clockwise by rotation degrees
 * (0, 90, 180, 270; others are taken as 0), in the rotated picture's
 * horizontal and vertical axes. The choice: the physical chroma positions
 * travel with the picture. For 90 and 270 the source's horizontal and
 * vertical sitings swap; an axis the rotation reverses (90: the new
 * horizontal one; 180: both; 270: the new vertical one) flips its siting
 * (eb_scale_siting_flip). So LEFT (h co-sited, v centred) becomes TOP at 90,
 * "right" at 180 and BOTTOM at 270. The rungs' frames keep the source's
 * chroma_location tag, as the transpose filters of the other backends do. */
void eb_scale_chroma_siting_rotated(int chroma_location, int rotation, EbScaleSiting *h,
                                    EbScaleSiting *v);

/* One dimension's polyphase table. */
typedef struct EbScaleFilter {
    int src_size;
    int dst_size;
    int taps;      /* N, the same for every output sample */
    int32_t *pos;  /* [dst_size] first input of each output's window */
    int16_t *coef; /* [dst_size * taps] Q14 weights, each row sums to 1 << 14 */
} EbScaleFilter;

/* The continuous kernel K(x) (Lanczos-3), for reference implementations. */
double eb_scale_kernel(double x);

/* p of the siting: 0.5, 0.25 or 0.75. */
double eb_scale_siting_offset(EbScaleSiting siting);

/* Taps per output sample for S -> D (the rule above, before min(N, S)). */
int eb_scale_filter_taps(int src_size, int dst_size);

/* Builds the table. f is caller storage; the arrays it gets are freed by
 * eb_scale_filter_uninit(). Returns 0, -EINVAL (sizes < 1), -ENOMEM, or
 * -ERANGE if a table would break the precision bound (never for Lanczos-3). */
int eb_scale_filter_init(EbScaleFilter *f, int src_size, int dst_size, EbScaleSiting siting);

/* Frees the arrays; f may be zeroed or already uninitialised. */
void eb_scale_filter_uninit(EbScaleFilter *f);

/* Cascade plan for one source and nb outputs (w[i] x h[i]). Writes order[]
 * (the order to make them in: a parent before its children) and parent[i]:
 * -1 for the source, else the index of the output it is resized from.
 * copy[i] is 1 when output i has the size of its parent (a reference, no
 * resize). Returns 0 or -EINVAL. All arrays are caller storage of nb.
 * This is the CPU fan-out's plan (EB_SCALE_MAX_DEPTH resizes at most). */
int eb_scale_plan(int src_w, int src_h, int nb, const int *w, const int *h, int *order, int *parent,
                  int *copy);

/* The same with the depth limit as an argument (max_depth >= 1, else
 * -EINVAL): a rung is at most max_depth resizes away from the source.
 * max_depth 1 is the direct plan, every resized rung made from the source
 * (the CUDA fan-out's); a rung of an earlier rung's size still shares it. */
int eb_scale_plan_depth(int src_w, int src_h, int nb, const int *w, const int *h, int max_depth,
                        int *order, int *parent, int *copy);

/* The normative arithmetic, one output row at a time (plain C).
 * Vertical: dst[x] = mid of rows[0..taps-1][x] weighted by coef[0..taps-1],
 * for x in 0..width-1. Horizontal: dst[x] from src[pos[x] .. pos[x] + taps - 1]
 * weighted by coef[x * taps ..], for x in 0..width-1. */
void eb_scale_vrow_c(int16_t *dst, const uint8_t *const *rows, const int16_t *coef, int taps,
                     int width);
void eb_scale_hrow_c(uint8_t *dst, const int16_t *src, const int32_t *pos, const int16_t *coef,
                     int taps, int width);

#endif
