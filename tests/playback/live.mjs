#!/usr/bin/env node
// Real-browser playback test of one live channel, as the daemon's origin
// serves it (ORIGIN/live/CHANNEL/hls/master.m3u8 and dash/manifest.mpd).
//
//   node live.mjs ORIGIN_URL CHANNEL [options]
//
// Serves the player libraries and the test pages from a small HTTP server
// on 127.0.0.1 (the media come from the origin, cross-origin), drives
// Debian's Chromium through playwright-core with hls.js and dash.js, and
// prints one line per check like playback.mjs:
// PASS name | FAIL name: reason | SKIP name: reason, then
// "N passed, N failed, N skipped". Exit status: 0 all passed, 1 a check
// failed, 2 bad usage or the test could not start. See README.md.

import fs from 'node:fs';
import { commonArg, createHarness, errText, oneLine, originAndChannel, sleep, withTimeout } from './lib.mjs';
import * as ll from './llhls.mjs';

const USAGE = `usage: node live.mjs ORIGIN_URL CHANNEL [options]
  ORIGIN_URL                the daemon's origin, e.g. http://127.0.0.1:8080
  CHANNEL                   the channel's name (its window is ORIGIN/live/CHANNEL/)
  --max-latency SECONDS     fail when a player is further behind than this (default 10)
  --min-advance SECONDS     playback progress each playing check needs (default 3)
  --pdt-tolerance SECONDS   how far program date-times may stray (default 0.25)
  --low-latency             the channel is low latency: check LL-HLS and LL-DASH from node
                            (tags, parts, blocking reload, delta updates, the MPD) and play
                            with hls.js in lowLatencyMode and dash.js in low-latency mode
                            (ll-* checks; see README.md)
  --expect-discontinuity    the publisher goes and comes back while the test plays: check
                            that both players go on across the break (live-*-reconnect)
  --break-file PATH         with --expect-discontinuity: written once both players wait for
                            the break, so that a harness knows when to restart the publisher
  --reconnect-timeout SECONDS  limit for each reconnect check (default 60)
  --expect-end              last, the publisher leaves: check that both players see the end
                            of the run and play to it (live-*-end)
  --end-file PATH           with --expect-end: written once both players wait for the end,
                            so that a harness knows when to stop the publisher
  --check-timeout SECONDS   limit per check (default 30, env PLAYBACK_CHECK_TIMEOUT)
  --total-timeout SECONDS   limit for the whole run (default 180, env PLAYBACK_TOTAL_TIMEOUT)
  --chromium PATH           browser binary (default /usr/bin/chromium, env CHROMIUM)
  --verbose                 print the HTTP requests, the console and the player's event log`;

function parseArgs(argv) {
  const o = {
    origin: null,
    channel: null,
    maxLatency: 10,
    minAdvance: 3,
    pdtTolerance: 0.25,
    lowLatency: false,
    expectDiscontinuity: false,
    breakFile: null,
    reconnectTimeout: 60,
    expectEnd: false,
    endFile: null,
    checkTimeout: Number(process.env.PLAYBACK_CHECK_TIMEOUT || 30),
    totalTimeout: Number(process.env.PLAYBACK_TOTAL_TIMEOUT || 180),
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    verbose: false,
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) usage(`${name} needs a positive number`);
    return n;
  };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--max-latency': o.maxLatency = num(a, argv[++i]); break;
      case '--min-advance': o.minAdvance = num(a, argv[++i]); break;
      case '--pdt-tolerance': o.pdtTolerance = num(a, argv[++i]); break;
      case '--low-latency': o.lowLatency = true; break;
      case '--expect-discontinuity': o.expectDiscontinuity = true; break;
      case '--break-file': o.breakFile = argv[++i]; if (!o.breakFile) usage(`${a} needs a path`); break;
      case '--reconnect-timeout': o.reconnectTimeout = num(a, argv[++i]); break;
      case '--expect-end': o.expectEnd = true; break;
      case '--end-file': o.endFile = argv[++i]; if (!o.endFile) usage(`${a} needs a path`); break;
      case '--check-timeout': o.checkTimeout = num(a, argv[++i]); break;
      case '--total-timeout': o.totalTimeout = num(a, argv[++i]); break;
      default: i = commonArg(argv, i, o, pos, usage, USAGE);
    }
  }
  Object.assign(o, originAndChannel(pos, usage));
  if (o.breakFile && !o.expectDiscontinuity) usage('--break-file goes with --expect-discontinuity');
  if (o.endFile && !o.expectEnd) usage('--end-file goes with --expect-end');
  return o;
}

function usage(msg) {
  console.error(`live.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
const h = createHarness(opt, {
  prog: 'live.mjs',
  libs: ['/lib/hls.js', '/lib/dash.js', '/harness.js', '/live.js'],
  warnHttpErrors: true,
});
const { report, run } = h;

// ---------------------------------------------------------------- the break, seen from here

/* While the players wait for the break, polls the media playlists and the
 * MPD as a player does, and notes what the daemon served: the tags players
 * act on are checked in the text itself, not only through the players. */
function watchManifests(masterUrl, mpdUrl) {
  const seen = {
    media: new Map(), // media playlist URL -> { discontinuity, endList, loads }
    periodsMax: 0,
    mpdStatic: false,
    mpdLoads: 0,
    errors: [],
  };
  let stop = false;
  const get = async (url) => {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000), cache: 'no-store' });
    if (!r.ok) throw new Error(`HTTP ${r.status} ${url.replace(opt.origin, '')}`);
    return r.text();
  };
  const noteErr = (e) => { if (seen.errors.length < 5) seen.errors.push(errText(e)); };
  const loop = async () => {
    let media = [];
    while (!stop) {
      try {
        if (media.length === 0) {
          const text = await get(masterUrl);
          const uris = [];
          for (const line of text.split('\n').map((l) => l.trim())) {
            if (line && !line.startsWith('#')) uris.push(line);
            const m = /^#EXT-X-MEDIA:.*URI="([^"]+)"/.exec(line);
            if (m) uris.push(m[1]);
          }
          media = uris.map((u) => new URL(u, masterUrl).href);
          for (const u of media) seen.media.set(u, { discontinuity: false, endList: false, loads: 0 });
        }
        for (const u of media) {
          const text = await get(u);
          const s = seen.media.get(u);
          s.loads++;
          if (/^#EXT-X-DISCONTINUITY\s*$/m.test(text)) s.discontinuity = true;
          if (/^#EXT-X-ENDLIST/m.test(text)) s.endList = true;
        }
        const mpd = await get(mpdUrl);
        seen.mpdLoads++;
        seen.periodsMax = Math.max(seen.periodsMax, (mpd.match(/<Period[\s>]/g) || []).length);
        if (/\btype="static"/.test(mpd)) seen.mpdStatic = true;
      } catch (e) {
        noteErr(e);
      }
      await sleep(500);
    }
  };
  const done = loop();
  return {
    seen,
    async stop() {
      stop = true;
      await done;
      return seen;
    },
  };
}

// ---------------------------------------------------------------- checks

async function main() {
  const chromium = await h.requirements();
  if (!chromium) return h.finish(2);

  const live = `${opt.origin}/live/${opt.channel}`;
  const masterUrl = `${live}/hls/master.m3u8`;
  const mpdUrl = `${live}/dash/manifest.mpd`;
  console.log(`# playing ${live}/`);

  const base = await h.startServer();
  console.log(`# serving the test pages on ${base}`);

  const version = await h.launchBrowser(chromium);
  if (version === null) return h.finish(2);
  console.log(`# browser ${opt.chromium}${version ? ' ' + version : ''}`);

  const checkMs = opt.checkTimeout * 1000;
  const lo = {
    timeoutMs: checkMs, minAdvance: opt.minAdvance, maxLatency: opt.maxLatency, pdtTolerance: opt.pdtTolerance,
    lowLatency: opt.lowLatency,
    // low latency: hls.js follows PART-HOLD-BACK (no liveSyncDurationCount)
    hlsConfig: Object.assign(opt.lowLatency ? { lowLatencyMode: true } : { liveSyncDurationCount: 3 }, {
      // hls.js (lowLatencyMode, its default) gives up on a blocking reload
      // after max(3 parts, 0.8 target) and retries it as a timeout; while a
      // publisher is away (the reconnect checks: 2 s away, then the new
      // run's first part) the origin holds each reload up to 3 targets.
      // Enough timeout retries to outlast that; errors stay bounded.
      playlistLoadPolicy: { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 8, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 } } },
    }),
  };
  const openPage = (player) => h.openPage(base, player, opt.origin);
  const closePage = async (page) => { if (page && !page.isClosed()) await page.close().catch(() => {}); };
  // the pages stay open while later checks need the players running
  const keep = opt.expectDiscontinuity || opt.expectEnd;
  const pre = opt.lowLatency ? 'll' : 'live';

  // ---- low latency, from node: the protocol itself, before the players
  // load the machine (the timings are sharper on an idle one)
  let media = null; // the top video's media playlist and the audio one
  let skipCheck = null;
  if (opt.lowLatency) {
    const nodeCheck = async (name, fn) => {
      let r;
      try {
        r = await withTimeout(fn(), checkMs, `check ${name}`);
      } catch (e) {
        r = { status: 'fail', reason: errText(e) };
      }
      h.report(r.status, name, r.reason, r.details);
      return r;
    };
    try {
      const rends = await ll.loadRenditions(masterUrl);
      media = [rends[0].url, ...rends.filter((x) => x.type === 'audio').map((x) => x.url)];
    } catch (e) {
      console.log(`#   cannot read the playlists: ${errText(e)}`);
    }
    const noMedia = async () => ({ status: 'fail', reason: 'not attempted: the master playlist could not be read' });
    await nodeCheck('ll-hls-tags', () => ll.checkTags(masterUrl));
    await nodeCheck('ll-hls-part-files', media ? () => ll.checkPartFiles(media) : noMedia);
    await nodeCheck('ll-dash-mpd', media ? () => ll.checkMpd(mpdUrl, media[0]) : noMedia);
    await nodeCheck('ll-dash-chunked', media ? () => ll.checkDashChunked(mpdUrl, media[0]) : noMedia);
    await nodeCheck('ll-hls-blocking', media ? () => ll.checkBlocking(media[0], 'playlist') : noMedia);
    await nodeCheck('ll-hls-preload', media ? () => ll.checkBlocking(media[0], 'part') : noMedia);
    await nodeCheck('ll-hls-bad-requests', media ? () => ll.checkBadRequests(media[0]) : noMedia);
    skipCheck = () => nodeCheck('ll-hls-skip', media ? () => ll.checkSkip(media[0], checkMs - 5000) : noMedia);
  }

  // ---- hls.js
  let hlsPage = null;
  let hlsOk = false; // playing, for the later checks
  try {
    hlsPage = await openPage('live-hls');
  } catch (e) {
    report('fail', `${pre}-hls-play`, `test page did not load: ${errText(e)}`);
    report('fail', 'live-hls-pdt', 'not attempted: test page did not load');
  }
  if (hlsPage) {
    const play = await run(hlsPage, `${pre}-hls-play`, ([u, o]) => window.EBL.hlsLive(u, o), [masterUrl, lo]);
    if (play.status !== 'pass') {
      if (opt.lowLatency) report('fail', 'll-hls-parts', 'not attempted: ll-hls-play failed');
      report('fail', 'live-hls-pdt', `not attempted: ${pre}-hls-play failed`);
    } else {
      hlsOk = !hlsPage.__broken;
      if (opt.lowLatency) await run(hlsPage, 'll-hls-parts', () => window.EBL.hlsParts());
      await run(hlsPage, 'live-hls-pdt', (o) => window.EBL.hlsPdt(o), lo);
    }
    if (!keep || !hlsOk) await closePage(hlsPage);
  }

  // ---- dash.js
  let dashPage = null;
  let dashOk = false;
  try {
    dashPage = await openPage('live-dash');
  } catch (e) {
    report('fail', `${pre}-dash-play`, `test page did not load: ${errText(e)}`);
  }
  if (dashPage) {
    const play = await run(dashPage, `${pre}-dash-play`, ([u, o]) => window.EBL.dashLive(u, o), [mpdUrl, lo]);
    dashOk = play.status === 'pass' && !dashPage.__broken;
    if (!keep || !dashOk) await closePage(dashPage);
  }

  // ---- low latency: delta updates, last (the window has grown past
  // CAN-SKIP-UNTIL by now)
  if (skipCheck) await skipCheck();

  // Checks that need the harness to act on the publisher: both players at
  // once, results reported by the caller in a fixed order. whys: why the
  // hls.js / dash.js check cannot run, or null. Returns [hls, dash] results.
  async function together(names, whys, signalFile, what, hlsFn, dashFn, arg, limitMs) {
    const lim = { limitMs, defer: true };
    whys.forEach((why, i) => { if (why) report('fail', names[i], `not attempted: ${why}`); });
    if (whys[0] && whys[1]) return [null, null];
    if (signalFile) fs.writeFileSync(signalFile, `${new Date().toISOString()}\n`);
    console.log(`# waiting for ${what}${signalFile ? ` (wrote ${signalFile})` : ''}`);
    return Promise.all([
      whys[0] ? null : run(hlsPage, names[0], hlsFn, arg, lim),
      whys[1] ? null : run(dashPage, names[1], dashFn, arg, lim),
    ]);
  }
  const notPlaying = (ok, player) => (ok ? null : `${player} is not playing (an earlier check failed)`);
  const arm = async (ok, player, page, fn) => {
    if (!ok) return notPlaying(ok, player);
    try {
      return await withTimeout(page.evaluate(fn), 10000, 'arming');
    } catch (e) {
      return errText(e);
    }
  };

  // ---- the publisher goes and comes back
  if (opt.expectDiscontinuity) {
    const ro = { timeoutMs: opt.reconnectTimeout * 1000, minAdvance: opt.minAdvance };
    const whys = [await arm(hlsOk, 'hls.js', hlsPage, () => window.EBL.hlsReconnectArm()),
      await arm(dashOk, 'dash.js', dashPage, () => window.EBL.dashReconnectArm())];
    if (whys[0]) hlsOk = false;
    if (whys[1]) dashOk = false;
    const watch = watchManifests(masterUrl, mpdUrl);
    const [a, b] = await together(['live-hls-reconnect', 'live-dash-reconnect'], whys, opt.breakFile,
      'the publisher to go and come back', (o) => window.EBL.hlsReconnect(o), (o) => window.EBL.dashReconnect(o),
      ro, ro.timeoutMs);
    const seen = await watch.stop();
    const media = [...seen.media.entries()].map(([u, s]) => ({ name: u.replace(`${live}/hls/`, ''), ...s }));
    const mediaText = media.map((m) => `${m.name}${m.discontinuity ? ' DISCONTINUITY' : ''}${m.endList ? ' ENDLIST' : ''} (${m.loads} loads)`).join(', ');
    if (a) {
      a.details = a.details || {};
      a.details.info = [...(a.details.info || []), `playlists as served: ${mediaText || 'none loaded'}`];
      if (seen.errors.length) a.details.info.push(`while polling: ${seen.errors.join('; ')}`);
      const without = media.filter((m) => !m.discontinuity).map((m) => m.name);
      if (a.status === 'pass' && (media.length === 0 || without.length)) {
        a.status = 'fail';
        a.reason = `hls.js went on, but ${media.length ? without.join(' and ') + ' never showed' : 'no media playlist could be read to see'} #EXT-X-DISCONTINUITY`;
      } else if (a.status === 'fail' && media.length && without.length === media.length) {
        a.reason += '; no playlist showed #EXT-X-DISCONTINUITY';
      }
      a.report();
      hlsOk = a.status === 'pass' && !hlsPage.__broken;
    }
    if (b) {
      b.details = b.details || {};
      b.details.info = [...(b.details.info || []), `MPD as served: at most ${seen.periodsMax} Period(s)${seen.mpdStatic ? ', turned static' : ''} (${seen.mpdLoads} loads)`];
      if (b.status === 'fail' && seen.periodsMax < 2) b.reason += '; the MPD never had a second Period';
      b.report();
      dashOk = b.status === 'pass' && !dashPage.__broken;
    }
  }

  // ---- the publisher leaves: the run ends
  if (opt.expectEnd) {
    const eo = { timeoutMs: checkMs };
    const [a, b] = await together(['live-hls-end', 'live-dash-end'],
      [notPlaying(hlsOk, 'hls.js'), notPlaying(dashOk, 'dash.js')], opt.endFile, 'the publisher to leave',
      (o) => window.EBL.liveEnd('hls', o), (o) => window.EBL.liveEnd('dash', o), eo, checkMs);
    if (a) a.report();
    if (b) b.report();
  }
  await closePage(hlsPage);
  await closePage(dashPage);

  h.stopWatchdog();
  h.summary();
  return h.finish(h.results.fail > 0 ? 1 : 0);
}

main().catch((e) => h.abort('harness', oneLine(e && e.stack ? e.stack : e)));
