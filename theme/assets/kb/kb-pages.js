// kb generated pages in the browser: the home page's search box and the country matrix's sorting
// and filtering. The pages read fine without this script (plain links and a plain table).

function homeSearch() {
  const el = document.querySelector('.kb-home-search');
  if (!el || el.querySelector('form')) return;
  const action = (el.querySelector('a') || {}).href || 'search/';
  el.innerHTML = `<form role="search" action="${action}" class="kb-home-search__form">
      <input class="kb-home-search__input" name="q" type="search" autocomplete="off"
        placeholder="输入问题、错误码或国家，例如 印尼 回填率低" aria-label="搜索知识库">
      <button type="submit" class="md-button md-button--primary">搜索</button></form>`;
  const form = el.querySelector('form');
  form.addEventListener('submit', (e) => {
    if (!form.q.value.trim()) e.preventDefault();
  });
}

function matrix() {
  const box = document.querySelector('.kb-matrix');
  if (!box || box.dataset.ready) return;
  box.dataset.ready = '1';
  const table = box.querySelector('table');
  const body = table.tBodies[0];
  const rows = [...body.rows];
  const tools = box.querySelector('.kb-matrix__tools');
  tools.innerHTML = `<label>筛选 <input type="search" class="kb-matrix__filter" placeholder="国家、材料、限制…"
      aria-label="筛选国家对比表"></label> <span class="kb-matrix__count" aria-live="polite"></span>`;
  const input = tools.querySelector('input');
  const count = tools.querySelector('.kb-matrix__count');
  const show = () => {
    const q = input.value.trim().toLowerCase();
    let n = 0;
    for (const r of rows) {
      const hit = !q || r.textContent.toLowerCase().includes(q);
      r.hidden = !hit;
      n += hit;
    }
    count.textContent = `显示 ${n} / ${rows.length} 个国家`;
  };
  input.addEventListener('input', show);
  show();
  const heads = [...table.tHead.rows[0].cells];
  let by = -1, dir = 1;
  // sort by the cells' text: 无需注册 before any lead time, — (unknown) after; zh-CN collation is pinyin order
  const value = (r, i) => {
    const t = (r.cells[i].querySelector('.kb-cell') || r.cells[i]).textContent.trim();
    if (t === '无需注册') return -1;
    if (t === '—') return Infinity;
    return /^\d+(\.\d+)?$/.test(t) ? Number(t) : t;
  };
  heads.forEach((th, i) => {
    th.tabIndex = 0;
    th.setAttribute('aria-sort', 'none');
    th.title = '点击排序';
    const sort = () => {
      dir = by === i ? -dir : 1;
      by = i;
      heads.forEach((h, k) => h.setAttribute('aria-sort', k === i ? (dir > 0 ? 'ascending' : 'descending') : 'none'));
      rows.sort((a, b) => {
        const x = value(a, i), y = value(b, i);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'zh-CN');
        return c * dir;
      });
      for (const r of rows) body.appendChild(r);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
  });
}

function mount() { homeSearch(); matrix(); }
// Material's instant navigation swaps pages without a reload: mount again on each page
if (window.document$ && typeof window.document$.subscribe === 'function') window.document$.subscribe(mount);
else mount();
