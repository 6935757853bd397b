/* Hardware backends without hardware: probes on this machine (every
 * hardware backend unusable, with a reason; software usable), the devices
 * command's JSON (parsed by python3), capability parsing and the usability
 * verdicts from constructed vendor data (a capable device is usable, an
 * incapable one says why), and the vendor status tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavfilter/avfilter.h>

#include "eb_error.h"
#include "eb_hal.h"
#ifdef EB_WITH_NVIDIA
#include "eb_nvidia.h"
#endif
#ifdef EB_WITH_VAAPI
#include "eb_vaapi.h"
#endif
#ifdef EB_WITH_QSV
#include "eb_qsv.h"
#endif

static const EbHalCodecCaps *find_codec(const EbHalDeviceInfo *d, enum AVCodecID id)
{
    for (int i = 0; i < d->nb_codecs; i++)
        if (d->codecs[i].codec == id)
            return &d->codecs[i];
    return NULL;
}

/* This machine has no GPU and no vendor driver. */
static void test_probes_on_this_machine(void **state)
{
    const EbHalBackend *const *b = eb_hal_backends();
    int hw = 0, sw = 0;
    (void)state;
    for (int i = 0; b[i]; i++) {
        EbHalProbe p;
        EbHalDeviceInfo info[EB_HAL_MAX_DEVICES];
        int nb = 0;

        assert_int_equal(b[i]->probe(&p), 0);
        assert_int_equal(eb_hal_inventory(b[i], info, EB_HAL_MAX_DEVICES, &nb), 0);
        assert_true(nb >= 1);
        for (int k = 0; k < nb; k++)
            assert_string_equal(info[k].backend, b[i]->name);
        if (strcmp(b[i]->name, "software") == 0) {
            sw = 1;
            assert_int_equal(p.usable, 1);
            assert_int_equal(nb, 1);
            assert_int_equal(info[0].usable, 1);
            assert_string_equal(info[0].device, "cpu");
            continue;
        }
        hw++;
        assert_int_equal(p.usable, 0);
        assert_true(strlen(p.reason) > 5);
        print_message("%s: %s\n", b[i]->name, p.reason);
        for (int k = 0; k < nb; k++) {
            assert_int_equal(info[k].usable, 0);
            assert_true(strlen(info[k].reason) > 5);
        }
        /* Asked again: the same answer (cached, no crash). */
        {
            EbHalProbe again;
            assert_int_equal(b[i]->probe(&again), 0);
            assert_string_equal(again.reason, p.reason);
        }
    }
    assert_int_equal(sw, 1);
#if defined(EB_WITH_NVIDIA) && defined(EB_WITH_VAAPI) && defined(EB_WITH_QSV)
    assert_int_equal(hw, 3);
    assert_string_equal(b[0]->name, "nvidia");
    assert_string_equal(b[1]->name, "vaapi");
    assert_string_equal(b[2]->name, "qsv");
#endif
}

/* `encbox devices --json` is valid JSON with the promised fields. */
static void test_devices_json(void **state)
{
    const char *bin = getenv("EB_BINARY");
    char cmd[2048], usable[256] = "";
    const EbHalBackend *const *reg = eb_hal_backends();
    (void)state;
    if (!bin || system("python3 -c 'import json' 2>/dev/null") != 0)
        skip();
    /* What the probes say on this machine: a hardware device may be usable
     * only where its backend's probe says so (a box with a GPU included). */
    for (int i = 0; reg[i]; i++) {
        EbHalProbe pr;
        memset(&pr, 0, sizeof(pr));
        if (reg[i]->probe && reg[i]->probe(&pr) == 0 && pr.usable)
            snprintf(usable + strlen(usable), sizeof(usable) - strlen(usable), "%s ",
                     reg[i]->name);
    }
    snprintf(cmd, sizeof(cmd),
             "'%s' devices --json | python3 -c '"
             "import json, sys\n"
             "d = json.load(sys.stdin)\n"
             "assert isinstance(d, list) and len(d) >= 1\n"
             "for o in d:\n"
             "    for k in (\"backend\", \"device\", \"usable\", \"reason\", \"codecs\"):\n"
             "        assert k in o, k\n"
             "    assert isinstance(o[\"usable\"], bool)\n"
             "    assert o[\"usable\"] or o[\"reason\"]\n"
             "sw = [o for o in d if o[\"backend\"] == \"software\"]\n"
             "assert len(sw) == 1 and sw[0][\"usable\"] and sw[0][\"device\"] == \"cpu\"\n"
             "ok = \"%s\".split()\n"
             "assert all(o[\"backend\"] in ok for o in d if o[\"usable\"])\n"
             "assert all(any(o[\"usable\"] for o in d if o[\"backend\"] == b) for b in ok)\n"
             "'",
             bin, usable);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s' devices | grep -q '^software  *cpu  *yes'", bin);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s' devices --bogus > /dev/null 2>&1", bin);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

#ifdef EB_WITH_NVIDIA
static void test_nvidia_caps(void **state)
{
    EbHalDeviceInfo d;
    const EbNvDecodeCaps dec[] = {
        {AV_CODEC_ID_H264, 1, 4096, 4096},
        {AV_CODEC_ID_HEVC, 1, 8192, 8192},
        {AV_CODEC_ID_AV1, 0, 0, 0},
    };
    const EbNvEncodeCaps enc[] = {
        {AV_CODEC_ID_H264, 1, 4096, 4096, 4},
        {AV_CODEC_ID_HEVC, 1, 8192, 8192, 5},
    };
    const EbHalCodecCaps *c;
    char reason[EB_HAL_REASON_MAX];
    const char *text;
    (void)state;

    memset(&d, 0, sizeof(d));
    eb_nvidia_caps_fill(&d, dec, 3, enc, 2);
    assert_int_equal(d.nb_codecs, 2); /* AV1 unsupported: not listed */
    c = find_codec(&d, AV_CODEC_ID_H264);
    assert_non_null(c);
    assert_true(c->decode && c->encode);
    assert_int_equal(c->max_width, 4096);
    assert_int_equal(c->max_bframes, 4);
    assert_null(find_codec(&d, AV_CODEC_ID_AV1));
    eb_nvidia_verdict(&d, 8, 6, 1);
    assert_int_equal(d.usable, 1);
    eb_nvidia_verdict(&d, 8, 6, 0);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "kernel missing"));
    eb_nvidia_verdict(&d, 6, 1, 1); /* Pascal */
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "compute capability 6.1"));

    /* A card that decodes but cannot encode (e.g. a data-centre part). */
    memset(&d, 0, sizeof(d));
    eb_nvidia_caps_fill(&d, dec, 3, NULL, 0);
    c = find_codec(&d, AV_CODEC_ID_HEVC);
    assert_true(c && c->decode && !c->encode && c->max_width == 8192 && c->max_bframes == -1);
    eb_nvidia_verdict(&d, 8, 0, 1);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no H.264 encode"));

    assert_int_equal(eb_nvidia_nvenc_version_ok((12 << 4) | 1, reason, sizeof(reason)), 1);
    assert_int_equal(eb_nvidia_nvenc_version_ok((11 << 4) | 1, reason, sizeof(reason)), 1);
    assert_int_equal(eb_nvidia_nvenc_version_ok((11 << 4) | 0, reason, sizeof(reason)), 0);
    assert_non_null(strstr(reason, "driver too old: NVENC API 11.0"));

    eb_nvidia_format_pci(reason, sizeof(reason), 0, 0x65, 0);
    assert_string_equal(reason, "0000:65:00.0");

    assert_int_equal(eb_nvidia_cuda_status(100, &text), -ENODEV);
    assert_string_equal(text, "no CUDA-capable device");
    assert_int_equal(eb_nvidia_cuda_status(222, &text), -ENOSYS);
    assert_int_equal(eb_nvidia_cuda_status(12345, &text), -EIO);
    assert_string_equal(text, "unknown error");
    assert_int_equal(eb_nvidia_nvenc_status(10, &text), -ENOMEM);
    assert_int_equal(eb_nvidia_nvenc_status(15, NULL), -ENOSYS);
}
#endif

#ifdef EB_WITH_VAAPI
static void test_vaapi_caps(void **state)
{
    EbHalDeviceInfo d;
    /* What an Intel iHD driver lists (abridged). */
    const EbVaConfigCaps caps[] = {
        {VAProfileH264Main, VAEntrypointVLD, 0, 0},
        {VAProfileH264High, VAEntrypointVLD, 4096, 4096},
        {VAProfileH264High, VAEntrypointEncSliceLP, 4096, 4096},
        {VAProfileHEVCMain, VAEntrypointVLD, 8192, 8192},
        {VAProfileNone, VAEntrypointVideoProc, 0, 0},
        {VAProfileJPEGBaseline, VAEntrypointVLD, 0, 0},
    };
    const EbHalCodecCaps *c;
    const char *text;
    (void)state;

    memset(&d, 0, sizeof(d));
    eb_vaapi_caps_fill(&d, caps, 6);
    assert_int_equal(d.vpp, 1);
    assert_int_equal(d.nb_codecs, 2); /* JPEG skipped */
    c = find_codec(&d, AV_CODEC_ID_H264);
    assert_true(c && c->decode && c->encode && c->max_width == 4096);
    c = find_codec(&d, AV_CODEC_ID_HEVC);
    assert_true(c && c->decode && !c->encode && c->max_height == 8192);
    snprintf(d.reason, sizeof(d.reason), "stale");
    eb_vaapi_verdict(&d);
    /* Capable: usable, no reason, unless this libav build lacks the encoder
     * or the fan-out's scaler (then that is the reason). */
    if (avcodec_find_encoder_by_name("h264_vaapi") && avfilter_get_by_name("scale_vaapi")) {
        assert_int_equal(d.usable, 1);
        assert_string_equal(d.reason, "");
    } else {
        assert_int_equal(d.usable, 0);
        assert_non_null(strstr(d.reason, "libav"));
    }
    assert_null(strstr(d.reason, "fan-out yet"));

    memset(&d, 0, sizeof(d));
    eb_vaapi_caps_fill(&d, caps, 2); /* decode only */
    eb_vaapi_verdict(&d);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no H.264 encode"));

    /* Decode and encode but no video processing: nothing to scale with. */
    memset(&d, 0, sizeof(d));
    eb_vaapi_caps_fill(&d, caps, 3);
    eb_vaapi_verdict(&d);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no video processing"));

    /* Encode and VPP without H.264 decode. */
    memset(&d, 0, sizeof(d));
    eb_vaapi_caps_fill(&d, caps + 2, 3);
    eb_vaapi_verdict(&d);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no H.264 decode"));

    assert_int_equal(eb_vaapi_status(VA_STATUS_ERROR_UNSUPPORTED_PROFILE, &text), -ENOTSUP);
    assert_string_equal(text, "profile unsupported");
    assert_int_equal(eb_vaapi_status(VA_STATUS_ERROR_UNKNOWN, NULL), -EIO);
}
#endif

#ifdef EB_WITH_QSV
static void test_qsv_caps(void **state)
{
    struct decmemdesc dmem = {.MemHandleType = MFX_RESOURCE_VA_SURFACE,
                              .Width = {.Min = 16, .Max = 4096, .Step = 16},
                              .Height = {.Min = 16, .Max = 2304, .Step = 16}};
    struct decprofile dprof = {.Profile = MFX_PROFILE_AVC_HIGH, .NumMemTypes = 1, .MemDesc = &dmem};
    struct decoder decs[2] = {{.CodecID = MFX_CODEC_AVC, .NumProfiles = 1, .Profiles = &dprof},
                              {.CodecID = MFX_CODEC_JPEG}};
    struct encmemdesc emem = {.MemHandleType = MFX_RESOURCE_VA_SURFACE,
                              .Width = {.Min = 32, .Max = 4096, .Step = 16},
                              .Height = {.Min = 32, .Max = 4096, .Step = 16}};
    struct encprofile eprof = {.Profile = MFX_PROFILE_AVC_HIGH, .NumMemTypes = 1, .MemDesc = &emem};
    struct encoder encs[1] = {{.CodecID = MFX_CODEC_AVC,
                               .BiDirectionalPrediction = 1,
                               .NumProfiles = 1,
                               .Profiles = &eprof}};
    struct filter filt = {.FilterFourCC = MFX_EXTBUFF_VPP_SCALING};
    mfxImplDescription impl;
    EbHalDeviceInfo d;
    const EbHalCodecCaps *c;
    const char *text;
    (void)state;

    memset(&impl, 0, sizeof(impl));
    impl.Impl = MFX_IMPL_TYPE_HARDWARE;
    impl.ApiVersion.Major = 2;
    impl.ApiVersion.Minor = 8;
    snprintf(impl.ImplName, sizeof(impl.ImplName), "mfx-gen");
    snprintf(impl.Dev.DeviceID, sizeof(impl.Dev.DeviceID), "46a6/0");
    impl.Dec.NumCodecs = 2;
    impl.Dec.Codecs = decs;
    impl.Enc.NumCodecs = 1;
    impl.Enc.Codecs = encs;
    impl.VPP.NumFilters = 1;
    impl.VPP.Filters = &filt;

    memset(&d, 0, sizeof(d));
    eb_qsv_caps_fill(&d, &impl);
    assert_string_equal(d.name, "mfx-gen device 46a6/0");
    assert_string_equal(d.driver_version, "oneVPL API 2.8");
    assert_int_equal(d.vpp, 1);
    assert_int_equal(d.nb_codecs, 1);
    c = find_codec(&d, AV_CODEC_ID_H264);
    assert_true(c && c->decode && c->encode);
    assert_int_equal(c->max_width, 4096);
    assert_int_equal(c->max_height, 4096); /* the encoder's limit wins */
    eb_qsv_verdict(&d, MFX_IMPL_TYPE_HARDWARE);
    /* Capable: usable, no reason, unless this libav build lacks the encoder
     * or the fan-out's VPP filter (then that is the reason). */
    if (avcodec_find_encoder_by_name("h264_qsv") && avfilter_get_by_name("vpp_qsv")) {
        assert_int_equal(d.usable, 1);
        assert_string_equal(d.reason, "");
    } else {
        assert_int_equal(d.usable, 0);
        assert_non_null(strstr(d.reason, "libav"));
    }
    assert_null(strstr(d.reason, "fan-out yet"));
    eb_qsv_verdict(&d, MFX_IMPL_TYPE_SOFTWARE);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "software implementation"));

    /* No VPP filters: nothing to scale with. */
    impl.VPP.NumFilters = 0;
    memset(&d, 0, sizeof(d));
    eb_qsv_caps_fill(&d, &impl);
    eb_qsv_verdict(&d, MFX_IMPL_TYPE_HARDWARE);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no video processing"));

    /* Decode only. */
    impl.VPP.NumFilters = 1;
    impl.Enc.NumCodecs = 0;
    memset(&d, 0, sizeof(d));
    eb_qsv_caps_fill(&d, &impl);
    eb_qsv_verdict(&d, MFX_IMPL_TYPE_HARDWARE);
    assert_int_equal(d.usable, 0);
    assert_non_null(strstr(d.reason, "no H.264 encode"));

    assert_int_equal(eb_qsv_status(MFX_ERR_NOT_FOUND, &text), -ENODEV);
    assert_int_equal(eb_qsv_status(MFX_ERR_GPU_HANG, NULL), -EIO);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probes_on_this_machine),
        cmocka_unit_test(test_devices_json),
#ifdef EB_WITH_NVIDIA
        cmocka_unit_test(test_nvidia_caps),
#endif
#ifdef EB_WITH_VAAPI
        cmocka_unit_test(test_vaapi_caps),
#endif
#ifdef EB_WITH_QSV
        cmocka_unit_test(test_qsv_caps),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
