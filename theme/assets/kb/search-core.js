// kb static search runtime: the query side of kb/static_index.py.
// An ES module with no dependencies; runs unchanged in the browser and under node (tests, benchmarks).
//
//   const idx = new StaticIndex(baseUrl)                      // browser: fetch(baseUrl + path)
//   const idx = new StaticIndex('', { load: p => readFile(dir + p) })   // node
//   const res = await idx.search('印尼 回填率', { limit: 10, page: 1, filters: { kind: ['case'] }, facets: ['kind'] })
//   res.facets: { kind: { case: 12, manual: 3 } } over the whole result set, as /api/search counts them
//   (facets: true counts every field the manifest lists)
//
// Query analysis mirrors kb.text: NFKC + lower case, CJK runs / Latin tokens, stop words, words,
// character bigrams, unigrams and glossary synonyms. CJK words are found without a dictionary: every
// substring of 1-4 characters is looked up, and the run is segmented by dynamic programming over the
// words the index knows (longest words first), like jieba's search mode over the same vocabulary.

const CJK = '\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff';
const TOKEN_RE = new RegExp(`([${CJK}]+)|(\\+\\d{1,4})|([a-z0-9]+(?:[._\\-/][a-z0-9]+)*)`, 'gu');
const MAX_WORD = 4;
const MAX_RUN = 40;
const MAX_LOOKUPS = 64;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function normalize(text) {
  return String(text).normalize('NFKC').toLowerCase();
}

export function splitRuns(text) {
  const out = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    out.push({ text: m[0], kind: m[1] ? 'cjk' : m[2] ? 'prefix' : 'latin', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

// Adjacent Latin words joined ("sender id" -> senderid), as kb.text.tokenize.joined_latin
export function joinedLatin(text, runs = splitRuns(text)) {
  const out = [];
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1], b = runs[i];
    if (a.kind === 'latin' && b.kind === 'latin' && b.start - a.end === 1 && ' -'.includes(text[a.end]) &&
        /^[a-z]+$/.test(a.text) && /^[a-z]+$/.test(b.text)) out.push(a.text + b.text);
  }
  return out;
}

export function bigrams(run) {
  const chars = Array.from(run);
  if (chars.length < 2) return chars.length ? [run] : [];
  const out = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
  return out;
}

export function fnv1a(s) {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

function readVarint(view, pos) {
  let n = 0, shift = 0, b;
  do {
    b = view[pos.i++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return n;
}

// Decode one shard (format in kb/static_index.py): key -> { ids: Uint32Array, imp: Float32Array|null }
export function parseShard(buffer, ndocs) {
  const bytes = new Uint8Array(buffer);
  if (decoder.decode(bytes.subarray(0, 4)) !== 'KBS2') throw new Error('not a kb shard');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pos = { i: 4 };
  const keys = new Map();
  const nkeys = readVarint(bytes, pos);
  for (let k = 0; k < nkeys; k++) {
    const len = readVarint(bytes, pos);
    const key = decoder.decode(bytes.subarray(pos.i, pos.i + len));
    pos.i += len;
    const flags = bytes[pos.i++];
    const n = readVarint(bytes, pos);
    let top = 0;
    if (flags & 2) { top = view.getFloat32(pos.i, true); pos.i += 4; }
    const ids = new Uint32Array(n);
    if (flags & 1) {
      const nbytes = (ndocs + 7) >> 3;
      let j = 0;
      for (let b = 0; b < nbytes; b++) {
        const v = bytes[pos.i + b];
        if (!v) continue;
        for (let bit = 0; bit < 8; bit++) if (v & (1 << bit)) ids[j++] = (b << 3) + bit;
      }
      pos.i += nbytes;
    } else {
      let prev = 0;
      for (let j = 0; j < n; j++) { prev += readVarint(bytes, pos); ids[j] = prev; }
    }
    let imp = null;
    if (flags & 2) {
      imp = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        const b = bytes[pos.i + (j >> 1)];
        imp[j] = (((j & 1) ? b >> 4 : b & 15) + 0.5) / 16 * top;
      }
      pos.i += (n + 1) >> 1;
    }
    keys.set(key, { ids, imp });
  }
  return keys;
}

const ASCII = /^[\x00-\x7f]+$/;

/** Multipliers so one query concept counts about once, as on the server (kb/ranking.py term_multipliers):
 *  sub-words inside a longer query word get sub_w, bigrams inside a word inner_b, bigrams across two words
 *  join_b; a bigram of two single-character words keeps full weight. `m`: the manifest's `weights` (the
 *  numbers live only in kb/ranking.py). Older manifests: all 1. */
export function termMultipliers(words, grams, m) {
  const cjk = words.filter((t) => !ASCII.test(t));
  const inside = new Set();
  const singles = new Set();
  for (const t of cjk) {
    const c = Array.from(t);
    if (c.length === 1) singles.add(t);
    for (let i = 0; i + 1 < c.length; i++) inside.add(c[i] + c[i + 1]);
  }
  const word = new Map();
  const gram = new Map();
  if (m.sub_w === undefined) return { word, gram };
  for (const t of cjk) {
    const n = Array.from(t).length;
    if (cjk.some((o) => Array.from(o).length > n && o.includes(t))) word.set(t, m.sub_w);
  }
  for (const g of grams) {
    const c = Array.from(g);
    if (c.length !== 2 || ASCII.test(g)) continue;
    gram.set(g, inside.has(g) ? m.inner_b : (singles.has(c[0]) && singles.has(c[1]) ? 1 : m.join_b));
  }
  return { word, gram };
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// Mark the query's words (longest first) and, where no word matched, its bigrams. With `width`,
// return the window of about `width` characters starting a little before the first mark.
export function highlight(text, words, grams, width = 0) {
  const low = normalize(text);
  const marks = new Uint8Array(text.length);
  const terms = [...new Set(words)].filter((t) => t.length > 1 || !/^[\x00-\x7f]$/.test(t))
    .sort((a, b) => b.length - a.length);
  const apply = (list) => {
    for (const t of list) {
      if (!t) continue;
      let from = 0, at;
      while ((at = low.indexOf(t, from)) >= 0) {
        if (!marks.subarray(at, at + t.length).some((x) => x)) marks.fill(1, at, at + t.length);
        from = at + t.length;
      }
    }
  };
  apply(terms);
  apply(grams.filter((g) => !terms.includes(g)));
  let from = 0, to = text.length;
  if (width && text.length > width) {
    const first = marks.indexOf(1);
    from = first > 20 ? first - 20 : 0;
    to = Math.min(text.length, from + width);
  }
  let out = from > 0 ? '…' : '', open = false;
  for (let i = from; i < to; i++) {
    if (marks[i] && !open) { out += '<mark>'; open = true; }
    if (!marks[i] && open) { out += '</mark>'; open = false; }
    out += escapeHtml(text[i]);
  }
  return (open ? out + '</mark>' : out) + (to < text.length ? '…' : '');
}

// A query with more terms than this is pasted text: mark only its words of 2+ characters
const LONG_QUERY_TERMS = 12;

export function markTerms(words, grams) {
  if (words.length + grams.length <= LONG_QUERY_TERMS) return { words, grams };
  return { words: words.filter((w) => Array.from(w).length > 1), grams: [] };
}

// The excerpt holds one line a section ("原因：…"); show the line with the most distinct query terms
// (the first without a match), highlighted, cut to about `width` characters.
export function snippet(excerpt, words, grams, width = 110) {
  const lines = String(excerpt || '').split('\n').filter(Boolean);
  if (!lines.length) return '';
  const t = markTerms(words, grams);
  let best = lines[0], bestScore = 0;
  for (const line of lines) {
    const low = normalize(line);
    let score = 0;
    for (const x of new Set([...t.words, ...t.grams])) if (x && low.includes(x)) score += x.length * (t.words.includes(x) ? 3 : 1);
    if (score > bestScore) { best = line; bestScore = score; }
  }
  const colon = best.indexOf('：');
  if (colon > 0 && colon <= 12) { // keep the section's name in front of a window cut from its text
    return escapeHtml(best.slice(0, colon + 1)) + highlight(best.slice(colon + 1), t.words, t.grams, width);
  }
  return highlight(best, t.words, t.grams, width);
}

export class StaticIndex {
  constructor(base = '', options = {}) {
    this.base = base;
    this.load = options.load || (async (path) => {
      const r = await fetch(this.base + path);
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      return path.endsWith('.bin') ? r.arrayBuffer() : r.text();
    });
    this.shards = new Map();
    this.chunks = new Map();
    this._facetFields = new Map();
    this.bytes = 0;
    this._manifest = null;
  }

  async _get(path) {
    const data = await this.load(path);
    this.bytes += typeof data === 'string' ? encoder.encode(data).length : data.byteLength;
    return data;
  }

  async manifest() {
    if (!this._manifest) {
      this._manifest = this._get('manifest.json').then((t) => {
        const m = JSON.parse(typeof t === 'string' ? t : decoder.decode(t));
        m.stopSet = new Set(m.stop);
        this._docs = m.docs;
        return m;
      });
    }
    return this._manifest;
  }

  async _shard(id) {
    if (!this.shards.has(id)) {
      this.shards.set(id, this._get(`s/${id.toString(16)}.bin`).then((b) => parseShard(b, this._docs)).catch(() => new Map()));
    }
    return this.shards.get(id);
  }

  // f/<field>.bin (kb/static_index.py): field -> Map of value -> doc ids, each field's file fetched once, by the
  // first search that filters or counts that field
  async facetData(fields) {
    const m = await this.manifest();
    const known = new Set(m.facets?.fields || []);
    const out = new Map();
    await Promise.all([...new Set(fields)].map(async (field) => {
      if (!known.has(field)) { out.set(field, new Map()); return; }
      if (!this._facetFields.has(field)) {
        const p = this._get(`${m.facets.dir}${field}.bin`).then((b) => {
          const values = new Map();
          for (const [key, x] of parseShard(b, m.docs)) values.set(key.slice(key.indexOf('=') + 1), x.ids);
          return values;
        });
        p.catch(() => this._facetFields.delete(field)); // a failed download is tried again next time
        this._facetFields.set(field, p);
      }
      out.set(field, await this._facetFields.get(field));
    }));
    return out;
  }

  // bare strings -> Map of "prefix:string" -> postings, fetching each needed shard once
  async lookup(strings) {
    const m = await this.manifest();
    const byShard = new Map();
    for (const s of new Set(strings)) {
      const id = fnv1a(s) % m.shards;
      if (!byShard.has(id)) byShard.set(id, []);
      byShard.get(id).push(s);
    }
    const found = new Map();
    await Promise.all([...byShard].map(async ([id, list]) => {
      const shard = await this._shard(id);
      for (const s of list) {
        for (const p of ['w:', 'b:', 'u:']) {
          const hit = shard.get(p + s);
          if (hit) found.set(p + s, hit);
        }
      }
    }));
    return found;
  }

  // The query's words, bigrams, unigrams and synonyms, as kb.text.Analyzer.query_terms makes them.
  async analyze(query) {
    const m = await this.manifest();
    const norm = normalize(query);
    const runs = splitRuns(norm);
    const compact = norm.replace(/\s+/g, '');
    const synonyms = [];
    for (const group of m.synonyms || []) {
      if (group.some((f) => compact.includes(f.replace(/\s+/g, '')))) {
        for (const f of group) {
          if (!compact.includes(f.replace(/\s+/g, ''))) synonyms.push(splitRuns(f).map((t) => t.text));
        }
      }
    }
    const wanted = [];
    for (const r of runs) {
      if (r.kind !== 'cjk') { wanted.push(r.text); continue; }
      const chars = Array.from(r.text).slice(0, MAX_RUN);
      for (let i = 0; i < chars.length; i++) {
        for (let n = 1; n <= MAX_WORD && i + n <= chars.length; n++) wanted.push(chars.slice(i, i + n).join(''));
      }
    }
    // a long question would look up ~4 substrings a character: past MAX_LOOKUPS, the rarer long
    // candidates go first (4, then 3 characters), which bounds the first download
    for (const n of [4, 3]) {
      if (new Set(wanted).size <= MAX_LOOKUPS) break;
      for (let k = wanted.length - 1; k >= 0; k--) if (Array.from(wanted[k]).length === n && /[^\x00-\x7f]/.test(wanted[k])) wanted.splice(k, 1);
    }
    const joined = joinedLatin(norm, runs);
    wanted.push(...joined);
    for (const s of synonyms) wanted.push(...s);
    const postings = await this.lookup(wanted);
    const isWord = (s) => postings.has('w:' + s);
    const words = [], grams = [], unis = [];
    for (const r of runs) {
      if (r.kind !== 'cjk') { words.push(r.text); grams.push(r.text); continue; }
      const chars = Array.from(r.text).slice(0, MAX_RUN);
      // best segmentation: known words and stop words score len^2, other single characters 0
      const best = new Array(chars.length + 1).fill(-Infinity);
      const back = new Array(chars.length + 1).fill(0);
      best[0] = 0;
      for (let i = 1; i <= chars.length; i++) {
        for (let n = 1; n <= Math.min(MAX_WORD, i); n++) {
          const seg = chars.slice(i - n, i).join('');
          const known = m.stopSet.has(seg) || isWord(seg);
          if (!known && n > 1) continue;
          const s = best[i - n] + (known ? n * n : 0);
          if (s > best[i]) { best[i] = s; back[i] = n; }
        }
      }
      const segs = [];
      for (let i = chars.length; i > 0; i -= back[i]) segs.unshift(chars.slice(i - back[i], i).join(''));
      let content = '';
      const flush = () => {
        if (content) { grams.push(...bigrams(content)); content = ''; }
      };
      for (const seg of segs) {
        if (m.stopSet.has(seg)) { flush(); continue; }
        content += seg;
        if (isWord(seg)) words.push(seg);
        const sc = Array.from(seg);
        for (let n = 2; n < sc.length; n++) {          // search mode: known sub-words of long words
          for (let i = 0; i + n <= sc.length; i++) {
            const sub = sc.slice(i, i + n).join('');
            if (isWord(sub)) words.push(sub);
          }
        }
      }
      flush();
    }
    words.push(...joined);
    for (const g of grams) {
      if (/^[\x00-\x7f]+$/.test(g)) continue;
      for (const c of g) unis.push(c);
    }
    return { words: [...new Set(words)], grams, unis: [...new Set(unis)], synonyms, postings };
  }

  // `facets`: also count the values of these fields (true: every field of the manifest's `facets.fields`) over
  // every matching document, a chosen field without its own filter (disjunctive, as kb.search does). A blank
  // query lists every document that passes the filters (filter-only browsing).
  async search(query, { limit = 10, page = 1, filters = {}, facets = false } = {}) {
    const t0 = (globalThis.performance || Date).now();
    const m = await this.manifest();
    const q = await this.analyze(query);
    const score = new Float64Array(m.docs);
    const matched = new Uint8Array(m.docs); // single characters only re-rank, as on the server
    const add = (key, weight, counts = true, only = null) => {
      const p = q.postings.get(key);
      if (!p || !p.imp) return;
      for (let j = 0; j < p.ids.length; j++) {
        if (only && !only.has(p.ids[j])) continue;
        score[p.ids[j]] += p.imp[j] * weight;
        if (counts) matched[p.ids[j]] = 1;
      }
    };
    const weights = m.weights || {};
    const mult = termMultipliers(q.words, q.grams, weights);
    for (const w of q.words) add('w:' + w, mult.word.get(w) ?? 1);
    for (const g of q.grams) {
      const k = mult.gram.get(g) ?? 1;
      if (k > 0) add('b:' + g, k);
    }
    for (const u of q.unis) add('u:' + u, 1, false);
    for (const s of q.synonyms) {
      if (q.words.includes(s.join('')) || (s.length === 1 && q.words.includes(s[0]))) continue;
      // a synonym of several words is a phrase on the server: only documents with all of its words match it
      let only = null;
      for (const t of s.length > 1 ? s : []) {
        const ids = q.postings.get('w:' + t)?.ids || [];
        only = new Set(only ? ids.filter((id) => only.has(id)) : ids);
      }
      for (const t of s) add('w:' + t, (weights.synonym ?? 1) / s.length, true, only);
    }
    // filters: one mask a field (values OR-ed), fields AND-ed
    const active = Object.entries(filters)
      .map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).filter((x) => x !== '' && x != null).map(String)])
      .filter(([, v]) => v.length);
    const counted = !facets ? [] : facets === true ? (m.facets?.fields || []) : facets;
    const data = await this.facetData([...active.map(([k]) => k), ...counted]);
    const masks = new Map();
    for (const [k, values] of active) {
      const mask = new Uint8Array(m.docs);
      for (const x of values) for (const id of data.get(k)?.get(x) || []) mask[id] = 1;
      masks.set(k, mask);
    }
    const browsing = !String(query ?? '').trim(); // filters only: list them all
    const base = browsing ? new Uint8Array(m.docs).fill(1) : matched;
    const passes = (i, except = null) => {
      for (const [k, mask] of masks) if (k !== except && !mask[i]) return false;
      return true;
    };
    const ranked = [];
    for (let i = 0; i < m.docs; i++) if (base[i] && passes(i)) ranked.push(i);
    ranked.sort((a, b) => score[b] - score[a] || a - b);
    const counts = facets ? this._count(counted, data, m, base, ranked, masks, passes) : null;
    const start = (page - 1) * limit;
    const ids = ranked.slice(start, start + limit);
    const docs = await this.docs(ids);
    const hits = ids.map((id, k) => ({
      ...docs[k],
      score: Math.round(score[id] * 1e4) / 1e4,
      snippet: snippet(docs[k].excerpt || '', q.words, q.grams, 110),
      titleHtml: highlight(docs[k].title || '', markTerms(q.words, q.grams).words, markTerms(q.words, q.grams).grams),
    }));
    return { query, total: ranked.length, hits, page, limit, ...(counts ? { facets: counts } : {}),
      took_ms: Math.round(((globalThis.performance || Date).now() - t0) * 100) / 100 };
  }

  // Counts per value of each facet field: over the result set, or for a field with a chosen value over the
  // documents every other filter lets through; the `size` most frequent values, zero counts left out.
  _count(fields, data, m, base, ranked, masks, passes) {
    const size = m.facets?.size || 0;
    const inResults = new Uint8Array(m.docs);
    for (const id of ranked) inResults[id] = 1;
    const out = {};
    for (const field of fields) {
      let set = inResults;
      if (masks.has(field)) {
        set = new Uint8Array(m.docs);
        for (let i = 0; i < m.docs; i++) if (base[i] && passes(i, field)) set[i] = 1;
      }
      const row = [];
      for (const [value, ids] of data.get(field) || []) {
        let n = 0;
        for (const id of ids) n += set[id];
        if (n) row.push([value, n]);
      }
      row.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      out[field] = Object.fromEntries(row.slice(0, size || row.length));
    }
    return out;
  }

  async docs(ids) {
    const m = await this.manifest();
    const need = [...new Set(ids.map((id) => Math.floor(id / m.chunk)))];
    await Promise.all(need.map((c) => {
      if (!this.chunks.has(c)) {
        this.chunks.set(c, this._get(`d/${c}.json`).then((t) => JSON.parse(typeof t === 'string' ? t : decoder.decode(t))));
      }
      return this.chunks.get(c);
    }));
    return Promise.all(ids.map(async (id) => (await this.chunks.get(Math.floor(id / m.chunk)))[id % m.chunk]));
  }
}
