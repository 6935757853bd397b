// encbox's web console: served by `encbox serve` at /, no build step.
// It speaks the box's own API with the token typed at sign-in (kept in
// this tab's sessionStorage), and takes its updates from the box's event
// socket (GET /v1/events, a WebSocket): nothing reloads the page.
'use strict';

const KEY = 'encbox.token';
const state = { token: sessionStorage.getItem(KEY), jobs: new Map(), ws: null, wsTimer: null,
  hls: null, shaka: null, view: null, jobId: null, job: null, beacon: null, cues: [],
  analyticsTimer: null, live: null, liveTimer: null, liveChannel: null, recordingId: null,
  sync: null, chatWs: null, chatTimer: null, chatDelay: 1000, moderator: false };
const $ = (id) => document.getElementById(id);

// ---- the API ----------------------------------------------------------------

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: Object.assign({ Authorization: `Bearer ${state.token}` },
      body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status === 401) {
    signOut('The box refused the token (401): sign in again with a token from api.token_files.');
    throw new Error('unauthorized');
  }
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((json && json.error && json.error.message) || `HTTP ${r.status}`);
  return json;
}

// ---- sign-in ----------------------------------------------------------------

async function signIn(token) {
  $('signin-error').textContent = '';
  let r;
  try {
    r = await fetch('/v1/jobs?limit=1', { headers: { Authorization: `Bearer ${token}` } });
  } catch (e) {
    $('signin-error').textContent = `The box did not answer: ${e.message}`;
    return;
  }
  if (r.status === 401) {
    $('signin-error').textContent =
      'That token was refused: it is not one of the box\'s API tokens (api.token_files).';
    return;
  }
  if (!r.ok) {
    $('signin-error').textContent = `The box answered HTTP ${r.status}.`;
    return;
  }
  state.token = token;
  sessionStorage.setItem(KEY, token);
  start();
}

function signOut(why) {
  sessionStorage.removeItem(KEY);
  state.token = null;
  if (state.ws) state.ws.close();
  state.ws = null;
  clearTimeout(state.wsTimer);
  $('nav').hidden = true;
  show('signin');
  $('signin-error').textContent = why || '';
  $('token').value = '';
  $('token').focus();
}

// ---- views -------------------------------------------------------------------

function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== view;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.view === view || (view === 'job' && a.dataset.view === 'jobs'));
  if (view !== 'job') stopPlayer();
  if (view !== 'channels') {
    stopLive();
    $('live').hidden = true;
  }
  state.view = view;
}

function route() {
  if (!state.token) return show('signin');
  const [, view, id] = (location.hash || '#/jobs').split('/');
  if (view === 'job' && id) return openJob(decodeURIComponent(id));
  if (view === 'devices') return loadDevices();
  if (view === 'channels') return loadChannels();
  show('jobs');
  loadJobs();
}

async function start() {
  $('nav').hidden = false;
  connectEvents();
  try {
    const b = await api('GET', '/v1/boxes');
    $('box').textContent = `box ${b.this_box}`;
  } catch { /* a box without the rack endpoint still works */ }
  route();
}

// ---- jobs --------------------------------------------------------------------

const pct = (j) => (j.state === 'succeeded' ? 100 : (j.progress && j.progress.percent) || 0);

function jobNotes(j) {
  const n = [];
  if (j.fell_back) n.push(`fell back to software: ${j.backend_note || 'see the log'}`);
  else if (j.backend_note) n.push(j.backend_note);
  if (j.waiting_for) n.push(`waiting for ${j.waiting_for}`);
  if (j.error) n.push(`error: ${j.error}`);
  return n.join('; ');
}

function jobRow(j) {
  const tr = document.createElement('tr');
  tr.className = 'clickable';
  tr.dataset.id = j.id;
  tr.onclick = () => { location.hash = `#/job/${encodeURIComponent(j.id)}`; };
  const p = pct(j);
  const rungs = (j.progress && j.progress.rungs) || [];
  tr.innerHTML = '<td class="id"></td><td class="video"></td><td class="state"></td>' +
    '<td><span class="bar"><span></span></span> <span class="percent"></span>' +
    '<div class="rungbars"></div></td><td class="backend"></td><td class="boxname"></td>' +
    '<td class="notes"></td>';
  tr.querySelector('.id').textContent = j.id;
  tr.querySelector('.video').textContent = j.video_id || '';
  tr.querySelector('.state').textContent = j.state;
  tr.querySelector('.bar > span').style.width = `${p}%`;
  tr.querySelector('.percent').textContent = `${p.toFixed(0)}%`;
  tr.querySelector('.rungbars').textContent =
    rungs.map((r) => `${r.name} ${r.frames} frames`).join(' · ');
  tr.querySelector('.backend').textContent = j.backend_used || j.backend || '';
  tr.querySelector('.boxname').textContent = j.box || '';
  tr.querySelector('.notes').textContent = jobNotes(j);
  if (j.error) tr.querySelector('.notes').classList.add('error');
  return tr;
}

function renderJobs() {
  const tbody = $('job-table').querySelector('tbody');
  const jobs = [...state.jobs.values()].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
  tbody.replaceChildren(...jobs.map(jobRow));
}

async function loadJobs() {
  try {
    const r = await api('GET', '/v1/jobs?limit=100');
    state.jobs.clear();
    for (const j of r.jobs) state.jobs.set(j.id, j);
    renderJobs();
  } catch (e) { if (e.message !== 'unauthorized') $('upload-status').textContent = e.message; }
}

function uploadAndSubmit(ev) {
  ev.preventDefault();
  const file = $('upload-file').files[0];
  if (!file) { $('upload-status').textContent = 'Choose a file first.'; return; }
  const bar = $('upload-progress');
  bar.hidden = false;
  bar.value = 0;
  $('upload-status').textContent = 'uploading…';
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/v1/uploads');
  xhr.setRequestHeader('Authorization', `Bearer ${state.token}`);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
  xhr.onerror = () => { $('upload-status').textContent = 'The upload failed (network).'; };
  xhr.onload = async () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status !== 201) {
      $('upload-status').textContent = `The upload was refused: ${
        (body && body.error && body.error.message) || `HTTP ${xhr.status}`}`;
      return;
    }
    bar.value = 100;
    const req = { input: body.input };
    const vid = $('upload-video-id').value.trim();
    if (vid) req.video_id = vid;
    try {
      const job = await api('POST', '/v1/jobs', req);
      state.jobs.set(job.id, job);
      renderJobs();
      $('upload-status').textContent = `job ${job.id} queued`;
    } catch (e) {
      $('upload-status').textContent = `The job was refused: ${e.message}`;
    }
  };
  xhr.send(file);
}

// ---- one job: its figures and its player --------------------------------------

function stopPlayer() {
  if (state.beacon) state.beacon.stop();
  state.beacon = null;
  if (state.hls) state.hls.destroy();
  state.hls = null;
  if (state.shaka) state.shaka.destroy();
  state.shaka = null;
  clearInterval(state.analyticsTimer);
  state.analyticsTimer = null;
}

function renderJobFacts(j) {
  const facts = [
    ['State', j.state], ['Progress', `${pct(j).toFixed(0)}%`], ['Video', j.video_id],
    ['Backend', j.backend_used || j.backend], ['Box', j.box], ['Notes', jobNotes(j)],
    ['HLS', j.outputs && j.outputs.hls], ['DASH', j.outputs && j.outputs.dash],
  ];
  $('job-facts').replaceChildren(...facts.filter(([, v]) => v).flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    return [dt, dd];
  }));
  $('rung-table').querySelector('tbody').replaceChildren(...(j.rungs || []).map((r) => {
    const tr = document.createElement('tr');
    for (const v of [r.name, `${r.width}x${r.height}`, r.kbps ? `${r.kbps} kb/s` : '', r.frames,
      r.segments, r.encode_fps])
      tr.appendChild(document.createElement('td')).textContent = String(v);
    return tr;
  }));
}

async function openJob(id) {
  show('job');
  state.jobId = id;
  $('job-id').textContent = id;
  $('player-status').textContent = '';
  let j;
  try { j = await api('GET', `/v1/jobs/${encodeURIComponent(id)}`); } catch (e) {
    $('player-status').textContent = e.message;
    return;
  }
  state.jobs.set(j.id, j);
  renderJobFacts(j);
  if (j.state === 'succeeded' && j.outputs && j.outputs.hls) play(j);
  else $('player-status').textContent = 'The player starts when the job has succeeded.';
}

// The video's folder from its HLS URL (plain /videos/<id>/ or a signed
// /s/<expiry>/<hmac>/videos/<id>/): the thumbnails are beside.
const videoBase = (hlsUrl) => hlsUrl.slice(0, hlsUrl.lastIndexOf('/hls/') + 1);

function play(j) {
  stopPlayer();
  state.job = j;
  const video = $('player');
  const format = $('format-picker').value;
  $('rung-now').textContent = '';
  delete $('rung-now').dataset.level;
  if (format === 'dash') playDash(j, video);
  else playHls(j, video);
  loadThumbnails(videoBase(j.outputs.hls));
  loadAnalytics(j.video_id);
  state.analyticsTimer = setInterval(() => loadAnalytics(j.video_id), 5000);
}

function playHls(j, video) {
  const picker = $('rung-picker');
  if (typeof Hls === 'undefined' || !Hls.isSupported()) {
    $('player-status').textContent = 'hls.js is not installed with this box (npm ci in api/console).';
    return;
  }
  const hls = new Hls();
  state.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    picker.replaceChildren(new Option('auto', '-1'), ...hls.levels.map((l, i) =>
      new Option(`${l.height}p · ${Math.round(l.bitrate / 1000)} kb/s`, String(i))));
    video.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
    const l = hls.levels[d.level];
    $('rung-now').textContent = `playing ${l.height}p`;
    $('rung-now').dataset.level = String(d.level);
  });
  hls.on(Hls.Events.ERROR, (_, d) => {
    if (d.fatal) $('player-status').textContent = `The player stopped: ${d.details}`;
  });
  picker.onchange = () => { hls.currentLevel = Number(picker.value); };
  hls.loadSource(j.outputs.hls);
  hls.attachMedia(video);
  state.beacon = beacons(hls, video, j.video_id);
}

async function playDash(j, video) {
  const picker = $('rung-picker');
  if (!j.outputs.dash) {
    $('player-status').textContent = 'This job wrote no DASH manifest (MPEG-TS or AES-128).';
    return;
  }
  if (typeof shaka === 'undefined' || !shaka.Player.isBrowserSupported()) {
    $('player-status').textContent = 'Shaka Player is not installed with this box (npm ci in api/console).';
    return;
  }
  const player = new shaka.Player();
  state.shaka = player;
  const tracks = () => player.getVariantTracks().filter((t) => t.height)
    .sort((a, b) => a.bandwidth - b.bandwidth);
  player.addEventListener('error', (e) => {
    $('player-status').textContent = `The player stopped: Shaka error ${e.detail.code}`;
  });
  player.addEventListener('variantchanged', () => {
    const t = player.getVariantTracks().find((x) => x.active);
    if (!t) return;
    $('rung-now').textContent = `playing ${t.height}p`;
    $('rung-now').dataset.level = String(tracks().findIndex((x) => x.id === t.id));
  });
  try {
    await player.attach(video);
    await player.load(new URL(j.outputs.dash, location.href).href);
  } catch (e) {
    $('player-status').textContent = `The player stopped: Shaka error ${e.code || e.message}`;
    return;
  }
  picker.replaceChildren(new Option('auto', '-1'), ...tracks().map((t, i) =>
    new Option(`${t.height}p · ${Math.round(t.bandwidth / 1000)} kb/s`, String(i))));
  picker.onchange = () => {
    const i = Number(picker.value);
    player.configure({ abr: { enabled: i < 0 } });
    if (i >= 0) player.selectVariantTrack(tracks()[i], true);
  };
  video.play().catch(() => {});
}

// ---- the seek bar, with sprite-sheet previews (thumbnails/thumbnails.vtt) ----

const clock = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;

async function loadThumbnails(base) {
  state.cues = [];
  let text = '';
  try {
    const r = await fetch(`${base}thumbnails/thumbnails.vtt`);
    if (r.ok) text = await r.text();
  } catch { /* no thumbnails: no previews */ }
  const sec = (s) => s.split(':').reduce((a, x) => a * 60 + Number(x), 0);
  for (const m of text.matchAll(/([\d:.]+) --> ([\d:.]+)\r?\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)/g))
    state.cues.push({ s: sec(m[1]), e: sec(m[2]), img: new URL(m[3], `${location.origin}${base}thumbnails/`).href,
      x: +m[4], y: +m[5], w: +m[6], h: +m[7] });
  $('seek').dataset.cues = String(state.cues.length);
}

function showPreview(t, frac) {
  const cue = state.cues.find((q) => t >= q.s && t < q.e);
  const box = $('preview');
  if (!cue) { box.hidden = true; return; }
  const img = new Image();
  img.onload = () => {
    $('preview-canvas').getContext('2d').drawImage(img, cue.x, cue.y, cue.w, cue.h, 0, 0, 160, 90);
    box.dataset.drawn = cue.img + '#' + cue.x + ',' + cue.y;
  };
  img.src = cue.img;
  box.hidden = false;
  box.style.left = `${frac * 100}%`;
  $('preview-time').textContent = clock(t);
}

function wireSeekBar() {
  const video = $('player');
  const seek = $('seek');
  const at = (ev) => {
    const r = seek.getBoundingClientRect();
    return Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
  };
  seek.addEventListener('mousemove', (ev) => {
    if (video.duration) showPreview(at(ev) * video.duration, at(ev));
  });
  seek.addEventListener('mouseleave', () => { $('preview').hidden = true; });
  seek.addEventListener('input', () => {
    if (video.duration) video.currentTime = (seek.value / 1000) * video.duration;
  });
  video.addEventListener('timeupdate', () => {
    if (video.duration) seek.value = String(Math.round((1000 * video.currentTime) / video.duration));
    $('clock').textContent = `${clock(video.currentTime)} / ${clock(video.duration || 0)}`;
  });
  $('play-pause').onclick = () => (video.paused ? video.play() : video.pause());
  video.addEventListener('play', () => { $('play-pause').textContent = 'Pause'; });
  video.addEventListener('pause', () => { $('play-pause').textContent = 'Play'; });
  $('format-picker').onchange = () => { if (state.job) play(state.job); };
}

// ---- what players reported (GET /v1/analytics) -------------------------------

async function loadAnalytics(videoId) {
  let a;
  try { a = await api('GET', `/v1/analytics?video_id=${encodeURIComponent(videoId)}`); } catch { return; }
  $('analytics-summary').textContent = `${a.sessions} session(s)` +
    (a.startup_ms_avg !== null ? `, startup ${Math.round(a.startup_ms_avg)} ms on average` : '') +
    `, ${a.switches} switch(es), ${a.errors} error(s)` +
    (a.renditions.length ? `; watched: ${a.renditions.map((r) =>
      `${r.name} ${r.watched_s.toFixed(1)} s`).join(', ')}` : '') +
    `; rebuffering ${a.renditions.reduce((s, r) => s + r.rebuffer_s, 0).toFixed(1)} s`;
  plotAnalytics(a);
}

// One bar a minute, stacked by rendition (watched seconds), and the
// rebuffering seconds as a red tick on it.
function plotAnalytics(a) {
  const svg = $('analytics-plot');
  const ns = 'http://www.w3.org/2000/svg';
  const names = a.renditions.map((r) => r.name);
  const colors = ['#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#be123c'];
  const W = 640, H = 160, pad = 20;
  const max = Math.max(1, ...a.minutes.map((m) =>
    Object.values(m.watched_s).reduce((s, v) => s + v, 0) + m.rebuffer_s));
  const bw = Math.max(4, Math.min(40, (W - 2 * pad) / Math.max(1, a.minutes.length) - 4));
  svg.replaceChildren();
  a.minutes.forEach((m, i) => {
    let y = H - pad;
    const x = pad + i * (bw + 4);
    names.forEach((n, k) => {
      const v = m.watched_s[n] || 0;
      if (!v) return;
      const h = ((H - 2 * pad) * v) / max;
      const r = document.createElementNS(ns, 'rect');
      Object.entries({ x, y: y - h, width: bw, height: h, fill: colors[k % colors.length],
        'data-rendition': n, 'data-minute': m.t }).forEach(([k2, v2]) => r.setAttribute(k2, v2));
      const tip = document.createElementNS(ns, 'title');
      tip.textContent = `${new Date(m.t * 1000).toLocaleTimeString()}: ${n} ${v.toFixed(1)} s`;
      r.appendChild(tip);
      svg.appendChild(r);
      y -= h;
    });
    if (m.rebuffer_s > 0) {
      const h = Math.max(2, ((H - 2 * pad) * m.rebuffer_s) / max);
      const r = document.createElementNS(ns, 'rect');
      Object.entries({ x, y: y - h, width: bw, height: h, fill: '#dc2626', 'data-rebuffer': m.rebuffer_s })
        .forEach(([k2, v2]) => r.setAttribute(k2, v2));
      svg.appendChild(r);
    }
  });
  names.forEach((n, k) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(W - 120));
    t.setAttribute('y', String(14 + 14 * k));
    t.setAttribute('fill', colors[k % colors.length]);
    t.textContent = n;
    svg.appendChild(t);
  });
}

// The console's player reports to the box like any player (POST
// /v1/beacons; see the README's snippet).
function beacons(hls, video, videoId) {
  const session = (crypto.randomUUID && crypto.randomUUID()) ||
    `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  const t0 = performance.now();
  let startup = null, stalls = 0, stalledMs = 0, stallAt = 0, switches = 0, rendition = null;
  const watched = () => {
    let s = 0;
    for (let i = 0; i < video.played.length; i++) s += video.played.end(i) - video.played.start(i);
    return s;
  };
  const send = (event, extra) => {
    /* before the first switch: the level hls.js plays now */
    if (rendition === null && hls.currentLevel >= 0 && hls.levels[hls.currentLevel])
      rendition = `${hls.levels[hls.currentLevel].height}p`;
    return sendNow(event, extra);
  };
  const sendNow = (event, extra) => navigator.sendBeacon('/v1/beacons', JSON.stringify(Object.assign({
    video_id: videoId, session_id: session, event, watched_s: watched(), rebuffers: stalls,
    rebuffer_ms: stalledMs, switches }, rendition ? { rendition } : {}, extra || {})));
  const onPlaying = () => {
    if (startup === null) { startup = performance.now() - t0; send('start', { startup_ms: startup }); }
    if (stallAt) { stalledMs += performance.now() - stallAt; stallAt = 0; }
  };
  const onWaiting = () => {
    if (startup !== null && !stallAt) { stalls++; stallAt = performance.now(); send('rebuffer'); }
  };
  video.addEventListener('playing', onPlaying);
  video.addEventListener('waiting', onWaiting);
  let firstLevel = true;
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
    const l = hls.levels[d.level];
    if (!firstLevel) switches++; /* the first is the start, not a switch */
    firstLevel = false;
    rendition = `${l.height}p`;
    send('switch');
  });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) send('error', { error: d.details }); });
  const timer = setInterval(() => send('heartbeat'), 5000);
  return {
    stop() {
      clearInterval(timer);
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('waiting', onWaiting);
      if (startup !== null) send('end');
    },
  };
}

// ---- devices and channels ------------------------------------------------------

async function loadDevices() {
  show('devices');
  let r;
  try { r = await api('GET', '/v1/devices'); } catch { return; }
  const list = $('device-list');
  list.replaceChildren();
  for (const b of r.backends || []) {
    const div = document.createElement('div');
    div.className = 'device';
    const head = document.createElement('h3');
    head.textContent = `${b.backend}: ${b.usable ? 'usable' : `not usable (${b.reason})`}`;
    div.appendChild(head);
    const sessions = document.createElement('p');
    const lim = b.limits || {};
    sessions.textContent = b.sessions
      ? `sessions in use: encode ${b.sessions.encode}, decode ${b.sessions.decode}; ` +
        `limits per device: ${JSON.stringify(lim)}`
      : 'no sessions in use';
    div.appendChild(sessions);
    for (const d of b.inventory || []) {
      const p = document.createElement('p');
      p.textContent = `${d.name || d.device || 'device'}${d.usable === false ? ` (not usable: ${
        d.reason})` : ''}${d.sessions ? `: sessions ${JSON.stringify(d.sessions)}` : ''}`;
      div.appendChild(p);
    }
    list.appendChild(div);
  }
}

async function loadChannels() {
  show('channels');
  let r;
  try { r = await api('GET', '/v1/channels'); } catch { return; }
  $('channel-table').querySelector('tbody').replaceChildren(...r.channels.map((c) => {
    const tr = document.createElement('tr');
    const st = c.stats || {};
    const figures = [st.speed ? `${Number(st.speed).toFixed(2)}x` : '',
      st.dropped !== undefined ? `${st.dropped} dropped` : '',
      st.edge_age_seconds !== undefined ? `edge ${Number(st.edge_age_seconds).toFixed(1)} s old` : '']
      .filter(Boolean).join(', ');
    for (const v of [c.name, c.state, c.box || '', c.ingest && (c.ingest.srt || c.ingest.rtmp) ? 'yes' : '',
      figures, (c.recordings || []).length])
      tr.appendChild(document.createElement('td')).textContent = String(v);
    tr.className = 'clickable';
    tr.dataset.name = c.name;
    tr.onclick = () => playLive(c);
    return tr;
  }));
  const open = state.liveChannel && r.channels.find((c) => c.id === state.liveChannel.id);
  if (open && !$('live').hidden) {
    state.liveChannel = open;
    renderRecordings(open);
  }
}

function stopLive() {
  stopChat();
  if (state.live) state.live.destroy();
  state.live = null;
  clearInterval(state.liveTimer);
  state.liveTimer = null;
  state.recordingId = null;
}

// The panel under the channel table, for a channel's live window or one
// of its recordings: one player, one chat, the channel's recordings.
function openPanel(c, mode) {
  stopLive();
  state.liveChannel = c;
  $('live').hidden = false;
  $('live-mode').textContent = mode;
  $('live-name').textContent = c.name;
  $('live-status').textContent = '';
  $('live-latency').textContent = '–';
  $('live-edge').hidden = mode !== 'Live';
  $('chat-error').textContent = '';
}

// Plays url in #live-player, with a chat kept in step with it.
function startPanelPlayer(url, config) {
  if (typeof Hls === 'undefined' || !Hls.isSupported()) {
    $('live-status').textContent = 'hls.js is not installed with this box.';
    return null;
  }
  const video = $('live-player');
  const hls = new Hls(config);
  state.live = hls;
  hls.on(Hls.Events.ERROR, (_, d) => {
    if (d.fatal) $('live-status').textContent = `The player stopped: ${d.details}`;
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  hls.loadSource(url);
  hls.attachMedia(video);
  state.sync = chatSync(hls, video);
  return hls;
}

// A channel's window in hls.js, how far behind the live edge it plays, and
// its live chat.
function playLive(c) {
  openPanel(c, 'Live');
  renderRecordings(c);
  setChatInputs(false);
  if (c.state !== 'live' && c.state !== 'reconnecting') {
    $('live-status').textContent = `The channel is ${c.state}: nothing to play.`;
    chatState('closed', 'closed: the channel is not on air');
    return;
  }
  const hls = startPanelPlayer(c.outputs.hls, { lowLatencyMode: !!c.low_latency });
  if (!hls) return;
  state.liveTimer = setInterval(() => {
    const l = hls.latency;
    if (Number.isFinite(l) && l > 0) $('live-latency').textContent = `${l.toFixed(1)} s`;
  }, 500);
  setChatInputs(true);
  state.chatDelay = 1000;
  openChat(c.id);
}

// One of the channel's recordings, with its chat replayed in step.
async function playRecording(c, rec) {
  openPanel(c, 'Recording');
  state.recordingId = rec.id;
  renderRecordings(c);
  setChatInputs(false);
  if (!startPanelPlayer(rec.outputs.hls, {})) return;
  chatState('replay', 'replay of the recording\'s chat');
  const sync = state.sync;
  try {
    await loadReplay(c.id, rec, sync);
  } catch (e) {
    if (state.sync === sync) $('chat-error').textContent = `The recording's chat did not load: ${e.message}`;
  }
}

// The recording's chat from GET /v1/channels/{id}/chat?from=&to=, a page
// at a time (the box returns a few thousand at most): the next page starts
// at the last stamp, and ends the walk when it brings nothing new.
const CHAT_REPLAY_PAGES = 50;

async function loadReplay(channelId, rec, sync) {
  const to = rec.end || Date.now() / 1000;
  let from = rec.start;
  for (let page = 0; page < CHAT_REPLAY_PAGES; page++) {
    const r = await api('GET', `/v1/channels/${encodeURIComponent(channelId)}/chat?from=${from}&to=${to}`);
    if (state.sync !== sync) return; /* another recording, or the panel closed */
    const items = (r && r.messages) || [];
    if (!sync.add(items) || !Number.isFinite(items[items.length - 1].stamp)) return;
    from = items[items.length - 1].stamp;
  }
}

const longClock = (s) => (s >= 3600
  ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${
    String(Math.floor(s % 60)).padStart(2, '0')}`
  : clock(s));

function renderRecordings(c) {
  const recs = [...(c.recordings || [])].sort((a, b) => b.start - a.start);
  $('recording-empty').hidden = recs.length > 0;
  $('recording-list').replaceChildren(...recs.map((rec) => {
    const li = document.createElement('li');
    const b = li.appendChild(document.createElement('button'));
    b.type = 'button';
    b.className = 'play-recording';
    b.dataset.id = String(rec.id);
    const len = rec.duration || (rec.end ? rec.end - rec.start : 0);
    b.textContent = `${new Date(rec.start * 1000).toLocaleString()} · ${rec.end ? longClock(len) : 'still recording'}`;
    b.disabled = !(rec.outputs && rec.outputs.hls);
    b.classList.toggle('playing', rec.id === state.recordingId);
    b.setAttribute('aria-pressed', String(rec.id === state.recordingId));
    b.onclick = () => playRecording(c, rec);
    return li;
  }));
}

// ---- chat in step with the picture ------------------------------------------------

// Each chat item carries the program date-time it is pinned to (stamp: the
// live edge when the box took it), and shows only when the player's own
// program date-time (hls.playingDate) reaches it: a viewer 5 s behind the
// edge reads the chat 5 s late, as they see the picture, and a recording
// replays its chat where it was said. The live socket and a recording's
// replay both feed one of these.
const CHAT_TICK_MS = 250;
const CHAT_REWIND_S = 1; /* the playhead went back more than this: a seek back */
const CHAT_FLOAT_RECENT_S = 3; /* older reactions are counted, not floated */
const CHAT_LIST_MAX = 500;
const CHAT_FLOATS_MAX = 40;

function chatSync(hls, video) {
  const known = new Map(); /* id -> item, all of them, to show again after a seek back */
  const shown = new Set(); /* ids, in the order shown since the last rewind */
  const counts = new Map(); /* emoji -> reactions shown */
  let pending = []; /* not shown yet, by stamp */
  let last = null;
  const byStamp = (a, b) => a.stamp - b.stamp || a.id - b.id;
  const playhead = () => {
    const d = hls.playingDate;
    const t = d ? d.getTime() / 1000 : NaN;
    return Number.isFinite(t) ? t : null;
  };
  const rewind = () => {
    clearChatView();
    shown.clear();
    counts.clear();
    pending = [...known.values()].sort(byStamp);
  };
  const tick = () => {
    const now = playhead();
    if (now === null) return;
    if (last !== null && now < last - CHAT_REWIND_S) rewind();
    last = now;
    while (pending.length && pending[0].stamp <= now) {
      const item = pending.shift();
      shown.add(item.id);
      if (item.kind === 'reaction') {
        counts.set(item.emoji, (counts.get(item.emoji) || 0) + 1);
        renderReactionCounts(counts);
        if (now - item.stamp <= CHAT_FLOAT_RECENT_S) floatReaction(item);
      } else if (item.kind === 'message') {
        showChatLine(item);
      }
    }
  };
  const add = (items) => {
    let fresh = 0;
    for (const i of items) {
      if (!i || typeof i.id !== 'number' || known.has(i.id)) continue; /* a reconnect's history again */
      const item = Object.assign({}, i, { stamp: Number.isFinite(i.stamp) ? i.stamp : 0 });
      known.set(item.id, item);
      pending.push(item);
      fresh++;
    }
    if (fresh) pending.sort(byStamp);
    tick();
    return fresh;
  };
  const remove = (id) => {
    const item = known.get(id);
    if (!item) return;
    known.delete(id);
    pending = pending.filter((p) => p.id !== id);
    if (!shown.delete(id)) return;
    if (item.kind === 'reaction' && counts.get(item.emoji)) {
      counts.set(item.emoji, counts.get(item.emoji) - 1);
      renderReactionCounts(counts);
    }
    const sel = `[data-id="${CSS.escape(String(id))}"]`;
    for (const el of document.querySelectorAll(`#chat-list ${sel}, #live-stage .reaction-float${sel}`))
      el.remove();
  };
  // A (re)joined socket's history is the box's newest items: one we hold
  // in its span that it lacks was deleted while the socket was away.
  const reconcile = (items) => {
    if (!items.length) return; /* nothing to judge by (or chat.history is 0) */
    const ids = new Set(items.map((i) => i.id));
    const oldest = Math.min(...ids);
    for (const id of [...known.keys()]) if (id >= oldest && !ids.has(id)) remove(id);
    add(items);
  };
  clearChatView();
  video.addEventListener('timeupdate', tick);
  video.addEventListener('seeked', tick);
  const timer = setInterval(tick, CHAT_TICK_MS);
  return {
    add, remove, reconcile, playhead,
    pending: () => pending.length,
    shown: () => [...shown],
    stop() {
      clearInterval(timer);
      video.removeEventListener('timeupdate', tick);
      video.removeEventListener('seeked', tick);
      clearChatView();
    },
  };
}

function clearChatView() {
  $('chat-list').replaceChildren();
  for (const el of $('live-stage').querySelectorAll('.reaction-float')) el.remove();
  renderReactionCounts(new Map());
}

function renderReactionCounts(counts) {
  for (const b of document.querySelectorAll('#chat button.react'))
    b.querySelector('.count').textContent = counts.get(b.dataset.emoji) ? String(counts.get(b.dataset.emoji)) : '';
}

function deleteButton(id) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'chat-delete';
  b.textContent = '×';
  b.title = 'Delete this message for everyone';
  b.setAttribute('aria-label', 'delete');
  b.onclick = () => sendChat({ type: 'delete', id });
  return b;
}

// A message into #chat-list in stamp order (a late one, after a reconnect,
// lands where it was said), the list kept scrolled to the end if it was.
function showChatLine(item) {
  const list = $('chat-list');
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  const li = document.createElement('li');
  li.className = 'chat-item';
  li.dataset.id = String(item.id);
  li.dataset.stamp = String(item.stamp);
  li.title = new Date(item.stamp * 1000).toLocaleTimeString();
  const name = li.appendChild(document.createElement('span'));
  name.className = 'chat-name';
  name.textContent = String(item.name || '');
  const text = li.appendChild(document.createElement('span'));
  text.className = 'chat-text';
  text.textContent = String(item.text || '');
  if (state.moderator) li.appendChild(deleteButton(item.id));
  let after = list.lastElementChild;
  while (after && Number(after.dataset.stamp) > item.stamp) after = after.previousElementSibling;
  list.insertBefore(li, after ? after.nextSibling : list.firstChild);
  while (list.children.length > CHAT_LIST_MAX) list.firstElementChild.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

// A reaction rises over the picture and goes (the CSS animation, ~2 s).
function floatReaction(item) {
  const stage = $('live-stage');
  if (stage.querySelectorAll('.reaction-float').length >= CHAT_FLOATS_MAX) return;
  const el = document.createElement('span');
  el.className = 'reaction-float';
  el.dataset.id = String(item.id);
  el.textContent = String(item.emoji || '');
  el.style.left = `${10 + Math.random() * 75}%`;
  el.addEventListener('animationend', () => el.remove());
  setTimeout(() => el.remove(), 2500); /* no animation ran (panel hidden): gone all the same */
  stage.appendChild(el);
}

function setModerator(on) {
  state.moderator = on;
  for (const li of $('chat-list').querySelectorAll('li.chat-item')) {
    const b = li.querySelector('.chat-delete');
    if (on && !b) li.appendChild(deleteButton(Number(li.dataset.id)));
    if (!on && b) b.remove();
  }
}

function chatState(key, text) {
  $('chat-state').dataset.state = key;
  $('chat-state').textContent = text;
}

function setChatInputs(on) {
  $('chat-input').disabled = !on;
  for (const b of document.querySelectorAll('#chat button.react')) b.disabled = !on;
}

// ---- the chat socket (GET /v1/channels/{id}/chat, a WebSocket) ----------------------

function openChat(channelId) {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/channels/${
    encodeURIComponent(channelId)}/chat`);
  state.chatWs = ws;
  chatState('connecting', 'connecting…');
  ws.onopen = () => { if (state.token) ws.send(JSON.stringify({ token: state.token })); };
  ws.onmessage = (m) => { if (state.chatWs === ws) onChatFrame(m.data); };
  ws.onclose = () => {
    if (state.chatWs !== ws) return; /* closed on purpose */
    state.chatWs = null;
    setModerator(false);
    const delay = state.chatDelay;
    state.chatDelay = Math.min(delay * 2, 30000);
    chatState('closed', `closed; trying again in ${delay / 1000} s`);
    state.chatTimer = setTimeout(() => { if (!$('live').hidden && state.sync) openChat(channelId); }, delay);
  };
}

function onChatFrame(raw) {
  let f;
  try { f = JSON.parse(raw); } catch { return; }
  const d = (f && f.data) || {};
  if (f.type === 'ready') {
    state.chatDelay = 1000;
    setModerator(!!d.moderator);
    chatState(d.moderator ? 'moderator' : 'connected', d.moderator ? 'connected (moderator)' : 'connected');
  } else if (f.type === 'chat.history') {
    state.sync.reconcile(d.messages || []);
  } else if (f.type === 'chat.message' || f.type === 'chat.reaction') {
    state.sync.add([d]);
  } else if (f.type === 'chat.deleted') {
    state.sync.remove(d.id);
  } else if (f.type === 'error') {
    $('chat-error').textContent = String(d.error || f.error || 'The box refused that.');
  }
}

function sendChat(msg) {
  const ws = state.chatWs;
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    $('chat-error').textContent = 'The chat is not connected.';
    return false;
  }
  $('chat-error').textContent = '';
  ws.send(JSON.stringify(msg));
  return true;
}

function stopChat() {
  clearTimeout(state.chatTimer);
  state.chatTimer = null;
  const ws = state.chatWs;
  state.chatWs = null;
  if (ws) ws.close();
  if (state.sync) state.sync.stop();
  state.sync = null;
  setModerator(false);
  chatState('closed', 'closed');
}

function wireChat() {
  $('chat-input').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.isComposing) return;
    const text = $('chat-input').value.trim();
    if (!text) return;
    const name = $('chat-name').value.trim() || 'operator';
    if (sendChat({ type: 'message', name, text })) $('chat-input').value = '';
  });
  for (const b of document.querySelectorAll('#chat button.react'))
    b.onclick = () => sendChat({ type: 'reaction', emoji: b.dataset.emoji });
  /* for the browser test */
  window.encboxChat = {
    pending: () => (state.sync ? state.sync.pending() : 0),
    shown: () => (state.sync ? state.sync.shown() : []),
    playhead: () => (state.sync ? state.sync.playhead() : null),
  };
}

// ---- the event socket -----------------------------------------------------------

function connectEvents(delay = 1000) {
  if (!state.token) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/events`);
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ token: state.token }));
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === 'ready') {
      $('feed').textContent = 'live';
      $('feed').classList.add('live');
      return;
    }
    if (!ev.type.startsWith('job.') || !ev.data || !ev.data.id) {
      if (ev.type.startsWith('channel.') && state.view === 'channels') loadChannels();
      return;
    }
    state.jobs.set(ev.data.id, ev.data);
    if (state.view === 'jobs') {
      const row = $('job-table').querySelector(`tr[data-id="${CSS.escape(ev.data.id)}"]`);
      if (row) row.replaceWith(jobRow(ev.data));
      else renderJobs();
    } else if (state.view === 'job' && state.jobId === ev.data.id) {
      renderJobFacts(ev.data);
      if (ev.type === 'job.succeeded') play(ev.data);
    }
  };
  ws.onclose = (e) => {
    $('feed').textContent = 'offline';
    $('feed').classList.remove('live');
    if (state.ws !== ws) return;
    if (e.code === 4401) {
      signOut('The box refused the token on its event socket: sign in again.');
      return;
    }
    state.wsTimer = setTimeout(() => connectEvents(Math.min(delay * 2, 30000)), delay);
  };
}

// ---- start ------------------------------------------------------------------------

$('token').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && $('token').value.trim()) signIn($('token').value.trim());
});
$('signout').onclick = () => signOut('');
$('upload-form').addEventListener('submit', uploadAndSubmit);
wireSeekBar();
wireChat();
addEventListener('hashchange', route);
if (state.token) start();
else show('signin');
