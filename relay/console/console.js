// The demohooks relay console. Plain browser JavaScript, no build step. Every string that
// comes from the API (payloads, headers, errors, names) reaches the page as a text node,
// never as HTML, and the page runs under a strict Content-Security-Policy.
'use strict';

const KEY = 'demohooks.apiKey';
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let liveTimer = null;

// The vendors the relay knows, served by the relay from its vendor modules (/vendors.js).
const VENDORS = window.DEMOHOOKS_VENDORS || [];
const WHERE = Object.fromEntries(VENDORS.map((v) => [v.key, v.where]));

/** Builds an element; strings and numbers become text nodes (never HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const short = (s, n = 80) => (s && s.length > n ? `${s.slice(0, n)}…` : s || '');

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    signIn('That API key was not accepted (it is wrong, was rotated, or the account was disabled).');
    throw new Error('signed out');
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
  return data;
}

function show(...nodes) {
  main.replaceChildren(...nodes.flat(2).filter((n) => n !== null && n !== undefined && n !== false));
}

function notice(text, kind = 'info') {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

function signIn(message) {
  nav.hidden = true;
  stopLive();
  const input = h('input', { id: 'apikey', type: 'password', autocomplete: 'off', required: true, placeholder: 'dh_…' });
  const form = h(
    'form',
    {
      id: 'signin',
      onsubmit: async (e) => {
        e.preventDefault();
        sessionStorage.setItem(KEY, input.value.trim());
        route();
      },
    },
    h('label', { for: 'apikey' }, 'Relay API key'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  show(
    h('h2', {}, 'Sign in'),
    message ? notice(message, 'error') : null,
    h('p', {}, 'Use the API key of your relay account (printed by ', h('code', {}, 'demohooks-relay account create'), '). It stays in this tab only.'),
    form,
  );
  input.focus();
}

function stopLive() {
  if (liveTimer) {
    clearInterval(liveTimer);
    clearTimeout(liveTimer);
  }
  liveTimer = null;
}

function copyButton(text) {
  return h('button', {
    type: 'button',
    class: 'copy',
    onclick: async (e) => {
      try {
        await navigator.clipboard.writeText(text);
        e.target.textContent = 'Copied';
      } catch {
        e.target.textContent = 'Select and copy';
      }
    },
  }, 'Copy');
}

function statusBadge(status) {
  return h('span', { class: `badge ${status}` }, status.replace('_', ' '));
}

// Overview: inbound URLs and subscriptions ------------------------------------------------

async function overview() {
  const [me, hooks] = await Promise.all([api('GET', '/v1/me'), api('GET', '/v1/hooks')]);
  const urls = h(
    'table',
    { id: 'inbound' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Vendor'), h('th', {}, 'Webhook URL'), h('th', {}, 'Where to paste it'))),
    h('tbody', {}, Object.entries(me.inbound).map(([p, url]) => h('tr', {}, h('td', {}, p), h('td', {}, h('code', {}, url), ' ', copyButton(url)), h('td', {}, WHERE[p] || '')))),
  );
  const subs = hooks.length
    ? h(
        'table',
        { id: 'hooks' },
        h('thead', {}, h('tr', {}, ['Event', 'Zap hook URL', 'Created', 'Last success', 'Pending', 'Failed', 'Last error', ''].map((t) => h('th', {}, t)))),
        h(
          'tbody',
          {},
          hooks.map((k) =>
            h(
              'tr',
              {},
              h('td', {}, k.event),
              h('td', {}, h('code', {}, short(k.target_url, 60))),
              h('td', {}, when(k.created_at)),
              h('td', {}, when(k.last_success_at)),
              h('td', {}, String(k.pending)),
              h('td', { class: k.failed ? 'bad' : '' }, String(k.failed)),
              h('td', {}, short(k.last_error, 60)),
              h('td', {}, k.failed ? h('a', { href: `#/failed?hook=${encodeURIComponent(k.id)}` }, 'See failures') : ''),
            ),
          ),
        ),
      )
    : notice('No subscriptions yet. Turn on a Zap that uses a demohooks trigger: it subscribes here by itself.');
  show(h('h2', {}, 'Webhook URLs'), h('p', {}, 'Paste each into the vendor once; every Zap on this account is served from it.'), urls, h('h2', {}, 'Subscriptions (Zaps)'), subs);
}

// The event log ------------------------------------------------------------------------------

async function events(params) {
  const filters = { provider: params.get('provider') || '', q: params.get('q') || '', since: params.get('since') || '', until: params.get('until') || '' };
  const list = h('tbody', {});
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older events');
  const live = h('input', { type: 'checkbox', id: 'live', checked: params.get('live') !== '0' });
  const empty = notice('No events match. Once a vendor sends to your webhook URL, its events appear here (press the vendor’s Test button to send one).');
  empty.hidden = true;
  let newest = null;
  let oldest = null;

  const query = (extra) => {
    const q = new URLSearchParams({ limit: '50' });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString() : v);
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return `/v1/events?${q}`;
  };
  const row = (e) =>
    h(
      'tr',
      { 'data-id': e.id },
      h('td', {}, when(e.received_at)),
      h('td', {}, h('a', { href: `#/events/${encodeURIComponent(e.id)}` }, e.event)),
      h('td', {}, statusBadge(e.delivery_status)),
      h('td', { class: 'preview' }, short(e.body, 120)),
    );
  const load = async () => {
    const rows = await api('GET', query());
    list.replaceChildren(...rows.map(row));
    newest = rows[0] ? rows[0].id : null;
    oldest = rows.length ? rows[rows.length - 1].id : null;
    more.hidden = rows.length < 50;
    empty.hidden = rows.length > 0;
  };
  more.addEventListener('click', async () => {
    const rows = await api('GET', query({ before: oldest }));
    list.append(...rows.map(row));
    if (rows.length) oldest = rows[rows.length - 1].id;
    more.hidden = rows.length < 50;
  });
  const refresh = async () => {
    // Live view: fetch the newest page and put what is new on top (statuses refresh too).
    const rows = await api('GET', query());
    if (!rows.length) return;
    if (rows[0].id !== newest || list.children.length === 0) {
      const seen = new Set([...list.children].map((r) => r.dataset.id));
      const fresh = rows.filter((r) => !seen.has(r.id));
      list.prepend(...fresh.map(row));
      newest = rows[0].id;
      empty.hidden = true;
    }
    for (const r of rows) {
      const tr = list.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`);
      if (tr) tr.children[2].replaceChildren(statusBadge(r.delivery_status));
    }
  };
  const field = (name, label, attrs) => h('label', {}, label, h('input', { name, value: filters[name], ...attrs }));
  const form = h(
    'form',
    {
      id: 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(e.target);
        const q = new URLSearchParams();
        for (const [k, v] of data) if (v) q.set(k, v);
        if (!live.checked) q.set('live', '0');
        location.hash = `#/events?${q}`;
      },
    },
    h('label', {}, 'Vendor', h('select', { name: 'provider' }, ['', ...VENDORS.map((v) => v.key)].map((p) => h('option', { value: p, selected: p === filters.provider }, p || 'any')))),
    field('q', 'Text in body', { type: 'search' }),
    field('since', 'Since', { type: 'datetime-local' }),
    field('until', 'Until', { type: 'datetime-local' }),
    h('button', { type: 'submit' }, 'Filter'),
    h('label', { class: 'inline' }, live, ' Live'),
  );
  live.addEventListener('change', () => {
    stopLive();
    if (live.checked) liveTimer = setInterval(() => refresh().catch(() => undefined), 2000);
  });
  show(
    h('h2', {}, 'Events'),
    form,
    h('table', { id: 'events' }, h('thead', {}, h('tr', {}, ['Received', 'Event', 'Delivery', 'Body'].map((t) => h('th', {}, t)))), list),
    empty,
    more,
  );
  await load();
  if (live.checked) liveTimer = setInterval(() => refresh().catch(() => undefined), 2000);
}

// One event --------------------------------------------------------------------------------

function prettyBody(body) {
  // JSON.parse would round integers past 2^53 (some vendors' ids): such a body is shown as
  // received rather than with altered digits.
  const big = (body.match(/-?\d{16,}/g) || []).some((n) => !Number.isSafeInteger(Number(n)));
  if (big) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

async function eventDetail(id) {
  const e = await api('GET', `/v1/events/${encodeURIComponent(id)}`);
  const status = h('div', { id: 'action-status' });
  const act = async (label, work) => {
    try {
      status.replaceChildren(notice(`${label}…`));
      const msg = await work();
      await eventDetail(id);
      document.getElementById('action-status').replaceChildren(notice(msg));
    } catch (err) {
      status.replaceChildren(notice(err.message, 'error'));
    }
  };
  const deliveries = e.deliveries.length
    ? e.deliveries.map((d) =>
        h(
          'section',
          { class: 'delivery', 'data-id': d.id },
          h('h3', {}, statusBadge(d.status), ' ', h('code', {}, short(d.target_url, 70))),
          d.next_attempt_at ? h('p', {}, `Next attempt: ${when(d.next_attempt_at)}`) : null,
          d.status === 'failed' || d.status === 'given_up'
            ? h('button', { type: 'button', class: 'retry', onclick: () => act('Retrying', async () => (await api('POST', `/v1/deliveries/${encodeURIComponent(d.id)}/retry`), 'Queued again; the new attempt appears below when it is made.')) }, 'Retry now')
            : null,
          d.attempts.length
            ? h(
                'table',
                { class: 'attempts' },
                h('thead', {}, h('tr', {}, ['#', 'Started', 'Took', 'Answer', 'Response'].map((t) => h('th', {}, t)))),
                h('tbody', {}, d.attempts.map((a) => h('tr', {}, h('td', {}, String(a.n)), h('td', {}, when(a.started_at)), h('td', {}, `${a.duration_ms} ms`), h('td', {}, a.status_code !== null ? `HTTP ${a.status_code}` : a.error || '—'), h('td', {}, h('code', {}, short(a.response_snippet, 200)))))),
              )
            : h('p', {}, 'Not attempted yet.'),
        ),
      )
    : [notice('No subscription took this event (no Zap was on for it when it arrived). Replay sends it to the Zaps on now.')];
  show(
    h('p', {}, h('a', { href: '#/events' }, '← Events')),
    h('h2', {}, e.event),
    h('p', {}, `Received ${when(e.received_at)} · `, h('code', {}, e.id)),
    h('button', { type: 'button', id: 'replay', onclick: () => act('Replaying', async () => `Replayed to ${(await api('POST', `/v1/events/${encodeURIComponent(id)}/replay`)).deliveries} subscription(s).`) }, 'Replay to current subscriptions'),
    status,
    h('h3', {}, 'Headers'),
    h('pre', { id: 'headers' }, JSON.stringify(e.headers, null, 2)),
    h('h3', {}, 'Body'),
    h('pre', { id: 'body' }, prettyBody(e.body)),
    h('h3', {}, 'Deliveries'),
    ...deliveries,
  );
  // While a delivery is still pending (just retried or replayed, or being retried), keep the
  // view current so its new attempts show up.
  const pending = e.deliveries.filter((d) => d.status === 'pending');
  if (pending.length) {
    // Soon-due attempts are watched every second; a retry an hour away every ten.
    const soon = pending.some((d) => !d.next_attempt_at || Date.parse(d.next_attempt_at) - Date.now() < 15_000);
    stopLive();
    liveTimer = setTimeout(() => {
      if (location.hash === `#/events/${encodeURIComponent(id)}`) eventDetail(id).catch(() => undefined);
    }, soon ? 1000 : 10_000);
  }
}

// Failed deliveries ------------------------------------------------------------------------

async function failed(params) {
  const hook = params.get('hook') || '';
  const q = (status) => `/v1/deliveries?status=${status}&limit=100${hook ? `&hook_id=${encodeURIComponent(hook)}` : ''}`;
  const [f, g] = await Promise.all([api('GET', q('failed')), api('GET', q('given_up'))]);
  const rows = [...f, ...g].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  const status = h('div', { id: 'action-status' });
  const hooks = [...new Set(rows.map((r) => r.hook_id).filter(Boolean))];
  show(
    h('h2', {}, 'Failed deliveries'),
    status,
    hooks.map((id) =>
      h('button', {
        type: 'button',
        class: 'retry-all',
        onclick: async () => {
          const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
          const r = await api('POST', `/v1/hooks/${encodeURIComponent(id)}/retry-failed`, { since });
          await failed(params);
          document.getElementById('action-status').replaceChildren(notice(`${r.queued} deliveries queued again.`));
        },
      }, `Retry all failed for subscription ${short(rows.find((r) => r.hook_id === id).target_url, 50)}`),
    ),
    rows.length
      ? h(
          'table',
          { id: 'failed' },
          h('thead', {}, h('tr', {}, ['Updated', 'Event', 'Status', 'Attempts', 'Last answer', ''].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            rows.map((d) =>
              h(
                'tr',
                { 'data-id': d.id },
                h('td', {}, when(d.updated_at)),
                h('td', {}, h('a', { href: `#/events/${encodeURIComponent(d.event_id)}` }, d.event)),
                h('td', {}, statusBadge(d.status)),
                h('td', {}, String(d.attempt_count)),
                h('td', {}, d.last_status_code !== null ? `HTTP ${d.last_status_code}` : short(d.last_error, 60)),
                h('td', {}, h('button', {
                  type: 'button',
                  class: 'retry',
                  onclick: async () => {
                    await api('POST', `/v1/deliveries/${encodeURIComponent(d.id)}/retry`);
                    await failed(params);
                    document.getElementById('action-status').replaceChildren(notice('Queued again.'));
                  },
                }, 'Retry')),
              ),
            ),
          ),
        )
      : notice('Nothing has failed. Deliveries that a Zap refuses, or that keep failing for 24 hours, show up here to retry.'),
  );
}

// Keys and URLs ------------------------------------------------------------------------------

async function settings() {
  const me = await api('GET', '/v1/me');
  const out = h('div', { id: 'action-status' });
  const provider = h('select', { id: 'rotate-provider' }, Object.keys(me.inbound).map((p) => h('option', { value: p }, p)));
  const overlap = h('input', { id: 'overlap', type: 'number', min: '0', max: '720', value: '24' });
  show(
    h('h2', {}, 'Keys and URLs'),
    out,
    h('h3', {}, 'API key'),
    h('p', {}, 'A new key works at once; the current one stops working (every Zap connection must be updated with the new key).'),
    h('button', {
      type: 'button',
      id: 'rotate-key',
      onclick: async () => {
        if (!confirm('Replace the API key? Zap connections using the old one will need the new one.')) return;
        const r = await api('POST', '/v1/me/rotate-key');
        sessionStorage.setItem(KEY, r.api_key);
        out.replaceChildren(notice('New API key (shown once):'), h('p', {}, h('code', { id: 'new-key' }, r.api_key), ' ', copyButton(r.api_key)));
      },
    }, 'Rotate API key'),
    h('h3', {}, 'Webhook URL'),
    h('p', {}, 'A new URL for one vendor; the old one keeps working for the overlap, so you can paste the new one into the vendor without losing an event.'),
    h('label', {}, 'Vendor ', provider),
    h('label', {}, ' Overlap (hours) ', overlap),
    ' ',
    h('button', {
      type: 'button',
      id: 'rotate-inbound',
      onclick: async () => {
        const r = await api('POST', '/v1/me/rotate-inbound', { provider: provider.value, overlap_hours: Number(overlap.value) });
        out.replaceChildren(notice(`New ${provider.value} URL; the old one works until ${when(r.old_url_valid_until)}.`), h('p', {}, h('code', {}, r.inbound[provider.value]), ' ', copyButton(r.inbound[provider.value])));
      },
    }, 'Rotate URL'),
    h('h3', {}, 'Disable the account'),
    h('p', {}, 'Its webhook URLs stop accepting events and its API key stops working, at once.'),
    h('button', {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        if (!confirm('Disable this account now?')) return;
        await api('POST', '/v1/me/disable');
        sessionStorage.removeItem(KEY);
        signIn('The account is disabled.');
      },
    }, 'Disable account'),
  );
}

// Routing ------------------------------------------------------------------------------------

async function route() {
  stopLive();
  if (!sessionStorage.getItem(KEY)) return signIn();
  nav.hidden = false;
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(qs || '');
  try {
    const me = await api('GET', '/v1/me');
    document.getElementById('account').textContent = me.name;
    if (path === '/events') await events(params);
    else if (path.startsWith('/events/')) await eventDetail(decodeURIComponent(path.slice('/events/'.length)));
    else if (path === '/failed') await failed(params);
    else if (path === '/settings') await settings();
    else await overview();
  } catch (err) {
    if (err.message !== 'signed out') show(notice(err.message, 'error'));
  }
}

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  signIn();
});
window.addEventListener('hashchange', route);
route();
