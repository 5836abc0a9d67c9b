#!/usr/bin/env node
'use strict';
// Times the npm RFC 9535 engines over the benchmark documents held as one
// object keyed by id (as the query endpoint presents a collection), each query
// RUNS times after two warm-ups for the JIT. Prints one JSON line per engine
// and query: medians of values only and of values + normalized paths.
// Usage: NODE_PATH=DIR/node_modules node npm_engines.js DOCS_JSONL QUERIES_JSON RUNS
const fs = require('fs');
const { performance } = require('perf_hooks');

const [docsPath, queriesPath, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 20);
const collection = {};
for (const line of fs.readFileSync(docsPath, 'utf8').split('\n')) {
  if (line) { const r = JSON.parse(line); collection[r.key] = r.doc; }
}
const queries = JSON.parse(fs.readFileSync(queriesPath, 'utf8'));

const rfc9535 = require('jsonpath-rfc9535');
const p3 = require('json-p3');
const engines = {
  'jsonpath-rfc9535': {
    values: (q) => rfc9535.query(collection, q),
    both: (q) => { const v = rfc9535.query(collection, q); const p = rfc9535.paths(collection, q); return [v, p]; },
  },
  'json-p3': {
    values: (q) => p3.jsonpath.compile(q).query(collection).values(),
    both: (q) => { const n = p3.jsonpath.compile(q).query(collection); return [n.values(), n.paths()]; },
  },
};

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

for (const [engine, run] of Object.entries(engines)) {
  for (const { id, query } of queries) {
    const tv = []; const tb = [];
    let results = 0;
    for (let i = 0; i < runs + 2; i++) {
      let t = performance.now();
      const values = run.values(query);
      const dv = performance.now() - t;
      t = performance.now();
      const [both, paths] = run.both(query);
      const db = performance.now() - t;
      if (both.length !== paths.length || both.length !== values.length) throw new Error(`${engine} ${id}: counts disagree`);
      results = values.length;
      if (i >= 2) { tv.push(dv); tb.push(db); }
    }
    // Parse alone: compile the query many times over a tiny document.
    const parseRuns = 20000;
    let t = performance.now();
    for (let i = 0; i < parseRuns; i++) {
      if (engine === 'json-p3') p3.jsonpath.compile(query); else rfc9535.query({}, query);
    }
    const parseUs = ((performance.now() - t) * 1000) / parseRuns;
    console.log(JSON.stringify({ engine, id, query, documents: Object.keys(collection).length, results,
      values_median_ms: +median(tv).toFixed(3), values_paths_median_ms: +median(tb).toFixed(3),
      parse_us: +parseUs.toFixed(3) }));
  }
}
