// ringstack dashboard: hash-routed pages over the read-only status API (/api/v1), refreshed
// when the event stream (/api/v1/events/stream) reports an event or a revision change.
// Vanilla JS, no build step. A read token, when the controller requires one, is kept in
// localStorage and sent as a Bearer header (and as access_token on the stream).
'use strict';

const API = '/api/v1';
const KINDS = ['hosts', 'instances', 'networks', 'volumes', 'images', 'projects', 'revisions', 'events'];
const main = document.getElementById('main');
const banner = document.getElementById('banner');
const live = document.getElementById('live');
let token = localStorage.getItem('ringstack.token') || '';
let rendering = false;
let again = false;

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function badge(v, extra = '') { return `<span class="badge s-${esc(v)} ${extra}">${esc(v)}</span>`; }
function ago(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}
function short(rev) { return rev ? esc(rev.slice(0, 12)) : '–'; }
function link(kind, id) { return `<a class="id" href="#/${kind}/${encodeURIComponent(id)}">${esc(id)}</a>`; }
function table(cols, rows) {
  if (!rows.length) return '<p class="muted">Nothing here.</p>';
  return `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

class Unauthorized extends Error {}
async function api(path) {
  const res = await fetch(API + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status === 401) throw new Unauthorized('a read token is required');
  const body = await res.json();
  if (!res.ok) throw new Error(body.message || res.statusText);
  return body;
}
function showFreshness(r) {
  if (r && r.stale) {
    banner.hidden = false;
    banner.className = '';
    banner.textContent = `The object store could not be read just now: showing data from ${Math.round(r.ageSeconds)} s ago (stale).`;
  } else banner.hidden = true;
}

const pages = {
  async overview() {
    const [ov, hosts, revs] = await Promise.all([api('/overview'), api('/hosts?limit=1000'), api('/revisions?limit=5')]);
    showFreshness(ov);
    const rev = ov.revision;
    return `<h1>Overview</h1>
      <div class="cards">
        <div class="card"><div class="n" id="hosts-up">${ov.hosts.up}/${ov.hosts.total}</div><div class="l">hosts up${ov.hosts.stale ? `, ${ov.hosts.stale} late` : ''}${ov.hosts.down ? `, ${ov.hosts.down} down` : ''}</div></div>
        ${Object.entries(ov.instancesByState).map(([s, n]) => `<div class="card"><div class="n">${n}</div><div class="l">instances ${badge(s)}</div></div>`).join('')}
        <div class="card"><div class="n mono" id="current-revision">${short(rev && rev.revision)}</div><div class="l">current revision ${rev ? badge(rev.converged ? 'Ready' : 'Progressing') + (rev.converged ? ' converged' : ' converging') : ''}</div></div>
      </div>
      <h2>Hosts</h2>${hostTable(hosts.items)}
      <h2>Recent revisions</h2>${revisionTable(revs.items)}`;
  },
  async list(kind) {
    const q = new URLSearchParams(location.hash.split('?')[1] || '');
    q.set('limit', '500');
    const r = await api(`/${kind}?${q}`);
    showFreshness(r);
    const more = r.next ? '<p class="muted">More items exist; filter to narrow the list.</p>' : '';
    const filters = ['instances', 'networks', 'volumes', 'images'].includes(kind)
      ? `<form class="filters" onsubmit="event.preventDefault(); location.hash = '#/${kind}?' + new URLSearchParams([...new FormData(this)].filter(([, v]) => v));">
          <input name="project" placeholder="project" value="${esc(q.get('project'))}"><input name="label" placeholder="label key=value" value="${esc(q.get('label'))}">
          <input name="state" placeholder="state" value="${esc(q.get('state'))}"><button>Filter</button></form>` : '';
    const title = `<h1>${kind[0].toUpperCase() + kind.slice(1)}</h1>${filters}`;
    if (kind === 'hosts') return title + hostTable(r.items) + more;
    if (kind === 'revisions') return title + revisionTable(r.items) + more;
    if (kind === 'events') return title + eventTable(r.items.slice().reverse()) + more;
    if (kind === 'projects') {
      return title + table(['Project', 'Instances', 'vCPUs', 'Memory MiB', 'Volume GiB', 'Networks'], r.items.map((p) => [link('projects', p.name),
        ...['instances', 'vcpus', 'memoryMiB', 'volumeGiB', 'networks'].map((k) => `${p.usage[k]} / ${p.quotas[k]}`)])) + more;
    }
    return title + resourceTable(kind, r.items) + more;
  },
  async item(kind, id) {
    if (kind === 'hosts' || kind === 'projects' || kind === 'revisions') {
      const r = await api(`/${kind}/${encodeURIComponent(id)}`);
      showFreshness(r);
      return `<h1>${esc(kind.slice(0, -1))} ${esc(id)}</h1><pre>${esc(JSON.stringify(r.item, null, 2))}</pre>`;
    }
    const r = await api(`/${kind}/${id.split('/').map(encodeURIComponent).join('/')}`);
    showFreshness(r);
    const it = r.item;
    const conds = table(['Condition', 'Status', 'Reason', 'Message', 'Since'], it.conditions.map((c) => [esc(c.type), badge(c.status, `t-${c.type}`), esc(c.reason), esc(c.message), ago(c.lastTransitionTime)]));
    return `<h1>${esc(kind.slice(0, -1))} <span class="mono">${esc(it.id)}</span> ${badge(it.summary)} ${badge(it.state)}</h1>
      <p>Project ${esc(it.project || 'shared')} · hosts ${esc(it.hosts.join(', ') || 'none')}${it.ips && it.ips.length ? ' · IPs ' + esc(it.ips.map((i) => i.ip).join(', ')) : ''}${it.stale ? ' · <b>stale</b>' : ''}</p>
      <h2>Conditions</h2>${conds}
      <div class="grid2"><div><h2>Desired</h2><pre id="desired">${esc(JSON.stringify(it.desired, null, 2))}</pre></div>
      <div><h2>Observed</h2><pre id="observed">${esc(JSON.stringify(it.observed, null, 2))}</pre></div></div>
      <h2>Events</h2>${eventTable(it.events)}`;
  },
};

function hostTable(items) {
  return table(['Host', 'Zone', 'Health', 'Heartbeat', 'vCPUs (alloc/cap)', 'Memory MiB', 'Instances', 'Applied'], items.map((h) => [
    link('hosts', h.name), esc(h.zone), badge(h.health) + (h.stale ? ' <b>stale</b>' : ''), h.heartbeatAgeSeconds === null ? '–' : `${h.heartbeatAgeSeconds}s ago`,
    `${h.allocation.vcpus} / ${h.capacity.vcpus}`, `${h.allocation.memoryMiB} / ${h.capacity.memoryMiB}`, h.allocation.instances, `<span class="mono">${short(h.appliedRevision)}</span>`]));
}
function revisionTable(items) {
  return table(['Revision', 'Status', 'Checked', 'Applied', 'Converged', 'Errors'], items.map((r) => [
    `<span class="mono">${short(r.revision)}</span>${r.current ? ' (current)' : ''}`, badge(r.status), ago(r.checkedAt), ago(r.appliedAt),
    r.converged === null ? '–' : r.converged ? `yes ${r.convergedAt ? ago(r.convergedAt) : ''}` : 'no', esc(r.errors.join('\n'))]));
}
function eventTable(items) {
  return table(['Time', 'Host', 'Resource', 'Action', 'Reason', 'Message', 'Result'], items.map((e) => [
    esc(new Date(e.time).toLocaleString()), esc(e.host), esc(e.resource), esc(e.action), esc(e.reason), esc(e.message), badge(e.result === 'error' ? 'error' : 'Ready')]));
}
function resourceTable(kind, items) {
  const extra = kind === 'instances' ? ['Host', 'IPs', 'Flavor'] : kind === 'images' ? ['Status', 'Size', 'sha256'] : ['Hosts'];
  return table(['Id', 'Project', 'State', 'Summary', ...extra, 'Reason'], items.map((r) => {
    const notReady = r.conditions.find((c) => c.status === 'True' && c.type !== 'Ready' && c.type !== 'Progressing') || r.conditions.find((c) => c.type === 'Ready');
    const cols = kind === 'instances' ? [esc(r.host || '–'), esc(r.ips.map((i) => i.ip).join(', ')), esc(r.flavor || '–')]
      : kind === 'images' ? [badge(r.status), r.sizeBytes === null ? '–' : esc(r.sizeBytes), `<span class="mono">${esc((r.sha256 || '').slice(0, 16))}</span>`]
      : [esc(r.hosts.join(', '))];
    return [link(kind, r.id), esc(r.project || 'shared'), badge(r.state), badge(r.summary), ...cols, esc(notReady ? notReady.message : '')];
  }));
}

async function render() {
  if (rendering) { again = true; return; }
  rendering = true;
  const [path] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${parts[0] || ''}`);
  try {
    let html;
    if (!parts.length) html = await pages.overview();
    else if (KINDS.includes(parts[0]) && parts.length === 1) html = await pages.list(parts[0]);
    else if (KINDS.includes(parts[0])) html = await pages.item(parts[0], parts.slice(1).join('/'));
    else html = '<p>Unknown page.</p>';
    main.innerHTML = html;
    main.dataset.rendered = String(Date.now());
  } catch (e) {
    if (e instanceof Unauthorized) {
      document.getElementById('login').hidden = false;
      main.innerHTML = '<p class="muted">This controller requires a read token.</p>';
    } else {
      banner.hidden = false;
      banner.className = 'error';
      banner.textContent = e.message;
    }
  } finally {
    rendering = false;
    if (again) { again = false; render(); }
  }
}

let stream;
function connect() {
  if (stream) stream.close();
  stream = new EventSource(`${API}/events/stream${token ? `?access_token=${encodeURIComponent(token)}` : ''}`);
  stream.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  stream.onerror = () => { live.textContent = 'reconnecting'; live.className = 'live off'; };
  const refresh = () => { live.dataset.updates = String(Number(live.dataset.updates || 0) + 1); render(); };
  stream.addEventListener('event', refresh);
  stream.addEventListener('revision', refresh);
}

document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = document.getElementById('token').value.trim();
  localStorage.setItem('ringstack.token', token);
  document.getElementById('login').hidden = true;
  connect();
  render();
});
window.addEventListener('hashchange', render);
// ?live=0 turns the event stream off (static renders, printing).
if (new URLSearchParams(location.search).get('live') !== '0') connect();
render();
