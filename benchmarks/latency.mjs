#!/usr/bin/env node
// Glass-to-glass latency of a live channel in real players (the browser
// side of benchmarks/latency.sh, which starts the daemon and the feed).
//
//   node benchmarks/latency.mjs ORIGIN_URL CHANNEL [options]
//
// Plays ORIGIN/live/CHANNEL/ in headless Chromium with each player in
// turn, alone: hls.js in low-latency mode (LL-HLS), dash.js in low-latency
// mode (LL-DASH), and hls.js with lowLatencyMode false (classic HLS). Once
// a player plays, it samples once a second, for --seconds, the age of the
// picture at the playhead: the wall clock minus the date of the frame
// being shown (program date-time / availabilityStartTime + playhead, both
// stamped by encbox at ingest, on this machine's clock), and counts stalls
// ('waiting' events and how long they lasted). Prints a table (median, p95,
// min, max, stalls) and whether LL-HLS met its target (median <= 2.0 s,
// p95 <= 3.0 s, no stall), and writes every sample to --json.
// The player libraries, test pages and the Chromium driver are the
// playback tests' (tests/playback: lib.mjs, harness.js, live.js).
// Exit: 0 measured (whether the target is met or not), 1 a player did not
// play, 2 bad usage or no browser.

import fs from 'node:fs';
import os from 'node:os';
import { commonArg, createHarness, errText, oneLine, originAndChannel, sleep, withTimeout } from '../tests/playback/lib.mjs';

const PLAYERS = {
  'hls-ll': { label: 'hls.js LL-HLS', page: 'live-hls', kind: 'hls', setting: 'lowLatencyMode true', opt: { hlsConfig: { lowLatencyMode: true }, lowLatency: true } },
  // hls.js with catch-up (its default maxLiveSyncPlaybackRate is 1, so it
  // never plays faster to get back to its target). Measured worse: it
  // drains its buffer and stalls (benchmarks/README.md, "Latency").
  'hls-ll-sync': { label: 'hls.js LL-HLS sync', page: 'live-hls', kind: 'hls', setting: 'lowLatencyMode, maxLiveSyncPlaybackRate 1.05', opt: { hlsConfig: { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.05 }, lowLatency: true } },
  'dash-ll': { label: 'dash.js LL-DASH', page: 'live-dash', kind: 'dash', setting: 'ServiceDescription target, catch-up on', opt: { lowLatency: true } },
  hls: { label: 'hls.js classic', page: 'live-hls', kind: 'hls', setting: 'lowLatencyMode false', opt: { hlsConfig: { lowLatencyMode: false } } },
};
const DEFAULT_PLAYERS = ['hls-ll', 'dash-ll', 'hls'];
const TARGET = { player: 'hls-ll', median: 2.0, p95: 3.0, stalls: 0 };

const USAGE = `usage: node benchmarks/latency.mjs ORIGIN_URL CHANNEL [options]
  --seconds S          samples per player, one a second (default 120)
  --players LIST       comma-separated, in order (default ${DEFAULT_PLAYERS.join(',')}; also hls-ll-sync)
  --json FILE          write the samples and figures there
  --note TEXT          recorded in the JSON (the source, the build, ...)
  --chromium PATH      browser binary (default /usr/bin/chromium, env CHROMIUM)
  --verbose            the HTTP requests, the console and the player's event log`;

function usage(msg) {
  console.error(`latency.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { seconds: 120, players: DEFAULT_PLAYERS, json: null, note: '', chromium: process.env.CHROMIUM || '/usr/bin/chromium', verbose: false };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seconds': o.seconds = Number(argv[++i]); if (!(o.seconds >= 1)) usage('--seconds needs a number >= 1'); break;
      case '--players': o.players = String(argv[++i] || '').split(',').filter(Boolean); break;
      case '--json': o.json = argv[++i]; break;
      case '--note': o.note = argv[++i] || ''; break;
      default: i = commonArg(argv, i, o, pos, usage, USAGE);
    }
  }
  const bad = o.players.filter((p) => !PLAYERS[p]);
  if (bad.length || !o.players.length) usage(`unknown player(s) ${bad.join(',')}: choose from ${Object.keys(PLAYERS).join(',')}`);
  Object.assign(o, originAndChannel(pos, usage));
  // the harness's limits: a minute per player to start, then its samples
  o.checkTimeout = 30;
  o.totalTimeout = o.players.length * (o.seconds + 90) + 60;
  return o;
}

/* Nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(res) {
  const v = res.samples.map((s) => s.glass).filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  const r3 = (x) => (x === null || x === undefined ? null : +x.toFixed(3));
  return {
    samples: res.samples.length,
    measured: v.length,
    median: r3(percentile(v, 50)),
    p95: r3(percentile(v, 95)),
    min: r3(v[0]),
    max: r3(v[v.length - 1]),
    mean: r3(v.length ? v.reduce((a, b) => a + b, 0) / v.length : null),
    stalls: res.stalls,
    stall_seconds: res.stallSeconds,
  };
}

const opt = parseArgs(process.argv.slice(2));
const h = createHarness(opt, { prog: 'latency.mjs', libs: ['/lib/hls.js', '/lib/dash.js', '/harness.js', '/live.js'] });

async function measure(base, id) {
  const p = PLAYERS[id];
  const live = `${opt.origin}/live/${opt.channel}`;
  const url = p.kind === 'hls' ? `${live}/hls/master.m3u8` : `${live}/dash/manifest.mpd`;
  const out = { id, label: p.label, setting: p.setting, url, error: null, start: null, stats: null, samples: [] };
  let page = null;
  try {
    page = await h.openPage(base, p.page, opt.origin);
    const so = { timeoutMs: opt.checkTimeout * 1000, minAdvance: 1, maxLatency: 1e9, pdtTolerance: 1, ...p.opt };
    const fn = p.kind === 'hls' ? ([u, o]) => window.EBL.hlsLive(u, o) : ([u, o]) => window.EBL.dashLive(u, o);
    const r = await withTimeout(page.evaluate(fn, [url, so]), so.timeoutMs + 15000, `${p.label} start`);
    if (r.status !== 'pass') throw new Error(`did not play: ${r.reason}`);
    out.start = r.details && r.details.figures;
    console.log(`# ${p.label}: playing (${out.start}); sampling for ${opt.seconds} s`);
    await page.evaluate((k) => window.EBL.monitorStart(k), p.kind);
    const end = Date.now() + opt.seconds * 1000 + 500;
    while (Date.now() < end) {
      await sleep(Math.min(30000, end - Date.now()));
      const m = await withTimeout(page.evaluate(() => window.EBL.monitorPeek()), 10000, 'monitor');
      if (m && Date.now() < end) {
        console.log(`#   ${m.samples} samples, now ${m.last && m.last.glass !== null ? m.last.glass.toFixed(2) + ' s' : 'unknown'}, ${m.stalls} stall(s)`);
      }
    }
    const res = await withTimeout(page.evaluate(() => window.EBL.monitorStop()), 10000, 'monitor');
    out.samples = res.samples;
    out.stats = stats(res);
    if (res.fatal) out.error = `the player failed while sampling: ${res.fatal}`;
  } catch (e) {
    out.error = errText(e);
  }
  if (page && !page.isClosed()) await page.close().catch(() => {});
  if (out.error) console.log(`# ${p.label}: ${out.error}`);
  return out;
}

const f = (x) => (x === null || x === undefined ? '-' : x.toFixed(2));

function table(results) {
  const rows = [['player', 'setting', 'samples', 'median s', 'p95 s', 'min s', 'max s', 'stalls', 'stalled s']];
  for (const r of results) {
    const s = r.stats || {};
    rows.push([r.label, r.setting, s.samples === undefined ? '-' : `${s.measured}/${s.samples}`, f(s.median), f(s.p95), f(s.min), f(s.max),
      s.stalls === undefined ? '-' : String(s.stalls), f(s.stall_seconds)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

function verdict(results) {
  const r = results.find((x) => x.id === TARGET.player);
  if (!r || !r.stats || !r.stats.measured) return { met: null, lines: [`target (${PLAYERS[TARGET.player].label}): not measured`] };
  const s = r.stats;
  const checks = [
    [`median <= ${TARGET.median.toFixed(1)} s`, s.median <= TARGET.median, `${f(s.median)} s`],
    [`p95 <= ${TARGET.p95.toFixed(1)} s`, s.p95 <= TARGET.p95, `${f(s.p95)} s`],
    ['no stall', s.stalls <= TARGET.stalls, `${s.stalls} stall(s), ${f(s.stall_seconds)} s`],
  ];
  return {
    met: checks.every((c) => c[1]),
    lines: checks.map(([what, ok, got]) => `${ok ? 'MET ' : 'MISS'} ${PLAYERS[TARGET.player].label} ${what}: ${got}`),
  };
}

async function main() {
  const chromium = await h.requirements();
  if (!chromium) return h.finish(2);
  const base = await h.startServer();
  const version = await h.launchBrowser(chromium);
  if (version === null) return h.finish(2);
  console.log(`# browser ${opt.chromium}${version ? ' ' + version : ''}; ${opt.origin}/live/${opt.channel}/, ${opt.seconds} s per player`);
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const results = [];
  for (const id of opt.players) results.push(await measure(base, id));
  h.stopWatchdog();
  console.log('');
  console.log(`glass-to-glass latency (wall clock - date of the frame at the playhead), ${opt.seconds} s per player`);
  console.log(table(results));
  const v = verdict(results);
  for (const l of v.lines) console.log(l);
  if (opt.json) {
    const doc = {
      benchmark: 'latency',
      date: new Date().toISOString(),
      note: opt.note,
      machine: { cpus: os.cpus().length, model: os.cpus()[0] && os.cpus()[0].model, loadavg_at_start: load },
      browser: version,
      channel: `${opt.origin}/live/${opt.channel}/`,
      seconds: opt.seconds,
      target: { ...TARGET, met: v.met },
      players: results,
    };
    fs.writeFileSync(opt.json, JSON.stringify(doc, null, 1) + '\n');
    console.log(`# wrote ${opt.json}`);
  }
  return h.finish(results.some((r) => r.error || !r.stats) ? 1 : 0);
}

main().catch((e) => h.abort('harness', oneLine(e && e.stack ? e.stack : e)));
