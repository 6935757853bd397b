/* Browser side of the protected-playback test (protect.mjs): encrypted
 * outputs played from the daemon's origin with the keys it serves, built
 * on harness.js (EB.internal). Every function returns { status, reason,
 * details } and never waits past its timeout.
 *
 *   hlsKeyPlay     hls.js, METHOD=AES-128: every request carries the API
 *                  token (xhrSetup), so the key URI answers; KEY_LOADED counted
 *   shakaPlay      Shaka Player, ClearKey: the license server is the job's
 *                  license_url, the token added to LICENSE requests only
 *   dashjsPlay     dash.js, ClearKey: protection data with the same URL and
 *                  the token as a request header
 *   each with { expectFail: true }: the play must fail and the picture
 *   must not advance (no token, a wrong key) */
'use strict';

(function () {
  const I = window.EB.internal;
  const { state, note, waitForAdvance, startPlay, videoState } = I;

  function verdict(adv, fatal, opt, details) {
    if (opt.expectFail) {
      if (!adv.reason) return { status: 'fail', reason: `played ${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s, expected to fail`, details };
      if (!fatal) return { status: 'fail', reason: `no player error, only: ${adv.reason}`, details };
      if (opt.failMatch && !new RegExp(opt.failMatch).test(fatal)) {
        return { status: 'fail', reason: `failed, but with "${fatal}", not /${opt.failMatch}/`, details };
      }
      details.failedWith = fatal;
      return { status: 'pass', details: { ...details, figures: `refused: ${fatal.slice(0, 120)}` } };
    }
    if (adv.reason) return { status: 'fail', reason: adv.reason, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    if (!(details.video.videoDecodedBytes > 0)) return { status: 'fail', reason: 'no video decoded', details };
    return { status: 'pass', details };
  }

  async function hlsKeyPlay(url, opt) {
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    let keys = 0;
    const token = opt.token;
    const r = await I.hlsSetup(url, left(), {
      config: {
        xhrSetup: (xhr) => { if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`); },
        keyLoadPolicy: { default: { maxTimeToFirstByteMs: 8000, maxLoadTimeMs: 10000,
          timeoutRetry: { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 },
          errorRetry: { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 } } },
      },
      onCreate: (hls) => hls.on(Hls.Events.KEY_LOADED, () => { keys++; note('hls.js KEY_LOADED'); }),
    });
    if (r) return verdict({ reason: r }, state.hlsFatal || r, opt, { keyLoads: keys, video: videoState() });
    startPlay();
    const adv = await waitForAdvance(opt.minAdvance, left(), I.hlsFatal,
      () => I.video().currentTime > 0 || !I.video().paused, 'playback to start');
    const details = { keyLoads: keys, video: videoState(), figures: `${keys} key load(s)` };
    const out = verdict(adv, state.hlsFatal, opt, details);
    if (out.status === 'pass' && !opt.expectFail && keys < 1) return { status: 'fail', reason: 'played without loading a key: is it encrypted?', details };
    return out;
  }

  function shakaErr(e) {
    if (!e) return 'unknown error';
    let name = String(e.code);
    try {
      for (const [k, v] of Object.entries(shaka.util.Error.Code)) if (v === e.code) name = `${k} (${e.code})`;
    } catch (_) { /* ignore */ }
    return `shaka ${name}`;
  }

  async function shakaPlay(url, opt) {
    shaka.polyfill.installAll();
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const player = new shaka.Player();
    let licenses = 0;
    let fatal = null;
    const drm = opt.clearKeys ? { clearKeys: opt.clearKeys } : { servers: { 'org.w3.clearkey': opt.licenseUrl } };
    player.configure({ drm, abr: { enabled: false },
      streaming: { retryParameters: { maxAttempts: 1, timeout: 10000 } } });
    const ne = player.getNetworkingEngine();
    ne.registerRequestFilter((type, req) => {
      if (type === shaka.net.NetworkingEngine.RequestType.LICENSE) {
        licenses++;
        if (opt.token) req.headers.Authorization = `Bearer ${opt.token}`;
      }
    });
    player.addEventListener('error', (ev) => {
      const e = ev.detail;
      note(`shaka error ${shakaErr(e)}`);
      if (e && e.severity === shaka.util.Error.Severity.CRITICAL && !fatal) fatal = shakaErr(e);
    });
    I.video().addEventListener('error', () => { if (!fatal) fatal = `video ${state.videoError}`; });
    try {
      await player.attach(I.video());
      let timer;
      await Promise.race([player.load(url),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timed out loading')), left()); })])
        .finally(() => clearTimeout(timer));
    } catch (e) {
      if (!fatal) fatal = e && e.code !== undefined ? shakaErr(e) : String(e);
    }
    if (!fatal) startPlay();
    const adv = fatal ? { reason: `load failed: ${fatal}` }
      : await waitForAdvance(opt.minAdvance, left(), () => (fatal ? `fatal: ${fatal}` : null),
        () => I.video().currentTime > 0 || !I.video().paused, 'playback to start');
    const keySystem = player.keySystem ? player.keySystem() : '';
    const details = { licenseRequests: licenses, keySystem, video: videoState(),
      figures: `${keySystem || 'no key system'}, ${licenses} license request(s)` };
    await player.destroy().catch(() => {});
    I.newVideo();
    const out = verdict(adv, fatal, opt, details);
    if (out.status === 'pass' && !opt.expectFail && !opt.clearKeys && licenses < 1) return { status: 'fail', reason: 'played without a license request: is it encrypted?', details };
    return out;
  }

  async function dashjsPlay(url, opt) {
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const player = dashjs.MediaPlayer().create();
    let fatal = null;
    let licenses = 0;
    player.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_NONE } });
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      const msg = `dash.js ${e.error && (e.error.code || '')} ${e.error && (e.error.message || '')}`.trim();
      note(msg);
      if (!fatal) fatal = msg;
    });
    player.on(dashjs.Protection.events.LICENSE_REQUEST_COMPLETE, (e) => { if (!e.error) licenses++; });
    // dash.js turns withCredentials on for an Authorization header; the
    // token is not a cookie, and the origin answers any page (ACAO *).
    player.setProtectionData({ 'org.w3.clearkey': { serverURL: opt.licenseUrl, withCredentials: false,
      httpRequestHeaders: opt.token ? { Authorization: `Bearer ${opt.token}` } : {} } });
    player.initialize(I.video(), url, true);
    const adv = await waitForAdvance(opt.minAdvance, left(), () => (fatal ? `fatal: ${fatal}` : null),
      () => I.video().currentTime > 0 || !I.video().paused, 'playback to start');
    const details = { licenseRequests: licenses, video: videoState(), figures: `${licenses} license request(s)` };
    player.reset();
    I.newVideo();
    const out = verdict(adv, fatal, opt, details);
    if (out.status === 'pass' && !opt.expectFail && licenses < 1) return { status: 'fail', reason: 'played without a license request', details };
    return out;
  }

  window.EB.protect = { hlsKeyPlay, shakaPlay, dashjsPlay };
})();
