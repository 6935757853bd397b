/* Browser side of the encbox playback test (loaded by the test pages that
 * lib.mjs serves, driven by playback.mjs through Playwright; live.js, the
 * live test's side, builds on EB.internal). Every function returns a plain
 * object { status: 'pass' | 'fail' | 'skip', reason, details } and never
 * waits longer than the timeout it is given. */
'use strict';

(function () {
  let video = null; // the <video> element; replaced after a fatal media error
  const log = []; // everything that happened, for failure reports

  const state = {
    hls: null,
    hlsEvents: [], // { seq, t, type, ... }
    hlsFatal: null,
    hlsBuffers: null, // tracks reported by BUFFER_CREATED
    dash: null,
    dashFatal: null,
    videoError: null,
    seq: 0,
  };

  function note(msg) {
    log.push(`${(performance.now() / 1000).toFixed(2)}s ${msg}`);
    if (log.length > 400) log.shift();
  }

  /* A fresh <video> element: a MediaError is sticky, so after one the element
   * is replaced for the next check. */
  function newVideo() {
    const old = document.getElementById('video');
    const v = document.createElement('video');
    v.id = 'video';
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.width = 640;
    v.height = 360;
    if (old) old.replaceWith(v);
    else document.body.prepend(v);
    video = v;
    state.videoError = null;
    state.playRefused = null;
    for (const ev of ['loadedmetadata', 'playing', 'waiting', 'stalled', 'seeking', 'seeked', 'ended', 'resize', 'pause']) {
      v.addEventListener(ev, () =>
        note(`video ${ev} t=${v.currentTime.toFixed(2)} ${v.videoWidth}x${v.videoHeight} rs=${v.readyState}`));
    }
    v.addEventListener('error', () => {
      if (v !== video) return;
      const e = v.error;
      state.videoError = e ? `MediaError code ${e.code}${e.message ? ': ' + e.message : ''}` : 'unknown video error';
      note(`video error ${state.videoError}`);
    });
    return v;
  }
  newVideo();

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /* Polls cond() until it returns true. Returns null on success, or a reason. */
  async function waitFor(cond, timeoutMs, what, fatal) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const f = fatal && fatal();
      if (f) return f;
      if (state.videoError) return `video element error: ${state.videoError}`;
      if (state.playRefused) return state.playRefused;
      try {
        if (cond()) return null;
      } catch (e) {
        return e && e.message ? e.message : String(e);
      }
      if (performance.now() > deadline) {
        return `timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${typeof what === 'function' ? what() : what}`;
      }
      await sleep(100);
    }
  }

  function videoState() {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
    const ranges = [];
    for (let i = 0; i < video.buffered.length; i++) {
      ranges.push(`${video.buffered.start(i).toFixed(2)}-${video.buffered.end(i).toFixed(2)}`);
    }
    return {
      currentTime: +video.currentTime.toFixed(3),
      duration: +(video.duration || 0).toFixed(3),
      paused: video.paused,
      ended: video.ended,
      readyState: video.readyState,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      buffered: ranges.join(' '),
      totalVideoFrames: q.totalVideoFrames,
      droppedVideoFrames: q.droppedVideoFrames,
      audioDecodedBytes: video.webkitAudioDecodedByteCount,
      videoDecodedBytes: video.webkitVideoDecodedByteCount,
    };
  }

  /* Starts playback without waiting on play()'s promise: it settles only
   * once media plays, so on broken media it never settles at all. A refusal
   * (autoplay blocked) is recorded and fails the check through waitFor. */
  function startPlay() {
    const p = video.play();
    if (p && p.catch) {
      p.catch((e) => {
        if (e && e.name === 'NotAllowedError') state.playRefused = `video.play() refused: ${e.message}`;
        else note(`play() rejected: ${e}`);
      });
    }
  }

  /* Waits until the video plays `minAdvance` seconds beyond where it is once
   * `ready()` holds. */
  async function waitForAdvance(minAdvance, timeoutMs, fatal, ready, readyWhat) {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    let r = await waitFor(() => {
      if (ready() && video.readyState >= 2 && !video.seeking) return true;
      if (video.ended) throw new Error(`media ended at ${video.currentTime.toFixed(2)} s while waiting for ${readyWhat}`);
      return false;
    }, left(), readyWhat, fatal);
    if (r) return { reason: r };
    const t0 = video.currentTime;
    let replays = 0;
    r = await waitFor(() => {
      if (video.ended) throw new Error(`media ended at ${video.currentTime.toFixed(2)} s, after only ${(video.currentTime - t0).toFixed(2)} s of playback`);
      if (video.paused && replays++ < 50) startPlay();
      return video.currentTime >= t0 + minAdvance;
    }, left(), () => `currentTime to advance ${minAdvance} s from ${t0.toFixed(2)} s (stuck at ${video.currentTime.toFixed(2)} s)`, fatal);
    if (r) return { reason: r };
    return { t0, t1: video.currentTime };
  }

  /* ---------------- hls.js ---------------- */

  function hlsEvent(type, data) {
    state.seq++;
    const e = { seq: state.seq, type };
    if (data && data.frag) {
      e.level = data.frag.level;
      e.sn = data.frag.sn;
      e.fragType = data.frag.type;
      e.url = data.frag.url;
    }
    if (data && typeof data.level === 'number' && e.level === undefined) e.level = data.level;
    state.hlsEvents.push(e);
    if (state.hlsEvents.length > 2000) state.hlsEvents.shift();
    return e;
  }

  function describeHlsError(d) {
    const parts = [`${d.type}/${d.details}`];
    if (d.response && d.response.code !== undefined) parts.push(`HTTP ${d.response.code}`);
    const url = (d.frag && d.frag.url) || (d.context && d.context.url) || d.url;
    if (url) parts.push(url.replace(location.origin, ''));
    if (d.error && d.error.message) parts.push(d.error.message);
    else if (d.reason) parts.push(d.reason);
    return parts.join(' ');
  }

  function hlsFatal() {
    return state.hlsFatal ? `fatal hls.js error: ${state.hlsFatal}` : null;
  }

  /* Creates hls.js on a fresh video element and loads url. Resolves to null
   * once the manifest is parsed, or to a failure reason. extra (optional):
   * { config: hls.js settings over these, onCreate(hls): called before the
   * load, to listen to more events }. */
  async function hlsSetup(url, timeoutMs, extra) {
    if (state.hls) {
      note('recreating hls.js and the video element after a failure');
      state.hls.destroy();
      state.hls = null;
      newVideo();
    }
    state.hlsFatal = null;
    state.hlsBuffers = null;
    state.hlsUrl = url;
    const hls = new Hls(Object.assign({
      debug: false,
      enableWorker: true,
      capLevelToPlayerSize: false,
      maxBufferLength: 30,
      // Short, bounded retries: the server is local, a failure is real.
      fragLoadPolicy: { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 } } },
      playlistLoadPolicy: { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 } } },
      manifestLoadPolicy: { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 } } },
    }, extra && extra.config));
    state.hls = hls;
    state.hlsNonFatal = [];
    const nonFatal = state.hlsNonFatal;
    hls.on(Hls.Events.ERROR, (_, d) => {
      if (hls !== state.hls) return;
      const msg = describeHlsError(d);
      note(`hls.js ${d.fatal ? 'FATAL' : 'non-fatal'} error ${msg}`);
      if (d.fatal) {
        if (!state.hlsFatal) state.hlsFatal = msg;
      } else if (nonFatal.length < 20) {
        nonFatal.push(msg);
      }
    });
    hls.on(Hls.Events.BUFFER_CREATED, (_, d) => {
      state.hlsBuffers = Object.fromEntries(Object.entries(d.tracks).map(([k, t]) => [k, t.codec || t.levelCodec || '']));
      note(`hls.js buffers ${JSON.stringify(state.hlsBuffers)}`);
    });
    for (const ev of ['FRAG_LOADED', 'FRAG_BUFFERED', 'FRAG_CHANGED', 'LEVEL_SWITCHING', 'LEVEL_SWITCHED', 'AUDIO_TRACK_SWITCHED', 'BUFFER_FLUSHED']) {
      hls.on(Hls.Events[ev], (_, d) => {
        const e = hlsEvent(ev, d);
        if (ev !== 'FRAG_LOADED') note(`hls.js ${ev} level=${e.level} sn=${e.sn} type=${e.fragType || ''}`);
      });
    }
    let manifest = null;
    hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => { manifest = d; });
    if (extra && extra.onCreate) extra.onCreate(hls);
    hls.attachMedia(video);
    hls.loadSource(url);
    return waitFor(() => manifest !== null, timeoutMs, 'MANIFEST_PARSED', hlsFatal);
  }

  async function hlsPlay(url, opt) {
    if (typeof Hls === 'undefined') return { status: 'fail', reason: 'hls.js did not load' };
    if (!Hls.isSupported()) return { status: 'fail', reason: 'hls.js says MediaSource is not supported in this browser' };
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    let r = await hlsSetup(url, left());
    const nonFatal = state.hlsNonFatal;
    if (r) return { status: 'fail', reason: r, details: { nonFatal } };
    startPlay();
    const adv = await waitForAdvance(opt.minAdvance, left(), hlsFatal,
      () => video.currentTime > 0 || !video.paused, 'playback to start');
    const details = { levels: hlsLevels(), video: videoState(), nonFatal };
    if (adv.reason) return { status: 'fail', reason: adv.reason, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    if (nonFatal.length) details.warning = `${nonFatal.length} non-fatal hls.js error(s)`;
    return { status: 'pass', details };
  }

  function hlsLevels() {
    const hls = state.hls;
    if (!hls) return [];
    return hls.levels.map((l, i) => ({
      index: i,
      width: l.width,
      height: l.height,
      bitrate: l.bitrate,
      videoCodec: l.videoCodec,
      audioCodec: l.audioCodec,
      url: String(Array.isArray(l.url) ? l.url[0] : l.url).replace(location.origin, ''),
    }));
  }

  async function hlsLevel(i, opt) {
    if (!state.hls) return { status: 'fail', reason: 'hls.js is not running' };
    if (state.hlsFatal || state.videoError) {
      // an earlier check broke the player or the element: start afresh, so
      // that this level is judged on its own
      const r = await hlsSetup(state.hlsUrl, Math.min(10000, opt.timeoutMs));
      if (r) return { status: 'fail', reason: `could not restart hls.js after an earlier failure: ${r}` };
    }
    const hls = state.hls;
    const lv = hls.levels[i];
    if (!lv) return { status: 'fail', reason: `no level ${i}` };
    if (!lv.width || !lv.height) {
      return { status: 'fail', reason: 'master playlist gives no RESOLUTION for this variant, cannot check it' };
    }
    const mark = state.seq;
    const errMark = state.hlsNonFatal.length;
    const since = () => state.hlsEvents.filter((e) => e.seq > mark);
    video.pause();
    // Manual level: hls.js aborts the current load, flushes the main buffer
    // and from then on loads only level i.
    hls.currentLevel = i;
    // Replay from the start (the clip may be short), but only once the old
    // level's frames are gone: seeking into them would keep showing them up
    // to the next IDR, which a short clip may not have.
    let r = await waitFor(() => since().some((e) => e.type === 'BUFFER_FLUSHED') || video.buffered.length === 0,
      Math.min(10000, opt.timeoutMs), 'hls.js to flush the old level', hlsFatal);
    if (r) return { status: 'fail', reason: r, details: { video: videoState() } };
    video.currentTime = 0;
    startPlay();
    const ready = () =>
      since().some((e) => e.type === 'FRAG_BUFFERED' && e.fragType === 'main' && e.level === i) &&
      hls.currentLevel === i && // level of the fragment being played
      video.videoWidth === lv.width && video.videoHeight === lv.height;
    const adv = await waitForAdvance(opt.minAdvance, opt.timeoutMs, hlsFatal, ready,
      `a level-${i} fragment to play at ${lv.width}x${lv.height}`);
    const ev = since();
    const frags = ev.filter((e) => e.type === 'FRAG_LOADED' && e.fragType === 'main');
    const details = {
      level: `${i} ${lv.width}x${lv.height} ${lv.bitrate} bit/s`,
      fragsLoaded: frags.map((e) => `L${e.level}#${e.sn}`).join(' '),
      levelSwitched: ev.filter((e) => e.type === 'LEVEL_SWITCHED').map((e) => e.level).join(' '),
      playingLevel: hls.currentLevel,
      video: videoState(),
    };
    if (adv.reason) {
      let reason = adv.reason;
      if (/timed out|ended/.test(reason)) {
        if (!frags.some((e) => e.level === i)) reason += `; no fragment of level ${i} was loaded`;
        else if (video.videoWidth !== lv.width || video.videoHeight !== lv.height) {
          reason += `; decoded picture is ${video.videoWidth}x${video.videoHeight}, the playlist says ${lv.width}x${lv.height}`;
        }
      }
      const errs = state.hlsNonFatal.slice(errMark);
      if (errs.length) reason += `; hls.js reported: ${errs.slice(0, 2).join(' | ')}${errs.length > 2 ? ' ...' : ''}`;
      return { status: 'fail', reason, details };
    }
    const other = frags.filter((e) => e.level !== i);
    if (other.length) {
      return { status: 'fail', reason: `fragments of other levels were loaded after forcing level ${i}: ${details.fragsLoaded}`, details };
    }
    if (video.videoWidth !== lv.width || video.videoHeight !== lv.height) {
      return { status: 'fail', reason: `after playing, the picture is ${video.videoWidth}x${video.videoHeight}, the playlist says ${lv.width}x${lv.height}`, details };
    }
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    return { status: 'pass', details };
  }

  /* Audio and video both present and decoded. expectAudio: 'yes' | 'no' | 'auto' */
  async function avCheck(player, opt) {
    const details = { video: videoState() };
    let declaredAudio = false;
    if (player === 'hls') {
      const hls = state.hls;
      if (!hls) return { status: 'fail', reason: 'hls.js is not running' };
      details.audioTracks = hls.audioTracks.map((t) => `${t.name || '?'}(${t.lang || 'und'})${t.audioCodec ? ' ' + t.audioCodec : ''}`);
      details.buffers = state.hlsBuffers;
      declaredAudio = hls.audioTracks.length > 0 || hls.levels.some((l) => !!l.audioCodec);
    } else {
      const p = state.dash;
      if (!p) return { status: 'fail', reason: 'the DASH player is not running' };
      const audioTracks = p.getVariantTracks ? [...new Set(p.getVariantTracks().filter((t) => t.audioCodec).map((t) => t.audioCodec))] : [];
      details.audioCodecs = audioTracks;
      declaredAudio = audioTracks.length > 0;
    }
    details.declaredAudio = declaredAudio;
    const expect = opt.expectAudio === 'yes' ? true : opt.expectAudio === 'no' ? false : declaredAudio;
    if (!expect) return { status: 'skip', reason: 'the media has no audio (none declared)', details };
    if (!declaredAudio) return { status: 'fail', reason: `audio expected, but the ${player} player sees no audio track`, details };
    if (player === 'hls' && state.hlsBuffers && !('audio' in state.hlsBuffers) && !('audiovideo' in state.hlsBuffers)) {
      return { status: 'fail', reason: `hls.js created no audio SourceBuffer (buffers: ${Object.keys(state.hlsBuffers).join(', ')})`, details };
    }
    // Decoded-byte counters are Chromium's; they prove the audio was really decoded.
    if (typeof video.webkitAudioDecodedByteCount !== 'number') {
      return { status: 'pass', details: { ...details, note: 'webkitAudioDecodedByteCount not available' } };
    }
    const r = await waitFor(() => video.webkitAudioDecodedByteCount > 0 && video.webkitVideoDecodedByteCount > 0,
      opt.timeoutMs, 'decoded audio and video bytes', player === 'hls' ? hlsFatal : dashFatal);
    details.video = videoState();
    if (r) {
      return { status: 'fail', reason: `${r} (audio ${video.webkitAudioDecodedByteCount} B, video ${video.webkitVideoDecodedByteCount} B decoded)`, details };
    }
    return { status: 'pass', details };
  }

  /* The audio languages the player offers: every one of opt.languages,
   * starting with the first (the default), then a switch to each other
   * one from the start of the clip: that language's own segments are
   * fetched and decoded and the video keeps playing. */
  async function audioLanguages(player, opt) {
    const fatal = player === 'hls' ? hlsFatal : dashFatal;
    const hls = state.hls, dash = state.dash;
    if (player === 'hls' ? !hls : !dash) return { status: 'fail', reason: `the ${player} player is not running` };
    if (fatal()) return { status: 'fail', reason: `not attempted: ${fatal()}` };
    const tracks = () => (player === 'hls'
      ? hls.audioTracks.map((t, i) => ({ language: t.lang || 'und', label: t.name, active: i === hls.audioTrack, index: i }))
      : dash.getAudioTracks()); // Shaka 5: { language, label, active, ... }
    const offered = tracks().map((t) => t.language);
    const active = () => (tracks().find((t) => t.active) || {}).language;
    const details = { offered: tracks().map((t) => `${t.language} (${t.label})`).join(', '), switches: [] };
    const missing = opt.languages.filter((l) => !offered.includes(l));
    if (missing.length) return { status: 'fail', reason: `languages ${missing.join(', ')} not offered`, details };
    if (active() !== opt.languages[0]) {
      return { status: 'fail', reason: `started with ${active()}, the default is ${opt.languages[0]}`, details };
    }
    performance.setResourceTimingBufferSize(10000);
    for (const lang of opt.languages.slice(1)) {
      const mark = performance.now();
      const decoded = video.webkitAudioDecodedByteCount || 0;
      const fetched = () => performance.getEntriesByType('resource').some((e) =>
        e.startTime >= mark && e.name.includes(`/audio_${lang}/segment_`));
      video.currentTime = 0;
      const track = tracks().find((t) => t.language === lang);
      if (player === 'hls') hls.audioTrack = track.index;
      else dash.selectAudioTrack(track);
      startPlay();
      const adv = await waitForAdvance(opt.minAdvance, opt.timeoutMs, fatal,
        () => active() === lang && fetched(), `${lang} to be the active language and its segments fetched`);
      const bytes = (video.webkitAudioDecodedByteCount || 0) - decoded;
      details.switches.push(`${lang}: ${adv.reason ? 'failed' : `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`}, ${bytes} audio bytes decoded`);
      if (adv.reason) return { status: 'fail', reason: `switching to ${lang}: ${adv.reason} (active ${active()})`, details };
      if (typeof video.webkitAudioDecodedByteCount === 'number' && bytes <= 0) {
        return { status: 'fail', reason: `no audio decoded after switching to ${lang}`, details };
      }
    }
    return { status: 'pass', details };
  }

  /* ---------------- DASH (Shaka Player) ---------------- */

  function shakaErrorText(e) {
    if (!e) return 'unknown error';
    let name = String(e.code);
    try {
      const codes = shaka.util.Error.Code;
      for (const k of Object.keys(codes)) if (codes[k] === e.code) name = `${k} (${e.code})`;
    } catch (_) { /* ignore */ }
    // Keep the readable parts of e.data (URIs, HTTP status, messages), drop
    // headers, buffers and nested errors.
    const parts = (Array.isArray(e.data) ? e.data : [])
      .filter((v) => typeof v === 'string' || typeof v === 'number')
      .map((v) => String(v).trim().slice(0, 150));
    let data = [...new Set(parts)].join(' ');
    if (data.length > 300) data = data.slice(0, 300) + '...';
    return `shaka error ${name}${data ? ' ' + data : ''}`.replaceAll(location.origin, '');
  }

  function dashFatal() {
    return state.dashFatal ? `fatal DASH player error: ${state.dashFatal}` : null;
  }

  async function dashPlay(url, opt) {
    if (typeof shaka === 'undefined') return { status: 'fail', reason: 'Shaka Player did not load' };
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) return { status: 'fail', reason: 'Shaka says this browser is not supported' };
    const player = new shaka.Player();
    state.dash = player;
    const retry = { maxAttempts: 2, baseDelay: 500, backoffFactor: 1, fuzzFactor: 0, timeout: 15000, stallTimeout: 10000, connectionTimeout: 10000 };
    player.configure({
      manifest: { retryParameters: retry },
      streaming: { retryParameters: retry, bufferingGoal: 30, failureCallback: (e) => { state.dashFatal = shakaErrorText(e); } },
      // One representation for the whole check, so the picture on screen and
      // the active track agree (ABR would switch mid-check).
      abr: { enabled: false },
    });
    const nonFatal = [];
    player.addEventListener('error', (ev) => {
      const e = ev.detail;
      const msg = shakaErrorText(e);
      note(`shaka ${e && e.severity === 2 ? 'CRITICAL' : 'recoverable'} error ${msg}`);
      if (e && e.severity === shaka.util.Error.Severity.CRITICAL) {
        if (!state.dashFatal) state.dashFatal = msg;
      } else if (nonFatal.length < 20) nonFatal.push(msg);
    });
    player.addEventListener('adaptation', () => note('shaka adaptation'));
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    try {
      await player.attach(video);
      let timer;
      await Promise.race([
        player.load(url),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timed out loading the manifest')), left()); }),
      ]).finally(() => clearTimeout(timer));
    } catch (e) {
      const msg = e && e.code !== undefined ? shakaErrorText(e) : String(e);
      if (!state.dashFatal) state.dashFatal = msg;
      return { status: 'fail', reason: `load failed: ${msg}`, details: { nonFatal } };
    }
    startPlay();
    const adv = await waitForAdvance(opt.minAdvance, left(), dashFatal,
      () => video.currentTime > 0 || !video.paused, 'playback to start');
    const tracks = player.getVariantTracks().map((t) =>
      `${t.width || 0}x${t.height || 0} ${t.bandwidth} ${t.videoCodec || '-'}/${t.audioCodec || '-'}${t.active ? ' (active)' : ''}`);
    const details = { variants: tracks, video: videoState(), nonFatal };
    if (adv.reason) return { status: 'fail', reason: adv.reason, details };
    const active = player.getVariantTracks().find((t) => t.active);
    if (active && active.width && active.height && (video.videoWidth !== active.width || video.videoHeight !== active.height)) {
      return { status: 'fail', reason: `picture is ${video.videoWidth}x${video.videoHeight}, the active representation says ${active.width}x${active.height}`, details };
    }
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    if (nonFatal.length) details.warning = `${nonFatal.length} recoverable DASH player error(s)`;
    return { status: 'pass', details };
  }

  /* Plays the whole presentation from the start at opt.rate to 'ended',
   * then compares the player's duration (after end of stream: where the
   * media really ends) with opt.expectDuration, within opt.tolerance. */
  async function playToEnd(player, opt) {
    const fatal = player === 'hls' ? hlsFatal : dashFatal;
    if (player === 'hls') {
      if (!state.hls) return { status: 'fail', reason: 'hls.js is not running' };
      if (state.hlsFatal || state.videoError) {
        const r = await hlsSetup(state.hlsUrl, Math.min(10000, opt.timeoutMs));
        if (r) return { status: 'fail', reason: `could not restart hls.js after an earlier failure: ${r}` };
      }
    } else {
      if (!state.dash) return { status: 'fail', reason: 'the DASH player is not running' };
      if (state.dashFatal || state.videoError) {
        return { status: 'fail', reason: `not attempted: the DASH player failed earlier: ${state.dashFatal || state.videoError}` };
      }
    }
    let manifestDuration = null;
    try {
      if (player === 'hls') {
        const lv = state.hls.levels.find((l) => l.details);
        if (lv) manifestDuration = lv.details.totalduration;
      } else {
        manifestDuration = state.dash.getManifest().presentationTimeline.getDuration();
      }
    } catch (_) { /* reported as unknown */ }
    const v = video;
    let stalls = 0;
    const onWaiting = () => { stalls++; };
    v.addEventListener('waiting', onWaiting);
    const t0 = performance.now();
    let r;
    try {
      v.pause();
      v.playbackRate = opt.rate;
      v.currentTime = 0;
      startPlay();
      let replays = 0;
      r = await waitFor(() => {
        if (v.ended) return true;
        if (v.paused && !v.seeking && replays++ < 50) startPlay();
        return false;
      }, opt.timeoutMs, () => `the end of the media (stuck at ${v.currentTime.toFixed(2)} s of ${v.duration.toFixed(2)} s, buffered ${videoState().buffered})`, fatal);
    } finally {
      v.removeEventListener('waiting', onWaiting);
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const fmt = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(3)} s` : 'unknown');
    const details = {
      info: [`duration: player ${fmt(v.duration)}, manifest ${fmt(manifestDuration)}, expected ${fmt(opt.expectDuration)} (+-${opt.tolerance} s)`,
        `played from 0 to ${v.currentTime.toFixed(2)} s in ${secs} s at ${opt.rate}x, ${stalls} stall(s)`],
      video: videoState(),
    };
    v.playbackRate = 1;
    if (r) return { status: 'fail', reason: r, details };
    const off = v.duration - opt.expectDuration;
    if (!(Math.abs(off) <= opt.tolerance)) {
      return { status: 'fail', reason: `the player's duration is ${fmt(v.duration)}, ${off > 0 ? 'longer' : 'shorter'} than the expected ${fmt(opt.expectDuration)} by ${Math.abs(off).toFixed(3)} s (tolerance ${opt.tolerance} s)`, details };
    }
    return { status: 'pass', details };
  }

  function codecSupport() {
    const types = {
      'h264': 'video/mp4; codecs="avc1.42E01E"',
      'aac': 'audio/mp4; codecs="mp4a.40.2"',
      'ts': 'video/mp2t; codecs="avc1.42E01E,mp4a.40.2"',
    };
    const out = {};
    for (const [k, t] of Object.entries(types)) out[k] = window.MediaSource ? MediaSource.isTypeSupported(t) : false;
    return out;
  }

  window.EB = {
    hlsPlay, hlsLevels, hlsLevel, dashPlay,
    avCheck,
    audioLanguages,
    playToEnd,
    codecSupport,
    videoState,
    log: () => log.slice(-60),
    // for live.js, the live checks: the same element, state and waits
    internal: {
      state, note, sleep, waitFor, waitForAdvance, newVideo, startPlay, videoState,
      hlsSetup, hlsFatal, video: () => video,
    },
  };
  window.EB_READY = true;
})();
