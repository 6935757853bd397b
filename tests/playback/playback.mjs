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

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, 'node_modules');

const USAGE = `usage: node playback.mjs VIDEO_DIR [options]
  VIDEO_DIR                 an encbox output folder: OUT/videos/ID (holds hls/, cmaf/, dash/)
  --expect-audio            fail if no audio is found (default: check audio when declared)
  --no-audio                the source has no audio: skip the audio checks
  --expect-dash             fail, instead of skip, when dash/manifest.mpd is missing
  --check-timeout SECONDS   limit per check (default 30, env PLAYBACK_CHECK_TIMEOUT)
  --total-timeout SECONDS   limit for the whole run (default 300, env PLAYBACK_TOTAL_TIMEOUT)
  --min-advance SECONDS     playback progress each playing check needs (default 1.5)
  --chromium PATH           browser binary (default /usr/bin/chromium, env CHROMIUM)
  --verbose                 print the HTTP requests and the player's event log`;

function parseArgs(argv) {
  const o = {
    dir: null,
    expectAudio: 'auto',
    expectDash: false,
    checkTimeout: Number(process.env.PLAYBACK_CHECK_TIMEOUT || 30),
    totalTimeout: Number(process.env.PLAYBACK_TOTAL_TIMEOUT || 300),
    minAdvance: 1.5,
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
      case '--check-timeout': o.checkTimeout = num(a, argv[++i]); break;
      case '--total-timeout': o.totalTimeout = num(a, argv[++i]); break;
      case '--min-advance': o.minAdvance = num(a, argv[++i]); break;
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

// ---------------------------------------------------------------- results

const results = { pass: 0, fail: 0, skip: 0 };
let finishing = false; // set once the run is ending (done, watchdog, signal)

function report(status, name, reason, details) {
  if (finishing) return;
  if (details && (opt.verbose || status !== 'pass')) {
    for (const [k, v] of Object.entries(details)) {
      if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
      console.log(`#   ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  } else if (details && details.advanced) {
    console.log(`#   played ${details.advanced}${details.warning ? ' (' + details.warning + ')' : ''}`);
  }
  if (status === 'pass') { results.pass++; console.log(`PASS ${name}`); }
  else if (status === 'skip') { results.skip++; console.log(`SKIP ${name}: ${reason}`); }
  else { results.fail++; console.log(`FAIL ${name}: ${oneLine(reason)}`); }
}
const oneLine = (s) => String(s || 'unknown reason').replace(/\s+/g, ' ').trim();
// Playwright errors carry the whole browser log after the first line.
const errText = (e) => oneLine(String((e && e.message) || e).split('\n')[0]).slice(0, 400);

let summarized = false;
function summary() {
  if (summarized) return;
  summarized = true;
  console.log(`${results.pass} passed, ${results.fail} failed, ${results.skip} skipped`);
}

// ---------------------------------------------------------------- cleanup

let server = null;
let context = null;
let userDataDir = null;
let cleaning = null;

function cleanup() {
  if (!cleaning) cleaning = doCleanup();
  return cleaning; // every caller waits for the same cleanup
}

async function doCleanup() {
  if (context) {
    // close() is graceful; if Chromium hangs, process exit makes playwright
    // SIGKILL the browser's process group.
    await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    context = null;
  }
  if (server) {
    server.closeAllConnections();
    server.close();
    server = null;
  }
  if (userDataDir) {
    await fsp.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    userDataDir = null;
  }
}

let exitCode = null;
async function finish(code) {
  if (exitCode === null) exitCode = code;
  finishing = true;
  await Promise.race([cleanup(), sleep(15000)]);
  process.exit(exitCode);
}

// Ends the run now: one last FAIL line, the summary, cleanup, exit 1.
function abort(name, reason) {
  if (finishing) return;
  report('fail', name, reason);
  summary();
  finish(1);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => abort('interrupted', `got ${sig}`));
}

const watchdog = setTimeout(() => abort('watchdog', `the whole run took longer than ${opt.totalTimeout} s`),
  opt.totalTimeout * 1000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- HTTP server

const TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.m4a': 'audio/mp4',
  '.m4v': 'video/mp4',
  '.ts': 'video/mp2t',
  '.aac': 'audio/aac',
  '.vtt': 'text/vtt',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
};

const LIBS = {
  '/lib/hls.js': path.join(NODE_MODULES, 'hls.js/dist/hls.js'),
  '/lib/shaka.js': path.join(NODE_MODULES, 'shaka-player/dist/shaka-player.compiled.js'),
  '/harness.js': path.join(HERE, 'harness.js'),
};

function pageHtml(player) {
  const lib = player === 'dash' ? '/lib/shaka.js' : '/lib/hls.js';
  return `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>encbox playback (${player})</title></head>
<body>
<video id="video" muted autoplay playsinline width="640" height="360"></video>
<script src="${lib}"></script>
<script src="/harness.js"></script>
</body></html>
`;
}

const httpLog = []; // { n, t, method, url, status, bytes }
let reqCount = 0;

function logRequest(req, status, bytes) {
  const e = { n: ++reqCount, t: Date.now(), method: req.method, url: req.url, status, bytes };
  httpLog.push(e);
  if (opt.verbose) console.log(`#   http ${req.method} ${req.url} -> ${status}${bytes !== undefined ? ' ' + bytes + ' B' : ''}`);
}

function sendError(req, res, status, msg) {
  logRequest(req, status);
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : msg + '\n');
}

async function serveFile(req, res, file) {
  let st;
  try {
    st = await fsp.stat(file);
  } catch {
    return sendError(req, res, 404, 'not found');
  }
  if (!st.isFile()) return sendError(req, res, 404, 'not a file');
  const size = st.size;
  const headers = {
    'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
    'Cache-Control': 'no-store',
    'Accept-Ranges': 'bytes',
  };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      headers['Content-Range'] = `bytes */${size}`;
      return sendError(req, res, 416, 'bad range');
    }
    if (m[1] === '') { // suffix: last N bytes
      start = Math.max(0, size - Number(m[2]));
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || start > end) {
      res.setHeader('Content-Range', `bytes */${size}`);
      return sendError(req, res, 416, 'range not satisfiable');
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  const len = size === 0 ? 0 : end - start + 1;
  headers['Content-Length'] = len;
  logRequest(req, status, len);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || len === 0) return res.end();
  const stream = fs.createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(req, res, 405, 'method not allowed');
  let p;
  try {
    p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    return sendError(req, res, 400, 'bad url');
  }
  if (p === '/' || p === '/index.html' || p === '/hls.html' || p === '/dash.html') {
    const body = pageHtml(p === '/dash.html' ? 'dash' : 'hls');
    logRequest(req, 200, Buffer.byteLength(body));
    res.writeHead(200, { 'Content-Type': TYPES['.html'], 'Cache-Control': 'no-store' });
    return res.end(req.method === 'HEAD' ? undefined : body);
  }
  if (p === '/favicon.ico') return sendError(req, res, 404, 'no icon');
  if (LIBS[p]) return serveFile(req, res, LIBS[p]);
  if (p.startsWith('/media/')) {
    const file = path.resolve(ROOT, '.' + path.posix.normalize(p.slice('/media'.length)));
    if (file !== ROOT && !file.startsWith(ROOT + path.sep)) return sendError(req, res, 403, 'outside the served folder');
    return serveFile(req, res, file);
  }
  return sendError(req, res, 404, 'not found');
}

function startServer() {
  return new Promise((resolve, reject) => {
    const s = http.createServer((req, res) => {
      Promise.resolve(handle(req, res)).catch((e) => {
        if (!res.headersSent) sendError(req, res, 500, String(e));
        else res.destroy();
      });
    });
    s.keepAliveTimeout = 2000;
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function httpErrorsSince(n) {
  return httpLog.filter((e) => e.n > n && e.status >= 400).map((e) => `${e.status} ${e.url}`);
}

// ---------------------------------------------------------------- checks

async function main() {
  // Preconditions: the test cannot run at all without these (exit 2).
  for (const [name, f] of Object.entries(LIBS)) {
    if (!fs.existsSync(f)) {
      console.error(`playback.mjs: ${f} is missing (run "npm ci" in ${HERE}) [${name}]`);
      return finish(2);
    }
  }
  if (!fs.existsSync(opt.chromium)) {
    console.error(`playback.mjs: browser ${opt.chromium} not found (apt-get install chromium)`);
    return finish(2);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    console.error(`playback.mjs: cannot load playwright-core (run "npm ci" in ${HERE}): ${e.message}`);
    return finish(2);
  }

  const masterFile = path.join(ROOT, 'hls/master.m3u8');
  const mpdFile = path.join(ROOT, 'dash/manifest.mpd');
  console.log(`# playing ${ROOT}`);

  server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  console.log(`# serving on ${base}`);

  userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'encbox-playback-'));
  try {
    context = await withTimeout(chromium.launchPersistentContext(userDataDir, {
      executablePath: opt.chromium,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
        '--autoplay-policy=no-user-gesture-required',
      ],
      timeout: 60000,
    }), 70000, 'Chromium launch');
  } catch (e) {
    console.error(`playback.mjs: cannot start ${opt.chromium}: ${errText(e)}`);
    return finish(2);
  }
  const version = context.browser() ? context.browser().version() : '';
  console.log(`# browser ${opt.chromium}${version ? ' ' + version : ''}`);

  const checkMs = opt.checkTimeout * 1000;
  const po = { timeoutMs: checkMs, minAdvance: opt.minAdvance, expectAudio: opt.expectAudio };

  // One page per player. Returns the page, or a reason it could not load.
  async function openPage(player) {
    const page = context.pages()[0] && !context.pages()[0].__used ? context.pages()[0] : await context.newPage();
    page.__used = true;
    page.__consoleErrors = [];
    page.on('console', (m) => {
      if (opt.verbose) console.log(`#   console.${m.type()}: ${m.text()}`);
      if (m.type() === 'error' && page.__consoleErrors.length < 20) page.__consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => {
      console.log(`#   page error: ${errText(e)}`);
      page.__consoleErrors.push(`page error: ${e.message}`);
    });
    page.on('crash', () => console.log('#   the page crashed'));
    page.setDefaultTimeout(checkMs + 10000);
    await withTimeout(page.goto(`${base}/${player}.html`, { waitUntil: 'load' }), checkMs, 'test page load');
    await withTimeout(page.waitForFunction(() => window.EB_READY === true), checkMs, 'test page script');
    return page;
  }

  // Runs one browser-side check with a hard timeout around it.
  async function run(page, name, fn, arg) {
    const mark = reqCount;
    let r;
    try {
      r = await withTimeout(page.evaluate(fn, arg), checkMs + 15000, `check ${name}`);
    } catch (e) {
      r = { status: 'fail', reason: errText(e) };
      page.__broken = true;
    }
    const httpErrors = httpErrorsSince(mark);
    if (r.status === 'fail') {
      r.details = r.details || {};
      if (httpErrors.length) r.details.httpErrors = httpErrors.slice(0, 10);
      if (page.__consoleErrors.length) r.details.consoleErrors = page.__consoleErrors.slice(0, 5);
      if (!page.__broken) {
        try {
          r.details.playerLog = await withTimeout(page.evaluate(() => window.EB.log().slice(-15)), 5000, 'log');
        } catch { /* the page is gone */ }
      }
    } else if (opt.verbose) {
      try {
        (r.details = r.details || {}).playerLog = await withTimeout(page.evaluate(() => window.EB.log().slice(-15)), 5000, 'log');
      } catch { /* ignore */ }
    }
    if (r.status === 'fail' && httpErrors.length && !/HTTP \d{3}|\b4\d\d\b|\b5\d\d\b/.test(r.reason)) {
      r.reason += ` (server answered ${httpErrors.slice(0, 3).join(', ')}${httpErrors.length > 3 ? ', ...' : ''})`;
    }
    report(r.status, name, r.reason, r.details);
    return r;
  }

  // ---- HLS (hls.js): a, d, b
  if (!fs.existsSync(masterFile)) {
    report('fail', 'hls-play', `hls/master.m3u8 does not exist in ${ROOT}`);
    report('fail', 'hls-av', 'not attempted: no master playlist');
    report('fail', 'hls-levels', 'not attempted: no master playlist');
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
      } else {
        await run(page, 'hls-av', (o) => window.EB.avCheck('hls', o), po);
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
    } else {
      report('skip', 'dash-play', why);
      report('skip', 'dash-av', why);
    }
  } else {
    let page;
    try {
      page = await openPage('dash');
    } catch (e) {
      report('fail', 'dash-play', `test page did not load: ${errText(e)}`);
      report('fail', 'dash-av', 'not attempted: test page did not load');
    }
    if (page) {
      const play = await run(page, 'dash-play', ([u, o]) => window.EB.dashPlay(u, o), [`${base}/media/dash/manifest.mpd`, po]);
      if (play.status !== 'pass') report('fail', 'dash-av', 'not attempted: dash-play failed');
      else await run(page, 'dash-av', (o) => window.EB.avCheck('dash', o), po);
      await page.close().catch(() => {});
    }
  }

  clearTimeout(watchdog);
  summary();
  return finish(results.fail > 0 ? 1 : 0);
}

main().catch((e) => abort('harness', oneLine(e && e.stack ? e.stack : e)));
