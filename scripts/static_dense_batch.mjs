// The static search runtime under node with extra, weighted query words: scripts/bench_static_dense.py's
// simulation of what a browser would do with a shipped expansion table.
//   node scripts/static_dense_batch.mjs INDEX_DIR QUERIES.jsonl [LIMIT] [--check] > results.jsonl
// Each input line: {"query_id", "query", "expand": [[word, weight], ...]?, "cold": bool?}. Each output line:
// {"query_id", "words", "hits": [{"id", "score"}], "shards": [ids fetched cold], "bytes": cold bytes}
// ("shards"/"bytes" only with "cold"). Scoring is search-core.js's StaticIndex.search() (same analysis, same
// impacts and multipliers) plus weight x impact for each extra word, which also makes a document a match.
// --check: also run StaticIndex.search() and exit 1 if its ranking differs from ours without expansions.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { StaticIndex, termMultipliers } from '../theme/assets/kb/search-core.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const [dir, queries, limitArg] = args.filter((a) => a !== '--check');
const limit = Number(limitArg || 100);
const load = async (p) => {
  const buf = await readFile(`${dir}/${p}`);
  return p.endsWith('.bin') ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf.toString('utf8');
};

async function rank(idx, query, expand, top = limit) {
  const m = await idx.manifest();
  const q = await idx.analyze(query);
  const extra = expand.length ? await idx.lookup(expand.map(([w]) => w)) : new Map();
  const score = new Float64Array(m.docs);
  const matched = new Uint8Array(m.docs);
  const add = (p, weight, counts = true) => {
    if (!p || !p.imp) return;
    for (let j = 0; j < p.ids.length; j++) {
      score[p.ids[j]] += p.imp[j] * weight;
      if (counts) matched[p.ids[j]] = 1;
    }
  };
  // --- as StaticIndex.search() ---
  const weights = m.weights || {};
  const mult = termMultipliers(q.words, q.grams, weights);
  for (const w of q.words) add(q.postings.get('w:' + w), mult.word.get(w) ?? 1);
  for (const g of q.grams) {
    const k = mult.gram.get(g) ?? 1;
    if (k > 0) add(q.postings.get('b:' + g), k);
  }
  for (const u of q.unis) add(q.postings.get('u:' + u), 1, false);
  for (const s of q.synonyms) {
    if (q.words.includes(s.join('')) || (s.length === 1 && q.words.includes(s[0]))) continue;
    for (const t of s) add(q.postings.get('w:' + t), (weights.synonym ?? 1) / s.length);
  }
  // --- the extra words ---
  for (const [w, weight] of expand) if (!q.words.includes(w)) add(extra.get('w:' + w), weight);
  const ranked = [];
  for (let i = 0; i < score.length; i++) if (matched[i]) ranked.push(i);
  ranked.sort((a, b) => score[b] - score[a] || a - b);
  const ids = ranked.slice(0, top);
  const docs = await idx.docs(ids);
  return { words: q.words, hits: ids.map((id, k) => ({ id: docs[k].id, score: Math.round(score[id] * 1e4) / 1e4 })) };
}

const shared = new StaticIndex('', { load });
let mismatches = 0;
for await (const line of createInterface({ input: createReadStream(queries) })) {
  if (!line.trim()) continue;
  const q = JSON.parse(line);
  const text = q.query ?? q.text;
  const expand = q.expand || [];
  const out = { query_id: q.query_id ?? q.id, ...(await rank(shared, text, expand)) };
  if (q.cold) { // what a first search downloads: manifest, shards (query + extra words), one page of display data
    const cold = new StaticIndex('', { load });
    await rank(cold, text, expand, 10);
    out.shards = [...cold.shards.keys()];
    out.bytes = cold.bytes;
  }
  if (check && !expand.length) {
    const ref = await shared.search(text, { limit });
    const a = ref.hits.map((h) => h.id).join(' '), b = out.hits.map((h) => h.id).join(' ');
    if (a !== b) mismatches++;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
if (mismatches) {
  process.stderr.write(`${mismatches} queries rank differently from StaticIndex.search()\n`);
  process.exit(1);
}
