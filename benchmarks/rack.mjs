// The rack benchmark (benchmarks/rack.sh starts PostgreSQL and Swift):
//   node rack.mjs ENCBOX WORKDIR QUEUED LEASE_SECONDS
// Two boxes (limits.max_jobs 2 each) on this machine share the queue and
// write to the bucket. Prints each figure as it is measured, then one
// JSON line ("rack-bench: {...}").
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Box, ffmpeg, freePorts, now, publicBucket, rackSetup, sleep, slow, tiny, waitJob,
} from '../tests/rack/boxes.mjs';

const [bin, work, queuedArg, leaseArg] = process.argv.slice(2);
const QUEUED = Number(queuedArg);
const LEASE = Number(leaseArg);
const S3 = await publicBucket(work, 'encbox-bench', 'bench/');
// both boxes take SRT feeds (section 6); free ports, found by binding them
const [srtA, srtB] = await freePorts();
const srtPorts = { 'box-a': srtA, 'box-b': srtB };
const rack = rackSetup({ bin, work, dbUrl: process.env.EB_PG_URL, lease: LEASE, maxJobs: 2,
  s3: S3, srtPorts });
const out = {};
const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null;
};
const ms = (x) => Math.round(x * 1000);
const say = (k, v, text) => {
  out[k] = v;
  console.log(`${text}`);
};

async function pool(items, n, fn) {
  const res = [];
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      res[k] = await fn(items[k], k);
    }
  }));
  return res;
}

const clip = `${rack.inputs}/clip.mp4`;
const long = `${rack.inputs}/long.mp4`;
const hd = `${rack.inputs}/hd.mp4`;
ffmpeg(`-f lavfi -i testsrc2=size=320x180:rate=25 -t 1 -c:v libx264 -preset ultrafast ${clip}`);
ffmpeg(`-f lavfi -i testsrc2=size=320x240:rate=25 -t 40 -c:v libx264 -preset ultrafast ${long}`);
ffmpeg(`-f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -c:v libx264 -preset ultrafast ` +
  `-qp 10 ${hd}`);

const a = new Box(rack, 'box-a');
const b = new Box(rack, 'box-b');
await a.start();
await b.start();
const jobOf = async (id) => (await a.api('GET', `/v1/jobs/${id}`)).json;
const ended = (j) => j.state !== 'queued' && j.state !== 'running';

try {
  // 1. claim latency at idle: one job at a time, submit -> started
  const idle = [];
  for (let i = 0; i < 20; i++) {
    const j = await (i % 2 ? b : a).submit(tiny(clip, `idle${i}`));
    const done = await waitJob(a, j.id, ended, 60, 'ended');
    if (done.state !== 'succeeded') throw new Error(JSON.stringify(done));
    idle.push(done.started_at - done.created_at);
  }
  say('idle_claim_ms', { median: ms(pct(idle, 0.5)), p95: ms(pct(idle, 0.95)) },
    `claim latency at idle (submit -> worker started, 20 jobs): median ${
      ms(pct(idle, 0.5))} ms, p95 ${ms(pct(idle, 0.95))} ms`);

  // 2. a full queue: QUEUED jobs submitted at once through both boxes
  let t0 = now();
  const ids = (await pool([...Array(QUEUED).keys()], 16, async (i) =>
    (await (i % 2 ? b : a).submit(tiny(clip, `q${i}`))).id));
  const submitS = now() - t0;
  say('submit_per_s', Math.round(QUEUED / submitS),
    `submitted ${QUEUED} jobs through the two APIs in ${submitS.toFixed(1)} s (${
      Math.round(QUEUED / submitS)} jobs/s, 16 clients)`);
  // drain for 30 s with the queue still long
  const window = 30;
  t0 = now();
  await sleep(window * 1000);
  const list = (await a.api('GET', `/v1/jobs?state=succeeded&limit=1000`)).json.jobs
    .filter((j) => j.video_id.startsWith('q') && j.finished_at >= t0);
  const queuedNow = (await a.api('GET', '/v1/jobs?state=queued&limit=1')).json.total;
  say('drain_jobs_per_s', Number((list.length / window).toFixed(2)),
    `drained ${list.length} jobs in ${window} s with ${queuedNow}+ still queued: ${
      (list.length / window).toFixed(2)} jobs/s (4 worker slots on ${
      (await import('node:os')).cpus().length} cores; each job is a worker process)`);
  // claim latency under load: a slot freed (a job of that box finished)
  // -> the next job started on that box
  const all = (await a.api('GET', '/v1/jobs?limit=1000')).json.jobs
    .filter((j) => j.video_id.startsWith('q') && j.started_at);
  const gaps = [];
  for (const j of all) {
    const prev = all.filter((x) => x.box === j.box && x.finished_at &&
      x.finished_at <= j.started_at).map((x) => x.finished_at);
    if (prev.length) gaps.push(j.started_at - Math.max(...prev));
  }
  say('loaded_claim_ms', { median: ms(pct(gaps, 0.5)), p95: ms(pct(gaps, 0.95)), n: gaps.length },
    `claim latency with ${QUEUED} queued (a box's job ended -> its next job started, ${
      gaps.length} claims): median ${ms(pct(gaps, 0.5))} ms, p95 ${ms(pct(gaps, 0.95))} ms`);
  t0 = now();
  await pool(ids, 16, async (id) => a.api('DELETE', `/v1/jobs/${id}`));
  console.log(`(canceled the rest in ${(now() - t0).toFixed(1)} s)`);
  for (let i = 0; i < 120; i++) {
    const running = (await a.api('GET', '/v1/jobs?state=running&limit=1')).json.total;
    if (!running) break;
    await sleep(500);
  }

  // 3. the queue alone: encbox's claim transaction in pgbench
  const psql = (sql) => execFileSync(`${process.env.EB_PG_BIN}/psql`, [process.env.EB_PG_URL,
    '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
  const rows = QUEUED * 100;
  psql(`CREATE TABLE bench_jobs (LIKE jobs INCLUDING ALL);
    INSERT INTO bench_jobs (id, state, priority, created, spec, video_id)
      SELECT md5(i::text), 'queued', 5, i, '{}', 'v' || i FROM generate_series(1, ${rows}) i;
    ANALYZE bench_jobs;`);
  const script = `${work}/claim.sql`;
  writeFileSync(script, `BEGIN;
SELECT id AS claimed FROM bench_jobs WHERE state = 'queued' ORDER BY priority DESC, rowid ASC LIMIT 1 FOR UPDATE SKIP LOCKED \\gset
UPDATE bench_jobs SET state = 'running', box = 'bench', fence = fence + 1, lease_until = EXTRACT(EPOCH FROM clock_timestamp()) + 30 WHERE id = :claimed;
COMMIT;
`);
  const pg = execFileSync(`${process.env.EB_PG_BIN}/pgbench`, ['-n', '-M', 'extended', '-f', script, '-c', '4',
    '-j', '2', '-T', '10', process.env.EB_PG_URL], { encoding: 'utf8' });
  const tps = Number(/tps = ([\d.]+)/.exec(pg)[1]);
  const lat = Number(/latency average = ([\d.]+) ms/.exec(pg)[1]);
  say('queue_claims_per_s', Math.round(tps),
    `the queue alone: ${Math.round(tps)} claims/s (pgbench, encbox's claim transaction, 4 ` +
    `clients, ${rows} queued rows), ${lat} ms each`);

  // 4. a box killed with -9 mid-job: time until the job runs elsewhere
  {
    const j = await a.submit(slow(long, 'recover'));
    const run = await waitJob(a, j.id, (x) => x.state === 'running' && x.progress.frames > 0,
      120, 'running');
    const victim = run.box === 'box-a' ? a : b;
    const survivor = victim === a ? b : a;
    t0 = now();
    victim.proc.kill('SIGKILL');
    await waitJob(survivor, j.id, (x) => x.state === 'running' && x.box === survivor.name,
      LEASE * 4 + 30, 'moved');
    const rec = now() - t0;
    say('recover_s', Number(rec.toFixed(1)), `a box killed with -9: its job ran on the other ` +
      `box ${rec.toFixed(1)} s later (jobs.lease ${LEASE} s)`);
    await survivor.api('DELETE', `/v1/jobs/${j.id}`);
    await waitJob(survivor, j.id, ended, 60, 'canceled');
    await victim.start();
  }

  // 5. upload throughput: a 720p job's tree to the bucket, and the same
  // files to Swift's own API with curl (no signing, no hashing)
  if (S3) {
    const j = await a.submit({ input: hd, video_id: 'upload', segment_seconds: 2,
      ladder: { name: 'hd', rungs: [{ name: '720p', height: 720, bitrate: '12M' },
        { name: '360p', height: 360, bitrate: '2M' }] } });
    const done = await waitJob(a, j.id, ended, 600, 'ended');
    if (done.state !== 'succeeded') throw new Error(JSON.stringify(done));
    const os = done.object_store;
    const mbps = os.bytes / 1e6 / os.seconds;
    const dir = `${rack.storage}/videos/upload`;
    const files = [];
    const walk = (d) => {
      for (const e of readdirSync(d)) {
        const f = path.join(d, e);
        if (statSync(f).isDirectory()) walk(f);
        else files.push(f);
      }
    };
    walk(dir);
    const base = `${S3.public}-curl`;
    await fetch(base, { method: 'PUT', headers: { 'X-Auth-Token': S3.token } });
    t0 = now();
    let bytes = 0;
    for (const f of files) {
      execFileSync('curl', ['-fsS', '-o', '/dev/null', '-T', f, '-H',
        `X-Auth-Token: ${S3.token}`, `${base}/${path.relative(dir, f)}`]);
      bytes += statSync(f).size;
    }
    const curlS = now() - t0;
    say('upload_mb_per_s', { encbox: Number(mbps.toFixed(1)),
      curl_swift_api: Number((bytes / 1e6 / curlS).toFixed(1)), objects: os.objects,
      mb: Number((os.bytes / 1e6).toFixed(1)) },
    `upload to the object store: ${os.objects} objects, ${(os.bytes / 1e6).toFixed(1)} MB in ${
      os.seconds.toFixed(2)} s = ${mbps.toFixed(1)} MB/s (SigV4, hashed payloads); curl to ` +
    `Swift's own API, same files: ${(bytes / 1e6 / curlS).toFixed(1)} MB/s (ratio ${
      (mbps / (bytes / 1e6 / curlS)).toFixed(2)})`);
  }

  // 6. a live channel: how far the bucket's copy of its window trails the
  // box's origin (each media sequence's first sight in either playlist,
  // polled every 50 ms), then how long until another box carries it after
  // its box is killed with -9
  {
    const made = await b.api('POST', '/v1/channels', { name: 'benchcam', segment_seconds: 1,
      low_latency: false, reconnect_window_seconds: 60, record: false });
    const ch = made.json;
    const viaA = (await a.api('GET', `/v1/channels/${ch.id}`)).json;
    const pub = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i',
      'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '120', '-c:v',
      'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'mpegts',
      viaA.ingest.srt], { stdio: 'ignore' });
    try {
      let master = null;
      for (let i = 0; i < 300 && !master; i++) {
        const v = (await b.api('GET', `/v1/channels/${ch.id}`)).json;
        if (v.state === 'live' && v.box === 'box-a') {
          const r = await fetch(`${a.base}${new URL(v.outputs.hls, 'http://o').pathname}`);
          if (r.ok) master = await r.text();
        }
        if (!master) await sleep(100);
      }
      if (!master) throw new Error('the channel never went live');
      const media = master.split('\n').find((l) => l && !l.startsWith('#'));
      if (!S3) throw new Error('needs the bucket (Swift)');
      const local = new URL(media, `${a.base}/live/benchcam/hls/master.m3u8`);
      const bucket = new URL(media, `${S3.public}/${S3.prefix}live/benchcam/hls/master.m3u8`);
      const newest = async (u) => {
        const r = await fetch(u);
        if (!r.ok) return -1;
        const t = await r.text();
        const seq = Number((/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(t) || [0, -1])[1]);
        return seq + t.split('\n').filter((l) => l && !l.startsWith('#')).length - 1;
      };
      const seen = { local: new Map(), bucket: new Map() };
      const end = now() + 20;
      while (now() < end) {
        const [l, k] = await Promise.all([newest(local), newest(bucket)]);
        const t = now();
        if (l >= 0 && !seen.local.has(l)) seen.local.set(l, t);
        if (k >= 0 && !seen.bucket.has(k)) seen.bucket.set(k, t);
        await sleep(50);
      }
      const lags = [...seen.bucket].filter(([q]) => seen.local.has(q))
        .map(([q, t]) => t - seen.local.get(q));
      say('live_bucket_lag_ms', { median: ms(pct(lags, 0.5)), p95: ms(pct(lags, 0.95)),
        sequences: lags.length },
      `a live channel's window in the bucket (720p30, default ladder, 1 s segments): each ` +
      `sequence listed in the bucket's playlist a median ${ms(pct(lags, 0.5))} ms (p95 ${
        ms(pct(lags, 0.95))} ms) after the box's origin listed it (${lags.length} sequences)`);
      t0 = now();
      a.proc.kill('SIGKILL');
      pub.kill('SIGKILL');
      let v;
      while (now() - t0 < LEASE * 4 + 30) {
        v = (await b.api('GET', `/v1/channels/${ch.id}`)).json;
        if (v.box === 'box-b') break;
        await sleep(100);
      }
      const takeover = now() - t0;
      say('channel_takeover_s', Number(takeover.toFixed(1)), `a box killed with -9 while it ` +
        `carried a live channel: the other box carried it ${takeover.toFixed(1)} s later ` +
        `(state ${v.state}; jobs.lease ${LEASE} s)`);
      await b.api('DELETE', `/v1/channels/${ch.id}`);
    } finally {
      pub.kill('SIGKILL');
    }
  }
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
console.log(`rack-bench: ${JSON.stringify(out)}`);
