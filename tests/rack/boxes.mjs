// What the rack test and the rack benchmark share: boxes (`encbox serve`
// processes on loopback, one configuration each, sharing a storage tree, a
// PostgreSQL job queue and an S3 bucket), the bucket's setup on Swift, and
// small helpers to wait on jobs.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, openSync } from 'node:fs';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => Date.now() / 1000;

export function ffmpeg(args) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args.split(' ')], { stdio: 'inherit' });
}

/* The rack's common ground in work: storage and inputs folders, the API
 * token. opt: { bin, work, dbUrl, lease (s), maxJobs, hookUrl?, hookSecretFile?,
 * s3? (from publicBucket) }. */
// Two distinct free loopback ports (found by binding them), for the boxes'
// SRT ingests.
export async function freePorts() {
  const one = () => new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const a = await one();
  let b;
  do b = await one(); while (b === a);
  return [a, b];
}

export function rackSetup(opt) {
  const r = { ...opt, token: 'rack-test-token-0123456789abcdef',
    storage: `${opt.work}/storage`, inputs: `${opt.work}/inputs` };
  mkdirSync(r.storage, { recursive: true });
  mkdirSync(r.inputs, { recursive: true });
  writeFileSync(`${opt.work}/tokens`, `${r.token}\n`, { mode: 0o600 });
  return r;
}

/* The bucket on the Swift that with-swift.sh started (EB_S3_* in the
 * environment), made through Swift's own API, public-read with CORS (a
 * bucket behind a CDN): players read it there, the boxes write it through
 * s3api with signed requests. Writes the boxes' credentials file. null
 * without Swift. */
export async function publicBucket(work, bucket, prefix) {
  if (!process.env.EB_S3_ENDPOINT) return null;
  const S3 = { endpoint: process.env.EB_S3_ENDPOINT, bucket, prefix };
  const auth = await fetch(`${S3.endpoint}/auth/v1.0`, {
    headers: { 'X-Auth-User': process.env.EB_S3_ACCESS_KEY,
      'X-Auth-Key': process.env.EB_S3_SECRET_KEY },
  });
  assert.equal(auth.status, 200, 'Swift tempauth');
  S3.token = auth.headers.get('x-auth-token');
  S3.public = `${auth.headers.get('x-storage-url')}/${S3.bucket}`;
  const made = await fetch(S3.public, {
    method: 'PUT',
    headers: { 'X-Auth-Token': S3.token, 'X-Container-Read': '.r:*,.rlistings',
      'X-Container-Meta-Access-Control-Allow-Origin': '*' },
  });
  assert.ok(made.status === 201 || made.status === 202, `bucket: HTTP ${made.status}`);
  S3.credentials = `${work}/s3.credentials`;
  writeFileSync(S3.credentials, `[default]\naws_access_key_id = ${
    process.env.EB_S3_ACCESS_KEY}\naws_secret_access_key = ${process.env.EB_S3_SECRET_KEY}\n`,
  { mode: 0o600 });
  return S3;
}

// ---- boxes ------------------------------------------------------------

export class Box {
  constructor(rack, name) {
    const { work, dbUrl, bin } = rack;
    this.rack = rack;
    this.name = name;
    this.log = `${work}/${name}.log`;
    this.config = `${work}/${name}.yaml`;
    writeFileSync(
      this.config,
      `name: ${name}\njobs:\n  database: "${dbUrl}"\n  lease: ${rack.lease}s\n` +
        `thumbnails:\n  enabled: false\n` +
        (rack.hookUrl ? `webhooks:\n  url: ${rack.hookUrl}\n  secret_file: ${
          rack.hookSecretFile}\n` : '') +
        (rack.srtPorts && rack.srtPorts[name] ? `live:\n  srt_listen: 127.0.0.1:${
          rack.srtPorts[name]}\n` : '') +
        (rack.s3 ? `storage:\n  s3:\n    endpoint: ${rack.s3.endpoint}\n    bucket: ${
          rack.s3.bucket}\n    prefix: ${rack.s3.prefix}\n    credentials_file: ${
          rack.s3.credentials}\n    public_base_url: ${rack.s3.public}\n` : ''),
    );
  }

  async start() {
    for (let attempt = 0; attempt < 10; attempt++) {
      this.port = 20000 + Math.floor(Math.random() * 40000);
      this.base = `http://127.0.0.1:${this.port}`;
      const out = openSync(this.log, 'a');
      this.proc = spawn(
        this.rack.bin,
        ['serve', '--listen', `127.0.0.1:${this.port}`, '--storage', this.rack.storage,
          '--input-root', this.rack.inputs, '--token-file', `${this.rack.work}/tokens`, '--config',
          this.config, '--max-jobs', String(this.rack.maxJobs || 1)],
        { stdio: ['ignore', out, out] },
      );
      this.exited = false;
      this.proc.on('exit', () => { this.exited = true; });
      for (let i = 0; i < 100 && !this.exited; i++) {
        try {
          const r = await fetch(`${this.base}/v1/health`);
          if (r.ok) return;
        } catch { /* not yet */ }
        await sleep(100);
      }
      if (!this.exited) this.proc.kill('SIGKILL');
    }
    throw new Error(`${this.name} did not start; see ${this.log}`);
  }

  async api(method, path, body) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.rack.token}`,
        'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  }

  async submit(body) {
    const r = await this.api('POST', '/v1/jobs', body);
    assert.equal(r.status, 201, `${this.name}: POST /v1/jobs: ${JSON.stringify(r.json)}`);
    return r.json;
  }

  async stop() {
    if (this.exited) return;
    const done = new Promise((r) => this.proc.on('exit', r));
    this.proc.kill('SIGTERM');
    await done;
  }

  logText() {
    return readFileSync(this.log, 'utf8');
  }
}

// Children of pid (the box's workers), from /proc.
export function childrenOf(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export async function waitJob(box, id, pred, seconds, what) {
  const until = now() + seconds;
  let last;
  while (now() < until) {
    const r = await box.api('GET', `/v1/jobs/${id}`);
    if (r.status === 200) {
      last = r.json;
      if (pred(last)) return last;
    }
    await sleep(100);
  }
  throw new Error(`job ${id}: not ${what} within ${seconds} s: ${JSON.stringify(last)}`);
}

export const tiny = (input, vid) => ({
  input,
  video_id: vid,
  segment_seconds: 1,
  ladder: { name: 'tiny', rungs: [{ name: '180p', height: 180, bitrate: '300k' }] },
});
export const slow = (input, vid) => ({
  input,
  video_id: vid,
  preset: 'veryslow',
  ladder: {
    name: 'two',
    rungs: [
      { name: 'r180', height: 180, bitrate: '300k' },
      { name: 'r120', height: 120, bitrate: '200k' },
    ],
  },
});

