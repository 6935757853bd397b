/* Browser side of the live playback test (live.mjs): hls.js and dash.js on
 * a live channel served by the daemon's origin. Loaded after harness.js,
 * whose video element, state and waits it shares (window.EB.internal).
 * Every function returns { status, reason, details } like harness.js's and
 * never waits longer than the timeout it is given. Latencies are in
 * seconds; details.info lines are always printed by live.mjs. */
'use strict';

(function () {
  const I = window.EB.internal;
  const { note, waitFor, waitForAdvance, startPlay, videoState } = I;
  const video = () => I.video();
  const f2 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : String(x));
  // every request of the page stays listed (hlsParts counts part files)
  if (performance.setResourceTimingBufferSize) performance.setResourceTimingBufferSize(100000);

  /* ---------------- hls.js ---------------- */

  const hlsLiveState = {
    loads: 0, // media playlist loads (main level)
    live: null, // details.live of the last load
    endList: false, // a load without live (EXT-X-ENDLIST)
    frags: new Map(), // sn -> { sn, cc, pdt, duration, pdts: Set } over every load
    played: [], // FRAG_CHANGED: { sn, cc, pdt, at (currentTime) }
    audioPdtMissing: 0, // audio playlist fragments without a date
    audioLoads: 0,
    partLoads: 0, // FRAG_LOADED of a part (low latency), any playlist
    fragLoads: 0, // FRAG_LOADED of a whole segment
    partsListed: 0, // EXT-X-PART lines of the last main playlist load
    canBlockReload: false, // of the last main playlist load
    skipped: 0, // most segments an EXT-X-SKIP of a delta update left out
  };

  function hlsOnCreate(hls) {
    const s = hlsLiveState;
    hls.on(Hls.Events.LEVEL_LOADED, (_, d) => {
      const det = d.details;
      s.loads++;
      s.live = det.live;
      s.partsListed = det.partList ? det.partList.length : 0;
      s.canBlockReload = !!det.canBlockReload;
      s.skipped = Math.max(s.skipped, det.skippedSegments || 0);
      if (!det.live) s.endList = true;
      for (const f of det.fragments) {
        let e = s.frags.get(f.sn);
        if (!e) {
          e = { sn: f.sn, cc: f.cc, pdt: f.programDateTime, duration: f.duration, pdts: new Set() };
          s.frags.set(f.sn, e);
        }
        if (f.programDateTime !== null) e.pdts.add(f.programDateTime);
        else e.pdt = null;
      }
      note(`hls.js LEVEL_LOADED live=${det.live} sn ${det.startSN}-${det.endSN} cc ${det.startCC}-${det.endCC}`);
    });
    hls.on(Hls.Events.AUDIO_TRACK_LOADED, (_, d) => {
      s.audioLoads++;
      s.audioPdtMissing += d.details.fragments.filter((f) => f.programDateTime === null).length;
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
      if (d.part) s.partLoads++;
      else s.fragLoads++;
    });
    hls.on(Hls.Events.FRAG_CHANGED, (_, d) => {
      const f = d.frag;
      s.played.push({ sn: f.sn, cc: f.cc, pdt: f.programDateTime, at: video().currentTime });
      if (s.played.length > 500) s.played.shift();
    });
  }

  function hlsLatency() {
    const hls = I.state.hls;
    const pd = hls.playingDate;
    return {
      edge: hls.latency, // behind the playlist's live edge
      pdt: pd ? (Date.now() - pd.getTime()) / 1000 : null, // behind the wall clock
      target: hls.targetLatency,
    };
  }

  function latencyVerdict(lat, opt) {
    if (lat === null || !Number.isFinite(lat)) return null;
    if (lat > opt.maxLatency) return `latency ${f2(lat)} s is over the limit of ${opt.maxLatency} s`;
    if (lat < -1) return `the playing position's date is ${f2(-lat)} s in the future: the program date-times are wrong`;
    return null;
  }

  /* live-hls-play: hls.js plays the live master playlist. */
  async function hlsLive(url, opt) {
    if (typeof Hls === 'undefined') return { status: 'fail', reason: 'hls.js did not load' };
    if (!Hls.isSupported()) return { status: 'fail', reason: 'hls.js says MediaSource is not supported in this browser' };
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const s = hlsLiveState;
    // opt.hlsConfig: low latency ({ lowLatencyMode: true }: hls.js then
    // starts PART-HOLD-BACK behind the edge and loads parts) or not
    const config = opt.hlsConfig || { liveSyncDurationCount: 3 };
    let r = await I.hlsSetup(url, left(), { config, onCreate: hlsOnCreate });
    const nonFatal = I.state.hlsNonFatal;
    if (r) return { status: 'fail', reason: r, details: { nonFatal } };
    r = await waitFor(() => s.loads > 0, left(), 'the first media playlist', I.hlsFatal);
    if (r) return { status: 'fail', reason: r, details: { nonFatal } };
    if (s.live !== true) {
      return { status: 'fail', reason: 'hls.js sees a finished playlist (EXT-X-ENDLIST), not a live one', details: { nonFatal } };
    }
    startPlay();
    const fatal = () => I.hlsFatal() || (s.endList ? 'the playlist ended (EXT-X-ENDLIST) while playing' : null);
    const adv = await waitForAdvance(opt.minAdvance, left(), fatal,
      () => video().currentTime > 0 || !video().paused, 'playback to start');
    const lat = hlsLatency();
    const hls = I.state.hls;
    const details = {
      figures: `latency ${f2(lat.pdt)} s behind the wall clock (program date-time), ${f2(lat.edge)} s behind the playlist edge, ` +
        `hls.js target ${f2(lat.target)} s, lowLatencyMode ${hls.lowLatencyMode}`,
      video: videoState(),
      playlistLoads: s.loads,
      nonFatal,
    };
    if (adv.reason) return { status: 'fail', reason: adv.reason, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    details.info = [`${s.loads} media playlist loads`];
    const bad = latencyVerdict(lat.pdt !== null ? lat.pdt : lat.edge, opt);
    if (bad) return { status: 'fail', reason: bad, details };
    if (opt.lowLatency && !s.partsListed) {
      return { status: 'fail', reason: 'hls.js found no EXT-X-PART in the media playlist: the channel is not low latency', details };
    }
    if (nonFatal.length) details.info.push(`warning: ${nonFatal.length} non-fatal hls.js error(s): ${nonFatal[0]}`);
    return { status: 'pass', details };
  }

  /* live-hls-pdt: every fragment hls.js saw carries a program date-time,
   * the dates increase with the sequence number, and a fragment keeps its
   * date from one playlist load to the next. */
  function hlsPdt(opt) {
    const s = hlsLiveState;
    const frags = [...s.frags.values()].sort((a, b) => a.sn - b.sn);
    const details = { fragments: frags.length, playlistLoads: s.loads };
    if (frags.length < 2) return { status: 'fail', reason: `only ${frags.length} fragment(s) seen`, details };
    const missing = frags.filter((f) => f.pdt === null || f.pdts.size === 0).map((f) => f.sn);
    if (missing.length) {
      return { status: 'fail', reason: `fragments without a program date-time: sn ${missing.slice(0, 10).join(' ')}`, details };
    }
    const played = s.played.filter((p) => p.pdt === null).map((p) => p.sn);
    if (played.length) return { status: 'fail', reason: `played fragments without a date: sn ${played.join(' ')}`, details };
    if (s.audioPdtMissing) {
      return { status: 'fail', reason: `${s.audioPdtMissing} audio playlist fragment(s) without a program date-time`, details };
    }
    let maxJump = 0;
    let maxMove = 0;
    for (const f of frags) {
      const v = [...f.pdts];
      maxMove = Math.max(maxMove, (Math.max(...v) - Math.min(...v)) / 1000);
    }
    for (let i = 1; i < frags.length; i++) {
      const a = frags[i - 1];
      const b = frags[i];
      if (!(b.pdt > a.pdt)) {
        return { status: 'fail', reason: `the date does not increase: sn ${a.sn} ${new Date(a.pdt).toISOString()}, sn ${b.sn} ${new Date(b.pdt).toISOString()}`, details };
      }
      // within one continuity run, a fragment starts where the last ended
      if (b.sn === a.sn + 1 && b.cc === a.cc) maxJump = Math.max(maxJump, Math.abs((b.pdt - a.pdt) / 1000 - a.duration));
    }
    const first = frags[0];
    const last = frags[frags.length - 1];
    details.info = [`dates: sn ${first.sn} ${new Date(first.pdt).toISOString()} .. sn ${last.sn} ${new Date(last.pdt).toISOString()}; ` +
      `largest gap against EXTINF ${maxJump.toFixed(3)} s, largest change of one fragment's date between loads ${maxMove.toFixed(3)} s`];
    if (maxMove > opt.pdtTolerance) {
      return { status: 'fail', reason: `a fragment's program date-time moved by ${maxMove.toFixed(3)} s between playlist loads (tolerance ${opt.pdtTolerance} s)`, details };
    }
    if (maxJump > opt.pdtTolerance) {
      return { status: 'fail', reason: `consecutive dates differ from the fragment duration by up to ${maxJump.toFixed(3)} s (tolerance ${opt.pdtTolerance} s)`, details };
    }
    return { status: 'pass', details };
  }

  /* ll-hls-parts: hls.js in low-latency mode really loaded parts: its
   * FRAG_LOADED events name parts, and the page requested part files
   * (segment_N.P.m4s), seen in the browser's resource timing. Notes
   * whether it used blocking playlist reloads and delta updates. */
  function hlsParts() {
    const s = hlsLiveState;
    const urls = performance.getEntriesByType('resource').map((e) => e.name);
    const count = (re) => urls.filter((u) => re.test(u)).length;
    const partReqs = count(/\/segment_\d+\.\d+\.m4s(\?|$)/);
    const segReqs = count(/\/segment_\d+\.m4s(\?|$)/);
    const blocking = count(/\.m3u8\?(.*&)?_HLS_msn=/);
    const skips = count(/\.m3u8\?(.*&)?_HLS_skip=/);
    const details = {
      figures: `${s.partLoads} part loads and ${s.fragLoads} whole-segment loads (hls.js FRAG_LOADED); the page asked for ` +
        `${partReqs} part files and ${segReqs} segment files, ${blocking} blocking playlist reloads (_HLS_msn), ` +
        `${skips} delta updates (_HLS_skip; at most ${s.skipped} segments skipped); ${s.loads} media playlist loads`,
      canBlockReload: s.canBlockReload,
      partsListed: s.partsListed,
    };
    if (!s.partsListed) return { status: 'fail', reason: 'the last media playlist hls.js loaded lists no EXT-X-PART', details };
    if (!s.partLoads) return { status: 'fail', reason: 'hls.js loaded no part (every FRAG_LOADED was a whole segment): it did not play in low-latency mode', details };
    if (!partReqs) return { status: 'fail', reason: 'hls.js reports part loads, but the page requested no segment_N.P.m4s', details };
    return { status: 'pass', details };
  }

  /* Reconnect checks: arm() notes where the stream is; the check then waits
   * for the break (a new continuity / a new period) to reach playback and
   * for playback to go on minAdvance seconds after it. */
  const hlsArm = { cc: null, sn: null };
  function hlsReconnectArm() {
    const s = hlsLiveState;
    const hls = I.state.hls;
    if (!hls) return 'hls.js is not running';
    if (I.hlsFatal()) return I.hlsFatal();
    hlsArm.cc = Math.max(...[...s.frags.values()].map((f) => f.cc));
    hlsArm.sn = Math.max(...s.frags.keys());
    note(`reconnect armed at cc ${hlsArm.cc} sn ${hlsArm.sn}`);
    return null;
  }

  async function hlsReconnect(opt) {
    const s = hlsLiveState;
    const v = video();
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const fatal = () => I.hlsFatal() || (s.endList ? 'the playlist ended (EXT-X-ENDLIST): the run ended at the break instead of going on' : null);
    const after = () => s.played.find((p) => p.cc > hlsArm.cc);
    const lat = hlsLatency(); // before the break
    let r = await waitFor(() => {
      if (v.ended) throw new Error(`the media ended at ${v.currentTime.toFixed(2)} s`);
      if (v.paused && !v.seeking) startPlay();
      return !!after();
    }, left(), () => {
      const seen = [...s.frags.values()].some((f) => f.cc > hlsArm.cc);
      return seen ? 'a fragment after the discontinuity to play' : `a discontinuity (a fragment with continuity > ${hlsArm.cc}) in the playlist`;
    }, fatal);
    const details = { video: videoState(), playlistLoads: s.loads, played: s.played.slice(-12).map((p) => `sn${p.sn}/cc${p.cc}@${f2(p.at)}`).join(' ') };
    if (r) return { status: 'fail', reason: r, details };
    const brk = after();
    const before = [...s.frags.values()].filter((f) => f.cc <= hlsArm.cc).sort((a, b) => b.sn - a.sn)[0];
    details.info = [`break: sn ${brk.sn} starts continuity ${brk.cc} at ${f2(brk.at)} s (date ${brk.pdt ? new Date(brk.pdt).toISOString() : 'none'})`];
    const adv = await waitForAdvance(opt.minAdvance, left(), fatal, () => true, 'playback after the break');
    details.video = videoState();
    const lat2 = hlsLatency();
    details.info.push(`latency after the break: ${f2(lat2.pdt)} s behind the wall clock, ${f2(lat2.edge)} s behind the edge (before it: ${f2(lat.pdt)} s)`);
    if (adv.reason) return { status: 'fail', reason: `after the break: ${adv.reason}`, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    if (before && brk.pdt !== null && before.pdt !== null && brk.pdt < before.pdt + before.duration * 1000 - 500) {
      return { status: 'fail', reason: `the date goes back at the break: sn ${before.sn} ends ${new Date(before.pdt + before.duration * 1000).toISOString()}, sn ${brk.sn} starts ${new Date(brk.pdt).toISOString()}`, details };
    }
    return { status: 'pass', details };
  }

  /* ---------------- dash.js ---------------- */

  const dashState = {
    player: null,
    error: null, // first ERROR / PLAYBACK_ERROR event
    periods: [], // Period ids of the last MPD
    maxPeriods: 0,
    switches: [], // PERIOD_SWITCH_COMPLETED: { id, at }
    manifests: 0,
    utcTiming: [], // the MPD's UTCTiming schemes
    static: false, // the MPD turned static
    last: null, // { type, mediaPresentationDuration, minimumUpdatePeriod } of the last MPD
    serviceLatency: null, // ServiceDescription Latency@target of the last MPD, seconds
    serviceLatencyMax: null, // and its Latency@max
  };

  function dashErrorText(e) {
    if (!e) return 'unknown error';
    const err = e.error;
    if (err && typeof err === 'object') {
      const msg = `dash.js error ${err.code !== undefined ? err.code + ' ' : ''}${err.message || ''}`;
      const url = err.data && (err.data.url || (err.data.request && err.data.request.url));
      return (url ? `${msg} ${url}` : msg).replaceAll(location.origin, '');
    }
    return `dash.js error ${String(err)}${e.event && e.event.message ? ': ' + e.event.message : ''}`;
  }

  const dashFatal = () => (dashState.error ? `dash.js reported an error: ${dashState.error}` : null);

  /* live-dash-play: dash.js plays the dynamic MPD. */
  async function dashLive(url, opt) {
    if (typeof dashjs === 'undefined') return { status: 'fail', reason: 'dash.js did not load' };
    const s = dashState;
    const player = dashjs.MediaPlayer().create();
    s.player = player;
    const ev = dashjs.MediaPlayer.events;
    player.updateSettings({
      debug: { logLevel: 3 }, // warnings (on the console with --verbose)
      streaming: {
        // Low latency (dash.js 5.2 settings): streaming.delay is left
        // unset (NaN), so the MPD's ServiceDescription Latency@target sets
        // the target delay; catch-up (playback rate within the
        // ServiceDescription's PlaybackRate) holds it there. dash.js turns
        // its low-latency mode on by itself for a SegmentTemplate with
        // availabilityTimeComplete="false".
        ...(opt.lowLatency ? { liveCatchup: { enabled: true, mode: 'liveCatchupModeDefault' } } : {}),
        // short, bounded retries: the origin is local, a failure is real
        retryAttempts: { MPD: 2, MediaSegment: 2, InitializationSegment: 2 },
        // Used only when the MPD names no UTCTiming: dash.js's own default
        // is time.akamai.com, out of reach here; the test page's server
        // gives the time of this machine, the daemon's clock too.
        utcSynchronization: {
          defaultTimingSource: { scheme: 'urn:mpeg:dash:utc:http-iso:2014', value: `${location.origin}/time` },
        },
      },
    });
    player.on(ev.ERROR, (e) => {
      const msg = dashErrorText(e);
      note(`dash.js ERROR ${msg}`);
      if (!s.error) s.error = msg;
    });
    player.on(ev.PLAYBACK_ERROR, (e) => {
      const msg = `playback error ${e.error && e.error.code !== undefined ? 'MediaError code ' + e.error.code : ''} ${e.error && e.error.message ? e.error.message : ''}`.trim();
      note(`dash.js ${msg}`);
      if (!s.error) s.error = msg;
    });
    player.on(ev.MANIFEST_LOADED, (e) => {
      const m = e.data || {};
      const periods = Array.isArray(m.Period) ? m.Period : m.Period ? [m.Period] : [];
      s.manifests++;
      s.periods = periods.map((p, i) => (p.id !== undefined ? String(p.id) : `#${i}`));
      s.maxPeriods = Math.max(s.maxPeriods, periods.length);
      if (m.type === 'static') s.static = true;
      s.last = { type: m.type, mediaPresentationDuration: m.mediaPresentationDuration, minimumUpdatePeriod: m.minimumUpdatePeriod };
      s.utcTiming = m.UTCTiming ? (Array.isArray(m.UTCTiming) ? m.UTCTiming : [m.UTCTiming]).map((u) => u.schemeIdUri) : [];
      const sd = Array.isArray(m.ServiceDescription) ? m.ServiceDescription[0] : m.ServiceDescription;
      const l = sd && sd.Latency && (Array.isArray(sd.Latency) ? sd.Latency[0] : sd.Latency);
      const secs = (v) => (l && Number.isFinite(Number(v)) && v !== null && v !== undefined ? Number(v) / 1000 : null);
      s.serviceLatency = secs(l && l.target);
      try {
        s.chunkedMpd = /"availabilityTimeComplete":(false|"false")/.test(JSON.stringify(m));
      } catch (err) {
        s.chunkedMpd = null; // not serialisable: the mode check then fails, saying so
      }
      s.serviceLatencyMax = secs(l && l.max);
      note(`dash.js MANIFEST_LOADED type=${m.type} periods=${s.periods.join(',')}`);
    });
    player.on(ev.PERIOD_SWITCH_COMPLETED, (e) => {
      const id = e.toStreamInfo ? String(e.toStreamInfo.id) : '?';
      s.switches.push({ id, at: video().currentTime });
      note(`dash.js PERIOD_SWITCH_COMPLETED to ${id} at ${video().currentTime.toFixed(2)}`);
    });
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    // dash.js plays the element itself (autoPlay), once its listeners are
    // on: when the element's own autoplay (or a video.play() from here)
    // won that race, dash.js never saw 'play', so no PLAYBACK_STARTED, and
    // its ManifestUpdater, which starts refreshing the MPD on that event,
    // never reloaded it: playback stalled at the first MPD's last segment
    // (about one run in three). Hence no element autoplay, and play()
    // through dash.js after STREAM_INITIALIZED if it has not started.
    let initialized = false;
    player.on(ev.STREAM_INITIALIZED, () => { initialized = true; });
    video().autoplay = false;
    player.initialize(video(), url, true);
    let r = await waitFor(() => s.manifests > 0 && player.isReady() && initialized, left(), 'the MPD to load', dashFatal);
    if (r) return { status: 'fail', reason: r };
    if (player.isPaused()) player.play();
    const adv = await waitForAdvance(opt.minAdvance, left(), dashFatal,
      () => video().currentTime > 0 || !video().paused, 'playback to start');
    const dynamic = player.isDynamic();
    const lat = player.getCurrentLiveLatency();
    const target = player.getTargetLiveDelay();
    const lowLatency = player.getLowLatencyModeEnabled();
    const details = {
      figures: `latency ${f2(lat)} s (dash.js getCurrentLiveLatency: the wall clock against availabilityStartTime + the playhead), ` +
        `target ${f2(target)} s (ServiceDescription ${s.serviceLatency === null ? 'none' : `${f2(s.serviceLatency)} s, max ${f2(s.serviceLatencyMax)} s`}), ` +
        `low-latency mode ${lowLatency}, playback rate ${f2(video().playbackRate)}`,
      video: videoState(),
      periods: s.periods.join(' '),
      mpdLoads: s.manifests,
    };
    if (adv.reason) return { status: 'fail', reason: adv.reason, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    details.info = [`${s.manifests} MPD loads, period(s) ${s.periods.join(' ')}, ` +
      (s.utcTiming.length ? `UTCTiming ${s.utcTiming.join(' ')}` : 'no UTCTiming in the MPD (dash.js took the time from the test page server)')];
    if (!dynamic) return { status: 'fail', reason: 'dash.js says the MPD is not dynamic (isDynamic() false)', details };
    if (opt.lowLatency) {
      // dash.js's low-latency mode (chunked fetches) follows the MPD's
      // availabilityTimeComplete="false", which encbox states only once
      // its origin streams a segment being written (not built yet): until
      // then dash.js plays whole segments toward the ServiceDescription's
      // latency target, and must not claim chunked mode.
      if (lowLatency !== s.chunkedMpd) {
        return { status: 'fail', reason: `dash.js low-latency mode ${lowLatency}, but the MPD ${s.chunkedMpd ? 'offers' : 'does not offer'} segments while written (availabilityTimeComplete="false")`, details };
      }
      if (s.serviceLatency === null) return { status: 'fail', reason: 'the MPD has no ServiceDescription with a Latency@target', details };
      if (!(Math.abs(target - s.serviceLatency) < 0.05)) {
        return { status: 'fail', reason: `dash.js targets ${f2(target)} s, not the ServiceDescription's ${f2(s.serviceLatency)} s`, details };
      }
    }
    // low latency: the MPD's own bound (Latency@max), where it states one
    const bound = opt.lowLatency && s.serviceLatencyMax ? { ...opt, maxLatency: s.serviceLatencyMax } : opt;
    const bad = latencyVerdict(lat, bound);
    if (bad) return { status: 'fail', reason: `${bad}${bound !== opt ? ' (the ServiceDescription\'s Latency@max)' : ''}`, details };
    return { status: 'pass', details };
  }

  const dashArm = { period: null, periods: 0 };
  function dashReconnectArm() {
    const s = dashState;
    if (!s.player) return 'dash.js is not running';
    if (s.error) return dashFatal();
    let id = null;
    try {
      id = s.player.getActiveStream().getStreamInfo().id;
    } catch (_) { /* fall back to the MPD's last period */ }
    dashArm.period = id !== null && id !== undefined ? String(id) : s.periods[s.periods.length - 1];
    dashArm.periods = s.periods.length;
    note(`reconnect armed in period ${dashArm.period} (${dashArm.periods} in the MPD)`);
    return null;
  }

  async function dashReconnect(opt) {
    const s = dashState;
    const v = video();
    const deadline = performance.now() + opt.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    const fatal = () => dashFatal() || (s.static ? 'the MPD turned static: the run ended at the break instead of going on' : null);
    const after = () => s.switches.find((w) => w.id !== dashArm.period);
    let r = await waitFor(() => {
      if (v.ended) throw new Error(`the media ended at ${v.currentTime.toFixed(2)} s`);
      if (v.paused && !v.seeking) startPlay();
      return !!after();
    }, left(), () => (s.maxPeriods > dashArm.periods || s.periods.some((p) => p !== dashArm.period)
      ? 'dash.js to switch to the new period' : `a new Period in the MPD (still ${s.periods.join(' ')})`), fatal);
    const details = { video: videoState(), periods: s.periods.join(' '), switches: s.switches.map((w) => `${w.id}@${f2(w.at)}`).join(' ') };
    if (r) return { status: 'fail', reason: r, details };
    const brk = after();
    details.info = [`break: period ${brk.id} from ${f2(brk.at)} s (MPD periods: ${s.periods.join(' ')})`];
    const adv = await waitForAdvance(opt.minAdvance, left(), fatal, () => true, 'playback after the break');
    details.video = videoState();
    details.info.push(`latency after the break: ${f2(s.player.getCurrentLiveLatency())} s`);
    if (adv.reason) return { status: 'fail', reason: `after the break: ${adv.reason}`, details };
    details.advanced = `${adv.t0.toFixed(2)} -> ${adv.t1.toFixed(2)} s`;
    return { status: 'pass', details };
  }

  /* ---------------- the end of the run ---------------- */

  /* live-*-end: the publisher has left; the player sees the end (hls.js:
   * EXT-X-ENDLIST; dash.js: the MPD turning static, DASH-IF IOP 4.6.4) and
   * plays to 'ended'. */
  /* The static MPD's media is all delivered and played: it has several
   * Periods, the buffer reaches its mediaPresentationDuration (to a frame)
   * and the playhead is within 0.6 s of the buffer's end. */
  function dashEndDelivered(v) {
    const l = dashState.last;
    if (!dashState.static || !l || dashState.periods.length < 2 || !(l.mediaPresentationDuration > 0)) return false;
    const b = v.buffered;
    if (!b.length) return false;
    const end = b.end(b.length - 1);
    return end >= l.mediaPresentationDuration - 0.05 && v.currentTime >= end - 0.6;
  }

  async function liveEnd(kind, opt) {
    const v = video();
    const seenEnd = () => (kind === 'hls' ? hlsLiveState.endList : dashState.static);
    const mpd = () => {
      const l = dashState.last;
      return l ? `the last MPD: type=${l.type}, mediaPresentationDuration ${l.mediaPresentationDuration !== undefined ? l.mediaPresentationDuration + ' s' : 'none'}, minimumUpdatePeriod ${l.minimumUpdatePeriod !== undefined ? l.minimumUpdatePeriod + ' s' : 'none'}` : 'no MPD';
    };
    const fatal = kind === 'hls' ? I.hlsFatal : dashFatal;
    const t0 = performance.now();
    const r = await waitFor(() => {
      if (v.paused && !v.ended && !v.seeking) startPlay();
      return v.ended;
    }, opt.timeoutMs, () => `'ended' (stuck at ${v.currentTime.toFixed(2)} s, buffered ${videoState().buffered}, readyState ${v.readyState}; ` +
      (kind === 'hls' ? (seenEnd() ? 'EXT-X-ENDLIST seen' : 'no EXT-X-ENDLIST seen') : (seenEnd() ? 'the MPD turned static' : `the MPD never turned static, ${mpd()}`)) + ')', fatal);
    const details = {
      info: [`${r ? 'not ended' : 'ended'} at ${v.currentTime.toFixed(2)} s, ${((performance.now() - t0) / 1000).toFixed(1)} s after the check began; ` +
        (kind === 'hls' ? `EXT-X-ENDLIST ${seenEnd() ? 'seen' : 'not seen'}` : mpd())],
      video: videoState(),
    };
    if (r && kind === 'dash' && dashEndDelivered(v)) {
      /* dash.js loses its end-of-media state when the MPD that turns
       * static has more than one Period (Dash-Industry-Forum/dash.js#4143,
       * open): it never calls endOfStream, so Chromium holds the playhead
       * short of the buffered end. What encbox owes the player is checked
       * here instead: a static MPD whose every second is buffered, played
       * up to the last half second. A single-Period end must still fire
       * 'ended'. */
      details.info.push(`dash.js did not signal the end of a ${dashState.periods.length}-Period MPD (dash.js#4143); ` +
        `buffered to ${videoState().buffered.split(' ').pop()} of ${dashState.last.mediaPresentationDuration} s, played to ${v.currentTime.toFixed(2)} s`);
      return { status: 'pass', details };
    }
    if (r) return { status: 'fail', reason: r, details };
    if (!seenEnd()) {
      return { status: 'fail', reason: kind === 'hls' ? 'the media ended without an EXT-X-ENDLIST' : `the media ended but the MPD never turned static (${mpd()})`, details };
    }
    return { status: 'pass', details };
  }

  /* ---------------- glass-to-glass latency, sampled (benchmarks/latency.mjs) ---------------- */

  /* The age of the picture at the playhead: the wall clock now minus the
   * date of the frame being shown. hls.js: hls.playingDate, the playing
   * fragment's PROGRAM-DATE-TIME plus the playhead's offset into it.
   * dash.js: getCurrentLiveLatency(), now (UTCTiming-corrected) minus
   * availabilityStartTime plus the playhead; encbox anchors
   * availabilityStartTime at the same ingest clock as PROGRAM-DATE-TIME,
   * so both are measured from the moment a frame arrived. */
  function glassToGlass(kind) {
    if (kind === 'hls') {
      const hls = I.state.hls;
      const pd = hls && hls.playingDate;
      return pd ? (Date.now() - pd.getTime()) / 1000 : null;
    }
    const p = dashState.player;
    const lat = p ? p.getCurrentLiveLatency() : NaN;
    return Number.isFinite(lat) && lat > 0 ? lat : null;
  }

  let monitor = null;

  /* Samples glassToGlass() once a second and counts stalls ('waiting'
   * events, and how long each lasted until 'playing') until monitorStop(). */
  function monitorStart(kind) {
    if (monitor) monitorStop();
    const v = video();
    const m = { kind, v, samples: [], stalls: 0, stallMs: 0, waitingSince: null, t0: performance.now() };
    m.onWaiting = () => {
      if (m.waitingSince !== null) return;
      m.stalls++;
      m.waitingSince = performance.now();
      note(`monitor: stall ${m.stalls} at ${v.currentTime.toFixed(2)} s`);
    };
    m.onPlaying = () => {
      if (m.waitingSince === null) return;
      m.stallMs += performance.now() - m.waitingSince;
      m.waitingSince = null;
    };
    v.addEventListener('waiting', m.onWaiting);
    v.addEventListener('playing', m.onPlaying);
    m.timer = setInterval(() => {
      if (v.paused && !v.ended && !v.seeking) startPlay();
      const ahead = v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0;
      m.samples.push({ t: Date.now(), glass: glassToGlass(kind), rate: +v.playbackRate.toFixed(3), ahead: +ahead.toFixed(3), waiting: m.waitingSince !== null });
    }, 1000);
    monitor = m;
    return null;
  }

  /* Where the monitor is: { samples, last (sample), stalls }, or null. */
  function monitorPeek() {
    const m = monitor;
    return m ? { samples: m.samples.length, last: m.samples[m.samples.length - 1] || null, stalls: m.stalls } : null;
  }

  function monitorStop() {
    const m = monitor;
    if (!m) return null;
    monitor = null;
    clearInterval(m.timer);
    m.v.removeEventListener('waiting', m.onWaiting);
    m.v.removeEventListener('playing', m.onPlaying);
    if (m.waitingSince !== null) m.stallMs += performance.now() - m.waitingSince;
    const fatal = m.kind === 'hls' ? I.hlsFatal() : dashFatal();
    return {
      samples: m.samples,
      stalls: m.stalls,
      stallSeconds: +(m.stallMs / 1000).toFixed(3),
      seconds: +((performance.now() - m.t0) / 1000).toFixed(3),
      fatal: fatal || I.state.videoError || null,
      video: videoState(),
    };
  }

  window.EBL = {
    hlsLive, hlsPdt, hlsParts, hlsReconnectArm, hlsReconnect,
    dashLive, dashReconnectArm, dashReconnect,
    liveEnd,
    monitorStart, monitorPeek, monitorStop,
  };
})();
