/* Small helpers every test executable links (tests/CMakeLists.txt): frames
 * and fan-out requests built the same way in each test. */
#ifndef EB_TEST_FRAMES_H
#define EB_TEST_FRAMES_H

#include <libavutil/frame.h>

#include "eb_hal.h"

/* A new w x h frame of fmt with its buffers; fails the test on error. */
AVFrame *eb_test_frame(int w, int h, enum AVPixelFormat fmt);

/* A fan-out request: a sw x sh yuv420p source turned by rotation degrees,
 * n outputs of sizes[i] = {width, height}, H.264's default (left) chroma
 * siting. */
EbFanoutConfig eb_test_fanout_config(int sw, int sh, int rotation, int n, const int (*sizes)[2]);

/* 1 if backend name is built in and its probe says usable on this machine
 * (a test about a box without it then skips, saying why, instead of
 * asserting what only holds where the device is missing); 0 otherwise. */
int eb_test_backend_usable(const char *name);

#endif
