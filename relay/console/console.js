// The demohooks relay console. Plain browser JavaScript, no build step. Every string that
// comes from the API (payloads, headers, errors, names) reaches the page as a text node,
// never as HTML, and the page runs under a strict Content-Security-Policy. The chart is
// uPlot, served by the relay itself (/vendor/uplot.min.js).
'use strict';

const KEY = 'demohooks.apiKey';
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let liveTimer = null;
// The live view's round (a stopped view's answer schedules nothing) and its next poll.
let liveChain = 0;
let liveNow = null;
let chart = null;

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

/** A time in the viewer's own zone, saying which zone it is. */
const TIME = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' };
const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, TIME) : '—');
const short = (s, n = 80) => (s && s.length > n ? `${s.slice(0, n)}…` : s || '');
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

class ApiError extends Error {}

/** Calls the operator API; the answer's data, and the next page's path when the list has more (Link: rel="next"). */
async function call(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  const res = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    signIn('That API key was not accepted (it is wrong, was rotated, or the account was disabled).');
    throw new ApiError('signed out');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError((data && data.error) || `The relay answered HTTP ${res.status}.`);
  const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('Link') || '');
  return { data, next: link ? link[1] : null };
}
const api = async (method, path, body) => (await call(method, path, body)).data;

function show(...nodes) {
  if (chart) {
    chart.destroy();
    chart = null;
  }
  main.replaceChildren(...nodes.flat(2).filter((n) => n !== null && n !== undefined && n !== false));
}

/** A notice that stays until dismissed (errors are announced as alerts). */
function notice(text, kind = 'info', dismissible = true) {
  const p = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', {}, text));
  if (dismissible) p.append(h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss this message', onclick: () => p.remove() }, '×'));
  return p;
}

/** Where an action's outcome is said: right by the action. */
const statusArea = (id) => h('div', { class: 'action-status', id, 'aria-live': 'polite' });

/**
 * Runs an action from a button: asks first when `ask` says what it will do, disables the
 * button meanwhile, and says what came of it in `area` (the error the API gave, if any).
 */
async function act(button, area, { ask, work, done }) {
  if (ask && !window.confirm(ask)) return;
  button.disabled = true;
  try {
    const result = await work();
    const msg = typeof done === 'function' ? done(result) : done;
    if (msg) area.replaceChildren(notice(msg));
    return result;
  } catch (err) {
    if (err.message !== 'signed out') area.replaceChildren(notice(err.message, 'error'));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** A table that scrolls sideways on a narrow screen, reachable by keyboard. */
const scroller = (label, table) => h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
const th = (text, hidden) => h('th', { scope: 'col' }, hidden ? h('span', { class: 'visually-hidden' }, text) : text);

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
    message ? notice(message, 'error', false) : null,
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
  liveChain++;
  liveNow = null;
}

/**
 * A live view: `fn` again `everyMs` after its last answer came (never a second request while
 * one is out, however slow the relay is), every 30 s while the tab is hidden, and at once when
 * it is shown again.
 */
function pollLive(fn, everyMs) {
  stopLive();
  const chain = liveChain;
  const tick = async () => {
    liveTimer = null;
    liveNow = null;
    if (chain !== liveChain) return;
    try {
      await fn();
    } catch {
      // shown by the view itself; the next round tries again
    }
    if (chain !== liveChain) return;
    liveNow = tick;
    liveTimer = setTimeout(tick, document.hidden ? Math.max(everyMs, 30_000) : everyMs);
  };
  liveNow = tick;
  liveTimer = setTimeout(tick, everyMs);
}
document.addEventListener('visibilitychange', () => {
  if (document.hidden || !liveNow || !liveTimer) return;
  clearTimeout(liveTimer);
  liveTimer = null;
  void liveNow();
});

function copyButton(text, what) {
  return h('button', {
    type: 'button',
    class: 'copy',
    'aria-label': `Copy ${what}`,
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

const STATUS_WORDS = { given_up: 'given up', no_subscription: 'no subscription' };
const statusBadge = (status) => h('span', { class: `badge ${status}` }, STATUS_WORDS[status] || status);

/** Replays and manual retries, said on the delivery. */
const marks = (d) => [d.origin === 'replay' ? h('span', { class: 'badge mark' }, 'replay') : null, d.manual_retries ? h('span', { class: 'badge mark' }, `retried by hand ×${d.manual_retries}`) : null].filter(Boolean);

// Overview: the last 24 hours, subscriptions and their health, inbound URLs -----------------------

// Counts per hour, drawn as bars within each hour (a line between two hours'
// counts would draw a slope that happened at no time).
const SERIES = [
  { key: 'inbound', label: 'Events received', stroke: '#2f5bd3', fill: '#2f5bd3' },
  { key: 'delivered', label: 'Delivered', stroke: '#1f7a3f', fill: '#1f7a3f' },
  { key: 'failed_attempts', label: 'Failed attempts', stroke: '#b42318', fill: '#b42318' },
  { key: 'given_up', label: 'Given up', stroke: '#6b0f0a', fill: '#6b0f0a' },
];

function drawChart(holder, stats) {
  const data = [stats.map((r) => Date.parse(r.hour) / 1000 + 1800), ...SERIES.map((s) => stats.map((r) => r[s.key]))];
  const width = Math.max(260, (holder.clientWidth || 600) - 16);
  const n = SERIES.length;
  // Nested bars, each series narrower than the one before and drawn over it, so every count
  // of an hour shows beside the others (received widest, given up narrowest).
  const bars = (i) => window.uPlot.paths.bars({ size: [0.85 - i * (0.6 / n), 48] });
  chart = new window.uPlot(
    {
      width,
      height: 220,
      series: [{}, ...SERIES.map((s, i) => ({ label: s.label, stroke: s.stroke, fill: s.fill, width: 1, paths: bars(i), points: { show: false } }))],
      axes: [{}, { label: 'per hour', size: 60 }],
      scales: { x: { range: (_u, min, max) => [min - 1800, max + 1800] }, y: { range: (_u, _min, max) => [0, Math.max(4, max)] } },
    },
    data,
    holder,
  );
}

function healthCell(k) {
  if (k.health === 'refusing') {
    // Delivered, but the Zap's runs halt on what it gets: the operator's fix is in the Zap.
    return h('td', { class: 'bad' }, h('span', { class: 'badge failing' }, 'refused by its Zap'), ` since ${when(k.refusing_since)}: ${k.refusing_reason}`, pacedNote(k));
  }
  if (k.health === 'failing') {
    return h('td', { class: 'bad' }, h('span', { class: 'badge failing' }, 'failing'), ` since ${when(k.failing_since)} · ${plural(k.consecutive_failures, 'failed attempt', 'failed attempts')} in a row`, pacedNote(k));
  }
  if (k.health === 'throttled') {
    // The target asked to slow down (429 or 503): not a failure; its deliveries resume when the pause ends.
    return h('td', {}, h('span', { class: 'badge throttled' }, 'throttled'), ` by the target until ${when(k.throttled_until)}`, pacedNote(k));
  }
  return h('td', {}, h('span', { class: 'badge healthy' }, 'healthy'), pacedNote(k));
}

/** Deliveries waiting for their turn within the target's limits: not attempts, not failures. */
function pacedNote(k) {
  return k.paced ? ` · ${plural(k.paced, 'delivery waits', 'deliveries wait')} for its turn (paced)` : '';
}

const rate = (r) => (r === null ? 'none attempted' : `${Math.round(r * 1000) / 10} %`);

/** A hook URL's end tells Zaps apart (`…/hooks/standard/123/abc/`): keep it, cut the start. */
const tail = (s, n = 40) => (s && s.length > n ? `…${s.slice(s.length - n + 1)}` : s || '');

const HOOK_COLUMNS = ['Zap', 'Event', 'Zap hook URL', 'Health', 'Deliveries delivered, 24 h', 'Pending', 'Retrying', 'Failed or given up', 'Last success', 'Last error', 'Actions'];

/** Which Zap: its id and trigger, as the Zapier app said when it subscribed. */
const zapCell = (k) => h('td', {}, k.zap_id ? `Zap ${k.zap_id}` : 'not said', k.trigger ? h('div', { class: 'muted' }, k.trigger) : null);

/** Sends every retrying delivery of a subscription now, for the Zap that was just fixed. */
function retryNowButton(k, area, after) {
  return h('button', {
    type: 'button',
    class: 'retry-now',
    onclick: async (ev) => {
      const r = await act(ev.target, area, { work: () => api('POST', `/v1/hooks/${encodeURIComponent(k.id)}/retry-now`, {}), done: null });
      if (r) await after(`${plural(r.queued, 'retrying delivery', 'retrying deliveries')} sent now.`);
    },
  }, `Send ${plural(k.retrying, 'retrying delivery', 'retrying deliveries')} now`);
}

async function overview(message) {
  const status = statusArea('action-status');
  if (message) status.append(notice(message));
  const [me, first, stats] = await Promise.all([api('GET', '/v1/me'), call('GET', '/v1/hooks?limit=50'), api('GET', '/v1/stats/deliveries?hours=24')]);
  const totals = Object.fromEntries(SERIES.map((s) => [s.key, stats.reduce((n, r) => n + r[s.key], 0)]));
  const unheard = stats.reduce((n, r) => n + r.no_subscription, 0);
  const holder = h('div', { id: 'chart', role: 'img', 'aria-label': `Per hour over the last 24 hours: ${SERIES.map((s) => `${s.label.toLowerCase()} ${totals[s.key]}`).join(', ')} in total.` });
  const urls = h(
    'table',
    { id: 'inbound' },
    h('thead', {}, h('tr', {}, th('Vendor'), th('Webhook URL'), th('Where to paste it'))),
    h('tbody', {}, Object.entries(me.inbound).map(([p, url]) => h('tr', {}, h('td', {}, p), h('td', {}, h('code', {}, url), ' ', copyButton(url, `the ${p} webhook URL`)), h('td', {}, WHERE[p] || '')))),
  );
  const body = h('tbody', {});
  const more = h('button', { type: 'button', id: 'more-hooks', hidden: true }, 'More subscriptions');
  let next = first.next;
  // On a narrow screen each row is a card, its cells labelled (console.css).
  const labelled = (tr) => {
    [...tr.children].forEach((td, i) => td.setAttribute('data-label', HOOK_COLUMNS[i]));
    return tr;
  };
  const add = (hooks) =>
    body.append(
      ...hooks.map((k) =>
        labelled(h(
          'tr',
          { 'data-id': k.id, class: k.health === 'failing' || k.health === 'refusing' ? 'failing' : '' },
          zapCell(k),
          h('td', {}, k.event),
          h('td', {}, h('code', { title: k.target_url }, tail(k.target_url))),
          healthCell(k),
          h('td', {}, rate(k.success_rate_24h)),
          h('td', {}, String(k.pending - k.retrying)),
          h('td', { class: k.retrying ? 'bad' : '' }, String(k.retrying)),
          h('td', { class: k.failed ? 'bad' : '' }, String(k.failed)),
          h('td', {}, when(k.last_success_at)),
          h('td', {}, short(k.last_error, 60)),
          rowActions(k),
        )),
      ),
    );
  function rowActions(k) {
    const area = statusArea(`hook-${k.id}`);
    const problems = k.failed || k.retrying || k.health === 'failing' ? h('a', { href: `#/failed?hook=${encodeURIComponent(k.id)}` }, 'See problems') : null;
    return h('td', {}, problems, k.retrying ? h('div', {}, retryNowButton(k, area, (msg) => overview(msg))) : null, area);
  }
  add(first.data);
  more.hidden = !next;
  more.addEventListener('click', async () => {
    const page = await call('GET', next);
    add(page.data);
    next = page.next;
    more.hidden = !next;
  });
  const failing = first.data.filter((k) => k.health === 'failing').length;
  const refusing = first.data.filter((k) => k.health === 'refusing').length;
  const subs = first.data.length
    ? [
        failing ? notice(`${plural(failing, 'subscription is', 'subscriptions are')} failing: its Zap is not receiving events. Open its problems to see why.`, 'error', false) : null,
        refusing
          ? notice(`${plural(refusing, 'Zap refuses', 'Zaps refuse')} what the relay delivers: the runs halt before anything reaches the CRM. The Health column says why and what to change in the Zap.`, 'error', false)
          : null,
        scroller(
          'Subscriptions',
          h(
            'table',
            { id: 'hooks' },
            h(
              'thead',
              {},
              h('tr', {}, ...HOOK_COLUMNS.map((c, i) => th(c, i === HOOK_COLUMNS.length - 1))),
            ),
            body,
          ),
        ),
        more,
      ]
    : notice('No subscriptions yet. Turn on a Zap that uses a demohooks trigger: it subscribes here by itself.', 'info', false);
  show(
    status,
    h('h2', {}, 'Last 24 hours'),
    holder,
    h('p', { class: 'legend-note' }, `Totals: ${SERIES.map((s) => `${s.label.toLowerCase()} ${totals[s.key]}`).join(' · ')}.`),
    unheard
      ? notice(
          `${plural(unheard, 'event', 'events')} in the last 24 hours arrived with no subscription listening: nothing was sent anywhere. A Zap that was turned off, or removed by a 410, no longer subscribes.`,
          'info',
          false,
        )
      : null,
    h('h2', {}, 'Subscriptions (Zaps)'),
    subs,
    h('h2', {}, 'Webhook URLs'),
    h('p', {}, 'Paste each into the vendor once; every Zap on this account is served from it.'),
    scroller('Webhook URLs', urls),
  );
  if (window.uPlot) drawChart(holder, stats);
}

// The event log ------------------------------------------------------------------------------

const EVENT_STATES = ['retrying', 'pending', 'failed', 'delivered', 'cancelled', 'no_subscription'];

async function events(params) {
  const filters = {
    provider: params.get('provider') || '',
    event: params.get('event') || '',
    delivery_status: params.get('delivery_status') || '',
    q: params.get('q') || '',
    since: params.get('since') || '',
    until: params.get('until') || '',
  };
  const list = h('tbody', {});
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older events');
  const count = h('p', { id: 'event-count', class: 'muted' });
  const live = h('input', { type: 'checkbox', id: 'live', checked: params.get('live') !== '0' });
  const status = statusArea('events-status');
  const empty = notice('No events match. Once a vendor sends to your webhook URL, its events appear here (press the vendor’s Test button to send one).', 'info', false);
  empty.hidden = true;
  let newest = null;
  let next = null;
  let shown = 0;

  const query = () => {
    // Previews: the list shows a line of each body; the event's own page has the whole.
    const q = new URLSearchParams({ limit: '50', body: 'preview' });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString() : v);
    return `/v1/events?${q}`;
  };
  const row = (e) =>
    h(
      'tr',
      { 'data-id': e.id },
      h('td', {}, when(e.received_at)),
      h('td', {}, h('a', { href: `#/events/${encodeURIComponent(e.id)}` }, e.event)),
      h('td', { class: e.summary ? 'summary' : 'preview' }, e.summary || short(e.body, 120)),
      h('td', {}, statusBadge(e.delivery_status)),
    );
  const counted = () => {
    count.textContent = `Showing ${plural(shown, 'event', 'events')}${next ? ' (there are older ones)' : ''}.`;
  };
  const load = async () => {
    const page = await call('GET', query());
    list.replaceChildren(...page.data.map(row));
    newest = page.data[0] ? page.data[0].id : null;
    next = page.next;
    shown = page.data.length;
    more.hidden = !next;
    empty.hidden = page.data.length > 0;
    counted();
  };
  more.addEventListener('click', async () => {
    try {
      const page = await call('GET', next);
      list.append(...page.data.map(row));
      next = page.next;
      shown += page.data.length;
      more.hidden = !next;
      counted();
    } catch (err) {
      status.replaceChildren(notice(err.message, 'error'));
    }
  });
  const refresh = async () => {
    // Live view: fetch the newest page and put what is new on top (statuses refresh too).
    const rows = await api('GET', query());
    if (!rows.length) return;
    if (rows[0].id !== newest || list.children.length === 0) {
      const seen = new Set([...list.children].map((r) => r.dataset.id));
      const fresh = rows.filter((r) => !seen.has(r.id));
      list.prepend(...fresh.map(row));
      shown += fresh.length;
      newest = rows[0].id;
      empty.hidden = true;
      counted();
    }
    for (const r of rows) {
      const tr = list.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`);
      if (tr) tr.children[3].replaceChildren(statusBadge(r.delivery_status));
    }
  };
  const field = (name, label, attrs) => h('label', {}, label, h('input', { name, value: filters[name], ...attrs }));
  const choice = (name, label, options) => h('label', {}, label, h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === filters[name] }, text))));
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
    choice('provider', 'Vendor', [['', 'any'], ...VENDORS.map((v) => [v.key, v.label])]),
    choice('event', 'Event type', [['', 'any'], ...VENDORS.flatMap((v) => (v.events || []).map((e) => [e, e]))]),
    choice('delivery_status', 'Delivery', [['', 'any'], ...EVENT_STATES.map((s) => [s, STATUS_WORDS[s] || s])]),
    field('q', 'Text in body', { type: 'search' }),
    field('since', 'Since (your time)', { type: 'datetime-local' }),
    field('until', 'Until (your time)', { type: 'datetime-local' }),
    h('button', { type: 'submit' }, 'Filter'),
    h('label', { class: 'inline' }, live, ' Live'),
  );
  const findInput = h('input', { id: 'find-id', name: 'id', placeholder: 'evt_…', required: true });
  const find = h(
    'form',
    {
      id: 'find',
      onsubmit: (e) => {
        e.preventDefault();
        const id = findInput.value.trim();
        if (id) location.hash = `#/events/${encodeURIComponent(id)}`;
      },
    },
    h('label', { for: 'find-id' }, 'Find an event by id'),
    findInput,
    h('button', { type: 'submit' }, 'Open'),
  );
  live.addEventListener('change', () => {
    stopLive();
    if (live.checked) pollLive(refresh, 2000);
  });
  show(
    h('h2', {}, 'Events'),
    find,
    form,
    status,
    count,
    scroller('Events', h('table', { id: 'events' }, h('thead', {}, h('tr', {}, th('Received'), th('Event'), th('What happened'), th('Delivery'))), list)),
    empty,
    more,
  );
  try {
    await load();
  } catch (err) {
    if (err.message !== 'signed out') status.replaceChildren(notice(err.message, 'error'));
    return;
  }
  if (live.checked) pollLive(refresh, 2000);
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

async function eventDetail(id, message) {
  let e;
  try {
    e = await api('GET', `/v1/events/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.message === 'signed out') return;
    show(h('p', {}, h('a', { href: '#/events' }, '← Events')), notice(`No event ${id} in this account (${err.message}).`, 'error', false));
    return;
  }
  const status = statusArea('action-status');
  if (message) status.append(notice(message));
  const refreshWith = (msg) => eventDetail(id, msg);
  const deliveries = e.deliveries.length
    ? e.deliveries.map((d) => {
        const area = statusArea(`status-${d.id}`);
        const retry =
          d.status === 'failed' || d.status === 'given_up' || d.status === 'retrying'
            ? h('button', {
                type: 'button',
                class: 'retry',
                onclick: async (ev) => {
                  const ok = await act(ev.target, area, { work: () => api('POST', `/v1/deliveries/${encodeURIComponent(d.id)}/retry`), done: null });
                  if (ok) await refreshWith('Queued again; the new attempt appears below when it is made.');
                },
              }, d.status === 'retrying' ? 'Send now' : 'Retry now')
            : null;
        return h(
          'section',
          { class: 'delivery', 'data-id': d.id },
          h('h3', {}, statusBadge(d.status), ' ', ...marks(d), ' ', h('code', {}, short(d.target_url, 70))),
          d.next_attempt_at ? h('p', {}, `Next attempt: ${when(d.next_attempt_at)}`) : null,
          retry,
          area,
          d.attempts.length
            ? scroller(
                'Attempts',
                h(
                  'table',
                  { class: 'attempts' },
                  h('thead', {}, h('tr', {}, th('#'), th('Started'), th('Took'), th('Answer'), th('Response'))),
                  h('tbody', {}, d.attempts.map((a) => h('tr', {}, h('td', {}, String(a.n)), h('td', {}, when(a.started_at)), h('td', {}, `${a.duration_ms} ms`), h('td', {}, a.status_code !== null ? `HTTP ${a.status_code}` : a.error || '—'), h('td', {}, h('code', {}, short(a.response_snippet, 200)))))),
                ),
              )
            : h('p', {}, 'Not attempted yet.'),
        );
      })
    : [notice('No subscription took this event (no Zap was on for it when it arrived). Replay sends it to the Zaps on now.', 'info', false)];
  const replay = h('button', {
    type: 'button',
    id: 'replay',
    onclick: async (ev) => {
      const r = await act(ev.target, status, {
        ask: 'Send this event again to every subscription on now? Each gets a new delivery, marked as a replay; a Zap that already has it drops the copy.',
        work: () => api('POST', `/v1/events/${encodeURIComponent(id)}/replay`),
        done: null,
      });
      if (r) await refreshWith(`Replayed to ${plural(r.deliveries, 'subscription', 'subscriptions')}.`);
    },
  }, 'Replay to current subscriptions');
  show(
    h('p', {}, h('a', { href: '#/events' }, '← Events')),
    h('h2', {}, e.event),
    e.summary ? h('p', { id: 'summary' }, e.summary) : null,
    h('p', {}, `Received ${when(e.received_at)} · `, h('code', {}, e.id)),
    replay,
    status,
    h('h3', {}, 'Deliveries'),
    ...deliveries,
    h('h3', {}, 'Headers'),
    h('pre', { id: 'headers', tabindex: '0' }, JSON.stringify(e.headers, null, 2)),
    h('h3', {}, 'Body'),
    h('pre', { id: 'body', tabindex: '0' }, prettyBody(e.body)),
  );
  // While a delivery is still pending (just retried or replayed, or being retried), keep the
  // view current so its new attempts show up.
  const pending = e.deliveries.filter((d) => d.status === 'pending' || d.status === 'retrying');
  if (pending.length) {
    // Soon-due attempts are watched every second; a retry an hour away every ten.
    const soon = pending.some((d) => !d.next_attempt_at || Date.parse(d.next_attempt_at) - Date.now() < 15_000);
    stopLive();
    liveTimer = setTimeout(() => {
      if (location.hash === `#/events/${encodeURIComponent(id)}`) eventDetail(id).catch(() => undefined);
    }, soon ? 1000 : 10_000);
  }
}

// Problems: deliveries being retried, failed and given up ------------------------------------------

const PROBLEMS = [
  { status: 'retrying', title: 'Being retried', empty: 'Nothing is being retried.' },
  { status: 'failed', title: 'Failed (refused by the Zap, not retried)', empty: 'Nothing failed.' },
  { status: 'given_up', title: 'Given up (after 24 hours of retries)', empty: 'Nothing was given up.' },
];

async function failed(params, message) {
  const hook = params.get('hook') || '';
  const status = statusArea('action-status');
  if (message) status.append(notice(message));
  const path = (s) => `/v1/deliveries?status=${s}&limit=50${hook ? `&hook_id=${encodeURIComponent(hook)}` : ''}`;
  const pages = await Promise.all(PROBLEMS.map((p) => call('GET', path(p.status))));
  const sections = PROBLEMS.map((p, i) => {
    const body = h('tbody', {});
    let next = pages[i].next;
    let shown = 0;
    const count = h('p', { class: 'muted' });
    const counted = () => (count.textContent = `${plural(shown, 'delivery', 'deliveries')}${next ? ' shown; there are more' : ''}.`);
    const add = (rows) => {
      shown += rows.length;
      body.append(
        ...rows.map((d) => {
          const area = statusArea(`status-${d.id}`);
          const cells = [
            h('td', {}, when(d.updated_at)),
            h('td', {}, h('a', { href: `#/events/${encodeURIComponent(d.event_id)}` }, d.event), ' ', ...marks(d)),
            h('td', {}, h('code', {}, short(d.target_url, 40))),
            h('td', {}, statusBadge(d.status)),
            h('td', {}, String(d.attempt_count)),
            h('td', {}, d.last_status_code !== null ? `HTTP ${d.last_status_code}` : short(d.last_error, 60)),
            h('td', {}, d.status === 'retrying' ? `next ${when(d.next_attempt_at)}` : ''),
          ];
          // A retrying one can go now instead of after its backoff (the Zap was just fixed).
          cells[6].append(
            d.status === 'retrying' ? ' ' : '',
            h('button', {
              type: 'button',
              class: 'retry',
              onclick: async (ev) => {
                const ok = await act(ev.target, area, { work: () => api('POST', `/v1/deliveries/${encodeURIComponent(d.id)}/retry`), done: null });
                if (ok) await failed(params, d.status === 'retrying' ? 'Sent now, without waiting for its backoff.' : 'Queued again: it is retried now.');
              },
            }, d.status === 'retrying' ? 'Send now' : 'Retry'),
            area,
          );
          return h('tr', { 'data-id': d.id }, ...cells);
        }),
      );
      counted();
    };
    add(pages[i].data);
    const more = h('button', { type: 'button', class: 'more', hidden: !next }, `More: ${p.title.split(' (')[0].toLowerCase()}`);
    more.addEventListener('click', async () => {
      try {
        const page = await call('GET', next);
        next = page.next;
        more.hidden = !next;
        add(page.data);
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    });
    return h(
      'section',
      { id: `problems-${p.status}` },
      h('h3', {}, p.title),
      shown ? count : null,
      shown
        ? scroller(
            p.title,
            h('table', { class: 'problems' }, h('thead', {}, h('tr', {}, th('Updated'), th('Event'), th('Zap hook URL'), th('Status'), th('Attempts'), th('Last answer'), th('Actions', true))), body),
          )
        : h('p', { class: 'muted' }, p.empty),
      more,
    );
  });
  // "Retry all" per subscription that has failed or given-up deliveries.
  const failedRows = [...pages[1].data, ...pages[2].data];
  const hooks = [...new Map(failedRows.filter((r) => r.hook_id).map((r) => [r.hook_id, r.target_url])).entries()];
  const bulk = hooks.map(([id, target]) => {
    const area = statusArea(`bulk-${id}`);
    return h(
      'div',
      { class: 'bulk' },
      h('button', {
        type: 'button',
        class: 'retry-all',
        onclick: async (ev) => {
          const r = await act(ev.target, area, {
            ask: `Retry every failed and given-up delivery of the subscription ${short(target, 60)}? Each is sent again now, with a fresh 24-hour window.`,
            work: () => api('POST', `/v1/hooks/${encodeURIComponent(id)}/retry-failed`, {}),
            done: null,
          });
          if (r) await failed(params, `${plural(r.queued, 'delivery', 'deliveries')} queued again.`);
        },
      }, `Retry all failed for ${short(target, 50)}`),
      area,
    );
  });
  // "Send now" per subscription that has deliveries waiting for their next attempt.
  const waiting = [...new Map(pages[0].data.filter((r) => r.hook_id).map((r) => [r.hook_id, r.target_url])).entries()];
  const sendNow = waiting.map(([id, target]) => {
    const area = statusArea(`now-${id}`);
    const count = pages[0].data.filter((r) => r.hook_id === id).length;
    return h('div', { class: 'bulk' }, retryNowButton({ id, retrying: count }, area, (msg) => failed(params, msg)), ` for ${tail(target, 50)}`, area);
  });
  show(h('h2', {}, hook ? 'Problems of one subscription' : 'Problems'), hook ? h('p', {}, h('a', { href: '#/failed' }, 'Show every subscription')) : null, status, sendNow, bulk, sections);
}

// Keys, URLs and alerts ------------------------------------------------------------------------------

async function settings() {
  const me = await api('GET', '/v1/me');
  const keyArea = statusArea('key-status');
  const urlArea = statusArea('url-status');
  const alertArea = statusArea('alert-status');
  const disableArea = statusArea('disable-status');
  const provider = h('select', { id: 'rotate-provider' }, Object.keys(me.inbound).map((p) => h('option', { value: p }, p)));
  const overlap = h('input', { id: 'overlap', type: 'number', min: '0', max: '720', step: '1', value: '24', required: true });
  const alertUrl = h('input', { id: 'alert-url', type: 'url', value: me.alert_url || '', placeholder: 'https://hooks.slack.com/services/…' });
  show(
    h('h2', {}, 'Keys, URLs and alerts'),
    h('h3', {}, 'API key'),
    h('p', {}, 'A new key works at once; the current one stops working (every Zap connection must be updated with the new key).'),
    h('button', {
      type: 'button',
      id: 'rotate-key',
      onclick: async (ev) => {
        const r = await act(ev.target, keyArea, {
          ask: 'Replace the API key now? The current key stops working at once: every Zap connection and script using it must get the new one.',
          work: () => api('POST', '/v1/me/rotate-key'),
          done: null,
        });
        if (!r) return;
        sessionStorage.setItem(KEY, r.api_key);
        keyArea.replaceChildren(notice('New API key (shown once; copy it now):'), h('p', {}, h('code', { id: 'new-key' }, r.api_key), ' ', copyButton(r.api_key, 'the new API key')));
      },
    }, 'Rotate API key'),
    keyArea,
    h('h3', {}, 'Webhook URL'),
    h('p', {}, 'A new URL for one vendor; the old one keeps working for the overlap, so you can paste the new one into the vendor without losing an event.'),
    h('div', { class: 'row' }, h('label', { for: 'rotate-provider' }, 'Vendor'), provider, h('label', { for: 'overlap' }, 'Old URL keeps working for (hours, 0–720)'), overlap),
    h('button', {
      type: 'button',
      id: 'rotate-inbound',
      onclick: async (ev) => {
        const raw = overlap.value.trim();
        const hours = Number(raw);
        if (raw === '' || !Number.isFinite(hours) || hours < 0 || hours > 720) {
          urlArea.replaceChildren(notice('Say how long the old URL keeps working: a number of hours from 0 to 720 (24 is the default). Nothing was changed.', 'error'));
          overlap.focus();
          return;
        }
        const p = provider.value;
        const ends = hours === 0 ? 'at once: events the vendor sends to it from now on are refused (404) and lost until you paste the new URL' : `at ${when(new Date(Date.now() + hours * 3_600_000).toISOString())}`;
        const r = await act(ev.target, urlArea, {
          ask: `Make a new ${p} webhook URL? The current one stops working ${ends}.`,
          work: () => api('POST', '/v1/me/rotate-inbound', { provider: p, overlap_hours: hours }),
          done: null,
        });
        if (!r) return;
        urlArea.replaceChildren(notice(`New ${p} URL; paste it into the vendor now. The old one works until ${when(r.old_url_valid_until)}.`), h('p', {}, h('code', { id: 'new-url' }, r.inbound[p]), ' ', copyButton(r.inbound[p], `the new ${p} webhook URL`)));
      },
    }, 'Rotate URL'),
    urlArea,
    h('h3', {}, 'Alerts'),
    h('p', {}, 'Where the relay says so when a subscription starts failing, recovers, or gives deliveries up. A Slack incoming-webhook URL works as it is.'),
    h('div', { class: 'row' }, h('label', { for: 'alert-url' }, 'Alert URL'), alertUrl),
    h('button', {
      type: 'button',
      id: 'save-alerts',
      onclick: (ev) => act(ev.target, alertArea, { work: () => api('PUT', '/v1/me/alerts', { url: alertUrl.value.trim() }), done: 'Saved: alerts go there from now on.' }),
    }, 'Save alert URL'),
    ' ',
    h('button', {
      type: 'button',
      id: 'remove-alerts',
      onclick: async (ev) => {
        const r = await act(ev.target, alertArea, { ask: 'Stop sending alerts? Failing subscriptions will show only here.', work: () => api('DELETE', '/v1/me/alerts'), done: 'Removed: no more alerts.' });
        if (r !== undefined) alertUrl.value = '';
      },
    }, 'Remove'),
    alertArea,
    h('h3', {}, 'Disable the account'),
    h('p', {}, 'Its webhook URLs stop accepting events and its API key stops working, at once. Queued deliveries pause (they are kept) until the operator runs ', h('code', {}, 'demohooks-relay account enable'), '.'),
    h('button', {
      type: 'button',
      class: 'danger',
      id: 'disable',
      onclick: async (ev) => {
        const r = await act(ev.target, disableArea, {
          ask: `Disable the account "${me.name}" now? Vendors' events to its webhook URLs are refused (404) and lost, this console signs out, and queued deliveries pause until \`demohooks-relay account enable\`.`,
          work: () => api('POST', '/v1/me/disable'),
          done: null,
        });
        if (r !== null) return; // declined, or refused (the reason is shown by the button)
        sessionStorage.removeItem(KEY);
        signIn('The account is disabled. The operator can turn it back on with demohooks-relay account enable.');
      },
    }, 'Disable account'),
    disableArea,
  );
}

// Routing ------------------------------------------------------------------------------------

async function route() {
  stopLive();
  if (!sessionStorage.getItem(KEY)) return signIn();
  nav.hidden = false;
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(qs || '');
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#${path === '/' ? '/' : `/${path.split('/')[1]}`}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    const me = await api('GET', '/v1/me');
    document.getElementById('account').textContent = me.name;
    if (path === '/events') await events(params);
    else if (path.startsWith('/events/')) await eventDetail(decodeURIComponent(path.slice('/events/'.length)));
    else if (path === '/failed') await failed(params);
    else if (path === '/settings') await settings();
    else await overview();
  } catch (err) {
    if (err.message !== 'signed out') show(notice(err.message, 'error', false));
  }
}

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  signIn();
});
window.addEventListener('hashchange', route);
window.addEventListener('resize', () => {
  if (chart) chart.setSize({ width: Math.max(260, document.getElementById('chart').clientWidth - 16), height: 220 });
});
route();
