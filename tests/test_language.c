/*
 * Audio languages (eb_language.h) and the labels of a source's audio
 * tracks (eb_source_label_audio): what HLS LANGUAGE/NAME and DASH
 * lang/Label print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eb_language.h"
#include "eb_source.h"

static void expect_language(const char *tag, const char *want_tag, const char *want_name)
{
    EbLanguage l;
    int found = eb_language_from_tag(tag, &l);
    if (!want_tag) {
        if (found)
            fail_msg("%s: expected undetermined, got %s (%s)", tag ? tag : "NULL", l.tag, l.name);
        assert_string_equal(l.tag, "");
        return;
    }
    if (!found)
        fail_msg("%s: expected %s, got undetermined", tag, want_tag);
    assert_string_equal(l.tag, want_tag);
    assert_string_equal(l.name, want_name);
}

static void test_iso_639_2_codes_become_bcp47(void **state)
{
    (void)state;
    /* Both ISO 639-2 forms (bibliographic, terminological) give the
     * two-letter code where ISO 639-1 has one. */
    expect_language("eng", "en", "English");
    expect_language("fre", "fr", "French");
    expect_language("fra", "fr", "French");
    expect_language("ger", "de", "German");
    expect_language("FRE", "fr", "French");
    expect_language("fr", "fr", "French");
    /* No two-letter code: the three-letter one is the BCP 47 tag. */
    expect_language("gsw", "gsw", "Swiss German");
    /* "Spanish; Castilian": the name people use. */
    expect_language("spa", "es", "Spanish");
    /* Region subtags stay; the primary subtag is shortened. */
    expect_language("eng-US", "en-US", "English");
    expect_language("pt_BR", "pt-BR", "Portuguese");
}

static void test_no_language_is_undetermined(void **state)
{
    (void)state;
    expect_language(NULL, NULL, NULL);
    expect_language("", NULL, NULL);
    expect_language("und", NULL, NULL);
    expect_language("mul", NULL, NULL);
    expect_language("zxx", NULL, NULL);
    /* Codes the standard does not have, and text that is not a tag: it
     * would end up in a manifest. */
    expect_language("qqq", NULL, NULL);
    expect_language("x", NULL, NULL);
    expect_language("e\"n", NULL, NULL);
    expect_language("en\nX", NULL, NULL);
    expect_language("en--US", NULL, NULL);
    expect_language("english-language-tag", NULL, NULL);
    expect_language("1en", NULL, NULL);
}

static void add_track(EbSourceInfo *info, const char *lang, int is_default)
{
    EbAudioTrackInfo *t = &info->audio[info->nb_audio];
    EbLanguage l;
    memset(t, 0, sizeof(*t));
    t->stream_index = info->nb_audio + 1;
    if (eb_language_from_tag(lang, &l)) {
        strcpy(t->language, l.tag);
        strcpy(t->label, l.name);
    }
    t->is_default = is_default;
    info->nb_audio++;
}

static void test_track_labels_unique_default_first(void **state)
{
    EbSourceInfo info;
    (void)state;

    memset(&info, 0, sizeof(info));
    add_track(&info, "eng", 0);
    add_track(&info, "fre", 0);
    add_track(&info, "fra", 1); /* a second French track, marked default */
    add_track(&info, NULL, 0);
    eb_source_label_audio(&info);
    /* The default leads; the rest keep their order. */
    assert_int_equal(info.audio[0].stream_index, 3);
    assert_int_equal(info.audio[1].stream_index, 1);
    assert_int_equal(info.audio[2].stream_index, 2);
    assert_int_equal(info.audio[3].stream_index, 4);
    for (int k = 0; k < 4; k++)
        assert_int_equal(info.audio[k].is_default, k == 0);
    /* NAME is unique in its group: two French tracks are numbered. */
    assert_string_equal(info.audio[0].label, "French 1");
    assert_string_equal(info.audio[1].label, "English");
    assert_string_equal(info.audio[2].label, "French 2");
    assert_string_equal(info.audio[3].label, "Audio");

    /* No track marked default: the first is. */
    memset(&info, 0, sizeof(info));
    add_track(&info, NULL, 0);
    add_track(&info, "und", 0);
    eb_source_label_audio(&info);
    assert_int_equal(info.audio[0].stream_index, 1);
    assert_true(info.audio[0].is_default);
    assert_string_equal(info.audio[0].label, "Audio 1");
    assert_string_equal(info.audio[1].label, "Audio 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_639_2_codes_become_bcp47),
        cmocka_unit_test(test_no_language_is_undetermined),
        cmocka_unit_test(test_track_labels_unique_default_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
