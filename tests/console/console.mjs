// The web console in Chromium (issue 18):
//   node console.mjs ENCBOX WORKDIR CHROMIUM
// Starts `encbox serve` with a token, signs in (a wrong token first),
// uploads a file and submits a job from the page, watches its progress
// reach 100 % through the event socket (no reload, no polling), plays the
// result and switches renditions with the picker, checks that the player's
// beacons reached /metrics, plays a live channel on two pages that
// exchange chat and reactions in step with the picture (a moderator
// deletes one), replays the chat with the recording, and looks at the
// devices page. Screenshots of
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
writeFileSync(`${work}/encbox.yaml`, 'thumbnails: {enabled: true, interval: 2}\n' +
  'ladders:\n  default:\n' +
  '    rungs:\n      - {name: 360p, height: 360, bitrate: 800k}\n' +
  '      - {name: 180p, height: 180, bitrate: 300k}\n');
const clip = `${work}/clip.mp4`;
execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
  '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast',
  '-c:a', 'aac', '-shortest', clip]);

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const port = await freePort();
let srtPort;
do srtPort = await freePort(); while (srtPort === port);
const base = `http://127.0.0.1:${port}`;
const daemon = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--storage',
  `${work}/storage`, '--token-file', `${work}/tokens`, '--config', `${work}/encbox.yaml`,
  '--srt-listen', `127.0.0.1:${srtPort}`],
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
let publisher = null;
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

  await check('the seek bar previews the sprite sheet\'s picture under the pointer', async () => {
    await page.waitForFunction(() => Number(document.getElementById('seek').dataset.cues) > 0,
      null, { timeout: 10000 });
    const box = await page.locator('#seek').boundingBox();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.waitForFunction(() => !document.getElementById('preview').hidden &&
      /sprite_\d+\.jpg#\d+,\d+$/.test(document.getElementById('preview').dataset.drawn || ''),
    null, { timeout: 10000 });
    const lit = await page.evaluate(() => {
      const d = document.getElementById('preview-canvas').getContext('2d')
        .getImageData(0, 0, 160, 90).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) n += d[i] + d[i + 1] + d[i + 2] > 60;
      return n;
    });
    assert.ok(lit > 1000, `the preview shows a picture (${lit} lit pixels)`);
    await page.screenshot({ path: `${shots}/job-preview.png` });
    await page.mouse.move(0, 0);
  });

  await check('the same job plays as DASH in Shaka, with its renditions', async () => {
    await page.selectOption('#format-picker', 'dash');
    await page.waitForFunction(() => document.getElementById('player').currentTime > 1, null,
      { timeout: 30000 });
    const options = await page.$$eval('#rung-picker option', (o) => o.map((x) => x.textContent));
    assert.equal(options.length, 3, `auto and two rungs: ${options}`);
    assert.equal(await page.textContent('#player-status'), '');
    await page.selectOption('#format-picker', 'hls');
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

  await check('the job page plots what the players reported', async () => {
    await page.waitForFunction(() =>
      document.querySelectorAll('#analytics-plot rect[data-rendition]').length > 0, null,
    { timeout: 20000 });
    assert.match(await page.textContent('#analytics-summary'), /[1-9]\d* session/);
    await page.screenshot({ path: `${shots}/job-analytics.png`, fullPage: true });
  });

  await check('a live channel plays on the channels page, with its latency', async () => {
    const r = await fetch(`${base}/v1/channels`, { method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'consolecam', segment_seconds: 1, low_latency: false }) });
    assert.equal(r.status, 201);
    const ch = await r.json();
    publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i',
      'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '60', '-c:v', 'libx264',
      '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'mpegts', ch.ingest.srt],
    { stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      const v = await (await fetch(`${base}/v1/channels/${ch.id}`, {
        headers: { Authorization: `Bearer ${TOKEN}` } })).json();
      const m = await fetch(`${base}${v.outputs.hls}`);
      if (v.state === 'live' && m.ok) break;
      await sleep(100);
    }
    await sleep(3000); /* a few segments in the window */
    await page.click('#nav a[data-view="channels"]');
    await page.waitForSelector('#channel-table tr[data-name="consolecam"]');
    await page.click('#channel-table tr[data-name="consolecam"]');
    await page.waitForFunction(() => document.getElementById('live-player').currentTime > 1, null,
      { timeout: 30000 });
    await page.waitForFunction(() => /\d+\.\d s/.test(
      document.getElementById('live-latency').textContent), null, { timeout: 10000 });
    const latency = parseFloat(await page.textContent('#live-latency'));
    assert.ok(latency > 0 && latency < 30, `latency ${latency} s`);
    await page.screenshot({ path: `${shots}/channels.png` });
  });

  // A second viewer of the channel: another tab signed in to the console.
  const page2 = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page2.on('pageerror', (e) => consoleErrors.push(`page 2: ${e}`));
  let chatId = null;
  const chatOf = async () => (await (await fetch(`${base}/v1/channels/consolecam/chat`)).json()).messages;

  await check('two pages on the channel exchange chat, each message shown when the playhead reaches its stamp',
    async () => {
      await page2.goto(`${base}/`);
      await page2.fill('#token', TOKEN);
      await page2.press('#token', 'Enter');
      await page2.waitForSelector('#jobs', { state: 'visible' });
      await page2.click('#nav a[data-view="channels"]');
      await page2.click('#channel-table tr[data-name="consolecam"]');
      for (const p of [page, page2])
        await p.waitForFunction(() => document.getElementById('chat-state').dataset.state === 'moderator',
          null, { timeout: 10000 });
      await page2.waitForFunction(() => window.encboxChat.playhead() !== null, null, { timeout: 30000 });
      await page.fill('#chat-input', 'hello from page one');
      await page.press('#chat-input', 'Enter');
      let item = null;
      for (let i = 0; i < 50 && !item; i++) {
        item = (await chatOf()).find((m) => m.text === 'hello from page one');
        if (!item) await sleep(100);
      }
      assert.ok(item, 'the message was stored');
      chatId = item.id;
      // Page two holds it until its picture reaches the stamp, then shows it.
      let heldBack = false;
      let shownAt = null;
      for (let i = 0; i < 300 && shownAt === null; i++) {
        const o = await page2.evaluate((id) => ({ head: window.encboxChat.playhead(),
          shown: window.encboxChat.shown().includes(id) }), item.id);
        if (o.shown) shownAt = o.head;
        else if (o.head !== null && o.head < item.stamp) heldBack = true;
        await sleep(50);
      }
      assert.ok(shownAt !== null, 'page two shows the message');
      assert.ok(heldBack, 'page two held it while its playhead was before the stamp');
      assert.ok(shownAt >= item.stamp, `shown at ${shownAt}, stamped ${item.stamp}`);
      assert.equal(await page2.textContent(`#chat-list li[data-id="${item.id}"] .chat-text`),
        'hello from page one');
      await page.waitForSelector(`#chat-list li[data-id="${item.id}"]`, { timeout: 30000 });
    });

  await check('a reaction from one page floats on the other', async () => {
    const floats = page.waitForSelector('#live-stage .reaction-float', { state: 'attached', timeout: 30000 });
    await page2.click('#chat button.react[data-emoji="👍"]');
    await floats;
    await page.waitForFunction(() => document.querySelector(
      '#chat button.react[data-emoji="👍"] .count').textContent === '1', null, { timeout: 10000 });
    await page.screenshot({ path: `${shots}/channels-chat.png` });
  });

  await check('a moderator deletes a message for every viewer', async () => {
    await page.fill('#chat-input', 'still here');
    await page.press('#chat-input', 'Enter');
    await page2.waitForSelector('#chat-list li .chat-text >> text=still here', { timeout: 30000 });
    await page.click(`#chat-list li[data-id="${chatId}"] .chat-delete`);
    await page2.waitForSelector(`#chat-list li[data-id="${chatId}"]`, { state: 'detached', timeout: 10000 });
    assert.equal((await chatOf()).some((m) => m.id === chatId), false, 'gone from the store');
  });

  await check('the recording replays its chat in step with its picture', async () => {
    const kept = (await chatOf()).find((m) => m.text === 'still here');
    assert.ok(kept);
    publisher.kill('SIGKILL');
    publisher = null;
    const end = await fetch(`${base}/v1/channels/consolecam`, { method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(end.status, 200);
    let rec = null;
    for (let i = 0; i < 300 && !rec; i++) {
      const v = await (await fetch(`${base}/v1/channels/consolecam`, {
        headers: { Authorization: `Bearer ${TOKEN}` } })).json();
      rec = (v.recordings || [])[0];
      if (!rec) await sleep(100);
    }
    assert.ok(rec, 'the session was recorded');
    await page2.close();
    await page.click('#nav a[data-view="devices"]');
    await page.click('#nav a[data-view="channels"]');
    await page.click('#channel-table tr[data-name="consolecam"]');
    await page.click(`#recording-list button.play-recording[data-id="${rec.id}"]`);
    await page.waitForFunction(() => window.encboxChat.playhead() !== null, null, { timeout: 30000 });
    const head0 = await page.evaluate(() => window.encboxChat.playhead());
    assert.ok(head0 < kept.stamp, `the replay starts before the message (${head0} < ${kept.stamp})`);
    assert.equal(await page.evaluate((id) => window.encboxChat.shown().includes(id), kept.id), false);
    await page.waitForFunction((id) => window.encboxChat.shown().includes(id), kept.id,
      { timeout: 60000 });
    const head = await page.evaluate(() => window.encboxChat.playhead());
    assert.ok(head >= kept.stamp, `shown at ${head}, stamped ${kept.stamp}`);
    assert.equal(await page.$(`#chat-list li[data-id="${chatId}"]`), null, 'the deleted one stays gone');
    await page.screenshot({ path: `${shots}/recording-chat.png` });
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
  if (publisher) publisher.kill('SIGKILL');
  await browser.close().catch(() => {});
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  if (failed) console.log(readFileSync(`${work}/daemon.log`, 'utf8').split('\n').slice(-30).join('\n'));
}
console.log(failed ? 'console: FAILED' : 'console: all checks passed');
process.exit(failed ? 1 : 0);
