/*
 * A live channel's session log: <storage>/live/<channel>/.session, the one
 * piece of state that outlives a worker process. Runs of one channel are
 * separate processes (one per publisher connection, another after a crash,
 * a last one that only ends the session), so whatever a later run needs is
 * appended here by the run that publishes it:
 *
 *   encbox-live 1                 header
 *   N <seq>                       the session's first sequence number
 *   S <wallclock_us>              UTC of media time 0 (written on the first listing)
 *   F <fr.num> <fr.den> <sample_rate>   the source of the run that follows
 *   D <name> <is_audio> <w> <h> <fr.num> <fr.den> <rate> <channels> <bitrate>
 *     <timescale> <codecs>        a rendition of the run that follows (one line each)
 *   Q <seq> <disc> then per rendition <start> <duration> <size> <media_offset>
 *                                 a sequence listed in the playlists
 *   E                             the session ended (ENDLIST, recording done)
 *
 * A line is appended (and flushed) *before* what it describes is listed in a
 * playlist, so a sequence number a player has seen is never given again. A
 * torn last line (a crash mid-write) is ignored. The dot keeps the file out
 * of the origin (dot-files are never served).
 */
#ifndef EB_LIVE_LOG_H
#define EB_LIVE_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "eb_input.h"
#include "eb_manifest.h"
#include "eb_sink.h"

typedef struct EbLiveLog {
    int64_t first_seq;                           /* the session's first sequence number */
    int open;                                    /* a session is open: listed, not ended */
    int ended;                                   /* the last session was ended (E) */
    int64_t wallclock_us;                        /* its anchor; 0: nothing listed yet */
    AVRational source_rate;                      /* its latest run's source: frame rate, */
    int source_sample_rate;                      /* audio sample rate (0: none) */
    int nb;                                      /* renditions of its latest run (D lines) */
    EbRendition desc[EB_SINK_MAX_RENDITIONS];    /* segments NULL */
    int64_t nb_seq;                              /* sequences listed in the session */
    EbSegmentInfo *segs[EB_SINK_MAX_RENDITIONS]; /* nb_seq each */
} EbLiveLog;

/* Reads dir's log into *log (zeroed first; free with eb_live_log_free). No
 * log: an empty one (first_seq 1). EB_ERR(EINVAL) for a file that is not a
 * session log, EB_ERR(ENOMEM). */
int eb_live_log_load(const char *dir, EbLiveLog *log);
void eb_live_log_free(EbLiveLog *log);

/* The next sequence number the channel gives out. */
int64_t eb_live_log_next(const EbLiveLog *log);

/* Starts a new session whose first sequence is first_seq: the log is
 * replaced (atomically) by its header. *f: the log open for appending. */
int eb_live_log_start(const char *dir, int64_t first_seq, FILE **f);

/* Opens the existing log for appending. */
int eb_live_log_append(const char *dir, FILE **f);

/* 1 when two runs' renditions can share a session (the same names, sizes,
 * codecs and timescales, in the same order): players switch between them
 * without a new master playlist. */
int eb_live_log_same(const EbRendition *a, int na, const EbRendition *b, int nb);

/* Appending; each flushes. */
int eb_live_log_wallclock(FILE *f, int64_t wallclock_us);
int eb_live_log_renditions(FILE *f, const EbSourceInfo *source, const EbRendition *desc, int nb);
int eb_live_log_sequence(FILE *f, int64_t seq, int discontinuity, const EbSegmentInfo *const *segs,
                         int nb);
int eb_live_log_end(FILE *f);

#endif
