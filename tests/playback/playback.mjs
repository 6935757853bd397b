#!/usr/bin/env node
// Real-browser playback test of one encbox output folder (OUT/videos/ID).
//
//   node playback.mjs VIDEO_DIR [options]
//
// Serves VIDEO_DIR, the player libraries and a test page from a small HTTP
// server on 127.0.0.1, drives Debian's Chromium through playwright-core, and
// prints one line per check:  PASS name | FAIL name: reason | SKIP name: reason
// then "N passed, N failed, N skipped". Exit status: 0 all passed (or
// skipped), 1 a check failed, 2 bad usage or the test could not start.
// See README.md for the checks and the options.

import fs from 'node:fs';
import path from 'node:path';
import { createHarness, errText, oneLine, withTimeout } from './lib.mjs';

const USAGE = `usage: node playback.mjs VIDEO_DIR [options]
  VIDEO_DIR                 an encbox output folder: OUT/videos/ID (holds hls/, cmaf/, dash/)
  --expect-audio            fail if no audio is found (default: check audio when declared)
  --no-audio                the source has no audio: skip the audio checks
  --expect-dash             fail, instead of skip, when dash/manifest.mpd is missing
  --expect-languages L1,L2  the audio languages offered, the default first: each player
                            starts with L1 and switches to each other one (hls-languages,
                            dash-languages)
  --check-timeout SECONDS   limit per check (default 30, env PLAYBACK_CHECK_TIMEOUT)
  --total-timeout SECONDS   limit for the whole run (default 300, env PLAYBACK_TOTAL_TIMEOUT)
  --min-advance SECONDS     playback progress each playing check needs (default 1.5)
  --expect-duration SECONDS also play each manifest to its end (hls-end, dash-end) and check
                            that the player's duration is SECONDS (e.g. a recording's)
  --duration-tolerance SECONDS  how far the duration may be off (default 1: one segment)
  --end-rate RATE           playback rate of the end checks (default 4)
  --chromium PATH           browser binary (default /usr/bin/chromium, env CHROMIUM)
  --verbose                 print the HTTP requests and the player's event log`;

function parseArgs(argv) {
  const o = {
    dir: null,
    expectAudio: 'auto',
    expectDash: false,
    languages: null,
    checkTimeout: Number(process.env.PLAYBACK_CHECK_TIMEOUT || 30),
    totalTimeout: Number(process.env.PLAYBACK_TOTAL_TIMEOUT || 300),
    minAdvance: 1.5,
    expectDuration: null,
    durationTolerance: 1,
    endRate: 4,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    verbose: false,
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) usage(`${name} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--expect-audio': o.expectAudio = 'yes'; break;
      case '--no-audio': o.expectAudio = 'no'; break;
      case '--expect-dash': o.expectDash = true; break;
      case '--expect-languages': o.languages = String(argv[++i] || '').split(',').filter(Boolean); break;
      case '--check-timeout': o.checkTimeout = num(a, argv[++i]); break;
      case '--total-timeout': o.totalTimeout = num(a, argv[++i]); break;
      case '--min-advance': o.minAdvance = num(a, argv[++i]); break;
      case '--expect-duration': o.expectDuration = num(a, argv[++i]); break;
      case '--duration-tolerance': o.durationTolerance = num(a, argv[++i]); break;
      case '--end-rate': o.endRate = num(a, argv[++i]); break;
      case '--chromium': o.chromium = argv[++i]; break;
      case '--verbose': case '-v': o.verbose = true; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default:
        if (a.startsWith('-') || o.dir) usage(`unexpected argument: ${a}`);
        o.dir = a;
    }
  }
  if (!o.dir) usage('VIDEO_DIR is required');
  return o;
}

function usage(msg) {
  console.error(`playback.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
const ROOT = path.resolve(opt.dir);

const h = createHarness(opt, {
  prog: 'playback.mjs',
  libs: ['/lib/hls.js', '/lib/shaka.js', '/harness.js'],
  mediaRoot: ROOT,
});
const { report, run } = h;

// ---------------------------------------------------------------- checks

async function main() {
  // Preconditions: the test cannot run at all without these (exit 2).
  const chromium = await h.requirements();
  if (!chromium) return h.finish(2);

  const masterFile = path.join(ROOT, 'hls/master.m3u8');
  const mpdFile = path.join(ROOT, 'dash/manifest.mpd');
  console.log(`# playing ${ROOT}`);

  const base = await h.startServer();
  console.log(`# serving on ${base}`);

  const version = await h.launchBrowser(chromium);
  if (version === null) return h.finish(2);
  console.log(`# browser ${opt.chromium}${version ? ' ' + version : ''}`);

  const checkMs = opt.checkTimeout * 1000;
  const po = { timeoutMs: checkMs, minAdvance: opt.minAdvance, expectAudio: opt.expectAudio };
  const openPage = (player) => h.openPage(base, player);
  // --expect-duration: the whole presentation at endRate, plus margin
  const endMs = opt.expectDuration === null ? 0
    : Math.max(checkMs, (opt.expectDuration / opt.endRate) * 2000 + 15000);
  const eo = { timeoutMs: endMs, rate: opt.endRate, expectDuration: opt.expectDuration, tolerance: opt.durationTolerance };
  const endCheck = (page, player) => run(page, `${player}-end`, ([p, o]) => window.EB.playToEnd(p, o), [player, eo], { limitMs: endMs });

  // ---- HLS (hls.js): a, d, b
  if (!fs.existsSync(masterFile)) {
    report('fail', 'hls-play', `hls/master.m3u8 does not exist in ${ROOT}`);
    report('fail', 'hls-av', 'not attempted: no master playlist');
    report('fail', 'hls-levels', 'not attempted: no master playlist');
    if (endMs) report('fail', 'hls-end', 'not attempted: no master playlist');
  } else {
    let page;
    try {
      page = await openPage('hls');
    } catch (e) {
      report('fail', 'hls-play', `test page did not load: ${errText(e)}`);
    }
    if (page) {
      const codecs = await withTimeout(page.evaluate(() => window.EB.codecSupport()), 10000, 'codec probe').catch(() => null);
      if (codecs) console.log(`# MSE support: ${Object.entries(codecs).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      const play = await run(page, 'hls-play', ([u, o]) => window.EB.hlsPlay(u, o), [`${base}/media/hls/master.m3u8`, po]);
      if (play.status !== 'pass') {
        report('fail', 'hls-av', 'not attempted: hls-play failed');
        report('fail', 'hls-levels', 'not attempted: hls-play failed');
        if (endMs) report('fail', 'hls-end', 'not attempted: hls-play failed');
      } else {
        await run(page, 'hls-av', (o) => window.EB.avCheck('hls', o), po);
        if (opt.languages) await run(page, 'hls-languages', (o) => window.EB.audioLanguages('hls', o), { ...po, languages: opt.languages });
        const levels = play.details.levels || [];
        if (levels.length === 0) report('fail', 'hls-levels', 'hls.js found no levels');
        const names = new Set();
        for (const lv of levels) {
          // name the check after the rung folder (hls/720p/index.m3u8 -> 720p)
          let rung = path.posix.basename(path.posix.dirname(lv.url.split('?')[0])) || `${lv.index}`;
          if (names.has(rung)) rung = `${rung}-${lv.index}`;
          names.add(rung);
          const name = `hls-level-${rung}`;
          if (page.__broken) {
            report('fail', name, 'not attempted: the page stopped answering');
            continue;
          }
          console.log(`# forcing level ${lv.index}: ${lv.width}x${lv.height} ${lv.bitrate} bit/s ${lv.url}`);
          await run(page, name, ([i, o]) => window.EB.hlsLevel(i, o), [lv.index, po]);
        }
        if (endMs) {
          if (page.__broken) report('fail', 'hls-end', 'not attempted: the page stopped answering');
          else await endCheck(page, 'hls');
        }
      }
      await page.close().catch(() => {});
    }
  }

  // ---- DASH (Shaka Player): c, d
  if (!fs.existsSync(mpdFile)) {
    const why = 'dash/manifest.mpd does not exist (TS mode has no DASH)';
    if (opt.expectDash) {
      report('fail', 'dash-play', 'dash/manifest.mpd does not exist (--expect-dash: CMAF output must have it)');
      report('fail', 'dash-av', 'not attempted: no DASH manifest');
      if (endMs) report('fail', 'dash-end', 'not attempted: no DASH manifest');
    } else {
      report('skip', 'dash-play', why);
      report('skip', 'dash-av', why);
      if (endMs) report('skip', 'dash-end', why);
    }
  } else {
    let page;
    try {
      page = await openPage('dash');
    } catch (e) {
      report('fail', 'dash-play', `test page did not load: ${errText(e)}`);
      report('fail', 'dash-av', 'not attempted: test page did not load');
      if (endMs) report('fail', 'dash-end', 'not attempted: test page did not load');
    }
    if (page) {
      const play = await run(page, 'dash-play', ([u, o]) => window.EB.dashPlay(u, o), [`${base}/media/dash/manifest.mpd`, po]);
      if (play.status !== 'pass') {
        report('fail', 'dash-av', 'not attempted: dash-play failed');
        if (endMs) report('fail', 'dash-end', 'not attempted: dash-play failed');
      } else {
        await run(page, 'dash-av', (o) => window.EB.avCheck('dash', o), po);
        if (opt.languages) await run(page, 'dash-languages', (o) => window.EB.audioLanguages('dash', o), { ...po, languages: opt.languages });
        if (endMs) {
          if (page.__broken) report('fail', 'dash-end', 'not attempted: the page stopped answering');
          else await endCheck(page, 'dash');
        }
      }
      await page.close().catch(() => {});
    }
  }

  h.stopWatchdog();
  h.summary();
  return h.finish(h.results.fail > 0 ? 1 : 0);
}

main().catch((e) => h.abort('harness', oneLine(e && e.stack ? e.stack : e)));
