// The web console in Chromium (issue 18):
//   node console.mjs ENCBOX WORKDIR CHROMIUM
// Starts `encbox serve` with a token, signs in (a wrong token first),
// uploads a file and submits a job from the page, watches its progress
// reach 100 % through the event socket (no reload, no polling), plays the
// result and switches renditions with the picker, checks that the player's
// beacons reached /metrics, and looks at the devices page. Screenshots of
// each page go to WORKDIR/screenshots. Every check names what it protects;
// the first that fails ends the run (exit 1).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../playback/package.json'));
const { chromium } = require('playwright-core');
const [bin, work, chromiumPath] = process.argv.slice(2);
const TOKEN = 'console-token-5e1f0c7a9b';
const shots = `${work}/screenshots`;
mkdirSync(shots, { recursive: true });
mkdirSync(`${work}/storage`, { recursive: true });
writeFileSync(`${work}/tokens`, `${TOKEN}\n`, { mode: 0o600 });
writeFileSync(`${work}/encbox.yaml`, 'thumbnails: {enabled: false}\nladders:\n  default:\n' +
  '    rungs:\n      - {name: 360p, height: 360, bitrate: 800k}\n' +
  '      - {name: 180p, height: 180, bitrate: 300k}\n');
const clip = `${work}/clip.mp4`;
execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
  '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast',
  '-c:a', 'aac', '-shortest', clip]);

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const base = `http://127.0.0.1:${port}`;
const daemon = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--storage',
  `${work}/storage`, '--token-file', `${work}/tokens`, '--config', `${work}/encbox.yaml`],
{ stdio: ['ignore', openSync(`${work}/daemon.log`, 'a'), openSync(`${work}/daemon.log`, 'a')] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${base}/v1/health`)).ok) break; } catch { /* not yet */ }
  await sleep(100);
}

let failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const jobLists = [];
page.on('request', (r) => { if (r.url().includes('/v1/jobs?')) jobLists.push(r.url()); });
let jobId = null;
try {
  await check('the box serves the console at /, with its player library', async () => {
    const r = await fetch(`${base}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal((await fetch(`${base}/console/vendor/hls.min.js`)).status, 200);
    assert.equal((await fetch(`${base}/console/../tokens`)).status, 404);
    await page.goto(`${base}/`);
    await page.waitForSelector('#token', { state: 'visible' });
  });

  await check('a wrong token is refused with a clear message', async () => {
    await page.fill('#token', 'not-the-token');
    await page.press('#token', 'Enter');
    await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0);
    assert.match(await page.textContent('#signin-error'), /refused/);
    assert.equal(await page.isVisible('#jobs'), false);
    await page.screenshot({ path: `${shots}/signin-refused.png` });
  });

  await check('signing in with Enter opens the jobs and the live event feed', async () => {
    await page.fill('#token', TOKEN);
    await page.press('#token', 'Enter');
    await page.waitForSelector('#jobs', { state: 'visible' });
    await page.waitForFunction(() => document.getElementById('feed').textContent === 'live',
      null, { timeout: 10000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('encbox.token')), TOKEN);
    await page.evaluate(() => { window.__noReload = true; });
  });

  await check('a file uploaded from the page becomes a job whose progress reaches 100 % live',
    async () => {
      const listsBefore = jobLists.length;
      await page.setInputFiles('#upload-file', clip);
      await page.fill('#upload-video-id', 'console-clip');
      await page.click('#upload-submit');
      await page.waitForFunction(() => /job \w+ queued/.test(
        document.getElementById('upload-status').textContent), null, { timeout: 60000 });
      assert.equal(await page.evaluate(() => document.getElementById('upload-progress').value), 100);
      jobId = (await page.textContent('#upload-status')).split(' ')[1];
      const seen = new Set();
      const t0 = Date.now();
      for (;;) {
        const row = await page.evaluate((id) => {
          const tr = document.querySelector(`#job-table tr[data-id="${id}"]`);
          return tr && { state: tr.querySelector('.state').textContent,
            percent: tr.querySelector('.percent').textContent };
        }, jobId);
        if (row) seen.add(row.percent);
        if (row && row.state === 'succeeded') break;
        if (row && row.state === 'failed') throw new Error(`the job failed: ${JSON.stringify(row)}`);
        if (Date.now() - t0 > 180000) throw new Error(`no end: ${JSON.stringify(row)}`);
        await sleep(100);
      }
      assert.ok(seen.has('100%'), `the bar reached 100 %: ${[...seen]}`);
      assert.ok([...seen].some((p) => p !== '0%' && p !== '100%') || seen.size >= 2,
        `progress moved on the page: ${[...seen]}`);
      assert.equal(await page.evaluate(() => window.__noReload), true, 'no reload');
      assert.equal(jobLists.length, listsBefore, 'no polling of /v1/jobs: the socket pushed it');
      await page.screenshot({ path: `${shots}/jobs.png` });
    });

  await check('the job page plays the result, and the rung picker switches renditions', async () => {
    await page.click(`#job-table tr[data-id="${jobId}"]`);
    await page.waitForSelector('#job', { state: 'visible' });
    await page.waitForFunction(() => document.getElementById('player').currentTime > 1, null,
      { timeout: 30000 });
    const options = await page.$$eval('#rung-picker option', (o) => o.map((x) => x.textContent));
    assert.equal(options.length, 3, `auto and two rungs: ${options}`);
    await page.selectOption('#rung-picker', '0');
    await page.waitForFunction(() => document.getElementById('rung-now').dataset.level === '0',
      null, { timeout: 20000 });
    assert.match(await page.textContent('#rung-now'), /180p/);
    await page.selectOption('#rung-picker', '1');
    await page.waitForFunction(() => document.getElementById('rung-now').dataset.level === '1',
      null, { timeout: 20000 });
    assert.match(await page.textContent('#rung-now'), /360p/);
    const t = await page.evaluate(() => document.getElementById('player').currentTime);
    await sleep(1500);
    assert.ok(await page.evaluate((t1) => document.getElementById('player').currentTime > t1, t),
      'still playing after the switches');
    await page.screenshot({ path: `${shots}/job.png` });
  });

  await check('the console player\'s beacons reach /metrics', async () => {
    let m = '';
    for (let i = 0; i < 100; i++) {
      m = await (await fetch(`${base}/metrics`)).text();
      if (/encbox_player_watched_seconds_total\{video="console-clip",rendition="\d+p"\} [1-9]/.test(m))
        break;
      await sleep(200);
    }
    assert.match(m, /encbox_player_sessions_total\{video="console-clip"\} [1-9]/);
    assert.match(m, /encbox_player_watched_seconds_total\{video="console-clip",rendition="\d+p"\} [1-9]/);
    assert.match(m, /encbox_player_switches_total\{video="console-clip"\} [1-9]/);
  });

  await check('the devices page lists the backends and their sessions', async () => {
    await page.click('#nav a[data-view="devices"]');
    await page.waitForFunction(() => /software: usable/.test(
      document.getElementById('device-list').textContent), null, { timeout: 10000 });
    await page.screenshot({ path: `${shots}/devices.png` });
  });

  await check('the page made no script errors', async () => {
    assert.deepEqual(consoleErrors, []);
  });
} finally {
  await browser.close().catch(() => {});
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  if (failed) console.log(readFileSync(`${work}/daemon.log`, 'utf8').split('\n').slice(-30).join('\n'));
}
console.log(failed ? 'console: FAILED' : 'console: all checks passed');
process.exit(failed ? 1 : 0);
