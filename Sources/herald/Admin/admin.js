// Herald's admin console. Every second it reads Herald's public endpoints: POST /api/info and /api/channels
// (with the admin token as `Authorization: token …`) and GET /metrics; its console subscribes over the
// Centrifuge JSON protocol at /connection/websocket (connecting with the same token) and publishes through
// POST /api/publish. The token comes from POST /admin/auth and lives in sessionStorage, so it goes with the
// tab. Whatever Herald sends is shown as text (textContent), never parsed as HTML.

const TOKEN_KEY = "herald-admin-token";
const POLL_MS = 1000;
const CHART_POINTS = 60; // one a second: the last minute
const TOP_CHANNELS = 10;
const LOG_ENTRIES = 200;

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let pollTimer = null;

// MARK: Login

/** Asks /admin/auth for a token. Without a password it only asks whether one is needed (admin.insecure). */
async function login(password) {
  const response = await fetch("/admin/auth", {
    method: "POST",
    body: JSON.stringify(password === undefined ? {} : { password }),
  });
  if (!response.ok) return false;
  token = (await response.json()).token;
  sessionStorage.setItem(TOKEN_KEY, token);
  return true;
}

function showLogin(message = "") {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(pollTimer);
  socket?.close();
  $("console").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

function showConsole() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  poll();
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await login($("password").value)) {
    $("password").value = "";
    showConsole();
  } else {
    $("login-error").textContent = "Wrong password.";
  }
});
$("logout").addEventListener("click", () => showLogin());

// MARK: Figures

async function api(method, params = {}) {
  const response = await fetch(`/api/${method}`, {
    method: "POST",
    headers: { Authorization: `token ${token}` },
    body: JSON.stringify(params),
  });
  if (response.status === 401) {
    showLogin("Session expired: log in again.");
    throw new Error("unauthorized");
  }
  const reply = await response.json();
  if (reply.error) throw new Error(`error ${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

/** Prometheus text format: each metric's samples summed over their labels. */
function parseMetrics(text) {
  const sums = new Map();
  for (const line of text.split("\n")) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (sample) sums.set(sample[1], (sums.get(sample[1]) ?? 0) + Number(sample[2]));
  }
  return sums;
}

let previous = null; // the last scrape's counters and time, for rates
const series = { publications: [], deliveries: [] };

function recordRates(metrics) {
  const now = performance.now();
  const counters = {
    publications: metrics.get("herald_publications_total") ?? 0,
    deliveries: metrics.get("herald_deliveries_total") ?? 0,
  };
  if (previous) {
    const seconds = (now - previous.time) / 1000;
    for (const name of ["publications", "deliveries"]) {
      const rate = Math.max(0, counters[name] - previous.counters[name]) / seconds;
      series[name].push(rate);
      if (series[name].length > CHART_POINTS) series[name].shift();
      $(`rate-${name}`).textContent = rate.toFixed(1);
    }
    drawChart();
  }
  previous = { time: now, counters };
  $("publications-total").textContent = counters.publications;
  $("connections").textContent = metrics.get("herald_connections") ?? 0;
}

function drawChart() {
  const [width, height] = [600, 120];
  const top = Math.max(1, ...series.publications, ...series.deliveries);
  for (const name of ["publications", "deliveries"]) {
    const points = series[name].map((value, index) => {
      const x = (index + CHART_POINTS - series[name].length) * width / (CHART_POINTS - 1);
      const y = height - 5 - value / top * (height - 10);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    $(`line-${name}`).setAttribute("points", points.join(" "));
  }
}

/** Replaces a table body's rows with one row of cells per item. */
function fillTable(id, rows) {
  $(id).replaceChildren(...rows.map((cells) => {
    const row = document.createElement("tr");
    for (const value of cells) {
      const cell = row.insertCell();
      cell.textContent = value;
      if (typeof value === "number") cell.className = "number";
    }
    return row;
  }));
}

function uptime(seconds) {
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

function showInfo(info) {
  fillTable("nodes", info.nodes.map((node) => [
    node.name, node.version, uptime(node.uptime), node.num_clients, node.num_users, node.num_channels,
    node.num_subs,
  ]));
  const kafka = info.nodes[0]?.kafka;
  $("kafka").hidden = !kafka;
  if (kafka) {
    $("kafka-status").textContent = kafka.status === "ok" ? "" : `(${kafka.status}: ${kafka.detail})`;
    fillTable("partitions", kafka.partitions.map((p) => [p.topic, p.partition, p.epoch, p.position, p.lag]));
  }
}

function showChannels(result) {
  const top = Object.entries(result.channels)
    .sort(([, a], [, b]) => b.num_clients - a.num_clients)
    .slice(0, TOP_CHANNELS);
  fillTable("channels", top.map(([name, stats]) => [name, stats.num_clients]));
}

async function poll() {
  try {
    const [info, channels, metrics] = await Promise.all([
      api("info"), api("channels"), fetch("/metrics").then((response) => response.text()),
    ]);
    showInfo(info);
    showChannels(channels);
    recordRates(parseMetrics(metrics));
    $("poll-status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $("poll-status").textContent = `not updated: ${error.message}`;
  }
  clearTimeout(pollTimer); // one timer, even if a logout and login fell while this poll was waiting
  if (token) pollTimer = setTimeout(poll, POLL_MS);
}

// MARK: Console: a Centrifuge protocol client of its own

let socket = null;
let connecting = null; // resolves once the connect reply came
let nextID = 1;
const pending = new Map(); // command id -> { resolve, reject }

function command(body) {
  const id = nextID++;
  socket.send(JSON.stringify({ id, ...body }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function receive(message) {
  if (message.id) {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiting?.reject(new Error(`error ${message.error.code}: ${message.error.message}`));
    else waiting?.resolve(message);
  } else if (message.push?.pub) {
    logPublication(message.push.channel, message.push.pub);
  } else if (message.push?.unsubscribe) {
    $("socket-status").textContent = `unsubscribed from ${message.push.channel}`;
  } else if (Object.keys(message).length === 0) {
    socket.send("{}"); // the server's ping: answer with a pong
  }
}

/** Opens the connection once; the admin token makes it an admin connection (any channel may be watched). */
function connect() {
  connecting ??= new Promise((resolve, reject) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/connection/websocket`);
    socket.onopen = () => command({ connect: { token } }).then(resolve, reject);
    socket.onmessage = (event) => {
      for (const line of event.data.split("\n")) if (line.trim()) receive(JSON.parse(line));
    };
    socket.onclose = (event) => {
      $("socket-status").textContent = `disconnected (${event.code} ${event.reason})`;
      for (const waiting of pending.values()) waiting.reject(new Error("disconnected"));
      pending.clear();
      [socket, connecting] = [null, null];
      watched.length = 0;
      reject(new Error("disconnected"));
    };
  });
  return connecting;
}

const watched = [];

$("subscribe-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const channel = $("subscribe-channel").value.trim();
  try {
    await connect();
    await command({ subscribe: { channel } });
    watched.push(channel);
    $("socket-status").textContent = `subscribed to ${watched.join(", ")}`;
    $("publish-channel").value ||= channel;
  } catch (error) {
    $("socket-status").textContent = `${channel}: ${error.message}`;
  }
});

function logPublication(channel, pub) {
  const entry = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  const name = document.createElement("span");
  name.className = "channel";
  name.textContent = pub.offset ? `${channel} @${pub.offset}` : channel;
  const data = document.createElement("span");
  data.className = "data";
  data.textContent = JSON.stringify(pub.data);
  entry.append(time, name, data);
  $("console-log").prepend(entry);
  while ($("console-log").children.length > LOG_ENTRIES) $("console-log").lastChild.remove();
}

$("publish-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("publish-status");
  let data;
  try {
    data = JSON.parse($("publish-data").value);
  } catch {
    status.textContent = "data is not JSON";
    return;
  }
  try {
    const result = await api("publish", { channel: $("publish-channel").value.trim(), data });
    status.textContent = result.offset ? `published at offset ${result.offset}` : "published";
  } catch (error) {
    status.textContent = error.message;
  }
});

// MARK: Start

if (token || (await login())) showConsole();
else showLogin();
