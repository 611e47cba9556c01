/**
 * The dashboard page: one self-contained HTML document (its CSS and script inline, charts in
 * plain SVG, no library, nothing built at runtime). It reads only what the dashboard's
 * WebSocket sends (session.ts) and draws it; the script holds no template literals, so the page
 * stays one `String.raw` text here.
 * @module
 */

/** The page `GET /_channels/` answers with. */
export const DASHBOARD_PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>channels-ts dashboard</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --dim: #667085; --line: #e3e6eb;
    --accent: #2563eb; --accent2: #16a34a; --warn: #b45309; --err: #b91c1c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
    background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 10px 18px;
    background: #111827; color: #f9fafb; }
  header h1 { font-size: 15px; margin: 0; font-weight: 600; }
  header .meta { color: #9ca3af; }
  #status { margin-left: auto; font-weight: 600; }
  #status.live { color: #4ade80; } #status.down { color: #f87171; }
  main { padding: 14px 18px; display: grid; gap: 14px;
    grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
    padding: 12px 14px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em;
    color: var(--dim); }
  .figures { display: flex; flex-wrap: wrap; gap: 10px 22px; }
  .figure b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
  .figure span { color: var(--dim); }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
  .chart h3 { font-size: 12px; margin: 0 0 4px; font-weight: 600; }
  .chart svg { width: 100%; height: 110px; display: block; background: #fbfcfd;
    border: 1px solid var(--line); border-radius: 4px; }
  .legend { color: var(--dim); font-size: 11px; }
  .legend i { display: inline-block; width: 10px; height: 3px; vertical-align: middle;
    margin: 0 4px 0 8px; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line);
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 320px; }
  th { color: var(--dim); font-weight: 500; }
  td.num, th.num { text-align: right; }
  .scroll { max-height: 320px; overflow: auto; }
  button { font: inherit; border: 1px solid var(--line); background: #fff; border-radius: 4px;
    padding: 1px 8px; cursor: pointer; }
  button:hover { border-color: var(--err); color: var(--err); }
  tr.group { cursor: pointer; } tr.group:hover td { background: #eef2ff; }
  .members { white-space: normal; color: var(--dim); font-family: ui-monospace, monospace; }
  pre { background: #111827; color: #f3f4f6; padding: 8px 10px; border-radius: 4px;
    overflow: auto; max-height: 260px; font-size: 12px; white-space: pre; }
  .ok { color: var(--accent2); } .bad { color: var(--err); }
  .level-warn { color: var(--warn); } .level-error { color: var(--err); }
  .empty { color: var(--dim); font-style: italic; }
  .log-tools { display: flex; gap: 8px; margin-bottom: 6px; }
  .log-tools input { flex: 1; font: inherit; padding: 2px 6px; }
  #log td { white-space: normal; vertical-align: top; }
  #log details summary { cursor: pointer; }
  #log pre { margin: 4px 0 0; }
  .note { color: var(--dim); font-size: 11px; margin-top: 6px; }
</style>
</head>
<body>
<header>
  <h1>channels-ts dashboard</h1>
  <span class="meta" id="process-meta"></span>
  <span id="status" class="down">connecting…</span>
</header>
<main>
  <section class="wide">
    <div class="figures">
      <div class="figure"><b id="connections-open">–</b><span>connections open</span></div>
      <div class="figure"><b id="websockets-open">–</b><span>WebSockets</span></div>
      <div class="figure"><b id="opened-rate">–</b><span>opened / s</span></div>
      <div class="figure"><b id="closed-rate">–</b><span>closed / s</span></div>
      <div class="figure"><b id="messages-rate">–</b><span>messages / s (in + out)</span></div>
      <div class="figure"><b id="loop-delay">–</b><span>event-loop delay p99 (ms)</span></div>
      <div class="figure"><b id="cpu">–</b><span>CPU %</span></div>
      <div class="figure"><b id="rss">–</b><span>RSS</span></div>
    </div>
  </section>
  <section class="wide">
    <h2>Last minutes</h2>
    <div class="charts">
      <div class="chart"><h3>Connections <span class="legend"><i style="background:#2563eb"></i>open<i style="background:#16a34a"></i>WebSockets</span></h3><svg id="chart-connections" viewBox="0 0 300 100" preserveAspectRatio="none"></svg></div>
      <div class="chart"><h3>Messages / s <span class="legend"><i style="background:#2563eb"></i>in<i style="background:#16a34a"></i>out</span></h3><svg id="chart-messages" viewBox="0 0 300 100" preserveAspectRatio="none"></svg></div>
      <div class="chart"><h3>Event-loop delay p99 (ms)</h3><svg id="chart-loop" viewBox="0 0 300 100" preserveAspectRatio="none"></svg></div>
    </div>
  </section>
  <section class="wide">
    <h2>Open connections <span id="not-listed"></span></h2>
    <div class="scroll"><table id="connections"><thead><tr><th>id</th><th>protocol</th><th>path</th><th>client</th><th>user</th><th class="num">gen.</th><th>state</th><th class="num">age</th><th class="num">in</th><th class="num">out</th><th class="num">buffered</th><th></th></tr></thead><tbody></tbody></table></div>
  </section>
  <section>
    <h2>Routes</h2>
    <table id="routes"><thead><tr><th>protocol</th><th>path</th><th class="num">open</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Groups</h2>
    <table id="groups"><thead><tr><th>layer</th><th>group</th><th class="num">members</th><th class="num">messages / s</th></tr></thead><tbody></tbody></table>
    <div class="note">Click a group for its members.</div>
  </section>
  <section>
    <h2>Channel layers</h2>
    <div id="layers"></div>
  </section>
  <section>
    <h2>Hot reload</h2>
    <div id="reload"></div>
  </section>
  <section>
    <h2>Process</h2>
    <table id="process"><tbody></tbody></table>
    <div class="note" id="worker-note"></div>
  </section>
  <section class="wide">
    <h2>Events</h2>
    <div class="log-tools">
      <input id="log-filter" placeholder="filter: text in the message, source or stack">
      <select id="log-level"><option value="">all levels</option><option value="warn">warnings and errors</option><option value="error">errors</option></select>
    </div>
    <div class="scroll"><table id="log"><tbody></tbody></table></div>
  </section>
</main>
<script>
"use strict";
var state = { snapshot: null, history: [], events: [], members: {}, open: {} };
var socket = null;

function $(id) { return document.getElementById(id); }
function el(tag, attrs, children) {
  var node = document.createElement(tag);
  if (attrs) for (var key in attrs) {
    if (key === "text") node.textContent = attrs[key];
    else if (key === "cls") node.className = attrs[key];
    else node.setAttribute(key, attrs[key]);
  }
  (children || []).forEach(function (child) {
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/*
 * Tables are updated in place: a row is keyed, and a row whose key stays keeps its elements
 * (only changed texts are written), so a button or a row stays clickable across updates and an
 * opened stack trace stays open. A cell is [text, className, colspan] or a function building a
 * node once per row.
 */
function cellNode(cell) {
  if (typeof cell === "function") return el("td", {}, [cell()]);
  var td = el("td", { text: String(cell[0]), cls: cell[1] || "" });
  if (cell[2]) td.colSpan = cell[2];
  return td;
}
function sync(tbody, items, keyOf, render, empty, columns) {
  var old = {};
  Array.prototype.forEach.call(tbody.rows, function (tr) { old[tr.dataset.key] = tr; });
  var rows = items.map(function (item) {
    var key = String(keyOf(item)), spec = render(item), tr = old[key];
    delete old[key];
    if (!tr || tr.cells.length !== spec.cells.length) {
      tr = el("tr", spec.attrs || {}, spec.cells.map(cellNode));
      tr.dataset.key = key;
      return tr;
    }
    var cls = (spec.attrs && spec.attrs.cls) || "";
    if (tr.className !== cls) tr.className = cls;
    spec.cells.forEach(function (cell, i) {
      if (typeof cell === "function") return;
      var td = tr.cells[i], text = String(cell[0]);
      if (td.textContent !== text) td.textContent = text;
      if (td.className !== (cell[1] || "")) td.className = cell[1] || "";
    });
    return tr;
  });
  if (!rows.length) {
    var none = old["\u0000empty"] || el("tr", {}, [cellNode([empty, "empty", columns])]);
    none.dataset.key = "\u0000empty";
    delete old["\u0000empty"];
    rows = [none];
  }
  rows.forEach(function (tr, i) {
    if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
  });
  while (tbody.rows.length > rows.length) tbody.deleteRow(rows.length);
}
function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(1) + " MiB";
}
function age(ms) {
  var s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function rate(n) { return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10); }
function setText(id, text) { var node = $(id); if (node.textContent !== String(text)) node.textContent = String(text); }

function renderFigures(snap) {
  var c = snap.connections, p = snap.process;
  var last = state.history[state.history.length - 1];
  setText("connections-open", c.open);
  setText("websockets-open", c.byProtocol.websocket);
  setText("opened-rate", rate(c.openedPerSecond));
  setText("closed-rate", rate(c.closedPerSecond));
  setText("messages-rate", last ? rate(last.messagesInPerSecond + last.messagesOutPerSecond) : "0");
  setText("loop-delay", p.loopDelay.p99Ms);
  setText("cpu", p.cpuPercent);
  setText("rss", bytes(p.rssBytes));
  setText("process-meta", "pid " + p.pid +
    (p.worker ? " · worker " + p.worker.id + " of " + p.worker.count : "") +
    " · up " + age(p.uptimeSeconds * 1000));
}

function renderConnections(snap) {
  sync($("connections").tBodies[0], snap.connections.table, function (row) {
    return row.id + (row.protocol === "websocket" && row.state === "open" ? ":open" : "");
  }, function (row) {
    var closable = row.protocol === "websocket" && row.state === "open";
    return { attrs: { "data-connection": String(row.id) }, cells: [
      [row.id, "num"], [row.protocol], [row.path], [row.client || "–"], [row.user || "–"],
      [row.generation === null ? "–" : row.generation, "num"], [row.state],
      [age(row.ageMs), "num"], [row.messagesIn, "num"], [row.messagesOut, "num"],
      [bytes(row.bufferedBytes), "num"],
      function () {
        return closable ? el("button", { text: "close", "data-close": String(row.id) }) : el("span");
      },
    ] };
  }, "No open connections", 12);
  setText("not-listed", snap.connections.notListed
    ? "(" + snap.connections.notListed + " older ones not listed)" : "");
  sync($("routes").tBodies[0], snap.connections.byRoute, function (r) { return r.protocol + " " + r.path; },
    function (r) { return { cells: [[r.protocol], [r.path], [r.count, "num"]] }; }, "None", 3);
}

function renderGroups(snap) {
  var items = [];
  snap.layers.forEach(function (layer) {
    if (!layer.groups) { items.push({ kind: "unlisted", layer: layer }); return; }
    layer.groups.forEach(function (g) {
      var key = layer.alias + "\u0000" + g.name;
      items.push({ kind: "group", layer: layer, group: g, key: key });
      if (state.open[key]) items.push({ kind: "members", layer: layer, group: g, key: key });
    });
  });
  sync($("groups").tBodies[0], items, function (item) {
    return item.kind + "\u0000" + (item.key || item.layer.alias);
  }, function (item) {
    if (item.kind === "unlisted") return { cells: [[item.layer.alias], ["kept in Redis: not listed", "empty", 3]] };
    if (item.kind === "members") {
      var members = state.members[item.key];
      return { attrs: { "data-members-of": item.group.name }, cells: [[
        members ? (members.join("  ") || "no members") : "loading…", "members", 4]] };
    }
    return { attrs: { cls: "group", "data-group": item.group.name, "data-alias": item.layer.alias }, cells: [
      [item.layer.alias], [item.group.name], [item.group.members, "num members-count"],
      [rate(item.group.sendsPerSecond), "num group-rate"]] };
  }, "No groups", 4);
}

function renderLayers(snap) {
  var box = $("layers");
  if (!snap.layers.length) {
    if (!box.querySelector(".empty")) box.replaceChildren(el("div", { cls: "empty", text: "No channel layer in use yet" }));
    return;
  }
  snap.layers.forEach(function (layer) {
    var part = box.querySelector('[data-layer="' + CSS.escape(layer.alias) + '"]');
    if (!part) {
      part = el("div", { "data-layer": layer.alias }, [el("p", { cls: "where" }), el("p", { cls: "counts" }),
        el("div", { cls: "scroll" }, [el("table", {}, [el("thead", {}, [el("tr", {}, [
          el("th", { text: "channel" }), el("th", { text: "queued / capacity" })])]), el("tbody")])])]);
      box.querySelectorAll(".empty").forEach(function (n) { n.remove(); });
      box.appendChild(part);
    }
    part.querySelector(".where").textContent = layer.alias + " · " + layer.backend + " · " + layer.location;
    part.querySelector(".counts").textContent = "refused (ChannelFull): " + layer.refused +
      " · dropped: " + layer.dropped + " · expired: " + layer.expired;
    var channels = layer.channels.slice().sort(function (a, b) { return b.queued - a.queued; }).slice(0, 50);
    sync(part.querySelector("tbody"), channels, function (ch) { return ch.name; }, function (ch) {
      var share = Math.min(1, ch.queued / Math.max(1, ch.capacity));
      return { cells: [[ch.name], [(share >= 1 ? "FULL " : "") + ch.queued + " / " + ch.capacity, share >= 1 ? "bad" : ""]] };
    }, "No channels", 2);
  });
}

function renderReload(snap) {
  var box = $("reload"), reload = snap.reload;
  if (!reload) {
    if (!box.querySelector(".empty")) box.replaceChildren(el("div", { cls: "empty", text: "No hot reload in this process (runserver has it)" }));
    return;
  }
  if (!$("generations")) {
    box.replaceChildren(
      el("table", { id: "generations" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "generation" }),
        el("th", { cls: "num", text: "instances" }), el("th", { text: "" })])]), el("tbody")]),
      el("p", { id: "last-build" }), el("pre", { id: "build-error", hidden: "" }));
  }
  sync($("generations").tBodies[0], reload.generations.slice().reverse(), function (g) { return g.id; }, function (g) {
    return { attrs: { "data-generation": String(g.id) }, cells: [[g.id], [g.instances, "num"],
      [g.current ? "serving new connections" : "retiring"]] };
  }, "None", 3);
  var build = reload.lastBuild, line = $("last-build"), error = $("build-error");
  var summary = build ? (build.ok ? "Last build ok" : "Last build failed") + " at " +
    new Date(build.at).toLocaleTimeString() + " in " + build.durationMs + " ms" +
    (build.generation !== null ? " → generation " + build.generation : "") : "";
  if (line.textContent !== summary) { line.textContent = summary; line.className = build && build.ok ? "ok" : "bad"; }
  if (build && build.error) {
    if (error.textContent !== build.error) error.textContent = build.error;
    error.hidden = false;
  } else error.hidden = true;
}

function renderProcess(snap) {
  var p = snap.process;
  var rows = [
    ["pid", p.pid], ["worker", p.worker ? p.worker.id + " of " + p.worker.count : "single process"],
    ["uptime", age(p.uptimeSeconds * 1000)], ["RSS", bytes(p.rssBytes)],
    ["heap used / total", bytes(p.heapUsedBytes) + " / " + bytes(p.heapTotalBytes)],
    ["CPU (last second)", p.cpuPercent + " %"],
    ["event-loop delay mean / p99 / max", p.loopDelay.meanMs + " / " + p.loopDelay.p99Ms + " / " + p.loopDelay.maxMs + " ms"],
  ];
  sync($("process").tBodies[0], rows, function (r) { return r[0]; }, function (r) {
    return { cells: [[r[0], "label"], [r[1]]] };
  }, "", 2);
  setText("worker-note", p.worker
    ? "Under serve --workers each page and socket lands on one worker: these figures, connections and groups are worker " + p.worker.id + "'s."
    : "");
}

function renderChart(id, series, colors) {
  var svg = $(id), w = 300, h = 100, n = state.history.length;
  var max = 1;
  series.forEach(function (pick) { state.history.forEach(function (s) { max = Math.max(max, pick(s)); }); });
  var ns = "http://www.w3.org/2000/svg", nodes = [];
  [0.25, 0.5, 0.75].forEach(function (f) {
    var line = document.createElementNS(ns, "line");
    line.setAttribute("x1", "0"); line.setAttribute("x2", String(w));
    line.setAttribute("y1", String(h * f)); line.setAttribute("y2", String(h * f));
    line.setAttribute("stroke", "#e5e7eb"); line.setAttribute("stroke-width", "0.5");
    nodes.push(line);
  });
  series.forEach(function (pick, i) {
    var points = state.history.map(function (s, j) {
      var x = n < 2 ? w : (j / (n - 1)) * w;
      return x.toFixed(1) + "," + (h - 4 - (pick(s) / max) * (h - 8)).toFixed(1);
    }).join(" ");
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points); line.setAttribute("fill", "none");
    line.setAttribute("stroke", colors[i]); line.setAttribute("stroke-width", "1.5");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    nodes.push(line);
  });
  var label = document.createElementNS(ns, "text");
  label.setAttribute("x", "4"); label.setAttribute("y", "11"); label.setAttribute("font-size", "9");
  label.setAttribute("fill", "#667085"); label.textContent = "max " + rate(max);
  nodes.push(label);
  svg.replaceChildren.apply(svg, nodes);
}

function renderCharts() {
  renderChart("chart-connections", [function (s) { return s.connections; }, function (s) { return s.websockets; }], ["#2563eb", "#16a34a"]);
  renderChart("chart-messages", [function (s) { return s.messagesInPerSecond; }, function (s) { return s.messagesOutPerSecond; }], ["#2563eb", "#16a34a"]);
  renderChart("chart-loop", [function (s) { return s.loopDelayMs; }], ["#b45309"]);
}

function renderLog() {
  var filter = $("log-filter").value.toLowerCase(), level = $("log-level").value;
  var shown = state.events.slice().reverse().filter(function (e) {
    if (level === "error" && e.level !== "error") return false;
    if (level === "warn" && e.level === "info") return false;
    if (!filter) return true;
    return (e.message + " " + e.source + " " + (e.detail || "")).toLowerCase().indexOf(filter) !== -1;
  }).slice(0, 300);
  sync($("log").tBodies[0], shown, function (e) { return e.id; }, function (e) {
    return { attrs: { cls: "level-" + e.level, "data-event": String(e.id) }, cells: [
      [new Date(e.time).toLocaleTimeString()], [e.level], [e.source],
      function () {
        return e.detail
          ? el("details", {}, [el("summary", { text: e.message }), el("pre", { text: e.detail })])
          : el("span", { text: e.message });
      }] };
  }, "No events", 4);
}

function render() {
  var snap = state.snapshot;
  if (!snap) return;
  renderFigures(snap); renderConnections(snap); renderGroups(snap); renderLayers(snap);
  renderReload(snap); renderProcess(snap);
}

function send(command) {
  if (socket && socket.readyState === 1) socket.send(JSON.stringify(command));
}

function onMessage(message) {
  var data = JSON.parse(message.data);
  if (data.type === "hello") {
    state.snapshot = data.snapshot; state.history = data.history; state.events = data.events;
    render(); renderCharts(); renderLog();
  } else if (data.type === "snapshot") {
    state.snapshot = data.snapshot; render();
  } else if (data.type === "sample") {
    state.history.push(data.sample);
    if (state.history.length > 300) state.history.shift();
    renderCharts();
    if (state.snapshot) renderFigures(state.snapshot);
  } else if (data.type === "events") {
    state.events = state.events.concat(data.events).slice(-500); renderLog();
  } else if (data.type === "members") {
    state.members[data.alias + "\u0000" + data.group] = data.members;
    if (state.snapshot) renderGroups(state.snapshot);
  } else if (data.type === "error") {
    state.events.push({ id: "page-" + Date.now(), time: new Date().toISOString(), level: "warn", source: "dashboard", message: data.message, detail: null });
    renderLog();
  }
}

function connect() {
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/_channels/ws");
  socket.onopen = function () { setText("status", "live"); $("status").className = "live"; };
  socket.onmessage = onMessage;
  socket.onclose = function () {
    setText("status", "disconnected, retrying…"); $("status").className = "down";
    setTimeout(connect, 2000);
  };
}

// Clicks are taken on the tables, which stay: rows come and go under them.
$("connections").addEventListener("click", function (event) {
  var button = event.target.closest("button[data-close]");
  if (button) send({ cmd: "close", id: Number(button.getAttribute("data-close")) });
});
$("groups").addEventListener("click", function (event) {
  var row = event.target.closest("tr.group");
  if (!row) return;
  var alias = row.getAttribute("data-alias"), group = row.getAttribute("data-group");
  var key = alias + "\u0000" + group;
  if (state.open[key]) delete state.open[key];
  else { state.open[key] = true; send({ cmd: "members", alias: alias, group: group }); }
  if (state.snapshot) renderGroups(state.snapshot);
});
$("log-filter").addEventListener("input", renderLog);
$("log-level").addEventListener("change", renderLog);
connect();
</script>
</body>
</html>
`
