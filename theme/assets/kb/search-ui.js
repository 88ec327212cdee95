// kb site search UI: header box with results as you type, and the full page /search/?q=…
// Uses the HTTP API when the site is served by `kb serve` (its pages carry <meta name="kb-api">) or
// extra.kb.api_url is set, and the static index (search-index/) for static hosting or when the API fails.
import { StaticIndex } from './search-core.js';

const cfg = window.kbConfig || { base: '.', api: '' };
const root = new URL((cfg.base || '.').replace(/\/?$/, '/'), location.href);
const FILTERS = { kind: '类型', country: '国家', category: '案例分类', tag: '标签' };
const SUGGEST = ['回填率', 'Sender ID 申请', 'DELIVRD', '子账号', '余额', '短链接'];
const COUNTRIES = cfg.countries || {}; // ISO code -> Chinese name, written by the build
//: longer than this, the header box does not search as you type: a pasted ticket is searched on Enter
const LONG_QUERY = 48;
//: a pause this long after typing counts the query as searched (the query log), as Enter or a click do
const LOG_PAUSE_MS = 1500;

let staticIndex = null;
const getStatic = () => (staticIndex ||= new StaticIndex(new URL('search-index/', root).href));
// Kind labels come from the static index manifest (`kinds`, written from kb/kinds.py); until it has
// loaded, or without one, a kind shows as its name.
let KIND = {};
const loadKinds = () => getStatic().manifest().then((m) => { KIND = m.kinds || {}; }, () => {});
const countryName = (c) => COUNTRIES[c] || c;

let apiBase = null; // resolved once: URL string or false
// The server's search whenever kb serve serves this page: what a caller may see is the server's
// token rule (a token in localStorage, or the login cookie the same-origin fetch sends).
async function detectApi() {
  if (apiBase !== null) return apiBase;
  const meta = document.querySelector('meta[name="kb-api"]');
  const url = cfg.api || (meta && meta.content) || '';
  if (!url) return (apiBase = false);
  return (apiBase = new URL(url.replace(/\/?$/, '/'), url === cfg.api ? location.href : root).href);
}

function authHeaders() {
  try {
    const t = localStorage.getItem('kb.token');
    return t ? { Authorization: `Bearer ${t}` } : {};
  } catch {
    return {};
  }
}

let logParam = true; // an API that does not know `log` answers 400 unknown_parameter: then send none

async function apiGet(api, path, params) {
  const u = new URL(path, api);
  for (const [k, v] of params) u.searchParams.append(k, v);
  return fetch(u, { headers: authHeaders() });
}

const tokenError = (d) => ({ total: 0, hits: [], facets: {}, mode: 'api', code: 'invalid_token',
  error: d.error?.message || '令牌无效' });

// Similar-content search for a pasted text the search endpoint will not take (POST /api/similar)
async function runSimilar(api, q, limit) {
  const r = await fetch(new URL('similar', api), { method: 'POST', headers: { 'content-type': 'application/json',
    ...authHeaders() }, body: JSON.stringify({ text: q.slice(0, 4000), kind: null, limit }) });
  const d = await r.json().catch(() => ({}));
  if (r.status === 401) return tokenError(d);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return { ...d, facets: {}, mode: 'api', notice: '文本较长，已按相似内容查找（语义相似度），结果不一定包含原文中的词。',
    hits: (d.hits || []).map(apiHit) };
}

const apiHit = (h) => ({ ...h, titleHtml: null, updated: h.meta?.updated, country: h.meta?.country,
  category: h.meta?.category });

// One search call for both modes; returns { total, hits, facets, mode, took_ms, error?, code?, notice? }.
// `log: false` for search-as-you-type: only finished searches count in the query log. With `onFacets`, the
// static index answers without counts first and hands the counts of the page's filters to onFacets after
// (their postings are a download of their own; the results never wait for it).
export async function runSearch(q, { limit = 10, page = 1, filters = {}, facets = true, log = true, onFacets = null } = {}) {
  const api = await detectApi();
  await loadKinds();
  if (api) {
    try {
      const params = [];
      if (q) params.push(['q', q]);
      params.push(['limit', limit], ['page', page]);
      if (!facets) params.push(['facets', 'false']);
      for (const [k, v] of Object.entries(filters)) if (v) params.push([k, v]);
      let r = await apiGet(api, 'search', logParam ? [...params, ['log', log ? '1' : '0']] : params);
      let d = r.ok ? null : await r.json().catch(() => ({}));
      if (r.status === 400 && d?.error?.code === 'unknown_parameter' && logParam) {
        logParam = false;
        r = await apiGet(api, 'search', params);
        d = r.ok ? null : await r.json().catch(() => ({}));
      }
      if (r.ok) {
        d = await r.json();
        return { ...d, mode: 'api', hits: d.hits.map(apiHit) };
      }
      if (r.status === 401) return tokenError(d);
      if (r.status === 400 && d?.error?.code === 'too_long' && q) return await runSimilar(api, q, limit);
      if (r.status >= 400 && r.status < 500) {
        return { total: 0, hits: [], facets: {}, mode: 'api', error: d?.error?.message || `HTTP ${r.status}` };
      }
    } catch { /* fall back to the static index */ }
  }
  const idx = getStatic();
  const opts = { limit, page, filters: Object.fromEntries(Object.entries(filters).filter(([, v]) => v).map(([k, v]) => [k, [v]])) };
  const fields = facets ? Object.keys(FILTERS) : false;
  const res = await idx.search(q, { ...opts, facets: onFacets ? false : fields });
  if (onFacets && fields) {
    idx.search(q, { ...opts, limit: 0, facets: fields }).then((r) => onFacets(r.facets), () => {});
  }
  // the manifest says how the static index ranks ("lexical": keyword matching only, no semantic retrieval)
  return { ...res, facets: res.facets || null, mode: 'static', retrieval: (await idx.manifest()).retrieval || 'lexical',
    notice: q.length > LONG_QUERY ? '离线索引按文本中最有区分度的词查找；服务端搜索（kb serve）能按整段文字找相似案例。' : '' };
}

// A finished search the header box showed as you typed: count it in the query log (API mode only;
// the API's response cache answers it without searching again)
async function logSearch(q) {
  const api = await detectApi();
  if (!api || !logParam || !q) return;
  const u = new URL('search', api);
  for (const [k, v] of [['q', q], ['limit', 8], ['page', 1], ['facets', 'false'], ['log', '1']]) u.searchParams.set(k, v);
  fetch(u, { headers: authHeaders(), keepalive: true }).catch(() => {});
}

// Completions: titles and glossary terms by prefix, pinyin and pinyin initials ("hgl" -> 回填率) from the
// API; without one, glossary prefixes from the static index's manifest.
export async function runSuggest(q) {
  const api = await detectApi();
  if (api) {
    try {
      const r = await apiGet(api, 'suggest', [['q', q.slice(0, 64)], ['limit', '5']]);
      if (r.ok) return (await r.json()).suggestions;
    } catch { /* fall through */ }
  }
  try {
    const m = await getStatic().manifest();
    const low = q.trim().toLowerCase();
    if (!low) return [];
    return (m.synonyms || []).filter((g) => g.some((f) => f.startsWith(low) && f !== low))
      .slice(0, 5).map((g) => ({ text: g.find((f) => f.startsWith(low)), kind: 'term' }));
  } catch {
    return [];
  }
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function hitHtml(h, i) {
  const href = new URL(h.url, root).href;
  const crumbs = [KIND[h.kind] || h.kind, h.country && countryName(h.country), h.category].filter(Boolean).map(esc).join(' › ');
  return `<a class="kb-hit" role="option" id="kb-hit-${i}" href="${esc(href)}" data-kind="${esc(h.kind)}">
    <div class="kb-hit__head"><span class="kb-kind kb-kind-${esc(h.kind)}">${esc(KIND[h.kind] || h.kind)}</span>
    <span class="kb-hit__title">${h.titleHtml || esc(h.title)}</span></div>
    <div class="kb-hit__crumbs">${crumbs}${h.updated ? ` · 更新于 ${esc(h.updated)}` : ''}</div>
    <div class="kb-hit__snippet">${h.snippet || ''}</div></a>`;
}

function emptyHtml(q) {
  const links = SUGGEST.map((s) => `<a href="${esc(cfg.searchPage)}?q=${encodeURIComponent(s)}">${esc(s)}</a>`).join('、');
  const what = q ? `与“${esc(q.length > 40 ? q.slice(0, 40) + '…' : q)}”相关的文章` : '符合筛选条件的文章';
  return `<div class="kb-empty">没有找到${what}。<br>试试更短的词、去掉筛选条件，或搜索：${links}</div>`;
}

function tokenHtml(res) {
  return `<div class="kb-notice kb-notice--error" role="alert">${esc(res.error)}。
    <button type="button" class="kb-token-clear">清除已保存的令牌</button>或<a href="/login/">重新登录</a>。</div>`;
}

document.addEventListener('click', (e) => {
  const b = e.target.closest && e.target.closest('.kb-token-clear');
  if (!b) return;
  try { localStorage.removeItem('kb.token'); } catch { /* nothing stored */ }
  location.reload();
});

// ---- header box ---------------------------------------------------------------------------
function mountHeader() {
  const inner = document.querySelector('.md-header__inner');
  if (!inner || document.querySelector('.kb-search')) return;
  const box = document.createElement('div');
  box.className = 'kb-search';
  box.innerHTML = `<form role="search" action="${esc(cfg.searchPage)}">
      <input class="kb-search__input" name="q" type="search" autocomplete="off" spellcheck="false"
        placeholder="搜索知识库（按 / 聚焦）" aria-label="搜索知识库" aria-controls="kb-search-results"
        aria-expanded="false" role="combobox"></form>
    <div class="kb-search__results" id="kb-search-results" role="listbox" hidden></div>`;
  const anchor = inner.querySelector('.md-header__source');
  inner.insertBefore(box, anchor);
  const input = box.querySelector('input');
  const list = box.querySelector('.kb-search__results');
  let active = -1, seq = 0, timer = null, logTimer = null, composing = false;
  let shownFor = ''; // the query the list's results belong to

  const current = () => input.value.trim();
  const setActive = (i) => {
    const items = [...list.querySelectorAll('.kb-hit')];
    active = items.length && i >= 0 ? i % items.length : (items.length && i < -1 ? items.length - 1 : -1);
    items.forEach((el, k) => el.classList.toggle('kb-hit--active', k === active));
    if (active >= 0) {
      items[active].scrollIntoView({ block: 'nearest' });
      input.setAttribute('aria-activedescendant', items[active].id);
    } else input.removeAttribute('aria-activedescendant');
  };
  // hidden results keep no selection: Enter after Esc never opens a result nobody sees
  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); setActive(-1); };
  const clear = () => { seq++; clearTimeout(timer); clearTimeout(logTimer); list.innerHTML = ''; shownFor = ''; close(); };
  const open = () => {
    if (!list.innerHTML || shownFor !== current()) return false;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    return true;
  };
  const update = async () => {
    const q = current();
    const mine = ++seq;
    if (!q) { clear(); return; }
    if (q.length > LONG_QUERY) {
      list.innerHTML = `<div class="kb-notice">文本较长（${q.length} 个字）：按 Enter 在搜索页按整段文字查找，
        服务端搜索会找出相似的案例。</div>`;
      shownFor = q;
      active = -1;
      open();
      return;
    }
    const [res, sugg] = await Promise.all([runSearch(q, { limit: 8, facets: false, log: false }), runSuggest(q)]);
    if (mine !== seq || q !== current()) return;
    if (res.code === 'invalid_token') {
      list.innerHTML = tokenHtml(res);
    } else {
      const terms = [...new Set(sugg.filter((x) => x.kind === 'term' && x.text !== q).map((x) => x.text))];
      const chips = terms.length ? `<div class="kb-suggest">你是不是要找：${terms.map((t) =>
        `<button type="button" class="kb-suggest__item" data-q="${esc(t)}">${esc(t)}</button>`).join('')}</div>` : '';
      list.innerHTML = chips + (res.hits.length
        ? res.hits.map(hitHtml).join('') +
          `<a class="kb-more" href="${esc(cfg.searchPage)}?q=${encodeURIComponent(q)}">查看全部 ${res.total} 条结果 →</a>`
        : emptyHtml(q));
    }
    shownFor = q;
    active = -1;
    open();
  };
  const onInput = () => {
    clearTimeout(timer);
    clearTimeout(logTimer);
    if (composing) return; // an IME is still composing (y, yi, yin…): wait for the characters
    if (!current()) { clear(); return; }
    if (shownFor !== current()) setActive(-1); // the old results no longer answer this text
    timer = setTimeout(update, 80);
    const q = current();
    if (q.length <= LONG_QUERY) logTimer = setTimeout(() => { if (current() === q) logSearch(q); }, LOG_PAUSE_MS);
  };
  input.addEventListener('compositionstart', () => { composing = true; clearTimeout(timer); clearTimeout(logTimer); });
  input.addEventListener('compositionend', () => { composing = false; onInput(); });
  input.addEventListener('input', (e) => { if (!e.isComposing) onInput(); });
  list.addEventListener('click', (e) => {
    const chip = e.target.closest('.kb-suggest__item');
    if (chip) {
      e.preventDefault();
      input.value = chip.dataset.q;
      input.focus();
      update();
      return;
    }
    if (e.target.closest('.kb-hit')) { clearTimeout(logTimer); logSearch(shownFor); }
  });
  input.addEventListener('focus', () => { if (current()) open(); });
  input.addEventListener('keydown', (e) => {
    if (composing || e.isComposing || e.keyCode === 229) return; // keys that belong to the IME
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (list.hidden && !open()) return;
      setActive(e.key === 'ArrowDown' ? active + 1 : (active <= 0 ? -2 : active - 1)); // -2: wrap to the last
    } else if (e.key === 'Enter') {
      const items = list.querySelectorAll('.kb-hit');
      clearTimeout(logTimer);
      if (!list.hidden && active >= 0 && items[active] && shownFor === current()) {
        e.preventDefault();
        logSearch(shownFor);
        location.href = items[active].href;
      } else if (!current()) e.preventDefault();
      // otherwise the form goes to the search page, which counts the search
    } else if (e.key === 'Escape') { close(); input.blur(); }
  });
  document.addEventListener('click', (e) => { if (!box.contains(e.target)) close(); });
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (!typing && (e.key === '/' || e.key === 's') && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      input.focus();
      input.select();
    }
  });
}

// ---- full search page -----------------------------------------------------------------------
async function mountPage() {
  const el = document.getElementById('kb-search-page');
  if (!el) return;
  const params = new URLSearchParams(location.search);
  el.innerHTML = `<form class="kb-page__form" role="search">
      <input class="kb-page__input" name="q" type="search" placeholder="输入问题或关键词，也可以粘贴整张工单"
        aria-label="搜索" value="${esc(params.get('q') || '')}">
      ${Object.entries(FILTERS).map(([k, label]) => `<label class="kb-filter">${label}
        <select name="${k}" data-filter="${k}"><option value="">全部</option></select></label>`).join('')}
      <button type="submit" class="md-button md-button--primary">搜索</button></form>
    <div class="kb-page__status" aria-live="polite"></div><div class="kb-page__results"></div>
    <nav class="kb-page__pager"></nav>`;
  const form = el.querySelector('form');
  const status = el.querySelector('.kb-page__status');
  const out = el.querySelector('.kb-page__results');
  const pager = el.querySelector('.kb-page__pager');
  const selects = [...el.querySelectorAll('select')];
  let manifestFilters = null;
  try { manifestFilters = (await getStatic().manifest()).filters; } catch { manifestFilters = {}; }
  await loadKinds();
  const label = (k, v) => (k === 'kind' ? KIND[v] || v : k === 'country' ? countryName(v) : v);
  const fill = (facets) => {
    if (facets) el.dataset.facets = 'counted'; else delete el.dataset.facets; // the selects show counts
    for (const s of selects) {
      const k = s.dataset.filter, cur = params.get(k) || '';
      const counts = facets?.[k] || null;
      const values = counts ? Object.keys(counts) : [...(manifestFilters[k] || [])];
      if (cur && !values.includes(cur)) values.push(cur);
      values.sort((a, b) => (counts ? (counts[b] ?? 0) - (counts[a] ?? 0) : 0) || label(k, a).localeCompare(label(k, b), 'zh-CN'));
      s.innerHTML = '<option value="">全部</option>' + values.map((v) =>
        `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(label(k, v))}${counts && counts[v] != null ? `（${counts[v]}）` : ''}</option>`).join('');
    }
  };
  fill(null);
  let runs = 0;
  const run = async () => {
    const q = params.get('q') || '';
    const page = Math.max(1, Number(params.get('page') || 1));
    const filters = Object.fromEntries(Object.keys(FILTERS).map((k) => [k, params.get(k) || '']));
    if (!q.trim() && !Object.values(filters).some(Boolean)) {
      status.textContent = '输入关键词开始搜索，或只选筛选条件浏览。';
      // the filters offer every value with its count over all the reader may see
      const mine = ++runs, api = await detectApi();
      const counted = api
        ? apiGet(api, 'facets', []).then((r) => (r.ok ? r.json() : null)).then((d) => d && d.facets)
        : getStatic().search('', { limit: 0, facets: Object.keys(FILTERS) }).then((r) => r.facets);
      counted.then((f) => { if (f && mine === runs) fill(f); }, () => {});
      return;
    }
    status.textContent = '搜索中…';
    delete el.dataset.facets;
    const mine = ++runs;
    const res = await runSearch(q, { limit: 10, page, filters, onFacets: (f) => { if (mine === runs) fill(f); } });
    if (mine !== runs) return; // a newer search (another filter, Back) has started
    if (res.facets) fill(res.facets);
    if (res.code === 'invalid_token') {
      status.innerHTML = tokenHtml(res);
      out.innerHTML = '';
      pager.innerHTML = '';
      return;
    }
    status.innerHTML = (res.error ? esc(res.error)
      : `共 ${res.total} 条结果${res.took_ms != null ? `，用时 ${res.took_ms} 毫秒` : ''}` +
        (res.mode === 'api' ? '<span class="kb-mode">服务端搜索</span>'
          : res.retrieval === 'lexical' ? '<span class="kb-mode" title="离线索引只按关键词匹配，不做语义检索；由 kb serve 提供的站点按语义和关键词综合排序。">离线索引 · 关键词匹配</span>'
            : '<span class="kb-mode">离线索引</span>')) +
      (res.notice ? `<div class="kb-notice">${esc(res.notice)}</div>` : '');
    out.innerHTML = res.hits.length ? res.hits.map(hitHtml).join('') : emptyHtml(q);
    const pages = Math.ceil(res.total / 10);
    const link = (p, text) => { const u = new URLSearchParams(params); u.set('page', p); return `<a href="?${u}">${text}</a>`; };
    pager.innerHTML = pages > 1 ? [page > 1 ? link(page - 1, '上一页') : '', `第 ${page} / ${pages} 页`,
      page < pages ? link(page + 1, '下一页') : ''].join(' ') : '';
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const u = new URLSearchParams();
    for (const [k, v] of fd) if (String(v).trim()) u.set(k, String(v).trim());
    history.pushState(null, '', `?${u}`);
    for (const k of [...params.keys()]) params.delete(k);
    for (const [k, v] of u) params.set(k, v);
    run();
  });
  selects.forEach((s) => s.addEventListener('change', () => form.requestSubmit()));
  window.addEventListener('popstate', () => {
    const u = new URLSearchParams(location.search);
    for (const k of [...params.keys()]) params.delete(k);
    for (const [k, v] of u) params.set(k, v);
    form.q.value = params.get('q') || '';
    run();
  });
  run();
}

mountHeader();
mountPage();
