/*
 * The scaler's filter definition (see eb_scale_filter.h for the rules): the
 * Lanczos-3 kernel, the polyphase table builder, the cascade plan, and the
 * plain-C row functions that fix the arithmetic bit for bit. The tables are
 * built once per fan-out in double precision; only the row functions run per
 * frame, so they are written for the auto-vectoriser (the CPU fan-out uses
 * them where it has no SIMD version, and its tests compare against them).
 */
#include "eb_scale_filter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

double eb_scale_kernel(double x)
{
    x = fabs(x);
    if (x >= EB_SCALE_LANCZOS_A)
        return 0.0;
    return sinc(x) * sinc(x / EB_SCALE_LANCZOS_A);
}

double eb_scale_siting_offset(EbScaleSiting siting)
{
    return siting == EB_SCALE_SITING_COSITED ? 0.25 : siting == EB_SCALE_SITING_COSITED_ODD ? 0.75 : 0.5;
}

void eb_scale_chroma_siting(int chroma_location, EbScaleSiting *h, EbScaleSiting *v)
{
    /* AVChromaLocation: 0 unspecified, 1 left, 2 center, 3 topleft, 4 top,
     * 5 bottomleft, 6 bottom (libavutil/pixfmt.h; values fixed by the API). */
    static const EbScaleSiting hs[7] = {EB_SCALE_SITING_CENTER,  EB_SCALE_SITING_COSITED,
                                        EB_SCALE_SITING_CENTER,  EB_SCALE_SITING_COSITED,
                                        EB_SCALE_SITING_CENTER,  EB_SCALE_SITING_COSITED,
                                        EB_SCALE_SITING_CENTER};
    static const EbScaleSiting vs[7] = {EB_SCALE_SITING_CENTER,  EB_SCALE_SITING_CENTER,
                                        EB_SCALE_SITING_CENTER,  EB_SCALE_SITING_COSITED,
                                        EB_SCALE_SITING_COSITED, EB_SCALE_SITING_COSITED_ODD,
                                        EB_SCALE_SITING_COSITED_ODD};
    int i = chroma_location >= 0 && chroma_location < 7 ? chroma_location : 0;

    *h = hs[i];
    *v = vs[i];
}

int eb_scale_filter_taps(int src_size, int dst_size)
{
    int64_t num = 2 * EB_SCALE_LANCZOS_A * (int64_t)src_size;

    if (src_size <= dst_size)
        return 2 * EB_SCALE_LANCZOS_A;
    /* ceil(6 S / D) in integers: 2R is often exactly 9 or 12, and a floating
     * ceil would round 9.000000001 up to 10. */
    return (int)((num + dst_size - 1) / dst_size);
}

void eb_scale_filter_uninit(EbScaleFilter *f)
{
    free(f->pos);
    free(f->coef);
    f->pos = NULL;
    f->coef = NULL;
}

int eb_scale_filter_init(EbScaleFilter *f, int src_size, int dst_size, EbScaleSiting siting)
{
    double ratio, stretch, p, *w = NULL, *wf = NULL;
    int taps, window, ret = 0;

    memset(f, 0, sizeof(*f));
    if (src_size < 1 || dst_size < 1)
        return EB_ERR(EINVAL);
    taps = eb_scale_filter_taps(src_size, dst_size);
    window = taps < src_size ? taps : src_size;
    f->src_size = src_size;
    f->dst_size = dst_size;
    f->taps = window;
    f->pos = malloc(sizeof(*f->pos) * (size_t)dst_size);
    f->coef = malloc(sizeof(*f->coef) * (size_t)dst_size * (size_t)window);
    w = malloc(sizeof(*w) * (size_t)taps);
    wf = malloc(sizeof(*wf) * (size_t)window);
    if (!f->pos || !f->coef || !w || !wf) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }

    ratio = (double)src_size / dst_size;
    stretch = ratio > 1.0 ? ratio : 1.0;
    p = eb_scale_siting_offset(siting);

    for (int o = 0; o < dst_size; o++) {
        double c = (o + p) * ratio - p;
        double radius = EB_SCALE_LANCZOS_A * stretch;
        int j0 = (int)floor(c - radius) + 1;
        int start = j0;
        double sum = 0.0, cum = 0.0, abs_sum = 0.0;
        int16_t *q = f->coef + (size_t)o * window;
        long prev = 0;

        if (start > src_size - window)
            start = src_size - window;
        if (start < 0)
            start = 0;
        for (int k = 0; k < window; k++)
            wf[k] = 0.0;
        /* Out-of-range inputs read the edge sample: fold their weight onto
         * it, so the window never leaves 0..S-1. */
        for (int k = 0; k < taps; k++) {
            int j = j0 + k;
            w[k] = eb_scale_kernel((j - c) / stretch);
            if (j < 0)
                j = 0;
            if (j > src_size - 1)
                j = src_size - 1;
            wf[j - start] += w[k];
            sum += w[k];
        }
        if (!(sum > 0.0)) {
            ret = EB_ERR(ERANGE);
            goto error;
        }
        /* Cumulative rounding: each tap is within one step of its exact
         * value and the row sums to exactly 1 << 14. */
        for (int k = 0; k < window; k++) {
            long next;
            cum += wf[k] / sum;
            next = k == window - 1 ? EB_SCALE_COEF_ONE : lround(cum * EB_SCALE_COEF_ONE);
            q[k] = (int16_t)(next - prev);
            abs_sum += fabs((double)q[k]);
            prev = next;
        }
        if (abs_sum >= 2.0 * EB_SCALE_COEF_ONE) {
            ret = EB_ERR(ERANGE);
            goto error;
        }
        f->pos[o] = start;
    }
    free(w);
    free(wf);
    return 0;
error:
    free(w);
    free(wf);
    eb_scale_filter_uninit(f);
    return ret;
}

void eb_scale_chroma_siting_rotated(int chroma_location, int rotation, EbScaleSiting *h,
                                    EbScaleSiting *v)
{
    EbScaleSiting sh, sv;

    eb_scale_chroma_siting(chroma_location, &sh, &sv);
    switch (rotation) {
    case 90: /* rotated x = source y reversed, rotated y = source x */
        *h = eb_scale_siting_flip(sv);
        *v = sh;
        break;
    case 180:
        *h = eb_scale_siting_flip(sh);
        *v = eb_scale_siting_flip(sv);
        break;
    case 270: /* rotated x = source y, rotated y = source x reversed */
        *h = sv;
        *v = eb_scale_siting_flip(sh);
        break;
    default:
        *h = sh;
        *v = sv;
        break;
    }
}

EbScaleSiting eb_scale_siting_flip(EbScaleSiting s)
{
    return s == EB_SCALE_SITING_COSITED       ? EB_SCALE_SITING_COSITED_ODD
           : s == EB_SCALE_SITING_COSITED_ODD ? EB_SCALE_SITING_COSITED
                                              : s;
}

int eb_scale_plan(int src_w, int src_h, int nb, const int *w, const int *h, int *order, int *parent,
                  int *copy)
{
    return eb_scale_plan_depth(src_w, src_h, nb, w, h, EB_SCALE_MAX_DEPTH, order, parent, copy);
}

int eb_scale_plan_depth(int src_w, int src_h, int nb, const int *w, const int *h, int max_depth,
                        int *order, int *parent, int *copy)
{
    /* depth[] of outputs in plan order; the source has depth 0. */
    int depth[64];

    if (nb < 0 || nb > 64 || src_w < 1 || src_h < 1 || max_depth < 1)
        return EB_ERR(EINVAL);
    for (int i = 0; i < nb; i++) {
        if (w[i] < 1 || h[i] < 1)
            return EB_ERR(EINVAL);
        order[i] = i;
    }
    /* Largest area first (stable), so a parent is always made before its
     * children. Insertion sort: nb is a handful. */
    for (int i = 1; i < nb; i++) {
        int v = order[i], j = i;
        int64_t a = (int64_t)w[v] * h[v];
        while (j > 0 && (int64_t)w[order[j - 1]] * h[order[j - 1]] < a) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    for (int n = 0; n < nb; n++) {
        int i = order[n];
        int best = -1, best_depth = 0;
        int64_t best_area = (int64_t)src_w * src_h;

        copy[i] = 0;
        if (w[i] == src_w && h[i] == src_h) {
            parent[i] = -1;
            copy[i] = 1;
            depth[n] = 0;
            continue;
        }
        for (int m = 0; m < n; m++) {
            int c = order[m];
            int64_t area = (int64_t)w[c] * h[c];
            if (w[c] == w[i] && h[c] == h[i]) {
                /* Same size as an earlier rung: share its frame. */
                best = c;
                best_depth = depth[m];
                copy[i] = 1;
                break;
            }
            if (depth[m] >= max_depth)
                continue;
            if ((int64_t)w[c] * EB_SCALE_CASCADE_DEN < (int64_t)w[i] * EB_SCALE_CASCADE_NUM ||
                (int64_t)h[c] * EB_SCALE_CASCADE_DEN < (int64_t)h[i] * EB_SCALE_CASCADE_NUM)
                continue;
            if (area < best_area) {
                best = c;
                best_area = area;
                best_depth = depth[m];
            }
        }
        parent[i] = best;
        depth[n] = copy[i] ? best_depth : (best < 0 ? 1 : best_depth + 1);
    }
    return 0;
}

/* Columns per block of the vertical row function: the int32 accumulators of
 * one block stay in registers or L1 while the taps stream past. */
#define VBLOCK 64

void eb_scale_vrow_c(int16_t *restrict dst, const uint8_t *const *rows, const int16_t *coef,
                     int taps, int width)
{
    for (int x0 = 0; x0 < width; x0 += VBLOCK) {
        int32_t acc[VBLOCK];
        int n = width - x0 < VBLOCK ? width - x0 : VBLOCK;

        for (int x = 0; x < VBLOCK; x++)
            acc[x] = 1 << (EB_SCALE_MID_SHIFT - 1);
        for (int k = 0; k < taps; k++) {
            const uint8_t *restrict r = rows[k] + x0;
            int32_t c = coef[k];
            if (n == VBLOCK) {
                for (int x = 0; x < VBLOCK; x++)
                    acc[x] += c * r[x];
            } else {
                for (int x = 0; x < n; x++)
                    acc[x] += c * r[x];
            }
        }
        for (int x = 0; x < n; x++) {
            int32_t v = acc[x] >> EB_SCALE_MID_SHIFT;
            /* Never taken while sum |coef| < 2 << 14; kept so that the
             * definition equals a saturating SIMD pack in every case. */
            v = v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v;
            dst[x0 + x] = (int16_t)v;
        }
    }
}

void eb_scale_hrow_c(uint8_t *restrict dst, const int16_t *restrict src,
                     const int32_t *restrict pos, const int16_t *restrict coef, int taps, int width)
{
    for (int x = 0; x < width; x++) {
        const int16_t *restrict s = src + pos[x];
        const int16_t *restrict c = coef + (size_t)x * taps;
        int32_t acc = 1 << (EB_SCALE_OUT_SHIFT - 1);
        for (int k = 0; k < taps; k++)
            acc += c[k] * s[k];
        acc >>= EB_SCALE_OUT_SHIFT;
        dst[x] = (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }
}
