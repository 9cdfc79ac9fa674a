/**
 * The approvers' console as static text: one HTML page, its script and its style, each served
 * as its own resource so that the Content-Security-Policy can forbid every inline script and
 * style (approvals-console.ts). No build step, no framework. The page holds nothing but markup:
 * what it shows comes from `api/requests` and is written with `textContent` only, never as
 * HTML, because arguments, task intents and even action names are an agent's text.
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>toolgate · approvals</title>
<link rel="stylesheet" href="console.css">
<script src="console.js" defer></script>
</head>
<body>
<header>
  <h1>toolgate <span class="muted">approvals</span></h1>
  <p id="who" class="muted">signing in…</p>
</header>
<main>
  <p id="problem" class="problem" hidden></p>
  <section>
    <h2>Waiting for you <span id="pending-count" class="count">0</span></h2>
    <p id="none" class="muted" hidden>Nothing waits for your approval.</p>
    <div id="pending"></div>
  </section>
  <section>
    <h2>Recent decisions</h2>
    <table id="recent">
      <thead><tr><th>Requested</th><th>Agent</th><th>Method</th><th>Outcome</th><th>By</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2430; background: #f4f6f9; }
body { margin: 0; }
header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; align-items: baseline; justify-content: space-between; }
header h1 { font-size: 20px; margin: 0; }
header .muted { color: #aab4c3; }
main { max-width: 980px; margin: 0 auto; padding: 16px 24px; }
h2 { font-size: 17px; margin: 20px 0 10px; }
.muted { color: #667085; }
.count { background: #d92d20; color: #fff; border-radius: 10px; padding: 1px 8px; font-size: 13px; }
.count.zero { background: #98a2b3; }
.problem { background: #fef3f2; border: 1px solid #fda29b; padding: 8px 12px; border-radius: 6px; }
.request { background: #fff; border: 1px solid #d0d5dd; border-radius: 8px; padding: 14px 16px; margin-bottom: 12px; }
.request h3 { margin: 0 0 8px; font-size: 15px; font-family: ui-monospace, monospace; word-break: break-all; }
.request dl { display: grid; grid-template-columns: 130px 1fr; gap: 4px 12px; margin: 0 0 10px; font-size: 14px; }
.request dt { color: #667085; }
.request dd { margin: 0; word-break: break-all; }
pre.arguments { background: #f9fafb; border: 1px solid #eaecf0; border-radius: 6px; padding: 8px 10px; margin: 0; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
.redacted { background: #1d2430; color: #fff; border-radius: 4px; padding: 0 6px; font-family: system-ui, sans-serif; font-size: 12px; }
.left { font-weight: 600; }
.left.soon { color: #d92d20; }
.actions { margin-top: 10px; display: flex; gap: 8px; align-items: center; }
button { font: inherit; border: 0; border-radius: 6px; padding: 6px 16px; cursor: pointer; }
button.approve { background: #079455; color: #fff; }
button.deny { background: #d92d20; color: #fff; }
button:disabled { opacity: .5; cursor: default; }
table { width: 100%; border-collapse: collapse; background: #fff; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eaecf0; word-break: break-all; }
td.approved, td.consumed { color: #079455; }
td.denied { color: #d92d20; }
`;

export const CONSOLE_JS = `'use strict';
(function () {
  var csrf = '';
  var skewMs = 0;
  var busy = false;

  var OUTCOMES = { approved: 'approved, not yet used', consumed: 'approved, call made', denied: 'denied', expired: 'expired' };

  function $(id) { return document.getElementById(id); }

  /** An element whose text is set as text: never parsed as HTML. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /** The arguments as indented JSON text; a redacted field (null) as a marked "redacted". */
  function writeJson(out, value, indent) {
    if (value === null) { out.appendChild(el('span', 'redacted', 'redacted')); return; }
    var pad = '  '.repeat(indent + 1);
    if (Array.isArray(value)) {
      if (value.length === 0) { out.appendChild(document.createTextNode('[]')); return; }
      out.appendChild(document.createTextNode('[\\n'));
      value.forEach(function (item, i) {
        out.appendChild(document.createTextNode(pad));
        writeJson(out, item, indent + 1);
        out.appendChild(document.createTextNode(i < value.length - 1 ? ',\\n' : '\\n'));
      });
      out.appendChild(document.createTextNode('  '.repeat(indent) + ']'));
      return;
    }
    if (typeof value === 'object') {
      var keys = Object.keys(value);
      if (keys.length === 0) { out.appendChild(document.createTextNode('{}')); return; }
      out.appendChild(document.createTextNode('{\\n'));
      keys.forEach(function (key, i) {
        out.appendChild(document.createTextNode(pad + JSON.stringify(key) + ': '));
        writeJson(out, value[key], indent + 1);
        out.appendChild(document.createTextNode(i < keys.length - 1 ? ',\\n' : '\\n'));
      });
      out.appendChild(document.createTextNode('  '.repeat(indent) + '}'));
      return;
    }
    out.appendChild(document.createTextNode(JSON.stringify(value)));
  }

  function argumentsOf(request) {
    var pre = el('pre', 'arguments');
    if (request.arguments === undefined) { pre.textContent = '(not recorded)'; return pre; }
    if (request.argumentsCut) { pre.textContent = request.arguments + ' … (cut: too long to show)'; return pre; }
    try { writeJson(pre, JSON.parse(request.arguments), 0); } catch (e) { pre.textContent = request.arguments; }
    return pre;
  }

  function timeLeft(expiresAt) {
    var s = Math.max(0, Math.round((Date.parse(expiresAt) - (Date.now() + skewMs)) / 1000));
    if (s === 0) return 'expired';
    var m = Math.floor(s / 60);
    return (m > 0 ? m + ' min ' : '') + (s % 60) + ' s';
  }

  function tick() {
    document.querySelectorAll('[data-expires]').forEach(function (node) {
      var at = node.getAttribute('data-expires');
      node.textContent = timeLeft(at);
      node.classList.toggle('soon', Date.parse(at) - (Date.now() + skewMs) < 60000);
    });
  }

  function row(dl, term, value) {
    dl.appendChild(el('dt', '', term));
    var dd = el('dd');
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    dl.appendChild(dd);
  }

  function card(request) {
    var box = el('article', 'request');
    box.setAttribute('data-approval', request.id);
    box.appendChild(el('h3', '', request.action));
    var dl = el('dl');
    row(dl, 'Agent', request.principal + '  (' + request.caller + ')');
    row(dl, 'Tool', request.upstream);
    if (request.task) row(dl, 'Task', request.task + (request.intent ? ': ' + request.intent : ''));
    row(dl, 'Asked by', request.policies.join(', ') + '  (group ' + request.group + ')');
    if (request.quorum > 1) row(dl, 'Approvals', request.approvers.length + ' of ' + request.quorum + (request.approvers.length ? ': ' + request.approvers.join(', ') : ''));
    var left = el('span', 'left', timeLeft(request.expiresAt));
    left.setAttribute('data-expires', request.expiresAt);
    row(dl, 'Time left', left);
    row(dl, 'Arguments', argumentsOf(request));
    box.appendChild(dl);
    var actions = el('div', 'actions');
    var approve = el('button', 'approve', 'Approve');
    var deny = el('button', 'deny', 'Deny');
    if (request.approvedByYou) { approve.disabled = true; approve.textContent = 'You approved'; }
    approve.addEventListener('click', function () { decide(request.id, 'approve', box); });
    deny.addEventListener('click', function () { decide(request.id, 'deny', box); });
    actions.appendChild(approve);
    actions.appendChild(deny);
    box.appendChild(actions);
    return box;
  }

  function recentRow(request) {
    var tr = el('tr');
    tr.appendChild(el('td', '', new Date(request.createdAt).toLocaleTimeString()));
    tr.appendChild(el('td', '', request.principal));
    tr.appendChild(el('td', '', request.action));
    tr.appendChild(el('td', request.state, OUTCOMES[request.state] || request.state));
    tr.appendChild(el('td', '', request.deniedBy || request.approvers.join(', ')));
    return tr;
  }

  function problem(text) {
    var p = $('problem');
    p.hidden = !text;
    p.textContent = text || '';
  }

  function render(body) {
    csrf = body.csrf;
    skewMs = Date.parse(body.now) - Date.now();
    $('who').textContent = body.approver + (body.groups.length ? '  ·  approver of ' + body.groups.join(', ') : '  ·  approver of no group');
    var pending = $('pending');
    pending.replaceChildren.apply(pending, body.pending.map(card));
    $('pending-count').textContent = String(body.pending.length);
    $('pending-count').classList.toggle('zero', body.pending.length === 0);
    $('none').hidden = body.pending.length > 0;
    var tbody = document.querySelector('#recent tbody');
    tbody.replaceChildren.apply(tbody, body.recent.map(recentRow));
  }

  function refresh() {
    if (busy) return Promise.resolve();
    return fetch('api/requests', { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) return res.text().then(function (t) { throw new Error(t || res.statusText); });
        return res.json();
      })
      .then(function (body) { problem(''); render(body); })
      .catch(function (err) { problem('Cannot load the requests: ' + err.message); });
  }

  function decide(id, verb, box) {
    busy = true;
    box.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
    fetch('api/requests/' + encodeURIComponent(id) + '/' + verb, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-toolgate-csrf': csrf },
      body: '{}',
    })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.error || res.statusText);
        });
      })
      .then(function () { problem(''); }, function (err) { problem('Not ' + (verb === 'approve' ? 'approved' : 'denied') + ': ' + err.message); })
      .then(function () { busy = false; return refresh(); });
  }

  refresh();
  setInterval(refresh, 2000);
  setInterval(tick, 1000);
})();
`;
