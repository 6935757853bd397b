#!/usr/bin/env node
// Serves one encbox output folder (OUT/videos/ID) on 127.0.0.1 with a player
// page, so a person can watch what a job made: hls.js for the HLS master
// (with a rung picker), Shaka for the DASH manifest, and the sprite
// thumbnails under the picture while scrubbing. Player libraries come from
// tests/playback/node_modules (npm ci there installs them).
//
//   node scripts/watch.mjs OUT/videos/ID [PORT]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'tests', 'playback', 'node_modules');
const dir = process.argv[2];
const port = Number(process.argv[3] || 8000);
if (!dir || !fs.existsSync(path.join(dir, 'hls', 'master.m3u8'))) {
  console.error('usage: node scripts/watch.mjs OUT/videos/ID [PORT]  (a folder holding hls/master.m3u8)');
  process.exit(2);
}
const libs = {
  '/lib/hls.js': path.join(modules, 'hls.js', 'dist', 'hls.min.js'),
  '/lib/shaka.js': path.join(modules, 'shaka-player', 'dist', 'shaka-player.compiled.js'),
};
for (const f of Object.values(libs)) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: run (cd tests/playback && npm ci) first`);
    process.exit(2);
  }
}
const types = {
  '.m3u8': 'application/vnd.apple.mpegurl', '.mpd': 'application/dash+xml', '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment', '.ts': 'video/mp2t', '.jpg': 'image/jpeg', '.vtt': 'text/vtt',
  '.js': 'text/javascript', '.html': 'text/html; charset=utf-8',
};
const page = `<!doctype html><html><head><meta charset="utf-8"><title>encbox: ${path.basename(dir)}</title>
<style>body{font:14px sans-serif;margin:2em;background:#111;color:#eee}video{width:960px;max-width:100%;background:#000}
#thumb{height:90px;margin-top:8px}a{color:#8cf}</style></head><body>
<h2>${path.basename(dir)}</h2>
<p><a href="?hls">HLS (hls.js)</a> · <a href="?dash">DASH (Shaka)</a> · rung: <select id="rung"><option value="-1">auto</option></select></p>
<video id="v" controls muted autoplay></video><div><canvas id="thumb" width="160" height="90"></canvas> <span id="info"></span></div>
<script src="/lib/hls.js"></script><script src="/lib/shaka.js"></script><script>
const v = document.getElementById('v'), sel = document.getElementById('rung'), info = document.getElementById('info');
if (location.search === '?dash') {
  const p = new shaka.Player(); p.attach(v).then(() => p.load('/media/dash/manifest.mpd'));
  p.addEventListener('error', e => info.textContent = 'error ' + e.detail.code);
  sel.disabled = true;
} else if (Hls.isSupported()) {
  const h = new Hls(); h.loadSource('/media/hls/master.m3u8'); h.attachMedia(v);
  h.on(Hls.Events.MANIFEST_PARSED, () => h.levels.forEach((l, i) =>
    sel.add(new Option(l.height + 'p ' + Math.round(l.bitrate / 1000) + ' kb/s', i))));
  h.on(Hls.Events.LEVEL_SWITCHED, (e, d) => info.textContent = 'playing ' + h.levels[d.level].height + 'p');
  sel.onchange = () => h.currentLevel = Number(sel.value);
} else { v.src = '/media/hls/master.m3u8'; }
// Scrub previews from thumbnails.vtt and the sprite sheets.
fetch('/media/thumbnails/thumbnails.vtt').then(r => r.ok ? r.text() : '').then(t => {
  const cues = [...t.matchAll(/([\\d:.]+) --> ([\\d:.]+)\\n(\\S+)#xywh=(\\d+),(\\d+),(\\d+),(\\d+)/g)].map(m => ({
    s: sec(m[1]), e: sec(m[2]), img: m[3], x: +m[4], y: +m[5], w: +m[6], h: +m[7] }));
  const c = document.getElementById('thumb').getContext('2d'), imgs = {};
  function sec(s) { const p = s.split(':'); return +p[0] * 3600 + +p[1] * 60 + +p[2]; }
  v.addEventListener('timeupdate', () => {
    const q = cues.find(q => v.currentTime >= q.s && v.currentTime < q.e); if (!q) return;
    const im = imgs[q.img] || (imgs[q.img] = Object.assign(new Image(), { src: '/media/thumbnails/' + q.img }));
    const draw = () => c.drawImage(im, q.x, q.y, q.w, q.h, 0, 0, 160, 90);
    im.complete ? draw() : im.onload = draw;
  });
});
</script></body></html>`;

http.createServer((req, res) => {
  const url = decodeURIComponent(req.url.split('?')[0]);
  let file = libs[url];
  if (url === '/') {
    res.writeHead(200, { 'Content-Type': types['.html'] });
    return res.end(page);
  }
  if (!file && url.startsWith('/media/')) {
    file = path.resolve(dir, '.' + url.slice('/media'.length));
    if (!file.startsWith(path.resolve(dir) + path.sep)) file = null; // never outside the folder
  }
  if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    return res.end('not found');
  }
  res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () => {
  console.log(`watch: http://127.0.0.1:${port}/  (HLS)   http://127.0.0.1:${port}/?dash  (DASH)   Ctrl-C stops`);
});
