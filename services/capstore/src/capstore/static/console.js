// capstore console: the app serving this page is reached with relative URLs ("../"), the other app
// through this app's same-origin forward ("peer/"), so the page also works behind path prefixes.
'use strict';

const here = new URL('.', document.baseURI);
const bases = { self: new URL('../', here), peer: new URL('peer/', here) };
const POLL_MS = 1500;
const panels = {};

function adminHeaders() {
  const token = document.getElementById('admin-token').value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function call(panel, method, path, body, extraHeaders) {
  const headers = { ...(extraHeaders || {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(new URL(path, panel.base), {
    method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
  });
  let payload;
  try { payload = await response.json(); } catch (error) { payload = { error: 'not_json' }; }
  return { status: response.status, payload, session: response.headers.get('X-Session-Token') };
}

function sessionHeaders(panel) {
  const token = sessionStorage.getItem(`capstore-session-${panel.mode}`);
  return panel.el.querySelector('.use-session').checked && token ? { 'X-Session-Token': token } : {};
}

function remember(panel, session) {
  if (!session) return;
  sessionStorage.setItem(`capstore-session-${panel.mode}`, session);
  panel.el.querySelector('.session-token').textContent = session.slice(0, 24) + '…';
}

function show(panel, operation, reply) {
  const outcome = panel.el.querySelector('.outcome');
  const p = reply.payload;
  panel.el.dataset.lastStatus = String(reply.status);
  panel.el.dataset.lastOperation = operation;
  panel.el.querySelector('.result').textContent = `HTTP ${reply.status}\n` + JSON.stringify(p, null, 2);
  if (reply.status === 200 && operation === 'read') {
    const shown = p.value === null ? '(absent)' : JSON.stringify(p.value);
    outcome.textContent = `${shown} from ${p.node}, staleness ${p.staleness_ms} ms` + (p.stale ? ' — STALE' : '');
    outcome.className = 'outcome ' + (p.stale ? 'stale' : 'ok');
  } else if (reply.status === 200) {
    outcome.textContent = `acknowledged by ${p.node} at version ${p.version}`;
    outcome.className = 'outcome ok';
  } else {
    outcome.textContent = `refused: ${p.error}` + (p.outcome ? ` (outcome: ${p.outcome})` : '') + ` — ${p.detail || ''}`;
    outcome.className = 'outcome refused';
  }
  remember(panel, reply.session);
}

async function operate(panel, operation) {
  const key = panel.el.querySelector('.key').value;
  const value = panel.el.querySelector('.value').value;
  const k = encodeURIComponent(key);
  let reply;
  try {
    if (operation === 'write') {
      reply = await call(panel, 'POST', `write/${k}/${encodeURIComponent(value)}`, undefined, sessionHeaders(panel));
    } else if (operation === 'read') {
      reply = await call(panel, 'GET', `read/${k}`, undefined, sessionHeaders(panel));
    } else {
      reply = await call(panel, 'DELETE', `kv/${k}`, undefined, sessionHeaders(panel));
    }
  } catch (error) {
    reply = { status: 0, payload: { error: 'network', detail: String(error) }, session: null };
  }
  show(panel, operation, reply);
}

async function inject(panel, node, fault) {
  const body = fault === 'delay' ? { mode: 'delay', delay_ms: 300 } : { mode: fault };
  const path = node ? `admin/faults/${node}` : 'admin/heal';
  const reply = await call(panel, 'POST', path, node ? body : undefined, adminHeaders());
  if (reply.status !== 200) show(panel, 'admin', reply);
  await refresh(panel);
}

function renderNodes(panel, cluster) {
  const body = panel.el.querySelector('tbody');
  const template = document.getElementById('node-template');
  for (const node of cluster.nodes) {
    let row = body.querySelector(`tr[data-node="${node.id}"]`);
    if (!row) {
      row = template.content.firstElementChild.cloneNode(true);
      row.dataset.node = node.id;
      row.querySelector('.node-id').textContent = node.id + (node.id === cluster.primary ? (cluster.mode === 'cp' ? ' (primary)' : ' (local)') : '');
      for (const button of row.querySelectorAll('button[data-fault]')) {
        button.addEventListener('click', () => inject(panel, node.id, button.dataset.fault));
      }
      body.appendChild(row);
    }
    const breaker = row.querySelector('.breaker');
    breaker.textContent = node.breaker;
    breaker.className = `breaker state-${node.breaker}`;
    const staleness = row.querySelector('.staleness');
    staleness.textContent = `${Math.round(node.staleness_ms)} ms`;
    staleness.className = 'staleness' + (node.stale ? ' is-stale' : '');
    const fault = row.querySelector('.fault');
    const mode = node.fault ? node.fault.mode : 'direct';
    fault.textContent = node.fault && node.fault.mode === 'delay' ? `delay ${node.fault.delay_ms} ms` : mode;
    fault.className = `fault fault-${mode}`;
    for (const button of row.querySelectorAll('button[data-fault]')) button.disabled = !cluster.fault_admin;
  }
}

async function refresh(panel) {
  const reach = panel.el.querySelector('.reachability');
  try {
    const reply = await call(panel, 'GET', 'cluster');
    if (reply.status !== 200) throw new Error(`HTTP ${reply.status}`);
    panel.el.querySelector('.app-id').textContent = reply.payload.app_id;
    reach.textContent = reply.payload.fault_admin ? '' : 'fault injection is off for this app';
    reach.className = 'reachability';
    renderNodes(panel, reply.payload);
    panel.el.dataset.ready = 'true';
  } catch (error) {
    reach.textContent = `app unreachable (${error.message})`;
    reach.className = 'reachability unreachable';
  }
}

function setUp(mode, base) {
  const el = document.getElementById(`panel-${mode}`);
  el.appendChild(document.getElementById('panel-template').content.cloneNode(true));
  el.querySelector('.title').textContent = mode === 'cp' ? 'app_cp — consistent' : 'app_ap — available';
  const panel = { mode, base, el };
  for (const operation of ['write', 'read', 'delete']) {
    el.querySelector(`.${operation}`).addEventListener('click', () => operate(panel, operation));
  }
  el.querySelector('.heal-all').addEventListener('click', () => inject(panel, null, 'pass'));
  const token = sessionStorage.getItem(`capstore-session-${mode}`);
  if (token) el.querySelector('.session-token').textContent = token.slice(0, 24) + '…';
  panels[mode] = panel;
  return panel;
}

async function main() {
  const tokenInput = document.getElementById('admin-token');
  tokenInput.value = sessionStorage.getItem('capstore-admin-token') || '';
  tokenInput.addEventListener('change', () => sessionStorage.setItem('capstore-admin-token', tokenInput.value));
  const own = await (await fetch(new URL('cluster', bases.self), { cache: 'no-store' })).json();
  const other = own.mode === 'cp' ? 'ap' : 'cp';
  setUp(own.mode, bases.self);
  setUp(other, bases.peer);
  const tick = () => Promise.all(Object.values(panels).map(refresh));
  await tick();
  setInterval(tick, POLL_MS);
  document.body.dataset.ready = 'true';
}

main();
