// Shared machinery of the browser playback tests (playback.mjs for VOD
// output, live.mjs for live channels): results and their one-line report,
// time limits and cleanup, the small HTTP server for the player libraries
// and test pages, Chromium through playwright-core, and running one
// browser-side check with a hard timeout. Each test script makes one
// harness with createHarness() and drives its own checks through it.

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, 'node_modules');

// Files the test pages load, by URL path. A script names the ones it needs.
export const LIBS = {
  '/lib/hls.js': path.join(NODE_MODULES, 'hls.js/dist/hls.js'),
  '/lib/shaka.js': path.join(NODE_MODULES, 'shaka-player/dist/shaka-player.compiled.js'),
  '/lib/dash.js': path.join(NODE_MODULES, 'dashjs/dist/modern/umd/dash.all.min.js'),
  '/harness.js': path.join(HERE, 'harness.js'),
  '/live.js': path.join(HERE, 'live.js'),
  '/protect.js': path.join(HERE, 'protect.js'),
};

// Test pages (/<name>.html) and the scripts each loads, in order.
const PAGES = {
  hls: ['/lib/hls.js', '/harness.js'],
  dash: ['/lib/shaka.js', '/harness.js'],
  'live-hls': ['/lib/hls.js', '/harness.js', '/live.js'],
  'live-dash': ['/lib/dash.js', '/harness.js', '/live.js'],
  'protect-hls': ['/lib/hls.js', '/harness.js', '/protect.js'],
  'protect-shaka': ['/lib/shaka.js', '/harness.js', '/protect.js'],
  'protect-dashjs': ['/lib/dash.js', '/harness.js', '/protect.js'],
};

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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const oneLine = (s) => String(s || 'unknown reason').replace(/\s+/g, ' ').trim();
// Playwright errors carry the whole browser log after the first line.
export const errText = (e) => oneLine(String((e && e.message) || e).split('\n')[0]).slice(0, 400);

/* An argument every live script takes the same way: --chromium PATH,
 * --verbose, --help (prints text, exits), or a positional one (into pos);
 * anything else starting with '-' is a usage error. Returns the index of
 * the last argument it used. */
export function commonArg(argv, i, o, pos, usage, text) {
  const a = argv[i];
  switch (a) {
    case '--chromium': o.chromium = argv[++i]; break;
    case '--verbose': case '-v': o.verbose = true; break;
    case '--help': case '-h': console.log(text); process.exit(0); break;
    default:
      if (a.startsWith('-')) usage(`unexpected argument: ${a}`);
      pos.push(a);
  }
  return i;
}

/* ORIGIN_URL and CHANNEL, the positional arguments (pos), checked:
 * { origin (the URL's origin), channel }; calls usage(message) (which
 * exits) when wrong. */
export function originAndChannel(pos, usage) {
  if (pos.length !== 2) usage('ORIGIN_URL and CHANNEL are required');
  const [origin, channel] = pos;
  let u;
  try {
    u = new URL(origin);
  } catch {
    usage(`not a URL: ${origin}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') usage(`not an http(s) URL: ${origin}`);
  if (!/^[a-z0-9_-]{1,64}$/.test(channel)) usage(`not a channel name: ${channel}`);
  return { origin: u.origin, channel };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/* One test run. opt: { verbose, checkTimeout, totalTimeout (seconds),
 * chromium (path) }. settings:
 *   prog        the script's name, for messages ("playback.mjs")
 *   libs        the LIBS paths the run needs (checked before the browser starts)
 *   mediaRoot   a folder served under /media/, or null
 *   warnHttpErrors  also note HTTP errors after a passing check
 * Installs the watchdog and the signal handlers. */
export function createHarness(opt, settings) {
  const prog = settings.prog;
  const mediaRoot = settings.mediaRoot || null;
  const libs = settings.libs;

  // ------------------------------------------------------------ results

  const results = { pass: 0, fail: 0, skip: 0 };
  let finishing = false; // set once the run is ending (done, watchdog, signal)

  /* details.info: lines always printed (as "#   line") before the result.
   * details.figures: what the check measured, one line, printed on its
   * PASS line ("PASS name (figures)") or before its FAIL line. */
  function report(status, name, reason, details) {
    if (finishing) return;
    let figures = '';
    if (details && details.info) {
      for (const l of details.info) console.log(`#   ${l}`);
      details = { ...details };
      delete details.info;
    }
    if (details && details.figures && status === 'pass') {
      figures = ` (${oneLine(details.figures)})`;
      details = { ...details };
      delete details.figures;
    }
    if (details && (opt.verbose || status !== 'pass')) {
      for (const [k, v] of Object.entries(details)) {
        if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
        console.log(`#   ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      }
    } else if (details && details.advanced) {
      console.log(`#   played ${details.advanced}${details.warning ? ' (' + details.warning + ')' : ''}`);
    }
    if (status === 'pass') { results.pass++; console.log(`PASS ${name}${figures}`); }
    else if (status === 'skip') { results.skip++; console.log(`SKIP ${name}: ${reason}`); }
    else { results.fail++; console.log(`FAIL ${name}: ${oneLine(reason)}`); }
  }

  let summarized = false;
  function summary() {
    if (summarized) return;
    summarized = true;
    console.log(`${results.pass} passed, ${results.fail} failed, ${results.skip} skipped`);
  }

  // ------------------------------------------------------------ cleanup

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

  // ------------------------------------------------------------ HTTP server

  function pageHtml(player) {
    const scripts = PAGES[player].map((s) => `<script src="${s}"></script>\n`).join('');
    return `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>encbox playback (${player})</title></head>
<body>
<video id="video" muted autoplay playsinline width="640" height="360"></video>
${scripts}</body></html>
`;
  }

  const httpLog = []; // { n, t, method, url, status, bytes, error }
  let reqCount = 0;

  function logHttp(method, url, status, bytes, error) {
    const e = { n: ++reqCount, t: Date.now(), method, url, status, bytes, error };
    httpLog.push(e);
    if (opt.verbose) {
      console.log(`#   http ${method} ${url} -> ${error ? 'failed: ' + error : status}${bytes !== undefined ? ' ' + bytes + ' B' : ''}`);
    }
  }
  const logRequest = (req, status, bytes) => logHttp(req.method, req.url, status, bytes);

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
    const page = p === '/' || p === '/index.html' ? 'hls' : /^\/([a-z-]+)\.html$/.exec(p)?.[1];
    if (page && PAGES[page]) {
      const body = pageHtml(page);
      logRequest(req, 200, Buffer.byteLength(body));
      res.writeHead(200, { 'Content-Type': TYPES['.html'], 'Cache-Control': 'no-store' });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (p === '/favicon.ico') return sendError(req, res, 404, 'no icon');
    if (p === '/time') { // a clock for players (DASH UTCTiming urn:mpeg:dash:utc:http-iso:2014)
      const body = new Date().toISOString();
      logRequest(req, 200, body.length);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (LIBS[p]) return serveFile(req, res, LIBS[p]);
    if (mediaRoot && p.startsWith('/media/')) {
      const file = path.resolve(mediaRoot, '.' + path.posix.normalize(p.slice('/media'.length)));
      if (file !== mediaRoot && !file.startsWith(mediaRoot + path.sep)) return sendError(req, res, 403, 'outside the served folder');
      return serveFile(req, res, file);
    }
    return sendError(req, res, 404, 'not found');
  }

  /* Serves the pages, the libraries and mediaRoot on 127.0.0.1 (random
   * port); returns the base URL. */
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
      s.listen(0, '127.0.0.1', () => {
        server = s;
        resolve(`http://127.0.0.1:${s.address().port}`);
      });
    });
  }

  function httpErrorsSince(n) {
    return httpLog.filter((e) => e.n > n && (e.status >= 400 || e.error))
      .map((e) => (e.error ? `failed (${e.error}) ${e.url}` : `${e.status} ${e.url}`));
  }

  // ------------------------------------------------------------ browser

  /* The libraries and the browser are there and playwright-core loads.
   * Prints why not and returns null when the run cannot start (exit 2). */
  async function requirements() {
    for (const name of libs) {
      const f = LIBS[name];
      if (!fs.existsSync(f)) {
        console.error(`${prog}: ${f} is missing (run "npm ci" in ${HERE}) [${name}]`);
        return null;
      }
    }
    if (!fs.existsSync(opt.chromium)) {
      console.error(`${prog}: browser ${opt.chromium} not found (apt-get install chromium)`);
      return null;
    }
    try {
      const { chromium } = await import('playwright-core');
      return chromium;
    } catch (e) {
      console.error(`${prog}: cannot load playwright-core (run "npm ci" in ${HERE}): ${e.message}`);
      return null;
    }
  }

  /* Starts headless Chromium on a temporary profile. Returns its version
   * string, or null after printing why it did not start. */
  async function launchBrowser(chromium) {
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
      console.error(`${prog}: cannot start ${opt.chromium}: ${errText(e)}`);
      return null;
    }
    return context.browser() ? context.browser().version() : '';
  }

  /* One page per player: /<player>.html from base. track: an origin whose
   * requests from the page go into the HTTP log (media served by someone
   * else, e.g. the daemon). Returns the page, or throws why it did not load. */
  async function openPage(base, player, track) {
    const checkMs = opt.checkTimeout * 1000;
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
    if (track) {
      const rel = (u) => (u.startsWith(track) ? u.slice(track.length) || '/' : null);
      page.on('response', (r) => {
        const u = rel(r.url());
        if (u) logHttp(r.request().method(), u, r.status());
      });
      page.on('requestfailed', (rq) => {
        const u = rel(rq.url());
        const why = rq.failure() ? rq.failure().errorText : 'failed';
        // players abort requests on purpose (level switches, seeks)
        if (u && why !== 'net::ERR_ABORTED') logHttp(rq.method(), u, 0, undefined, why);
      });
    }
    page.setDefaultTimeout(checkMs + 10000);
    await withTimeout(page.goto(`${base}/${player}.html`, { waitUntil: 'load' }), checkMs, 'test page load');
    await withTimeout(page.waitForFunction(() => window.EB_READY === true), checkMs, 'test page script');
    return page;
  }

  /* Runs one browser-side check with a hard timeout around it (limitMs,
   * default the check timeout) and reports it; with defer, returns the
   * result with a report() to call later instead (checks that run at the
   * same time, reported in a fixed order). */
  async function run(page, name, fn, arg, { limitMs, defer } = {}) {
    const checkMs = limitMs || opt.checkTimeout * 1000;
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
    if (r.status === 'pass' && settings.warnHttpErrors && httpErrors.length) {
      r.details = r.details || {};
      r.details.info = [...(r.details.info || []),
        `warning: ${httpErrors.length} HTTP error(s) during the check: ${httpErrors.slice(0, 3).join(', ')}${httpErrors.length > 3 ? ', ...' : ''}`];
    }
    if (defer) {
      r.report = () => report(r.status, name, r.reason, r.details);
      return r;
    }
    report(r.status, name, r.reason, r.details);
    return r;
  }

  return {
    results,
    report,
    summary,
    finish,
    abort,
    stopWatchdog: () => clearTimeout(watchdog),
    startServer,
    requirements,
    launchBrowser,
    openPage,
    run,
  };
}
