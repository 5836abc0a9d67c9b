#!/usr/bin/env node
'use strict';
// Turns the JSON lines of bench/jsonpath/run.sh into a Markdown table:
// per query and engine, the median over repeats of the per-repeat medians,
// and our speed-up over the faster npm engine.
// Usage: node report.js OURS_JSONL NPM_JSONL
const fs = require('fs');

const lines = process.argv.slice(2).flatMap((file) =>
  fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const groups = new Map();
for (const l of lines) {
  const key = `${l.id}\u0000${l.engine}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(l);
}
const summary = new Map();
for (const [key, ls] of groups) {
  const [id, engine] = key.split('\u0000');
  const pick = (f) => (ls[0][f] === undefined ? undefined : median(ls.map((l) => l[f])));
  summary.set(key, { id, engine, query: ls[0].query, results: ls[0].results, repeats: ls.length,
    values: pick('values_median_ms'), paths: pick('values_paths_median_ms'),
    streamed: pick('streamed_values_paths_median_ms'), parse: pick('parse_us') });
}
const ids = [...new Set(lines.map((l) => l.id))];
const fmt = (v, d = 3) => (v === undefined ? '-' : v.toFixed(d));
console.log('| query | results | engine | values ms | values+paths ms | streamed ms | compile µs |');
console.log('|---|---:|---|---:|---:|---:|---:|');
for (const id of ids) {
  for (const engine of ['nexu', 'jsonpath-rfc9535', 'json-p3', 'hand-written C++ loop']) {
    const s = summary.get(`${id}\u0000${engine}`);
    if (!s) continue;
    console.log(`| \`${s.query}\` | ${s.results} | ${engine} | ${fmt(s.values)} | ${fmt(s.paths)} | ${fmt(s.streamed)} | ${fmt(s.parse, 2)} |`);
  }
}
console.log('\n| query | speed-up vs faster npm (values) | speed-up vs faster npm (values+paths) |');
console.log('|---|---:|---:|');
for (const id of ids) {
  const ours = summary.get(`${id}\u0000nexu`);
  const npm = ['jsonpath-rfc9535', 'json-p3'].map((e) => summary.get(`${id}\u0000${e}`)).filter(Boolean);
  if (!ours || npm.length === 0) continue;
  const best = (f) => Math.min(...npm.map((s) => s[f]));
  console.log(`| \`${ours.query}\` | ${(best('values') / ours.values).toFixed(1)}x | ${(best('paths') / ours.paths).toFixed(1)}x |`);
}
const repeats = Math.max(...[...summary.values()].map((s) => s.repeats));
console.log(`\nMedians over ${repeats} repeats; all engines pinned with taskset -c 1.`);
