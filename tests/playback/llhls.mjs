// Low-latency live seen from node, without a player: a small parser of
// HLS playlists (RFC 8216bis: parts, preload hints, rendition reports,
// delta updates) and the protocol checks of `live.mjs --low-latency` that
// no player shows directly: the tags, the part files, blocking playlist
// reload and how soon it answers, the requests the origin must refuse,
// delta updates, and the LL-DASH description of the MPD. Each check
// returns { status, reason, details } like the browser-side checks
// (details.figures: what it measured, printed on its PASS line).

import { errText, sleep } from './lib.mjs';

// ---------------------------------------------------------------- parsing

/* NAME=value,NAME="quoted, value" -> { NAME: value } */
export function parseAttrs(s) {
  const out = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m;
  while ((m = re.exec(s)) !== null) out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  return out;
}

const num = (v) => (v === undefined || v === '' ? null : Number(v));

/* A media playlist. segments: [{ msn, uri, duration, pdt (ms or null),
 * parts: [{ duration, uri, independent }], discontinuity }]; openParts:
 * the parts after the last segment (of segment nextMsn, still open);
 * skipped: EXT-X-SKIP's SKIPPED-SEGMENTS (a delta update). Throws on a
 * text that is not a playlist. */
export function parseMedia(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== '#EXTM3U') throw new Error('not a playlist (no #EXTM3U)');
  const pl = {
    version: null, targetDuration: null, mediaSequence: 0, serverControl: null, partTarget: null,
    segments: [], openParts: [], preloadHints: [], renditionReports: [], skipped: 0, endList: false, nextMsn: 0,
  };
  let msn = null;
  let parts = [];
  let dur = null;
  let pdt = null;
  let disc = false;
  const seq = () => (msn === null ? pl.mediaSequence : msn);
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(':');
    const tag = !l.startsWith('#') ? null : colon < 0 ? l : l.slice(0, colon);
    const rest = colon < 0 ? '' : l.slice(colon + 1);
    const a = () => parseAttrs(rest);
    switch (tag) {
      case '#EXT-X-VERSION': pl.version = Number(rest); break;
      case '#EXT-X-TARGETDURATION': pl.targetDuration = Number(rest); break;
      case '#EXT-X-MEDIA-SEQUENCE': pl.mediaSequence = Number(rest); break;
      case '#EXT-X-SERVER-CONTROL': {
        const x = a();
        pl.serverControl = {
          canBlockReload: x['CAN-BLOCK-RELOAD'] === 'YES',
          partHoldBack: num(x['PART-HOLD-BACK']),
          holdBack: num(x['HOLD-BACK']),
          canSkipUntil: num(x['CAN-SKIP-UNTIL']),
        };
        break;
      }
      case '#EXT-X-PART-INF': pl.partTarget = num(a()['PART-TARGET']); break;
      case '#EXT-X-SKIP':
        pl.skipped = Number(a()['SKIPPED-SEGMENTS']);
        msn = seq() + pl.skipped;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME': pdt = Date.parse(rest); break;
      case '#EXT-X-DISCONTINUITY': disc = true; break;
      case '#EXT-X-PART': {
        const x = a();
        parts.push({ duration: Number(x.DURATION), uri: x.URI, independent: x.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXTINF': dur = parseFloat(rest); break;
      case '#EXT-X-PRELOAD-HINT': pl.preloadHints.push({ type: a().TYPE, uri: a().URI }); break;
      case '#EXT-X-RENDITION-REPORT': {
        const x = a();
        pl.renditionReports.push({ uri: x.URI, lastMsn: num(x['LAST-MSN']), lastPart: num(x['LAST-PART']) });
        break;
      }
      case '#EXT-X-ENDLIST': pl.endList = true; break;
      case null: {
        const n = seq();
        pl.segments.push({ msn: n, uri: l, duration: dur, pdt, parts, discontinuity: disc });
        msn = n + 1;
        if (pdt !== null && dur !== null) pdt += dur * 1000;
        parts = [];
        dur = null;
        disc = false;
        break;
      }
      default: break;
    }
  }
  pl.nextMsn = seq();
  pl.openParts = parts;
  return pl;
}

/* The media playlists of a multivariant playlist, resolved against its
 * URL: variants first, then EXT-X-MEDIA renditions. */
export function parseMaster(text, base) {
  const out = [];
  let inf = false;
  for (const l of text.split(/\r?\n/).map((x) => x.trim())) {
    if (l.startsWith('#EXT-X-STREAM-INF')) inf = true;
    else if (l.startsWith('#EXT-X-MEDIA:')) {
      const x = parseAttrs(l.slice(l.indexOf(':') + 1));
      if (x.URI) out.push({ url: new URL(x.URI, base).href, type: (x.TYPE || '').toLowerCase() });
    } else if (l && !l.startsWith('#') && inf) {
      out.push({ url: new URL(l, base).href, type: 'variant' });
      inf = false;
    }
  }
  return out.sort((a, b) => (a.type === 'variant' ? 0 : 1) - (b.type === 'variant' ? 0 : 1));
}

/* segment_NNN.P.m4s -> { msn, part }, or null */
export function partName(uri) {
  const m = /segment_(\d+)\.(\d+)\.m4s(?:\?|$)/.exec(uri || '');
  return m ? { msn: Number(m[1]), part: Number(m[2]) } : null;
}

/* The playlist lists part P of segment M, or a later one (RFC 8216bis
 * 6.2.5.2: what a blocking reload waits for). */
export function listsPart(pl, msn, part) {
  if (pl.nextMsn > msn) return true; // segment M is complete
  return pl.nextMsn === msn && pl.openParts.length > part;
}

/* The last part listed: { msn, part } (of the open segment, or the last
 * part of the last complete one), or null without parts. */
export function lastPart(pl) {
  if (pl.openParts.length) return { msn: pl.nextMsn, part: pl.openParts.length - 1 };
  const s = pl.segments[pl.segments.length - 1];
  return s && s.parts.length ? { msn: s.msn, part: s.parts.length - 1 } : null;
}

/* How a delta update merges into the full playlist it skips from, as
 * hls.js does (mergeDetails): the old playlist's segments from the delta's
 * MEDIA-SEQUENCE for SKIPPED-SEGMENTS, then the delta's own. */
export function mergeDelta(full, delta) {
  const from = full.segments.filter((s) => s.msn >= delta.mediaSequence && s.msn < delta.mediaSequence + delta.skipped);
  return from.concat(delta.segments);
}

// ---------------------------------------------------------------- HTTP

/* GET url: { status, text, bytes, ms (when the body was in, performance.now()) } */
async function get(url, timeoutMs, binary) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' });
  const body = binary ? Buffer.from(await r.arrayBuffer()) : await r.text();
  return { status: r.status, text: binary ? null : body, bytes: binary ? body : null, ms: performance.now(), type: r.headers.get('content-type') };
}

async function getPlaylist(url, timeoutMs = 5000) {
  const r = await get(url, timeoutMs);
  if (r.status !== 200) throw new Error(`HTTP ${r.status} for ${url}`);
  return parseMedia(r.text);
}

const ms = (x) => `${Math.round(x)} ms`;
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fail = (reason, details) => ({ status: 'fail', reason, details });
const name = (url) => url.replace(/^.*\/hls\//, '');

/* The channel's media playlists: [{ url, type, pl }] (the master's order). */
export async function loadRenditions(masterUrl) {
  const r = await get(masterUrl, 5000);
  if (r.status !== 200) throw new Error(`HTTP ${r.status} for the master playlist`);
  const rends = parseMaster(r.text, masterUrl);
  if (!rends.length) throw new Error('the master playlist lists no media playlist');
  for (const x of rends) x.pl = await getPlaylist(x.url);
  return rends;
}

// ---------------------------------------------------------------- checks

/* ll-hls-tags: every media playlist of the master carries the LL-HLS tags
 * and they agree with each other (see README.md). */
export async function checkTags(masterUrl) {
  const rends = await loadRenditions(masterUrl);
  const problems = [];
  let longest = 0;
  let withParts = Infinity;
  for (const r of rends) {
    const pl = r.pl;
    const bad = (msg) => problems.push(`${name(r.url)}: ${msg}`);
    const sc = pl.serverControl;
    const pt = pl.partTarget;
    if (!(pl.version >= 9)) bad(`EXT-X-VERSION ${pl.version}, not 9 or more`);
    if (!sc) bad('no EXT-X-SERVER-CONTROL');
    else {
      if (!sc.canBlockReload) bad('EXT-X-SERVER-CONTROL without CAN-BLOCK-RELOAD=YES');
      if (!(sc.partHoldBack >= 3 * pt - 1e-6)) bad(`PART-HOLD-BACK ${sc.partHoldBack} is under 3 x PART-TARGET (${pt})`);
      if (!(sc.canSkipUntil >= 6 * pl.targetDuration)) bad(`CAN-SKIP-UNTIL ${sc.canSkipUntil} is under 6 target durations (${pl.targetDuration})`);
    }
    if (!(pt > 0)) {
      bad('no EXT-X-PART-INF:PART-TARGET');
      continue;
    }
    if (!pl.segments.length || pl.segments[0].pdt === null) bad('no EXT-X-PROGRAM-DATE-TIME on the first segment');
    const segs = pl.segments.filter((s) => s.parts.length);
    withParts = Math.min(withParts, segs.length + (pl.openParts.length ? 1 : 0));
    const newest = pl.segments.slice(-3);
    const bare = newest.filter((s) => !s.parts.length).map((s) => s.msn);
    if (bare.length) bad(`no EXT-X-PART for segment(s) ${bare.join(' ')}, among the newest 3`);
    for (const [msn, parts] of [...segs.map((s) => [s.msn, s.parts]), [pl.nextMsn, pl.openParts]]) {
      parts.forEach((p, i) => {
        longest = Math.max(longest, p.duration);
        if (!(p.duration <= pt + 1e-6)) bad(`part ${msn}.${i} lasts ${p.duration} s, over PART-TARGET ${pt}`);
        const n = partName(p.uri);
        if (!n || n.msn !== msn || n.part !== i) bad(`part ${msn}.${i} is named ${p.uri}`);
      });
      if (parts.length && !parts[0].independent) bad(`the first part of segment ${msn} has no INDEPENDENT=YES`);
    }
    for (const s of segs) {
      const sum = s.parts.reduce((a, p) => a + p.duration, 0);
      if (Math.abs(sum - s.duration) > 0.05) bad(`segment ${s.msn}'s parts add up to ${sum.toFixed(3)} s, its EXTINF says ${s.duration}`);
    }
    // the hint names the part after the last listed one
    // (none only while this rendition has finished the open segment and
    // waits for another that is still writing it: the part after its last
    // listed one is of a segment the playlist cannot place yet)
    const hints = pl.preloadHints.filter((h) => h.type === 'PART');
    const want = pl.openParts.length ? `${pl.nextMsn}.${pl.openParts.length}` : `${pl.nextMsn}.0`;
    const waiting = pl.openParts.length > 0 &&
      pl.renditionReports.some((x) => x.lastMsn < pl.nextMsn || (x.lastMsn === pl.nextMsn && x.lastPart !== null));
    if (hints.length !== 1) {
      if (hints.length || !waiting) bad(`${hints.length} EXT-X-PRELOAD-HINT:TYPE=PART, not 1`);
    } else {
      const n = partName(hints[0].uri);
      if (!n || `${n.msn}.${n.part}` !== want) bad(`EXT-X-PRELOAD-HINT names ${hints[0].uri}, not part ${want} (after the last listed)`);
    }
    // a report for every other rendition, near this one's edge
    for (const o of rends) {
      if (o === r) continue;
      const rep = pl.renditionReports.find((x) => new URL(x.uri, r.url).href === o.url);
      if (!rep) bad(`no EXT-X-RENDITION-REPORT for ${name(o.url)}`);
      else if (!(Math.abs(rep.lastMsn - pl.nextMsn) <= 1)) bad(`the report for ${name(o.url)} says LAST-MSN ${rep.lastMsn}, this playlist is at ${pl.nextMsn}`);
    }
  }
  const p0 = rends[0].pl;
  const details = {
    figures: `${rends.length} media playlists; PART-TARGET ${p0.partTarget}, PART-HOLD-BACK ${p0.serverControl && p0.serverControl.partHoldBack}, ` +
      `CAN-SKIP-UNTIL ${p0.serverControl && p0.serverControl.canSkipUntil}, longest part ${longest} s, parts listed for at least ${withParts} segments`,
    playlists: rends.map((r) => name(r.url)).join(' '),
  };
  if (problems.length) return fail(`${problems.length} problem(s): ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? '; ...' : ''}`, details);
  return { status: 'pass', details };
}

/* The types of a buffer's top-level ISO BMFF boxes, in order (stops at a
 * size that does not fit). */
function topBoxes(buf) {
  const out = [];
  for (let o = 0; buf && o + 8 <= buf.length;) {
    let size = buf.readUInt32BE(o);
    if (size === 1 && o + 16 <= buf.length) size = Number(buf.readBigUInt64BE(o + 8));
    if (size < 8 || o + size > buf.length) {
      out.push(`${buf.toString('latin1', o + 4, o + 8)}(truncated)`);
      break;
    }
    out.push(buf.toString('latin1', o + 4, o + 8));
    o += size;
  }
  return out;
}

// boxes a CMAF chunk may carry before its moof (ISO/IEC 23000-19 7.3.2.3)
const CHUNK_LEAD = ['styp', 'prft', 'emsg'];

/* ll-hls-part-files: every part a media playlist lists can be fetched: 200,
 * a CMAF chunk (styp, prft, emsg, then moof and mdat). */
export async function checkPartFiles(mediaUrls) {
  let n = 0;
  let bytes = 0;
  const problems = [];
  for (const url of mediaUrls) {
    const pl = await getPlaylist(url);
    const parts = pl.segments.flatMap((s) => s.parts).concat(pl.openParts);
    if (!parts.length) problems.push(`${name(url)} lists no part`);
    for (const p of parts) {
      const u = new URL(p.uri, url).href;
      const r = await get(u, 5000, true);
      n++;
      const boxes = r.status === 200 ? topBoxes(r.bytes) : [];
      const moof = boxes.indexOf('moof');
      if (r.status !== 200) problems.push(`HTTP ${r.status} for ${p.uri}`);
      else if (moof < 0 || boxes[moof + 1] !== 'mdat' || boxes.slice(0, moof).some((x) => !CHUNK_LEAD.includes(x))) {
        problems.push(`${p.uri} is not a CMAF chunk (boxes: ${boxes.join(' ') || 'none'})`);
      } else bytes += r.bytes.length;
    }
  }
  const details = { figures: `${n} parts fetched from ${mediaUrls.map(name).join(', ')}, ${(bytes / 1024).toFixed(0)} KiB` };
  if (problems.length) return fail(`${problems.length} of ${n} part(s): ${problems.slice(0, 3).join('; ')}`, details);
  return { status: 'pass', details };
}

/* Polls the plain playlist every `everyMs` until it lists part msn.part.
 * Resolves to { at: performance.now() when the first answer that listed it
 * was in (null on timeout), atFirst: the very first poll listed it already,
 * lastMiss: when the last poll that did not list it was sent (null: none),
 * pl: that first playlist }. */
async function whenListed(url, msn, part, everyMs, timeoutMs, cancel) {
  const end = performance.now() + timeoutMs;
  let first = true;
  let lastMiss = null;
  while (performance.now() < end && !cancel.stop) {
    const t = performance.now();
    try {
      const r = await get(url, 3000);
      const pl = r.status === 200 ? parseMedia(r.text) : null;
      if (pl && listsPart(pl, msn, part)) return { at: r.ms, atFirst: first, lastMiss, pl };
      if (pl) lastMiss = t;
    } catch { /* a poll that failed is a poll missed */ }
    first = false;
    await sleep(Math.max(0, everyMs - (performance.now() - t)));
  }
  return { at: null, lastMiss };
}

/* One timed request for what the playlist's preload hint names: the
 * blocking reload of the playlist (_HLS_msn/_HLS_part) or the hinted part
 * itself, raced against a plain reload every 20 ms. Returns { msn, part,
 * held (ms from the request to the answer), after (ms from the part's
 * listing to the answer), status, listed (the answer lists the part),
 * poll (the plain poll's round trip), retry (the part was there already) }. */
async function timedRequest(url, what, limitMs) {
  // no hint while this rendition waits for the others to finish the
  // open segment (see checkTags): reload until there is one
  let pl = await getPlaylist(url);
  let hint = pl.preloadHints.find((h) => h.type === 'PART');
  for (const end = performance.now() + 3000; !hint && performance.now() < end;) {
    await new Promise((res) => setTimeout(res, 20));
    pl = await getPlaylist(url);
    hint = pl.preloadHints.find((h) => h.type === 'PART');
  }
  const n = hint && partName(hint.uri);
  if (!n) throw new Error(`${name(url)} has no EXT-X-PRELOAD-HINT naming a part for 3 s`);
  const target = what === 'playlist'
    ? `${url}?_HLS_msn=${n.msn}&_HLS_part=${n.part}`
    : new URL(hint.uri, url).href;
  const cancel = { stop: false };
  const listed = whenListed(url, n.msn, n.part, 20, limitMs, cancel);
  const t0 = performance.now();
  let r;
  try {
    r = await get(target, limitMs, what !== 'playlist');
  } catch (e) {
    r = { status: 0, error: errText(e), ms: performance.now() };
  }
  const seen = await listed.finally(() => { cancel.stop = true; });
  const out = { msn: n.msn, part: n.part, status: r.status, error: r.error, held: r.ms - t0, retry: !!seen.atFirst };
  // in before a plain reload that still lacked the part was even sent
  out.early = seen.lastMiss !== null && r.ms < seen.lastMiss ? seen.lastMiss - r.ms : 0;
  out.after = seen.at === null ? null : r.ms - seen.at;
  if (what === 'playlist' && r.status === 200) {
    try {
      const a = parseMedia(r.text);
      out.listed = listsPart(a, n.msn, n.part);
      out.last = lastPart(a);
    } catch (e) {
      out.listed = false;
      out.error = errText(e);
    }
  }
  if (what !== 'playlist') out.bytes = r.bytes ? r.bytes.length : 0;
  // A hint may name a part that never comes: the segment closed first
  // (after its last part, before the next frame told the segmenter so).
  const seg = seen.pl && seen.pl.segments.find((x) => x.msn === n.msn);
  out.phantom = seg && seg.parts.length && seg.parts.length <= n.part ? seg.parts.length : 0;
  return out;
}

/* ll-hls-blocking (what 'playlist') and ll-hls-preload (what 'part'): the
 * request for the hinted part's msn/part (or for the hinted part itself)
 * is held until the part is listed in a plain reload, and answered within
 * one part duration (+ marginMs) of it, `trials` times. */
export async function checkBlocking(url, what, { trials = 3, marginMs = 150 } = {}) {
  const pl = await getPlaylist(url);
  const pt = pl.partTarget;
  const limitMs = 3 * pl.targetDuration * 1000 + 2000;
  const okAfter = pt * 1000 + marginMs;
  const runs = [];
  for (let attempt = 0; runs.length < trials && attempt < trials * 3; attempt++) {
    const r = await timedRequest(url, what, limitMs);
    if (r.retry && r.status === 200) continue; // the part was out before the race began
    if (r.phantom && what === 'part') {
      // the hinted part never existed: the origin should say so (404) once
      // the segment is complete, not hold the request on
      if (r.status === 404 && r.after !== null && r.after <= okAfter) continue;
      return fail(`the hint named part ${r.msn}.${r.part}, but segment ${r.msn} closed with ${r.phantom} parts; the request for it ` +
        `was answered ${r.status ? `HTTP ${r.status}` : `with an error (${r.error})`} ${ms(r.held)} after it was sent, ` +
        `${r.after === null ? 'and the segment never showed complete' : `${ms(r.after)} after the segment was complete`} ` +
        `(at most ${ms(okAfter)}: one part + ${marginMs} ms)`, { figures: `${r.msn}.${r.part}: held ${ms(r.held)}` });
    }
    if (r.phantom && what === 'playlist') continue; // satisfied by the segment's end: not the timing asked for
    runs.push(r);
    if (r.status !== 200 || (what === 'playlist' && !r.listed)) break; // no point in more
  }
  const desc = (r) => `${r.msn}.${r.part}: ${r.status === 200 ? '' : `HTTP ${r.status || r.error} `}held ${ms(r.held)}, ` +
    `${r.after === null ? 'never listed in a plain reload' : r.after >= 0 ? `in ${ms(r.after)} after a plain reload listed it` : `in ${ms(-r.after)} before the plain reload that listed it`}`;
  const afters = runs.filter((r) => r.after !== null).map((r) => r.after);
  const details = {
    figures: `${runs.map(desc).join('; ')}; median ${ms(median(afters))} after listing (limit ${ms(okAfter)}: one part + ${marginMs} ms)`,
  };
  const subject = what === 'playlist' ? 'blocking reload _HLS_msn=M&_HLS_part=P' : 'request for the preload-hinted part';
  if (!runs.length) return fail(`no usable trial in ${trials * 3} attempts: each time the hinted part was out before the race began, or never came`, details);
  for (const r of runs) {
    const p = `${r.msn}.${r.part}`;
    if (r.status !== 200) {
      return fail(`the ${subject} for part ${p} was answered ${r.status ? `HTTP ${r.status}` : `with an error (${r.error})`} after ${ms(r.held)}` +
        (what === 'part' && r.status === 404 ? ': the origin does not hold a request for the hinted part until it exists' : ''), details);
    }
    if (what === 'playlist' && !r.listed) {
      return fail(`the ${subject} for part ${p} was answered after ${ms(r.held)} with a playlist that does not list it ` +
        `(its last part: ${r.last ? `${r.last.msn}.${r.last.part}` : 'none'}): the origin does not hold blocking reloads`, details);
    }
    if (what === 'part' && !r.bytes) return fail(`the hinted part ${p} came back empty after ${ms(r.held)}`, details);
    if (r.after === null) return fail(`part ${p} never showed in a plain reload within ${ms(limitMs)}, but the ${subject} was answered`, details);
    // The plain poll sees a part up to one poll interval and its round
    // trip after it is listed, so an answer may come in a little before
    // it; but not before a plain reload that still lacked the part was sent.
    if (what === 'playlist' && r.early) {
      return fail(`the ${subject} for part ${p} was answered ${ms(r.early)} before a plain reload that did not list the part yet was sent`, details);
    }
    if (r.after > okAfter) {
      return fail(`the ${subject} for part ${p} was answered ${ms(r.after)} after the part was listed, over one part + ${marginMs} ms (${ms(okAfter)})`, details);
    }
  }
  return { status: 'pass', details };
}

/* ll-hls-bad-requests: requests the origin must refuse at once with 400:
 * _HLS_msn more than 2 segments ahead, and _HLS_part without _HLS_msn. */
export async function checkBadRequests(url) {
  const pl = await getPlaylist(url);
  const limitMs = 3 * pl.targetDuration * 1000 + 2000;
  const cases = [
    [`_HLS_msn=${pl.nextMsn + 3}`, `_HLS_msn ${pl.nextMsn + 3}, 3 ahead of the open segment ${pl.nextMsn}`],
    ['_HLS_part=0', '_HLS_part without _HLS_msn'],
  ];
  const got = [];
  const problems = [];
  for (const [q, what] of cases) {
    const t0 = performance.now();
    let status;
    try {
      status = (await get(`${url}?${q}`, limitMs)).status;
    } catch (e) {
      status = `no answer (${errText(e)})`;
    }
    const took = performance.now() - t0;
    got.push(`?${q}: ${status} in ${ms(took)}`);
    if (status !== 400) problems.push(`${what} was answered ${typeof status === 'number' ? `HTTP ${status}` : status} after ${ms(took)}, not 400`);
  }
  const details = { figures: got.join(', ') };
  if (problems.length) return fail(problems.join('; '), details);
  return { status: 'pass', details };
}

/* ll-hls-skip: a delta update (_HLS_skip=YES) has EXT-X-SKIP, and merged
 * into the full playlist of the same moment as hls.js merges it, gives the
 * full playlist's segments back. Waits (up to waitMs) for the window to
 * outgrow CAN-SKIP-UNTIL, before which there is nothing to skip. */
export async function checkSkip(url, waitMs) {
  const end = performance.now() + waitMs;
  let last = null;
  for (let attempt = 0; performance.now() < end; attempt++) {
    const full = await getPlaylist(url);
    const r = await get(`${url}?_HLS_skip=YES`, 5000);
    const again = await getPlaylist(url);
    const same = (a, b) => a.nextMsn === b.nextMsn && a.openParts.length === b.openParts.length && a.mediaSequence === b.mediaSequence;
    if (!same(full, again)) continue; // the playlist moved meanwhile
    const sc = full.serverControl || {};
    const listed = full.segments.reduce((a, s) => a + s.duration, 0);
    if (r.status !== 200) return fail(`_HLS_skip=YES was answered HTTP ${r.status}`);
    const delta = parseMedia(r.text);
    const details = { figures: `full playlist ${full.segments.length} segments (${listed.toFixed(1)} s), delta update skips ${delta.skipped} and lists ${delta.segments.length}; CAN-SKIP-UNTIL ${sc.canSkipUntil} s` };
    last = details;
    if (!delta.skipped) {
      // a playlist not longer than the skip boundary has nothing to skip
      if (listed > sc.canSkipUntil + full.targetDuration) {
        return fail(`no EXT-X-SKIP in the answer to _HLS_skip=YES, though the playlist is ${listed.toFixed(1)} s long (CAN-SKIP-UNTIL ${sc.canSkipUntil} s)`, details);
      }
      await sleep(1000);
      continue;
    }
    if (!(delta.version >= 9)) return fail(`the delta update says EXT-X-VERSION ${delta.version}, not 9 or more`, details);
    if (delta.mediaSequence !== full.mediaSequence) {
      return fail(`the delta update's MEDIA-SEQUENCE ${delta.mediaSequence} is not the full playlist's ${full.mediaSequence}`, details);
    }
    const merged = mergeDelta(full, delta);
    if (delta.skipped + delta.segments.length !== full.segments.length || merged.length !== full.segments.length) {
      return fail(`skipped ${delta.skipped} + listed ${delta.segments.length} segments != the full playlist's ${full.segments.length}`, details);
    }
    const diff = merged.findIndex((s, i) => s.msn !== full.segments[i].msn || s.uri !== full.segments[i].uri || s.duration !== full.segments[i].duration);
    if (diff >= 0) {
      const a = merged[diff];
      const b = full.segments[diff];
      return fail(`merged, the delta update differs from the full playlist at segment ${b.msn}: ${a.uri} ${a.duration} s against ${b.uri} ${b.duration} s`, details);
    }
    if (delta.nextMsn !== full.nextMsn || delta.openParts.length !== full.openParts.length) {
      return fail(`the delta update ends at part ${delta.nextMsn}.${delta.openParts.length}, the full playlist at ${full.nextMsn}.${full.openParts.length}`, details);
    }
    return { status: 'pass', details };
  }
  return fail(`no delta update with skipped segments within ${ms(waitMs)}${last ? '' : ' (the playlist kept moving)'}`, last || {});
}

/* Seconds of an xs:duration such as PT1.5S, PT2M, PT0S. */
function isoSeconds(d) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(d || '');
  return m ? (Number(m[1] || 0) * 86400 + Number(m[2] || 0) * 3600 + Number(m[3] || 0) * 60 + Number(m[4] || 0)) : null;
}

const attr = (tag, a) => {
  const m = new RegExp(`\\b${a}="([^"]*)"`).exec(tag);
  return m ? m[1] : null;
};

/* The newest segment of the video SegmentTemplate of the MPD's last
 * Period: { lastN (its number), lastT (its start, template time) }, nulls
 * when there is none, and starts: every listed number's start. */
function newestVideoSegment(mpd) {
  const period = mpd.slice(mpd.lastIndexOf('<Period'));
  const video = (/<AdaptationSet\b[^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/.exec(period) || [''])[0];
  const tpl = (/<SegmentTemplate\b[^>]*>/.exec(video) || [''])[0];
  let number = Number(attr(tpl, 'startNumber') || 1);
  let t = 0;
  let lastT = null;
  let lastN = null;
  const starts = new Map();
  for (const s of video.match(/<S\b[^>]*>/g) || []) {
    if (attr(s, 't') !== null) t = Number(attr(s, 't'));
    const d = Number(attr(s, 'd'));
    for (let k = 0; k <= Number(attr(s, 'r') || 0); k++) {
      lastT = t;
      lastN = number++;
      starts.set(lastN, t);
      t += d;
    }
  }
  return { lastT, lastN, starts };
}

/* ll-dash-mpd: the LL-DASH description of a running channel's MPD, and
 * that its clock (availabilityStartTime + media time) is the ingest clock
 * of the HLS program date-times. mediaUrl: the top video's playlist. */
export async function checkMpd(mpdUrl, mediaUrl) {
  const r = await get(mpdUrl, 5000);
  if (r.status !== 200) return fail(`HTTP ${r.status} for the MPD`);
  const mpd = r.text;
  const pl = await getPlaylist(mediaUrl);
  const problems = [];
  const mpdTag = (/<MPD\b[^>]*>/.exec(mpd) || [''])[0];
  if (attr(mpdTag, 'type') !== 'dynamic') problems.push(`MPD type ${attr(mpdTag, 'type')}, not dynamic`);
  const ast = Date.parse(attr(mpdTag, 'availabilityStartTime'));
  const templates = mpd.match(/<SegmentTemplate\b[^>]*>/g) || [];
  if (!templates.length) problems.push('no SegmentTemplate');
  // An early-availability promise (the origin streams a segment being
  // written, checkDashChunked) needs availabilityTimeComplete="false" and
  // must leave the segment's first part time to be written.
  const atos = templates.map((t) => attr(t, 'availabilityTimeOffset') || 'none');
  templates.forEach((t, i) => {
    const ato = Number(attr(t, 'availabilityTimeOffset'));
    if (ato > 0 && attr(t, 'availabilityTimeComplete') !== 'false') problems.push(`SegmentTemplate ${i}: availabilityTimeOffset ${ato} without availabilityTimeComplete="false"`);
    if (ato > 0 && !(ato < pl.targetDuration)) problems.push(`SegmentTemplate ${i}: availabilityTimeOffset ${ato}, not under ${pl.targetDuration} s`);
  });
  const lat = (/<ServiceDescription\b[\s\S]*?<Latency\b[^>]*>/.exec(mpd) || [''])[0];
  const target = Number(attr(lat, 'target'));
  const want = Math.round((pl.targetDuration + 3 * pl.partTarget) * 1000);
  if (!lat) problems.push('no ServiceDescription with a Latency');
  else if (Math.abs(target - want) > 2) problems.push(`ServiceDescription Latency@target ${target} ms, not segment + 3 parts (${want} ms)`);
  const adaptations = (mpd.match(/<AdaptationSet\b/g) || []).length;
  const prts = mpd.match(/<ProducerReferenceTime\b[^>]*>/g) || [];
  if (prts.length < adaptations) problems.push(`${prts.length} ProducerReferenceTime for ${adaptations} AdaptationSets`);
  const utc = (/<UTCTiming\b[^>]*>/.exec(mpd) || [''])[0];
  let clock = 'none';
  if (!utc) problems.push('no UTCTiming');
  else {
    const u = new URL(attr(utc, 'value'), mpdUrl).href;
    const t = await get(u, 5000);
    const off = Date.parse(t.text.trim()) - Date.now();
    clock = `${attr(utc, 'value')} ${Number.isFinite(off) ? `off by ${ms(off)}` : `unreadable: ${t.text.slice(0, 40)}`}`;
    if (t.status !== 200 || !(Math.abs(off) < 1000)) problems.push(`UTCTiming ${u}: HTTP ${t.status}, ${clock}`);
  }
  // The video AdaptationSet's newest segment: its wall clock by the MPD
  // (availabilityStartTime + Period@start + t / timescale) against the HLS
  // program date-time of the same segment number.
  let skew = 'not compared';
  const period = mpd.slice(mpd.lastIndexOf('<Period'));
  const video = (/<AdaptationSet\b[^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/.exec(period) || [''])[0];
  const tpl = (/<SegmentTemplate\b[^>]*>/.exec(video) || [''])[0];
  if (video && tpl) {
    const ts = Number(attr(tpl, 'timescale'));
    // the newest segment both list complete (the MPD lists the open one too)
    const { starts } = newestVideoSegment(mpd);
    const done = pl.segments.filter((x) => starts.has(x.msn)).pop();
    const lastN = done ? done.msn : null;
    const lastT = done ? starts.get(lastN) : null;
    const pStart = isoSeconds(attr((/<Period\b[^>]*>/.exec(period) || [''])[0], 'start')) || 0;
    const pto = Number(attr(tpl, 'presentationTimeOffset') || 0);
    const seg = pl.segments.find((s) => s.msn === lastN);
    if (lastN !== null && seg && seg.pdt !== null) {
      const wall = ast + (pStart + (lastT - pto) / ts) * 1000;
      const d = wall - seg.pdt;
      skew = `segment ${lastN}: MPD clock - HLS PDT = ${ms(d)}`;
      if (Math.abs(d) > 50) problems.push(`segment ${lastN} starts at ${new Date(wall).toISOString()} by the MPD, at ${new Date(seg.pdt).toISOString()} by the HLS program date-time`);
    }
  }
  // The availability promise is worth something only if the MPD lists the
  // segment being written: within a few tries its newest video segment is
  // the one whose parts the HLS playlist lists after its last segment.
  let open = 'not looked for';
  if (atos.some((a) => Number(a) > 0)) {
    open = null;
    for (let i = 0; i < 30 && open === null; i++) {
      const [m2, p2] = await Promise.all([get(mpdUrl, 5000), getPlaylist(mediaUrl)]);
      const n = newestVideoSegment(m2.text).lastN;
      if (p2.openParts.length >= 1 && n === p2.nextMsn) open = `segment ${n} listed with ${p2.openParts.length} part(s) written`;
      else await sleep(100);
    }
    if (open === null) problems.push('the MPD never listed the segment being written: its availabilityTimeOffset gains players nothing');
  }
  const details = {
    figures: `availabilityTimeOffset ${[...new Set(atos)].join('/')} s, Latency@target ${target} ms, ${prts.length} ProducerReferenceTime, UTCTiming ${clock}, ${skew}, open segment: ${open}`,
  };
  if (problems.length) return fail(problems.slice(0, 4).join('; '), details);
  return { status: 'pass', details };
}

/* ll-dash-chunked: the segment being written, which the MPD says is
 * available already (availabilityTimeOffset, availabilityTimeComplete
 * "false"), is served while it is written: 200, its first bytes before the
 * segment is complete (a plain reload of the HLS playlist lists it whole),
 * and in the end the same bytes as the finished segment file. The
 * segment's URL comes from the video SegmentTemplate of the MPD. */
export async function checkDashChunked(mpdUrl, mediaUrl) {
  const mpd = (await get(mpdUrl, 5000)).text;
  if (!/availabilityTimeComplete="false"/.test(mpd)) {
    return { status: 'skip', reason: 'the MPD offers segments once complete (no availabilityTimeOffset): streaming a segment being written is not built yet' };
  }
  const period = mpd.slice(mpd.lastIndexOf('<Period'));
  const video = (/<AdaptationSet\b[^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/.exec(period) || [''])[0];
  const media = attr((/<SegmentTemplate\b[^>]*>/.exec(video) || [''])[0], 'media');
  const rep = attr((/<Representation\b[^>]*>/.exec(video) || [''])[0], 'id');
  if (!media || !rep) return fail('no video SegmentTemplate@media and Representation@id in the MPD');
  const segUrl = (n) => new URL(media.replace('$RepresentationID$', rep)
    .replace(/\$Number(?:%0(\d+)d)?\$/, (_, w) => String(n).padStart(Number(w || 1), '0')), mpdUrl).href;
  // the open segment, once it has a part or two (the MPD's availability
  // starts one part after the segment's start)
  let pl = await getPlaylist(mediaUrl);
  const wait = performance.now() + 3000;
  while ((pl.openParts.length < 1 || pl.openParts.length > 3) && performance.now() < wait) {
    await sleep(50);
    pl = await getPlaylist(mediaUrl);
  }
  const msn = pl.nextMsn;
  const url = segUrl(msn);
  const limitMs = 3 * pl.targetDuration * 1000 + 2000;
  const cancel = { stop: false };
  // complete = listed whole: the first part of the next segment, or later
  const complete = whenListed(mediaUrl, msn + 1, 0, 20, limitMs, cancel);
  const t0 = performance.now();
  let status = 0;
  let first = null;
  let end = null;
  const chunks = [];
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(limitMs), cache: 'no-store' });
    status = r.status;
    for await (const c of r.body) {
      if (first === null) first = performance.now();
      chunks.push(Buffer.from(c));
    }
    end = performance.now();
  } catch (e) {
    status = status || `no answer (${errText(e)})`;
  }
  const done = await complete.finally(() => { cancel.stop = true; });
  const body = Buffer.concat(chunks);
  const rel = (t) => (t === null ? 'never' : ms(t - t0));
  const details = {
    figures: `segment ${msn} (${url.replace(/^.*\/cmaf\//, 'cmaf/')}, asked with ${pl.openParts.length} part(s) out): HTTP ${status}, ` +
      `first bytes ${rel(first)}, last ${rel(end)}, the segment complete ${rel(done.at)} after the request; ${body.length} bytes`,
  };
  if (status !== 200) {
    return fail(`segment ${msn} is being written and the MPD says it is available (availabilityTimeComplete="false"), ` +
      `but the origin answered ${typeof status === 'number' ? `HTTP ${status}` : status}: LL-DASH players get it only once it is ` +
      'complete, later than their target latency', details);
  }
  if (done.at === null) return fail(`segment ${msn} was never listed complete within ${ms(limitMs)}`, details);
  if (!(first < done.at)) {
    return fail(`the first bytes of segment ${msn} came ${ms(first - done.at)} after it was complete: held, not delivered while written`, details);
  }
  const whole = await get(url, 5000, true);
  if (whole.status !== 200 || !whole.bytes.equals(body)) {
    return fail(`the segment delivered while written (${body.length} bytes) differs from the finished file (HTTP ${whole.status}, ${whole.bytes ? whole.bytes.length : 0} bytes)`, details);
  }
  return { status: 'pass', details };
}
