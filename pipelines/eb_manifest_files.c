/*
 * Writing a presentation's manifests into a storage tree: the one place
 * that turns the pure writers' text (eb_manifest.h) into the layout's files
 * (eb_layout.h), each replaced atomically (eb_storage_write_file), so a
 * player polling a live playlist or a VOD job's staging tree see whole
 * files only. Used by the VOD job (once, at the end) and by live channels
 * (on every published sequence).
 */
#include "eb_manifest.h"

#include "eb_error.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_storage.h"

static int eb_manifest_file(const char *dir, EbLayoutItem item, const char *r, const AVBPrint *bp)
{
    return eb_storage_write_item(dir, item, r, bp->str, bp->len);
}

int eb_manifest_write_media(const char *dir, const EbPresentation *p, const EbRendition *r)
{
    AVBPrint bp;
    int ret;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    ret = eb_manifest_hls_media(p, r, &bp);
    if (ret >= 0)
        ret = eb_manifest_file(dir, EB_LAYOUT_HLS_MEDIA, r->name, &bp);
    av_bprint_finalize(&bp, NULL);
    return ret;
}

int eb_manifest_write_files(const char *dir, const EbPresentation *p, unsigned what)
{
    AVBPrint bp;
    int ret = 0;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (int i = 0; ret >= 0 && (what & EB_MANIFEST_MEDIA) && i < p->nb_video + p->nb_audio; i++) {
        const EbRendition *r = i < p->nb_video ? &p->video[i] : &p->audio[i - p->nb_video];
        av_bprint_clear(&bp);
        ret = eb_manifest_hls_media(p, r, &bp);
        if (ret >= 0)
            ret = eb_manifest_file(dir, EB_LAYOUT_HLS_MEDIA, r->name, &bp);
    }
    if (ret >= 0 && (what & EB_MANIFEST_MASTER)) {
        av_bprint_clear(&bp);
        ret = eb_manifest_hls_master(p, &bp);
        if (ret >= 0)
            ret = eb_manifest_file(dir, EB_LAYOUT_HLS_MASTER, NULL, &bp);
    }
    if (ret >= 0 && (what & EB_MANIFEST_MEDIA) && p->thumbnails) {
        av_bprint_clear(&bp);
        ret = eb_manifest_hls_images(p, &bp);
        if (ret >= 0)
            ret = eb_manifest_file(dir, EB_LAYOUT_HLS_IMAGES, NULL, &bp);
    }
    if (ret >= 0 && (what & EB_MANIFEST_MPD) && p->format == EB_FORMAT_CMAF) {
        av_bprint_clear(&bp);
        ret = eb_manifest_dash_mpd(p, &bp);
        if (ret >= 0)
            ret = eb_manifest_file(dir, EB_LAYOUT_DASH_MPD, NULL, &bp);
    }
    av_bprint_finalize(&bp, NULL);
    if (ret < 0)
        EB_LOGD("manifest", "writing manifests under %s failed: %s", dir, eb_strerror(ret));
    return ret;
}
