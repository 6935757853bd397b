/*
 * The storage layout (see eb_layout.h): one table of path templates, and
 * the relative-reference rule manifests print. Templates use "{r}" for the
 * rendition and "{n}" for a segment number; a reference between two items
 * is worked out on the templates' components, so it holds for any
 * rendition name.
 */
#include "eb_layout.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eb_error.h"

static const char *const eb_layout_templates[EB_LAYOUT_NB_ITEMS] = {
    [EB_LAYOUT_HLS_MASTER] = "hls/master.m3u8",
    [EB_LAYOUT_HLS_MEDIA] = "hls/{r}/index.m3u8",
    [EB_LAYOUT_HLS_IMAGES] = "hls/thumbnails/index.m3u8",
    [EB_LAYOUT_DASH_MPD] = "dash/manifest.mpd",
    [EB_LAYOUT_CMAF_INIT] = "cmaf/{r}/init.mp4",
    [EB_LAYOUT_CMAF_SEGMENT] = "cmaf/{r}/segment_{n}.m4s",
    [EB_LAYOUT_TS_SEGMENT] = "hls/{r}/segment_{n}.ts",
    [EB_LAYOUT_THUMB_DIR] = "thumbnails",
    [EB_LAYOUT_THUMB_SPRITE] = "thumbnails/sprite_{n}.jpg",
    [EB_LAYOUT_THUMB_VTT] = "thumbnails/thumbnails.vtt",
    [EB_LAYOUT_THUMB_POSTER] = "thumbnails/thumb_001.jpg",
    [EB_LAYOUT_VERSION] = ".version",
};

EbLayoutItem eb_layout_segment_item(EbOutputFormat f)
{
    return f == EB_FORMAT_TS ? EB_LAYOUT_TS_SEGMENT : EB_LAYOUT_CMAF_SEGMENT;
}

/* Appends text to out[*len..], keeping it terminated; -ENAMETOOLONG when
 * it does not fit. */
static int eb_layout_put(char *out, size_t size, size_t *len, const char *text, size_t n)
{
    if (*len + n + 1 > size)
        return EB_ERR(ENAMETOOLONG);
    memcpy(out + *len, text, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

/* Expands template t[0..tlen) with r and n into out (appending). */
static int eb_layout_expand(const char *t, size_t tlen, const char *r, const char *n, char *out,
                            size_t size, size_t *len)
{
    size_t i = 0;
    int ret = 0;

    while (i < tlen && ret >= 0) {
        if (i + 3 <= tlen && !memcmp(t + i, "{r}", 3)) {
            if (!r)
                return EB_ERR(EINVAL);
            ret = eb_layout_put(out, size, len, r, strlen(r));
            i += 3;
        } else if (i + 3 <= tlen && !memcmp(t + i, "{n}", 3)) {
            if (!n)
                return EB_ERR(EINVAL);
            ret = eb_layout_put(out, size, len, n, strlen(n));
            i += 3;
        } else {
            ret = eb_layout_put(out, size, len, t + i, 1);
            i++;
        }
    }
    return ret;
}

static int eb_layout_finish(int ret, char *out, size_t size, size_t len)
{
    if (ret < 0) {
        if (size)
            out[0] = '\0';
        return ret;
    }
    return (int)len;
}

int eb_layout_path(EbLayoutItem item, const char *rendition, int64_t number, char *out,
                   size_t size)
{
    char num[24];
    size_t len = 0;
    const char *t;
    int ret;

    if (!out || !size)
        return EB_ERR(EINVAL);
    out[0] = '\0';
    if ((unsigned)item >= EB_LAYOUT_NB_ITEMS)
        return EB_ERR(EINVAL);
    t = eb_layout_templates[item];
    if (strstr(t, "{n}") && number < 1)
        return EB_ERR(EINVAL);
    if (strstr(t, "{r}") && (!rendition || !*rendition))
        return EB_ERR(EINVAL);
    snprintf(num, sizeof(num), "%03" PRId64, number);
    ret = eb_layout_expand(t, strlen(t), rendition, num, out, size, &len);
    return eb_layout_finish(ret, out, size, len);
}

int eb_layout_part_number(int64_t sequence, int part, char *out, size_t size)
{
    int n;
    if (!out || !size || sequence < 1 || part < 0)
        return EB_ERR(EINVAL);
    n = snprintf(out, size, "%03" PRId64 ".%d", sequence, part);
    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return n;
}

int eb_layout_part_path(const char *rendition, int64_t sequence, int part, char *out,
                        size_t size)
{
    const char *t = eb_layout_templates[EB_LAYOUT_CMAF_SEGMENT];
    char num[40];
    size_t len = 0;
    int ret;

    if (!out || !size)
        return EB_ERR(EINVAL);
    out[0] = '\0';
    if (!rendition || !*rendition)
        return EB_ERR(EINVAL);
    ret = eb_layout_part_number(sequence, part, num, sizeof(num));
    if (ret >= 0)
        ret = eb_layout_expand(t, strlen(t), rendition, num, out, size, &len);
    return eb_layout_finish(ret, out, size, len);
}

int eb_layout_file(const char *dir, EbLayoutItem item, const char *rendition, int64_t number,
                   char *out, size_t size)
{
    char rel[1024];
    int ret = eb_layout_path(item, rendition, number, rel, sizeof(rel));

    if (ret < 0)
        return ret;
    ret = snprintf(out, size, "%s/%s", dir, rel);
    if (ret < 0 || (size_t)ret >= size) {
        if (size)
            out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return ret;
}

int eb_layout_parent(const char *dir, EbLayoutItem item, const char *rendition, char *out,
                     size_t size)
{
    int ret = eb_layout_file(dir, item, rendition, 1, out, size);
    char *slash;

    if (ret < 0)
        return ret;
    slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    return (int)strlen(out);
}

/* Splits a template into '/'-separated components. */
typedef struct EbLayoutComp {
    const char *s;
    size_t n;
} EbLayoutComp;

static int eb_layout_split(const char *t, EbLayoutComp *c, int max)
{
    int nb = 0;

    while (*t && nb < max) {
        const char *slash = strchr(t, '/');
        size_t n = slash ? (size_t)(slash - t) : strlen(t);
        c[nb].s = t;
        c[nb].n = n;
        nb++;
        t += n + (slash ? 1 : 0);
    }
    return nb;
}

/* Two components name the same folder: the same template text with the
 * same rendition filled in. */
static int eb_layout_same(const EbLayoutComp *a, const char *ar, const EbLayoutComp *b,
                          const char *br)
{
    int has_r = a->n == 3 && !memcmp(a->s, "{r}", 3);

    if (a->n != b->n || memcmp(a->s, b->s, a->n))
        return 0;
    return !has_r || (ar && br && !strcmp(ar, br));
}

int eb_layout_uri(EbLayoutItem from, const char *from_r, EbLayoutItem to, const char *to_r,
                  const char *number, char *out, size_t size)
{
    EbLayoutComp fc[8], tc[8];
    int nf, nt, common = 0, ret = 0;
    size_t len = 0;

    if (!out || !size)
        return EB_ERR(EINVAL);
    out[0] = '\0';
    if ((unsigned)from >= EB_LAYOUT_NB_ITEMS || (unsigned)to >= EB_LAYOUT_NB_ITEMS)
        return EB_ERR(EINVAL);
    nf = eb_layout_split(eb_layout_templates[from], fc, 8) - 1; /* the folder of `from` */
    nt = eb_layout_split(eb_layout_templates[to], tc, 8);
    while (common < nf && common < nt - 1 && eb_layout_same(&fc[common], from_r, &tc[common], to_r))
        common++;
    for (int i = common; i < nf && ret >= 0; i++)
        ret = eb_layout_put(out, size, &len, "../", 3);
    for (int i = common; i < nt && ret >= 0; i++) {
        ret = eb_layout_expand(tc[i].s, tc[i].n, to_r, number, out, size, &len);
        if (ret >= 0 && i + 1 < nt)
            ret = eb_layout_put(out, size, &len, "/", 1);
    }
    return eb_layout_finish(ret, out, size, len);
}

/* root/folder/name into out, or ENAMETOOLONG with out "". */
static int eb_layout_tree_dir(const char *root, const char *folder, const char *name, char *out,
                              size_t size)
{
    int ret = snprintf(out, size, "%s/%s/%s", root, folder, name);

    if (ret < 0 || (size_t)ret >= size) {
        if (size)
            out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return ret;
}

int eb_layout_video_dir(const char *root, const char *id, char *out, size_t size)
{
    return eb_layout_tree_dir(root, EB_LAYOUT_VIDEOS_DIR, id, out, size);
}

int eb_layout_live_dir(const char *root, const char *channel, char *out, size_t size)
{
    return eb_layout_tree_dir(root, EB_LAYOUT_LIVE_DIR, channel, out, size);
}

int eb_layout_origin_path(const char *id, EbLayoutItem item, char *out, size_t size)
{
    char rel[1024];
    int ret = eb_layout_path(item, NULL, 1, rel, sizeof(rel));

    if (ret < 0)
        return ret;
    ret = snprintf(out, size, "/" EB_LAYOUT_VIDEOS_DIR "/%s/%s", id, rel);
    if (ret < 0 || (size_t)ret >= size) {
        if (size)
            out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return ret;
}

int eb_layout_license_path(const char *id, char *out, size_t size)
{
    int ret = snprintf(out, size, "/" EB_LAYOUT_VIDEOS_DIR "/%s/" EB_LAYOUT_LICENSE_NAME, id);

    if (ret < 0 || (size_t)ret >= size) {
        if (size)
            out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return ret;
}
