// kb site search UI: header box with results as you type, and the full page /search/?q=…
// Uses the HTTP API when the site is served by `kb serve` (or extra.kb.api_url is set) and falls
// back to the static index (search-index/) when there is no API or it fails.
import { StaticIndex } from './search-core.js';

const cfg = window.kbConfig || { base: '.', api: '' };
const root = new URL((cfg.base || '.').replace(/\/?$/, '/'), location.href);
const FILTERS = { kind: '类型', country: '国家', category: '案例分类' };
const SUGGEST = ['回填率', 'SenderID 申请', 'DELIVRD', '子账号', '余额', '短链接'];

let staticIndex = null;
const getStatic = () => (staticIndex ||= new StaticIndex(new URL('search-index/', root).href));
// Kind labels come from the static index manifest (`kinds`, written from kb/kinds.py); until it has
// loaded, or without one, a kind shows as its name.
let KIND = {};
const loadKinds = () => getStatic().manifest().then((m) => { KIND = m.kinds || {}; }, () => {});

let apiBase = null; // resolved once: URL string or false
// The API when `kb serve` serves this page (it adds <meta name="kb-api">) or extra.kb.api_url is set.
// An internal build without a token in localStorage searches its own static index instead: the API
// shows internal articles only to token holders, while this internal site already contains them.
async function detectApi() {
  if (apiBase !== null) return apiBase;
  const meta = document.querySelector('meta[name="kb-api"]');
  const url = cfg.api || (meta && meta.content) || '';
  const hasToken = Object.keys(authHeaders()).length > 0;
  if (!url || (cfg.audience === 'internal' && !hasToken)) return (apiBase = false);
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

// One search call for both modes; returns { total, hits, facets, mode, took_ms }
export async function runSearch(q, { limit = 10, page = 1, filters = {}, facets = true } = {}) {
  const api = await detectApi();
  await loadKinds();
  if (api) {
    try {
      const u = new URL('search', api);
      if (q) u.searchParams.set('q', q);
      u.searchParams.set('limit', limit);
      u.searchParams.set('page', page);
      if (!facets) u.searchParams.set('facets', 'false');
      for (const [k, v] of Object.entries(filters)) if (v) u.searchParams.append(k, v);
      const r = await fetch(u, { headers: authHeaders() });
      if (r.ok) {
        const d = await r.json();
        return { ...d, mode: 'api', hits: d.hits.map((h) => ({ ...h, titleHtml: null,
          updated: h.meta?.updated, country: h.meta?.country, category: h.meta?.category })) };
      }
      if (r.status >= 400 && r.status < 500) {
        const d = await r.json().catch(() => ({}));
        return { total: 0, hits: [], facets: {}, mode: 'api', error: d.error?.message || `HTTP ${r.status}` };
      }
    } catch { /* fall back to the static index */ }
  }
  const res = await getStatic().search(q, { limit, page, filters: Object.fromEntries(
    Object.entries(filters).filter(([, v]) => v).map(([k, v]) => [k, [v]])) });
  return { ...res, facets: null, mode: 'static' };
}

// Completions: titles and glossary terms by prefix, pinyin and pinyin initials ("hgl" -> 回填率) from the
// API; without one, glossary prefixes from the static index's manifest.
export async function runSuggest(q) {
  const api = await detectApi();
  if (api) {
    try {
      const u = new URL('suggest', api);
      u.searchParams.set('q', q.slice(0, 64));
      u.searchParams.set('limit', '5');
      const r = await fetch(u, { headers: authHeaders() });
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
  const crumbs = [KIND[h.kind] || h.kind, h.country, h.category].filter(Boolean).map(esc).join(' › ');
  return `<a class="kb-hit" role="option" id="kb-hit-${i}" href="${esc(href)}" data-kind="${esc(h.kind)}">
    <div class="kb-hit__head"><span class="kb-kind kb-kind-${esc(h.kind)}">${esc(KIND[h.kind] || h.kind)}</span>
    <span class="kb-hit__title">${h.titleHtml || esc(h.title)}</span></div>
    <div class="kb-hit__crumbs">${crumbs}${h.updated ? ` · 更新于 ${esc(h.updated)}` : ''}</div>
    <div class="kb-hit__snippet">${h.snippet || ''}</div></a>`;
}

function emptyHtml(q) {
  const links = SUGGEST.map((s) => `<a href="${esc(cfg.searchPage)}?q=${encodeURIComponent(s)}">${esc(s)}</a>`).join('、');
  return `<div class="kb-empty">没有找到与“${esc(q)}”相关的文章。<br>试试更短的词、去掉筛选条件，或搜索：${links}</div>`;
}

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
  let active = -1, seq = 0, timer = null;

  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); active = -1; };
  const setActive = (i) => {
    const items = [...list.querySelectorAll('.kb-hit')];
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach((el, k) => el.classList.toggle('kb-hit--active', k === active));
    items[active].scrollIntoView({ block: 'nearest' });
    input.setAttribute('aria-activedescendant', items[active].id);
  };
  const update = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { close(); return; }
    const [res, sugg] = await Promise.all([runSearch(q, { limit: 8, facets: false }), runSuggest(q)]);
    if (mine !== seq) return;
    const terms = [...new Set(sugg.filter((x) => x.kind === 'term' && x.text !== q).map((x) => x.text))];
    const chips = terms.length ? `<div class="kb-suggest">你是不是要找：${terms.map((t) =>
      `<button type="button" class="kb-suggest__item" data-q="${esc(t)}">${esc(t)}</button>`).join('')}</div>` : '';
    list.innerHTML = chips + (res.hits.length
      ? res.hits.map(hitHtml).join('') +
        `<a class="kb-more" href="${esc(cfg.searchPage)}?q=${encodeURIComponent(q)}">查看全部 ${res.total} 条结果 →</a>`
      : emptyHtml(q));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(update, 80); });
  list.addEventListener('click', (e) => {
    const chip = e.target.closest('.kb-suggest__item');
    if (!chip) return;
    e.preventDefault();
    input.value = chip.dataset.q;
    input.focus();
    update();
  });
  input.addEventListener('focus', () => { if (input.value.trim() && list.innerHTML) list.hidden = false; });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive(active + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(active - 1); }
    else if (e.key === 'Enter') {
      const items = list.querySelectorAll('.kb-hit');
      if (active >= 0 && items[active]) { e.preventDefault(); location.href = items[active].href; }
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
      <input class="kb-page__input" name="q" type="search" placeholder="输入问题或关键词，例如 印尼 回填率低"
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
  const fill = (facets) => {
    for (const s of selects) {
      const k = s.dataset.filter, cur = params.get(k) || '';
      const counts = facets?.[k] || null;
      const values = counts ? Object.keys(counts) : (manifestFilters[k] || []);
      if (cur && !values.includes(cur)) values.push(cur);
      s.innerHTML = '<option value="">全部</option>' + values.map((v) =>
        `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(k === 'kind' ? KIND[v] || v : v)}${counts && counts[v] != null ? `（${counts[v]}）` : ''}</option>`).join('');
    }
  };
  fill(null);
  const run = async () => {
    const q = params.get('q') || '';
    const page = Math.max(1, Number(params.get('page') || 1));
    const filters = Object.fromEntries(Object.keys(FILTERS).map((k) => [k, params.get(k) || '']));
    if (!q.trim() && !Object.values(filters).some(Boolean)) { status.textContent = '输入关键词开始搜索。'; return; }
    status.textContent = '搜索中…';
    const res = await runSearch(q, { limit: 10, page, filters });
    if (res.facets) fill(res.facets);
    status.innerHTML = res.error ? esc(res.error)
      : `共 ${res.total} 条结果${res.took_ms != null ? `，用时 ${res.took_ms} 毫秒` : ''}` +
        `<span class="kb-mode">${res.mode === 'api' ? '服务端搜索' : '离线索引'}</span>`;
    out.innerHTML = res.hits.length ? res.hits.map(hitHtml).join('') : emptyHtml(q);
    const pages = Math.ceil(res.total / 10);
    const link = (p, label) => { const u = new URLSearchParams(params); u.set('page', p); return `<a href="?${u}">${label}</a>`; };
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
