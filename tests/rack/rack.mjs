// Two `encbox serve` boxes sharing one PostgreSQL job queue (issue 17):
//   node rack.mjs ENCBOX WORKDIR POSTGRESQL_URL
// Started by run.sh, which owns the database server. Every check names
// the behaviour it protects; the first that fails ends the run (exit 1).
import { readFileSync, writeFileSync, existsSync, statSync, chmodSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  Box, childrenOf, ffmpeg, freePorts, now, publicBucket, rackSetup, sleep, slow, tiny, waitJob,
} from './boxes.mjs';

const [bin, work, dbUrl] = process.argv.slice(2);
const LEASE = 5; // seconds: jobs.lease of both boxes
const HOOK_SECRET = 'whsec-rack-test-5f0c2a7d';
writeFileSync(`${work}/webhook.secret`, `${HOOK_SECRET}\n`, { mode: 0o600 });

// The integrator: a webhook receiver that checks every signature and
// answers the very first delivery with 500 (the box must retry it).
const hooks = []; // {event, delivery, body, valid, status}
let firstRefused = null;
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const sig = req.headers['encbox-signature'] || '';
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
    let valid = false;
    if (m) {
      const want = createHmac('sha256', HOOK_SECRET).update(`${m[1]}.${raw}`).digest();
      valid = timingSafeEqual(want, Buffer.from(m[2], 'hex')) &&
        Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
    }
    const delivery = req.headers['encbox-delivery'];
    let status = 204;
    if (firstRefused === null) {
      firstRefused = delivery;
      status = 500;
    }
    hooks.push({ event: req.headers['encbox-event'], delivery, body: JSON.parse(raw), valid,
      status });
    res.writeHead(status).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/encbox-events`;

const S3 = await publicBucket(work, 'encbox-rack', 'rack/');
// both boxes take live feeds over SRT (free ports, found by binding them)
const [srtA, srtB] = await freePorts();
const srtPorts = { 'box-a': srtA, 'box-b': srtB };
const rack = rackSetup({ bin, work, dbUrl, lease: LEASE, maxJobs: 1, hookUrl,
  hookSecretFile: `${work}/webhook.secret`, s3: S3, srtPorts });
const { storage, inputs } = rack;
let failures = 0;
async function check(name, fn) {
  const t0 = now();
  try {
    await fn();
    console.log(`ok   ${name} (${(now() - t0).toFixed(1)} s)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

// ---- the run ------------------------------------------------------------

const short = `${inputs}/short.mp4`;
const long = `${inputs}/long.mp4`;
ffmpeg(`-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 2 -c:v libx264 ` +
  `-preset ultrafast -c:a aac -shortest ${short}`);
ffmpeg(`-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 40 -c:v libx264 ` +
  `-preset ultrafast -c:a aac -shortest ${long}`);

const a = new Box(rack, 'box-a');
const b = new Box(rack, 'box-b');
const figures = {};
const track = { spread: [] };
let harness = null; // the browser harness of the bucket playback check, when it ran
try {
  await a.start();
  await b.start();

  await check('GET /v1/boxes on either box lists both, alive, with their backends', async () => {
    for (const box of [a, b]) {
      const r = await box.api('GET', '/v1/boxes');
      assert.equal(r.status, 200);
      const names = r.json.boxes.map((x) => x.name).sort();
      assert.deepEqual(names, ['box-a', 'box-b']);
      assert.equal(r.json.this_box, box.name);
      assert.equal(r.json.lease_seconds, LEASE);
      for (const x of r.json.boxes) {
        assert.equal(x.alive, true, `${x.name} alive`);
        assert.ok(x.backends.includes('software'), `${x.name} lists its backends`);
        assert.ok(x.address.startsWith('http://127.0.0.1:'), `${x.name} address ${x.address}`);
        assert.deepEqual(x.running_jobs, []);
        assert.equal(typeof x.devices, 'object');
        assert.ok(x.live_capacity.mpixels_per_second > 0, 'live capacity');
        assert.deepEqual(x.channels, [], 'the channels it carries');
      }
    }
  });

  await check('jobs submitted to either box run on both boxes, each once', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++)
      ids.push((await (i % 2 ? b : a).submit(tiny(short, `spread${i}`))).id);
    track.spread = ids;
    const boxes = new Set();
    for (const id of ids) {
      const j = await waitJob(a, id, (j) => j.state !== 'queued' && j.state !== 'running', 180,
        'ended');
      assert.equal(j.state, 'succeeded', JSON.stringify(j));
      assert.equal(j.attempts, 1);
      assert.ok(['box-a', 'box-b'].includes(j.box), `box ${j.box}`);
      boxes.add(j.box);
      const master = new URL(j.outputs.hls, 'http://origin').pathname;
      assert.ok(existsSync(`${storage}${master}`), `published: ${master}`);
      const other = await b.api('GET', `/v1/jobs/${id}`);
      assert.equal(other.json.state, 'succeeded', 'the other box sees the same job');
    }
    assert.equal(boxes.size, 2, `both boxes ran jobs: ${[...boxes]}`);
    const list = await b.api('GET', '/v1/jobs?limit=100');
    for (const id of ids) assert.ok(list.json.jobs.some((j) => j.id === id), 'listed on b');
    // claim latency at idle: submit to start
    const j = await a.submit(tiny(short, 'latency'));
    const done = await waitJob(a, j.id, (x) => x.state === 'succeeded', 120, 'succeeded');
    figures.idle_claim_ms = Math.round((done.started_at - done.created_at) * 1000);
  });

  await check('a box killed with -9 mid-job loses it to the other within the lease', async () => {
    const job = await a.submit(slow(long, 'failover'));
    track.failover = job.id;
    const running = await waitJob(a, job.id, (j) => j.state === 'running' &&
      j.progress.frames > 0, 120, 'running');
    const victim = running.box === 'box-a' ? a : b;
    const survivor = victim === a ? b : a;
    const killedAt = now();
    victim.proc.kill('SIGKILL');
    const moved = await waitJob(survivor, job.id, (j) => j.state === 'running' &&
      j.box === survivor.name, LEASE * 3 + 30, `running on ${survivor.name}`);
    figures.recover_s = Number((now() - killedAt).toFixed(1));
    assert.ok(figures.recover_s < LEASE * 2 + 5, `recovered in ${figures.recover_s} s`);
    assert.equal(moved.attempts, 2);
    const end = await waitJob(survivor, job.id, (j) => j.state !== 'running' &&
      j.state !== 'queued', 300, 'ended');
    assert.equal(end.state, 'succeeded', JSON.stringify(end));
    assert.equal(end.box, survivor.name);
    const boxes = (await survivor.api('GET', '/v1/boxes')).json.boxes;
    const dead = boxes.find((x) => x.name === victim.name);
    assert.equal(dead.alive, false, 'the dead box is reported without a heartbeat');
    await victim.start();
    const back = (await victim.api('GET', '/v1/boxes')).json.boxes;
    assert.equal(back.find((x) => x.name === victim.name).alive, true, 'alive again');
  });

  await check('a frozen box that lost its lease writes nothing more of the job (fence)',
    async () => {
      const job = await b.submit(slow(long, 'fenced'));
      track.fenced = job.id;
      const running = await waitJob(b, job.id, (j) => j.state === 'running' &&
        j.progress.frames > 0, 120, 'running');
      const frozen = running.box === 'box-a' ? a : b;
      const other = frozen === a ? b : a;
      // The whole box stops (daemon and worker), as in a VM pause.
      const workers = childrenOf(frozen.proc.pid);
      assert.ok(workers.length >= 1, 'the frozen box has a worker');
      const logBefore = frozen.logText().length;
      for (const p of [frozen.proc.pid, ...workers]) process.kill(p, 'SIGSTOP');
      let moved;
      try {
        moved = await waitJob(other, job.id, (j) => j.state === 'running' &&
          j.box === other.name && j.attempts === 2, LEASE * 3 + 30, `taken by ${other.name}`);
      } finally {
        for (const p of [frozen.proc.pid, ...workers]) process.kill(p, 'SIGCONT');
      }
      // Resumed: its next lease pass finds the token gone and stops its
      // worker; its progress and end never reach the row.
      const until = now() + LEASE * 2 + 10;
      while (now() < until && !frozen.logText().slice(logBefore).includes(
        `job ${job.id}: its lease is no longer this box's`)) await sleep(200);
      const after = frozen.logText().slice(logBefore);
      assert.ok(after.includes(`job ${job.id}: its lease is no longer this box's`), after);
      const gone = (w) => {
        try {
          return readFileSync(`/proc/${w}/stat`, 'utf8').includes(') Z');
        } catch {
          return true;
        }
      };
      for (let i = 0; i < 50 && !workers.every(gone); i++) await sleep(100);
      assert.ok(workers.every(gone), 'the old worker was stopped');
      const mid = await other.api('GET', `/v1/jobs/${job.id}`);
      assert.equal(mid.json.box, other.name, 'the row stays the new owner\'s');
      assert.equal(mid.json.state, 'running');
      const end = await waitJob(other, job.id, (j) => j.state !== 'running', 300, 'ended');
      assert.equal(end.state, 'succeeded', JSON.stringify(end));
      assert.equal(end.box, other.name);
      assert.equal(end.attempts, 2, 'run twice, recorded once');
      assert.ok(!frozen.logText().slice(logBefore).includes(`job ${job.id} succeeded`));
      assert.equal(moved.box, other.name);
    });

  await check('a worker whose box lost the lease is refused the publish (fence at publish)',
    async () => {
      // Only the daemon freezes: its worker encodes on, reaches the
      // publish and asks its box, which cannot answer until it thaws. The
      // other box runs the job meanwhile and publishes it. With overwrite
      // on, a second publish would replace that tree: the fence refuses it.
      const job = await a.submit({ ...tiny(long, 'gate'), overwrite: true });
      const running = await waitJob(a, job.id, (j) => j.state === 'running' &&
        j.progress.frames > 0, 120, 'running');
      const frozen = running.box === 'box-a' ? a : b;
      const other = frozen === a ? b : a;
      const logBefore = frozen.logText().length;
      frozen.proc.kill('SIGSTOP');
      let end;
      try {
        end = await waitJob(other, job.id, (j) => j.state === 'succeeded' && j.attempts === 2,
          LEASE * 3 + 120, `published by ${other.name}`);
        await sleep(1000); // the frozen box's worker is waiting at the gate by now
      } finally {
        frozen.proc.kill('SIGCONT');
      }
      const master = `${storage}${new URL(end.outputs.hls, 'http://origin').pathname}`;
      const before = statSync(master, { bigint: true });
      const until = now() + LEASE * 2 + 10;
      const said = () => frozen.logText().slice(logBefore);
      while (now() < until && !said().includes(`job ${job.id}: publish refused`) &&
        !said().includes(`job ${job.id}: its lease is no longer`)) await sleep(200);
      assert.match(said(), new RegExp(`job ${job.id}: (publish refused|its lease is no longer)`));
      await sleep(1000);
      const after = statSync(master, { bigint: true });
      assert.equal(after.ino, before.ino, 'the published tree was not replaced');
      assert.equal(after.mtimeNs, before.mtimeNs);
      const row = (await other.api('GET', `/v1/jobs/${job.id}`)).json;
      assert.equal(row.state, 'succeeded');
      assert.equal(row.box, other.name);
    });

  await check('a job running on one box is canceled through the other box\'s API', async () => {
    const job = await a.submit(slow(long, 'cancel-remote'));
    track.cancel = job.id;
    const running = await waitJob(a, job.id, (j) => j.state === 'running', 120, 'running');
    const via = running.box === 'box-a' ? b : a;
    const t0 = now();
    const r = await via.api('DELETE', `/v1/jobs/${job.id}`);
    assert.equal(r.status, 202, JSON.stringify(r.json)); // accepted: the worker stops soon
    const end = await waitJob(via, job.id, (j) => j.state !== 'running', 30, 'ended');
    assert.equal(end.state, 'canceled');
    figures.remote_cancel_s = Number((now() - t0).toFixed(1));
  });

  await check('the same video cannot be queued twice across boxes', async () => {
    const j = await a.submit(slow(long, 'dup'));
    const r = await b.api('POST', '/v1/jobs', slow(long, 'dup'));
    assert.equal(r.status, 409, JSON.stringify(r.json));
    await a.api('DELETE', `/v1/jobs/${j.id}`);
    await waitJob(a, j.id, (x) => x.state === 'canceled', 60, 'canceled');
  });
  if (S3) {
    await check('outputs land in the bucket in the storage layout, manifests typed and short-lived',
      async () => {
        for (const id of track.spread) {
          const j = (await a.api('GET', `/v1/jobs/${id}`)).json;
          const os = j.object_store;
          assert.ok(os && os.objects >= 4, `object_store: ${JSON.stringify(os)}`);
          assert.equal(os.key_prefix, `${S3.prefix}videos/${j.video_id}`);
          assert.equal(os.hls, `${S3.public}/${S3.prefix}videos/${j.video_id}/` +
            new URL(j.outputs.hls, 'http://o').pathname.split(`/videos/${j.video_id}/`)[1]);
          const m = await fetch(os.hls);
          assert.equal(m.status, 200, os.hls);
          assert.equal(m.headers.get('content-type'), 'application/vnd.apple.mpegurl');
          assert.equal(m.headers.get('cache-control'), 'public, max-age=60');
          const text = await m.text();
          assert.equal(text, readFileSync(`${storage}${new URL(j.outputs.hls, 'http://o').pathname}`,
            'utf8'), 'the bucket\'s master is the published one');
          const media = text.split('\n').find((l) => l && !l.startsWith('#'));
          const pl = await fetch(new URL(media, os.hls));
          assert.equal(pl.status, 200);
          const seg = (await pl.text()).split('\n').find((l) => l && !l.startsWith('#'));
          const sr = await fetch(new URL(seg, new URL(media, os.hls)));
          assert.equal(sr.status, 200, `segment ${seg}`);
          assert.equal(sr.headers.get('cache-control'), 'public, max-age=31536000, immutable');
          if (os.dash) assert.equal((await fetch(os.dash)).status, 200, os.dash);
        }
        figures.upload_mb_per_s = Number((track.spread.length ? await (async () => {
          let bytes = 0;
          let secs = 0;
          for (const id of track.spread) {
            const os = (await a.api('GET', `/v1/jobs/${id}`)).json.object_store;
            bytes += os.bytes;
            secs += os.seconds;
          }
          return bytes / 1e6 / secs;
        })() : 0).toFixed(1));
      });

    await check('hls.js plays a video from the bucket', async () => {
      const { createHarness } = await import('../playback/lib.mjs');
      const h = createHarness({ verbose: false, checkTimeout: 30, totalTimeout: 900,
        chromium: process.env.CHROMIUM || '/usr/bin/chromium' },
      { prog: 'rack.mjs', libs: ['/lib/hls.js', '/harness.js'], mediaRoot: null });
      harness = h;
      const chromium = await h.requirements();
      assert.ok(chromium, 'Chromium, hls.js and playwright-core (npm ci in tests/playback)');
      const base = await h.startServer();
      track.harnessBase = base;
      assert.notEqual(await h.launchBrowser(chromium), null, 'Chromium starts');
      const page = await h.openPage(base, 'hls');
      const j = (await a.api('GET', `/v1/jobs/${track.spread[0]}`)).json;
      const r = await h.run(page, 'bucket-hls-play', ([u, o]) => window.EB.hlsPlay(u, o),
        [j.object_store.hls, { timeoutMs: 30000, minAdvance: 1, expectAudio: 'auto' }]);
      assert.equal(r.status, 'pass', JSON.stringify(r));
      await page.close().catch(() => {});
    });
  }

  await check('a live channel is carried by one box at a time, and survives its box (leases)',
    async () => {
      // Created through box-b's API; its publisher reaches box-a.
      // (low latency off: LL-HLS's blocking reloads need the box's origin,
      // not a bucket)
      const made = await b.api('POST', '/v1/channels', { name: 'rackcam', segment_seconds: 1,
        reconnect_window_seconds: 30, record: true, low_latency: false });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      const ch = made.json;
      track.channel = ch.id;
      const viaA = (await a.api('GET', `/v1/channels/${ch.id}`)).json;
      assert.ok(viaA.ingest.srt && ch.ingest.srt && viaA.ingest.srt !== ch.ingest.srt,
        'each box gives its own ingest address');
      const publish = (url, seconds) => spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi',
        '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t',
        String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac',
        '-f', 'mpegts', url], { stdio: 'ignore' });
      const view = async (box) => (await box.api('GET', `/v1/channels/${ch.id}`)).json;
      const until = async (box, what, seconds, pred) => {
        const end = now() + seconds;
        let v;
        while (now() < end) {
          v = await view(box);
          if (pred(v)) return v;
          await sleep(200);
        }
        throw new Error(`${what}: ${JSON.stringify(v)}`);
      };
      const first = publish(viaA.ingest.srt, 120);
      try {
        // box-a carries it; box-b's API says so, with box-a's figures
        await until(b, 'live on box-a, seen from box-b', 60, (v) => v.state === 'live' &&
          v.box === 'box-a' && Object.keys(v.stats).length > 0);
        const boxes = (await b.api('GET', '/v1/boxes')).json.boxes;
        assert.deepEqual(boxes.find((x) => x.name === 'box-a').channels.map((c) => c.name),
          ['rackcam'], 'box-a reports the channel it carries');
        assert.deepEqual(boxes.find((x) => x.name === 'box-b').channels, []);
        if (S3) {
          // the window's copy in the bucket, as it is written: the master,
          // a media playlist (short-lived), every segment it lists; hls.js
          // plays it from there
          const master = `${S3.public}/${S3.prefix}live/rackcam/hls/master.m3u8`;
          const t0 = now();
          let m;
          while (now() - t0 < 30 && (m = await fetch(master)).status !== 200) await sleep(250);
          assert.equal(m.status, 200, master);
          const media = new URL((await m.text()).split('\n').find((l) => l && !l.startsWith('#')),
            master);
          const pl = await fetch(media);
          assert.equal(pl.status, 200, String(media));
          assert.match(pl.headers.get('cache-control'), /^public, max-age=[0-9]+$/);
          const segs = (await pl.text()).split('\n').filter((l) => l && !l.startsWith('#'));
          assert.ok(segs.length > 0, 'the bucket\'s playlist lists segments');
          for (const seg of segs)
            assert.equal((await fetch(new URL(seg, media))).status, 200, `in the bucket: ${seg}`);
          if (harness && track.harnessBase) {
            const page = await harness.openPage(track.harnessBase, 'hls');
            const r = await harness.run(page, 'bucket-live-hls-play',
              ([u, o]) => window.EB.hlsPlay(u, o),
              [master, { timeoutMs: 30000, minAdvance: 2, expectAudio: 'auto' }]);
            assert.equal(r.status, 'pass', JSON.stringify(r));
            // the channel's chat across the rack: a viewer on box-b (which
            // does not carry it: the stamp comes from the bucket's window)
            // is heard by a viewer on box-a, through PostgreSQL
            const ws = (box) => `${box.base.replace('http', 'ws')}/v1/channels/${ch.id}/chat`;
            const chat = await page.evaluate(async ([ua, ub]) => {
              const open = (u) => new Promise((resolve, reject) => {
                const w = new WebSocket(u);
                const msgs = [];
                w.onmessage = (m) => msgs.push(JSON.parse(m.data));
                w.onopen = () => resolve({ w, msgs });
                w.onerror = () => reject(new Error(`no socket: ${u}`));
              });
              const wait = async (v, pred, ms) => {
                for (const end = Date.now() + ms; Date.now() < end;) {
                  const m = v.msgs.find(pred);
                  if (m) return m;
                  await new Promise((r) => setTimeout(r, 100));
                }
                return null;
              };
              const A = await open(ua);
              const B = await open(ub);
              await wait(A, (m) => m.type === 'chat.history', 5000);
              await wait(B, (m) => m.type === 'chat.history', 5000);
              B.w.send(JSON.stringify({ type: 'message', name: 'b', text: 'from box-b' }));
              const got = await wait(A, (m) => m.type === 'chat.message', 10000);
              const err = B.msgs.find((m) => m.type === 'error');
              A.w.close();
              B.w.close();
              return { got: got && got.data, err: err && err.data };
            }, [ws(a), ws(b)]);
            assert.ok(chat.got, `box-a's viewer heard box-b's: ${JSON.stringify(chat)}`);
            assert.equal(chat.got.text, 'from box-b');
            assert.ok(chat.got.stamp > chat.got.at - 15 && chat.got.stamp < chat.got.at + 2,
              `stamped with the bucket window's edge: ${JSON.stringify(chat.got)}`);
            await page.close().catch(() => {});
          }
        }
        // a second publisher at box-b is refused, naming the box that has it
        const bLog = b.logText().length;
        const second = spawnSync('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i',
          'testsrc2=size=320x240:rate=25', '-t', '3', '-c:v', 'libx264', '-preset',
          'ultrafast', '-f', 'mpegts', ch.ingest.srt], { encoding: 'utf8', timeout: 20000 });
        assert.ok(second.status !== null || second.signal, 'the second publisher ended');
        assert.ok(b.logText().slice(bLog).includes('channel rackcam refused: box box-a carries it'),
          b.logText().slice(bLog));
        assert.equal((await view(a)).box, 'box-a', 'still box-a\'s');
        await sleep(3000); // a few segments of the first stretch
        // box-a dies (its workers with it): box-b takes the channel within the lease
        const killedAt = now();
        a.proc.kill('SIGKILL');
        first.kill('SIGKILL');
        await until(b, 'taken over by box-b', LEASE * 3 + 20, (v) => v.box === 'box-b' &&
          v.state === 'reconnecting');
        figures.channel_takeover_s = Number((now() - killedAt).toFixed(1));
        assert.ok(figures.channel_takeover_s < LEASE * 2 + 5,
          `taken over in ${figures.channel_takeover_s} s`);
      } finally {
        first.kill('SIGKILL');
      }
      // the publisher comes back, to box-b: the session goes on there
      const bLog = b.logText().length;
      const again = publish(ch.ingest.srt, 4);
      await until(b, 'live again on box-b', 30, (v) => v.state === 'live' && v.box === 'box-b');
      await new Promise((r) => again.on('exit', r));
      assert.ok(b.logText().slice(bLog).includes('channel rackcam is live'));
      // box-a comes back and leaves it to box-b; a DELETE through box-a
      // reaches box-b, which ends the session with one recording of both stretches
      await a.start();
      assert.equal((await view(a)).box, 'box-b');
      assert.equal((await a.api('DELETE', `/v1/channels/${ch.id}`)).status, 200);
      const done = await until(a, 'recorded', 90, (v) => (v.recordings || []).length > 0);
      assert.equal(done.state, 'ended');
      assert.equal(done.recordings.length, 1, JSON.stringify(done.recordings));
      const rec = done.recordings[0];
      assert.ok(rec.duration >= 5, `the recording spans both stretches: ${rec.duration} s`);
      assert.ok(existsSync(`${storage}/videos/${rec.id}/hls/master.m3u8`), 'published');
      assert.ok(!a.logText().includes('ending the session an earlier daemon left open'),
        'the restarted box-a did not end box-b\'s session');
      track.recording = rec.id;
      if (S3) {
        const master = `${S3.public}/${S3.prefix}videos/${rec.id}/hls/master.m3u8`;
        const m = await fetch(master);
        assert.equal(m.status, 200, master);
        const local = readFileSync(`${storage}/videos/${rec.id}/hls/master.m3u8`, 'utf8');
        assert.equal(await m.text(), local, 'the bucket\'s master is the recording\'s');
      }
    });

  await check('a box whose secret files others may read refuses to start, saying which', () => {
    const bad = (name, yaml, file, want) => {
      writeFileSync(file, 'secret\n', { mode: 0o644 });
      chmodSync(file, 0o644);
      writeFileSync(`${work}/${name}.yaml`, yaml);
      const r = spawnSync(bin, ['serve', '--listen', '127.0.0.1:1', '--storage',
        `${work}/${name}-storage`, '--config', `${work}/${name}.yaml`], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${name}: exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.ok(!r.stderr.includes('secret\n'), 'the content is never printed');
    };
    bad('loose-hook', `webhooks:\n  url: ${hookUrl}\n  secret_file: ${work}/loose.secret\n`,
      `${work}/loose.secret`, /webhooks\.secret_file .*loose\.secret: mode 644 .*0600/);
    bad('loose-s3', `storage:\n  s3:\n    endpoint: http://127.0.0.1:1\n    bucket: b\n` +
      `    credentials_file: ${work}/loose.credentials\n`, `${work}/loose.credentials`,
    /storage\.s3: storage\.s3\.credentials_file .*loose\.credentials: mode 644 .*0600/);
  });

  await check('a job whose input is not media fails, and says why', async () => {
    writeFileSync(`${inputs}/corrupt.mp4`, Buffer.alloc(65536, 0x5a));
    const j = await b.submit(tiny(`${inputs}/corrupt.mp4`, 'corrupt'));
    const end = await waitJob(b, j.id, (x) => x.state !== 'queued' && x.state !== 'running', 120,
      'ended');
    assert.equal(end.state, 'failed');
    assert.ok(end.error && end.error.length > 0, 'an error text');
    track.corrupt = j.id;
  });

  await check('webhooks: every event of every job, signed, once per delivery, retried', async () => {
    // everything recorded is delivered (or retried) within a few seconds
    const until = now() + 60;
    let list;
    while (now() < until) {
      list = (await a.api('GET', '/v1/webhooks?limit=1000')).json;
      if (list.deliveries.length && list.deliveries.every((d) => d.state === 'delivered')) break;
      await sleep(250);
    }
    assert.ok(list.deliveries.every((d) => d.state === 'delivered'),
      JSON.stringify(list.deliveries.filter((d) => d.state !== 'delivered')));
    assert.equal(list.url, hookUrl);
    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    const delivered = Number(/^encbox_webhook_deliveries\{state="delivered"\} (\d+)$/m
      .exec(metrics)[1]);
    assert.equal(delivered, list.deliveries.length, '/metrics counts the rack\'s deliveries');
    assert.ok(hooks.length > 0);
    for (const h of hooks) assert.ok(h.valid, `signature of ${h.event} ${h.delivery}`);
    // the refused first delivery came again, with the same id, and was recorded so
    const again = hooks.filter((h) => h.delivery === firstRefused);
    assert.ok(again.length >= 2, `retried: ${again.length}`);
    const rec = list.deliveries.find((d) => d.id === firstRefused);
    assert.ok(rec.attempts >= 2);
    assert.equal(rec.last_status, 204);
    // one delivery per event: dedupe by delivery id, then count per job
    const seen = new Map();
    for (const h of hooks) if (h.status < 300) seen.set(h.delivery, h);
    const events = (id) => [...seen.values()].filter((h) => h.body.data && h.body.data.id === id)
      .map((h) => h.event);
    const count = (id, ev) => events(id).filter((e) => e === ev).length;
    for (const id of track.spread) {
      assert.equal(count(id, 'job.queued'), 1, `${id} queued`);
      assert.equal(count(id, 'job.started'), 1, `${id} started`);
      assert.equal(count(id, 'job.succeeded'), 1, `${id} succeeded`);
      const ok = [...seen.values()].find((h) => h.event === 'job.succeeded' &&
        h.body.data.id === id);
      assert.ok(ok.body.data.outputs.hls, 'succeeded carries the output URLs');
      if (S3) assert.ok(ok.body.data.object_store.hls, 'and the bucket\'s');
      assert.ok(['box-a', 'box-b'].includes(ok.body.box));
    }
    // the failed-over job started on both boxes and succeeded once, with its milestones
    assert.equal(count(track.failover, 'job.started'), 2);
    assert.equal(count(track.failover, 'job.succeeded'), 1);
    assert.ok(count(track.failover, 'job.progress') >= 1, 'progress milestones');
    assert.equal(count(track.fenced, 'job.succeeded'), 1, 'the fenced run sent no end');
    assert.equal(count(track.fenced, 'job.failed'), 0);
    assert.equal(count(track.cancel, 'job.canceled'), 1);
    assert.equal(count(track.corrupt, 'job.failed'), 1);
    if (track.channel) {
      const chEvents = [...seen.values()].filter((h) => h.body.data && h.body.data.id ===
        track.channel).map((h) => h.event);
      for (const e of ['channel.live', 'recording.published', 'channel.ended'])
        assert.ok(chEvents.includes(e), `${e} in ${chEvents}`);
      const pubd = [...seen.values()].find((h) => h.event === 'recording.published' &&
        h.body.data.id === track.channel);
      assert.equal(pubd.body.data.recording.id, track.recording);
      assert.equal(pubd.body.data.ingest, undefined, 'no stream key in webhooks');
    }
    const failed = [...seen.values()].find((h) => h.event === 'job.failed' &&
      h.body.data.id === track.corrupt);
    assert.ok(failed.body.data.error, 'failed carries the error');
  });
} finally {
  await Promise.all([a.stop(), b.stop()]);
  receiver.close();
}
console.log(`rack figures: ${JSON.stringify(figures)}`);
if (!failures) console.log('rack: all checks passed');
if (harness) {
  harness.stopWatchdog();
  await harness.finish(failures ? 1 : 0);
}
process.exit(failures ? 1 : 0);
