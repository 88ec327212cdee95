// Test driver: run the static search runtime (theme/assets/kb/search-core.js) under node.
//   node tests/js/run_queries.mjs INDEX_DIR < [{"q": "...", "filters": {...}, "limit": 10, "facets": true}, ...]
// prints a JSON list of {total, ids, snippets, kinds, bytes, facets}; also exposes analysis helpers with {"fn": ...}.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { StaticIndex, normalize, splitRuns, bigrams, highlight } from '../../theme/assets/kb/search-core.js';

const dir = process.argv[2];
const input = JSON.parse(readFileSync(0, 'utf8'));
const load = async (p) => {
  const buf = await readFile(`${dir}/${p}`);
  return p.endsWith('.bin') ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf.toString('utf8');
};
const out = [];
for (const item of input) {
  if (item.fn === 'normalize') { out.push(normalize(item.arg)); continue; }
  if (item.fn === 'splitRuns') { out.push(splitRuns(item.arg)); continue; }
  if (item.fn === 'bigrams') { out.push(bigrams(item.arg)); continue; }
  if (item.fn === 'highlight') { out.push(highlight(item.arg, item.words, item.grams)); continue; }
  const idx = new StaticIndex('', { load });
  const res = await idx.search(item.q, { limit: item.limit || 10, page: item.page || 1, filters: item.filters || {},
    facets: item.facets || false });
  out.push({ total: res.total, ids: res.hits.map((h) => h.id), snippets: res.hits.map((h) => h.snippet),
    kinds: res.hits.map((h) => h.kind), bytes: idx.bytes, facets: res.facets ?? null });
}
process.stdout.write(JSON.stringify(out));
