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
  .bar { display: inline-block; width: 80px; height: 8px; background: #eef0f3; border-radius: 4px;
    vertical-align: middle; margin-right: 6px; overflow: hidden; }
  .bar i { display: block; height: 100%; background: var(--accent); }
  .bar i.full { background: var(--err); }
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
    else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
    else node.setAttribute(key, attrs[key]);
  }
  (children || []).forEach(function (child) {
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}
function td(text, cls) { return el("td", { text: String(text), cls: cls || "" }); }
function fill(tbody, rows, empty, columns) {
  tbody.replaceChildren.apply(tbody, rows.length ? rows :
    [el("tr", {}, [el("td", { text: empty, cls: "empty", colspan: String(columns) })])]);
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

function renderFigures(snap) {
  var c = snap.connections, p = snap.process;
  var last = state.history[state.history.length - 1];
  $("connections-open").textContent = c.open;
  $("websockets-open").textContent = c.byProtocol.websocket;
  $("opened-rate").textContent = rate(c.openedPerSecond);
  $("closed-rate").textContent = rate(c.closedPerSecond);
  $("messages-rate").textContent = last ? rate(last.messagesInPerSecond + last.messagesOutPerSecond) : "0";
  $("loop-delay").textContent = p.loopDelay.p99Ms;
  $("cpu").textContent = p.cpuPercent;
  $("rss").textContent = bytes(p.rssBytes);
  $("process-meta").textContent = "pid " + p.pid +
    (p.worker ? " · worker " + p.worker.id + " of " + p.worker.count : "") +
    " · up " + age(p.uptimeSeconds * 1000);
}

function renderConnections(snap) {
  var rows = snap.connections.table.map(function (row) {
    var button = row.protocol === "websocket" && row.state === "open"
      ? el("button", { text: "close", "data-close": String(row.id), onclick: function () {
          send({ cmd: "close", id: row.id });
        } })
      : el("span");
    return el("tr", { "data-connection": String(row.id) }, [
      td(row.id, "num"), td(row.protocol), td(row.path), td(row.client || "–"),
      td(row.user || "–"), td(row.generation === null ? "–" : row.generation, "num"),
      td(row.state), td(age(row.ageMs), "num"), td(row.messagesIn, "num"),
      td(row.messagesOut, "num"), td(bytes(row.bufferedBytes), "num"), el("td", {}, [button]),
    ]);
  });
  fill($("connections").tBodies[0], rows, "No open connections", 12);
  $("not-listed").textContent = snap.connections.notListed
    ? "(" + snap.connections.notListed + " older ones not listed)" : "";
  fill($("routes").tBodies[0], snap.connections.byRoute.map(function (r) {
    return el("tr", {}, [td(r.protocol), td(r.path), td(r.count, "num")]);
  }), "None", 3);
}

function renderGroups(snap) {
  var rows = [];
  snap.layers.forEach(function (layer) {
    if (!layer.groups) {
      rows.push(el("tr", {}, [td(layer.alias), el("td", { text: "kept in Redis: not listed", cls: "empty", colspan: "3" })]));
      return;
    }
    layer.groups.forEach(function (g) {
      var key = layer.alias + "\u0000" + g.name;
      rows.push(el("tr", { cls: "group", "data-group": g.name, onclick: function () {
        if (state.open[key]) { delete state.open[key]; render(); }
        else { state.open[key] = true; send({ cmd: "members", alias: layer.alias, group: g.name }); }
      } }, [td(layer.alias), td(g.name), td(g.members, "num members-count"), td(rate(g.sendsPerSecond), "num group-rate")]));
      if (state.open[key]) {
        var members = state.members[key];
        rows.push(el("tr", { "data-members-of": g.name }, [el("td", { colspan: "4", cls: "members",
          text: members ? (members.join("  ") || "no members") : "loading…" })]));
      }
    });
  });
  fill($("groups").tBodies[0], rows, "No groups", 4);
}

function renderLayers(snap) {
  var box = $("layers");
  if (!snap.layers.length) { box.replaceChildren(el("div", { cls: "empty", text: "No channel layer in use yet" })); return; }
  box.replaceChildren.apply(box, snap.layers.map(function (layer) {
    var channels = layer.channels.slice().sort(function (a, b) { return b.queued - a.queued; }).slice(0, 50);
    var table = el("table", {}, [el("thead", {}, [el("tr", {}, [el("th", { text: "channel" }), el("th", { text: "queued / capacity" })])]), el("tbody")]);
    fill(table.tBodies[0], channels.map(function (ch) {
      var share = Math.min(1, ch.queued / Math.max(1, ch.capacity));
      var bar = el("span", { cls: "bar" }, [el("i", { cls: share >= 1 ? "full" : "", style: "width:" + Math.round(share * 100) + "%" })]);
      return el("tr", {}, [td(ch.name), el("td", {}, [bar, ch.queued + " / " + ch.capacity])]);
    }), "No channels", 2);
    return el("div", { "data-layer": layer.alias }, [
      el("p", {}, [el("b", { text: layer.alias }), " · " + layer.backend + " · " + layer.location]),
      el("p", { text: "refused (ChannelFull): " + layer.refused + " · dropped: " + layer.dropped + " · expired: " + layer.expired }),
      el("div", { cls: "scroll" }, [table]),
    ]);
  }));
}

function renderReload(snap) {
  var box = $("reload"), reload = snap.reload;
  if (!reload) { box.replaceChildren(el("div", { cls: "empty", text: "No hot reload in this process (runserver has it)" })); return; }
  var table = el("table", { id: "generations" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "generation" }), el("th", { cls: "num", text: "instances" }), el("th", { text: "" })])]), el("tbody")]);
  fill(table.tBodies[0], reload.generations.slice().reverse().map(function (g) {
    return el("tr", { "data-generation": String(g.id) }, [td(g.id), td(g.instances, "num"), td(g.current ? "serving new connections" : "retiring")]);
  }), "None", 3);
  var parts = [table];
  var build = reload.lastBuild;
  if (build) {
    parts.push(el("p", { id: "last-build" }, [
      el("span", { cls: build.ok ? "ok" : "bad", text: build.ok ? "Last build ok" : "Last build failed" }),
      " at " + new Date(build.at).toLocaleTimeString() + " in " + build.durationMs + " ms" +
        (build.generation !== null ? " → generation " + build.generation : ""),
    ]));
    if (build.error) parts.push(el("pre", { id: "build-error", text: build.error }));
  }
  box.replaceChildren.apply(box, parts);
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
  fill($("process").tBodies[0], rows.map(function (r) { return el("tr", {}, [el("th", { text: r[0] }), td(r[1])]); }), "", 2);
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
  var rows = state.events.slice().reverse().filter(function (e) {
    if (level === "error" && e.level !== "error") return false;
    if (level === "warn" && e.level === "info") return false;
    if (!filter) return true;
    return (e.message + " " + e.source + " " + (e.detail || "")).toLowerCase().indexOf(filter) !== -1;
  }).slice(0, 300).map(function (e) {
    var message = e.detail
      ? el("details", {}, [el("summary", { text: e.message }), el("pre", { text: e.detail })])
      : el("span", { text: e.message });
    return el("tr", { cls: "level-" + e.level, "data-event": String(e.id) }, [
      td(new Date(e.time).toLocaleTimeString()), td(e.level), td(e.source), el("td", {}, [message]),
    ]);
  });
  fill($("log").tBodies[0], rows, "No events", 4);
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
    state.events.push({ id: -Date.now(), time: new Date().toISOString(), level: "warn", source: "dashboard", message: data.message, detail: null });
    renderLog();
  }
}

function connect() {
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/_channels/ws");
  socket.onopen = function () { $("status").textContent = "live"; $("status").className = "live"; };
  socket.onmessage = onMessage;
  socket.onclose = function () {
    $("status").textContent = "disconnected, retrying…"; $("status").className = "down";
    setTimeout(connect, 2000);
  };
}

$("log-filter").addEventListener("input", renderLog);
$("log-level").addEventListener("change", renderLog);
connect();
</script>
</body>
</html>
`
