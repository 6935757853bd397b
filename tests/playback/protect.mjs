#!/usr/bin/env node
// Real-browser playback of encrypted outputs served by `encbox serve`
// (run_protected.sh starts it and the jobs): the players get their keys
// from the daemon, with the API token, as an integrator's page would.
//
//   node protect.mjs ORIGIN TOKEN JOBS_JSON [--chromium PATH] [--verbose]
//
// JOBS_JSON: {"cenc": job, "cbcs": job, "aes_ts": job, "aes_cmaf": job},
// each the daemon's job object (outputs and encryption.license_url, paths
// on ORIGIN). Prints PASS/FAIL/SKIP lines like playback.mjs.

import { createHarness, oneLine } from './lib.mjs';

const USAGE = 'usage: node protect.mjs ORIGIN TOKEN JOBS_JSON [--total-timeout S] [--chromium PATH] [--verbose]';
const opt = {
  checkTimeout: Number(process.env.PLAYBACK_CHECK_TIMEOUT || 30),
  totalTimeout: Number(process.env.PLAYBACK_TOTAL_TIMEOUT || 240),
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  verbose: false,
};
const pos = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--chromium') opt.chromium = process.argv[++i];
  else if (a === '--verbose' || a === '-v') opt.verbose = true;
  else if (a === '--total-timeout') opt.totalTimeout = Number(process.argv[++i]);
  else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
  else pos.push(a);
}
if (pos.length !== 3) { console.error(USAGE); process.exit(2); }
const [ORIGIN, TOKEN, jobsText] = pos;
const jobs = JSON.parse(jobsText);

const h = createHarness(opt, {
  prog: 'protect.mjs',
  libs: ['/lib/hls.js', '/lib/shaka.js', '/lib/dash.js', '/harness.js', '/protect.js'],
  mediaRoot: null,
});
const { run } = h;
const abs = (u) => (u && u.startsWith('/') ? ORIGIN + u : u);

async function main() {
  const chromium = await h.requirements();
  if (!chromium) return h.finish(2);
  const base = await h.startServer();
  const version = await h.launchBrowser(chromium);
  if (version === null) return h.finish(2);
  console.log(`# pages on ${base}, media and keys from ${ORIGIN}; browser ${version}`);
  const po = { timeoutMs: opt.checkTimeout * 1000, minAdvance: 1.5 };
  const fail = { ...po, minAdvance: 0.5, timeoutMs: 12000, expectFail: true };

  // ---- hls.js: AES-128, TS and CMAF; the key needs the token
  const hp = await h.openPage(base, 'protect-hls', ORIGIN);
  for (const k of ['aes_ts', 'aes_cmaf']) {
    const url = abs(jobs[k].outputs.hls);
    await run(hp, `hls-${k.replace('_', '-')}`, ([u, o]) => window.EB.protect.hlsKeyPlay(u, o), [url, { ...po, token: TOKEN }]);
  }
  await run(hp, 'hls-aes-no-token', ([u, o]) => window.EB.protect.hlsKeyPlay(u, o),
    [abs(jobs.aes_ts.outputs.hls), { ...fail, failMatch: 'keyLoadError|key' }]);
  await hp.close().catch(() => {});

  // ---- Shaka Player: ClearKey cenc (and cbcs) from the daemon's license service
  const sp = await h.openPage(base, 'protect-shaka', ORIGIN);
  const lic = abs(jobs.cenc.encryption.license_url);
  await run(sp, 'shaka-cenc', ([u, o]) => window.EB.protect.shakaPlay(u, o),
    [abs(jobs.cenc.outputs.dash), { ...po, licenseUrl: lic, token: TOKEN }]);
  await run(sp, 'shaka-cbcs', ([u, o]) => window.EB.protect.shakaPlay(u, o),
    [abs(jobs.cbcs.outputs.dash), { ...po, licenseUrl: abs(jobs.cbcs.encryption.license_url), token: TOKEN }]);
  await run(sp, 'shaka-cenc-no-token', ([u, o]) => window.EB.protect.shakaPlay(u, o),
    [abs(jobs.cenc.outputs.dash), { ...fail, licenseUrl: lic, failMatch: 'LICENSE_REQUEST_FAILED' }]);
  {
    // the right key id with a wrong key: the CDM decrypts to garbage and
    // the decoder refuses it
    const kid = jobs.cenc.encryption.key_ids[0];
    await run(sp, 'shaka-cenc-wrong-key', ([u, o]) => window.EB.protect.shakaPlay(u, o),
      [abs(jobs.cenc.outputs.dash), { ...fail, timeoutMs: 15000, clearKeys: { [kid]: '00112233445566778899aabbccddeeff' } }]);
  }
  await sp.close().catch(() => {});

  // ---- dash.js: the same license service
  const dp = await h.openPage(base, 'protect-dashjs', ORIGIN);
  await run(dp, 'dashjs-cenc', ([u, o]) => window.EB.protect.dashjsPlay(u, o),
    [abs(jobs.cenc.outputs.dash), { ...po, licenseUrl: lic, token: TOKEN }]);
  await dp.close().catch(() => {});

  h.stopWatchdog();
  h.summary();
  return h.finish(h.results.fail > 0 ? 1 : 0);
}

main().catch((e) => h.abort('harness', oneLine(e && e.stack ? e.stack : e)));
