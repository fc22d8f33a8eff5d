// The operator page's script (GET /ui/app.js), served from its own path so the Content-Security-
// Policy needs no inline script. It asks for the token (kept in sessionStorage, so per tab), polls
// GET /ui/state every state.pollMs with `Authorization: Bearer`, and fills the page; DRAIN and
// UNDRAIN buttons POST to /nodes/:name/drain|undrain with the token and show the answer.
// Every value from the server (node names, errors, rule names come from config and servers) goes
// into the DOM as textContent or an attribute value, never as markup: no innerHTML anywhere.
// Rows are kept per node and updated in place, so a button is not replaced under the pointer.
// Plain browser JavaScript in a string (no build step); no backticks in it.

export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'meridian.token';
  var FETCH_TIMEOUT_MS = 5000;
  var token = null;
  var timer = null;
  var rows = new Map();
  var regionBoxes = new Map();

  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(v, unit) {
    if (v === null || v === undefined) return '–';
    return String(v) + (unit || '');
  }
  function clock(ms) { return new Date(ms).toISOString().slice(11, 19) + ' UTC'; }

  function timedFetch(url, init) {
    var ctl = new AbortController();
    var t = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    init.signal = ctl.signal;
    init.cache = 'no-store';
    init.headers = Object.assign({ Authorization: 'Bearer ' + token }, init.headers || {});
    return fetch(url, init).finally(function () { clearTimeout(t); });
  }

  function setConn(text, cls) {
    var c = byId('conn');
    c.textContent = text;
    c.className = 'conn' + (cls ? ' ' + cls : '');
  }

  function showLogin(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (timer !== null) { clearTimeout(timer); timer = null; }
    byId('main').hidden = true;
    byId('signout').hidden = true;
    byId('login').hidden = false;
    byId('login-error').textContent = message || '';
    setConn('not signed in', '');
    byId('token').focus();
  }

  function showMain() {
    byId('login').hidden = true;
    byId('main').hidden = false;
    byId('signout').hidden = false;
  }

  function schedule(ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(poll, Math.max(0, ms));
  }

  function poll() {
    timer = null;
    if (token === null) return;
    var started = Date.now();
    timedFetch('/ui/state', { method: 'GET' }).then(function (r) {
      if (r.status === 401) { showLogin('The token was refused (401): it is wrong, or admin.http.token is not set.'); return null; }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (state) {
      if (state === null || token === null) return;
      showMain();
      render(state);
      setConn('live', 'live');
      byId('updated').textContent = 'updated ' + clock(state.takenAtMs);
      schedule(state.pollMs - (Date.now() - started));
    }).catch(function (err) {
      if (token === null) return;
      setConn('connection lost: ' + (err && err.message ? err.message : String(err)) + '; retrying', 'lost');
      schedule(1000);
    });
  }

  function act(name, verb) {
    var result = byId('action-result');
    result.className = 'action';
    result.textContent = verb.toUpperCase() + ' ' + name + ' …';
    var q = verb === 'drain' ? '?wait=false' : '';
    timedFetch('/nodes/' + encodeURIComponent(name) + '/' + verb + q, { method: 'POST' }).then(function (r) {
      return r.text().then(function (body) {
        var answer = body;
        try {
          var j = JSON.parse(body);
          answer = j.error || j.message || [j.outcome, j.state].filter(Boolean).join(', ') || body;
        } catch (e) { /* not JSON: shown as it came */ }
        if (r.status === 401) { showLogin('The token was refused (401): it is wrong, or admin.http.token is not set.'); return; }
        result.className = 'action ' + (r.ok ? 'ok' : 'failed');
        result.textContent = verb.toUpperCase() + ' ' + name + ': ' + r.status + ' ' + answer;
        schedule(0);
      });
    }).catch(function (err) {
      result.className = 'action failed';
      result.textContent = verb.toUpperCase() + ' ' + name + ' failed: ' + (err && err.message ? err.message : String(err));
    });
  }

  var NODE_FIELDS = ['name', 'role', 'status', 'state', 'rtt', 'lag', 'reads', 'writes', 'active', 'idle', 'note', 'action'];
  var NODE_HEADS = ['node', 'role', 'status', 'state', 'RTT ms', 'lag ms', 'reads/s', 'writes/s', 'active', 'idle', 'drain / last error', ''];
  var NUMERIC = { rtt: 1, lag: 1, reads: 1, writes: 1, active: 1, idle: 1 };

  function regionBox(region) {
    var box = regionBoxes.get(region);
    if (box !== undefined) return box;
    var wrap = el('div', 'region');
    wrap.setAttribute('data-region', region);
    wrap.appendChild(el('h3', null, 'region ' + region));
    var table = el('table', 'grid');
    var head = el('tr');
    NODE_HEADS.forEach(function (h) { head.appendChild(el('th', null, h)); });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    wrap.appendChild(table);
    box = { wrap: wrap, body: body };
    regionBoxes.set(region, box);
    return box;
  }

  function nodeRow(name) {
    var row = rows.get(name);
    if (row !== undefined) return row;
    var tr = el('tr');
    tr.setAttribute('data-node', name);
    var cells = {};
    NODE_FIELDS.forEach(function (f) {
      var td = el('td', NUMERIC[f] ? 'num' : (f === 'note' ? 'wrap' : null));
      td.setAttribute('data-field', f);
      cells[f] = td;
      tr.appendChild(td);
    });
    var badge = el('span', 'badge');
    cells.status.appendChild(badge);
    var button = el('button');
    button.type = 'button';
    button.addEventListener('click', function () {
      var verb = button.getAttribute('data-verb');
      if (verb === 'drain' && !window.confirm('Drain ' + name + '? New work stops going there; running transactions finish.')) return;
      act(name, verb);
    });
    cells.action.appendChild(button);
    row = { tr: tr, cells: cells, badge: badge, button: button };
    rows.set(name, row);
    return row;
  }

  function fillNode(row, n) {
    var c = row.cells;
    c.name.textContent = n.name;
    c.role.textContent = n.role;
    c.role.className = 'role-' + n.role;
    row.badge.textContent = n.status;
    row.badge.className = 'badge status-' + n.status;
    row.tr.setAttribute('data-status', n.status);
    c.state.textContent = n.state;
    c.rtt.textContent = fmt(n.rttMs);
    c.lag.textContent = fmt(n.lagMs);
    c.reads.textContent = fmt(n.readsPerS);
    c.writes.textContent = fmt(n.writesPerS);
    c.active.textContent = fmt(n.activeBackends);
    c.idle.textContent = fmt(n.idleBackends);
    c.note.textContent = n.drain || n.lastError || '';
    var verb = n.state === 'draining' || n.state === 'drained' ? 'undrain' : 'drain';
    row.button.setAttribute('data-verb', verb);
    row.button.textContent = verb.toUpperCase();
  }

  function render(state) {
    var container = byId('regions');
    var seen = new Set();
    var seenRegions = new Set();
    state.regions.forEach(function (g, gi) {
      var box = regionBox(g.region);
      seenRegions.add(g.region);
      if (container.children[gi] !== box.wrap) container.insertBefore(box.wrap, container.children[gi] || null);
      g.nodes.forEach(function (n, i) {
        var row = nodeRow(n.name);
        seen.add(n.name);
        if (box.body.children[i] !== row.tr) box.body.insertBefore(row.tr, box.body.children[i] || null);
        fillNode(row, n);
      });
    });
    rows.forEach(function (row, name) { if (!seen.has(name)) { row.tr.remove(); rows.delete(name); } });
    regionBoxes.forEach(function (box, region) { if (!seenRegions.has(region)) { box.wrap.remove(); regionBoxes.delete(region); } });
    renderResidency(state.residency);
    renderEvents(state.events);
  }

  function renderResidency(rules) {
    var body = byId('residency').querySelector('tbody');
    byId('no-residency').hidden = rules.length > 0;
    byId('residency').hidden = rules.length === 0;
    var out = rules.map(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-rule', r.rule);
      [r.rule, r.match, r.regions.join(', '), r.nodes.join(', '), r.masters.join(', ') || 'none', r.readable.join(', ') || 'none', r.status, r.sessions, r.refusals]
        .forEach(function (v, i) { tr.appendChild(el('td', i >= 7 ? 'num' : null, v)); });
      return tr;
    });
    body.replaceChildren.apply(body, out);
  }

  function renderEvents(events) {
    var list = byId('events');
    byId('no-events').hidden = events.length > 0;
    var out = events.map(function (e) {
      var li = el('li', 'kind-' + e.kind);
      li.setAttribute('data-type', e.type);
      var t = el('time', null, clock(e.atMs));
      t.setAttribute('datetime', new Date(e.atMs).toISOString());
      li.appendChild(t);
      li.appendChild(el('span', 'kind', e.kind));
      li.appendChild(el('span', 'text', e.text));
      return li;
    });
    list.replaceChildren.apply(list, out);
  }

  function start() {
    byId('login-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var value = byId('token').value.trim();
      if (value === '') return;
      token = value;
      sessionStorage.setItem(TOKEN_KEY, value);
      byId('token').value = '';
      setConn('connecting', '');
      poll();
    });
    byId('signout').addEventListener('click', function () { showLogin(''); });
    token = sessionStorage.getItem(TOKEN_KEY);
    if (token === null) showLogin(''); else poll();
  }

  start();
})();
`;
