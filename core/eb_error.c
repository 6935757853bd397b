/* eb_strerror(): one table for encbox's own codes, then libav, then libc. */
#include "eb_error.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *text;
} eb_error_table[] = {
    {EB_ERR_NO_VIDEO, "input has no video stream"},
    {EB_ERR_HDR_UNSUPPORTED, "HDR (PQ/HLG) sources are not supported yet"},
    {EB_ERR_CODEC_UNSUPPORTED, "input codec is not supported (no decoder)"},
    {EB_ERR_NOT_MEDIA, "input is not a media file encbox can read"},
    {EB_ERR_EMPTY_INPUT, "input file is empty"},
    {EB_ERR_NO_SPACE_ESTIMATE, "not enough free disk space for the estimated output"},
    {EB_ERR_EXISTS, "video id already exists (use --overwrite to replace it)"},
    {EB_ERR_BAD_ID, "invalid video id (allowed: [A-Za-z0-9_-], 1 to 64 characters)"},
    {EB_ERR_CANCELED, "job canceled"},
    {EB_ERR_NO_FRAMES, "input contains no decodable video frames"},
    {EB_ERR_TRUNCATED, "input is truncated (it holds less than it states)"},
    {EB_ERR_INPUT_CONFINED, "input reaches outside the allowed input roots"},
    {EB_ERR_INPUT_LIMIT, "input exceeds a limit"},
    {EB_ERR_DAMAGED, "input is damaged beyond what encbox can conceal"},
    {EB_ERR_BAD_OPTION, "job option out of range"},
};

const char *eb_strerror(int err)
{
    static _Thread_local char buf[128];

    if (err >= 0)
        return "success";
    for (size_t i = 0; i < sizeof(eb_error_table) / sizeof(eb_error_table[0]); i++)
        if (eb_error_table[i].code == err)
            return eb_error_table[i].text;
    if (av_strerror(err, buf, sizeof(buf)) == 0)
        return buf;
    snprintf(buf, sizeof(buf), "error %d", err);
    return buf;
}
