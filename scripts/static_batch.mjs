// Run the static search runtime under node over a query file: the `kb search --batch` contract.
//   node scripts/static_batch.mjs INDEX_DIR QUERIES.jsonl [LIMIT] > results.jsonl
// Each input line has "query_id" (or "id") and "query" (or "text"); each output line is
// {"query_id", "hits": [{"id", "score"}], "bytes", "page_bytes"} where bytes is what this query downloaded cold
// as search-as-you-type asks it (no facets), page_bytes the same query with the counts of every facet field
// (the search page asks for the counts of its own filters only, after showing the results).
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { StaticIndex } from '../theme/assets/kb/search-core.js';

const [dir, queries, limitArg] = process.argv.slice(2);
const limit = Number(limitArg || 100);
const load = async (p) => {
  const buf = await readFile(`${dir}/${p}`);
  return p.endsWith('.bin') ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf.toString('utf8');
};
const shared = new StaticIndex('', { load });
for await (const line of createInterface({ input: createReadStream(queries) })) {
  if (!line.trim()) continue;
  const q = JSON.parse(line);
  const cold = new StaticIndex('', { load });
  const res = await cold.search(q.query ?? q.text, { limit: 10 });
  const page = new StaticIndex('', { load });
  await page.search(q.query ?? q.text, { limit: 10, facets: true });
  const ranked = await shared.search(q.query ?? q.text, { limit });
  process.stdout.write(JSON.stringify({
    query_id: q.query_id ?? q.id, bytes: cold.bytes, page_bytes: page.bytes, took_ms: ranked.took_ms,
    hits: ranked.hits.map((h) => ({ id: h.id, score: h.score })),
  }) + '\n');
  void res;
}
