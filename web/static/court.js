// The court's supervision board: logs in with the court administrator's key (an HttpOnly
// cookie comes back), then listens on the socket server's /court namespace with a one-minute
// ticket of that session (GET /court/ticket): the whole board once, then what changes. While
// the socket is down it reads /court/board.json every 10 s instead. Counts and states only:
// the server sends no names. Its words come from the catalogue (i18n.js).

import { languageSwitcher, t, useLanguage } from "/static/i18n.js";

const FALLBACK_MS = 10000;
const form = document.getElementById("login");
const boardSection = document.getElementById("board");
// last: the board as shown; live: the socket is what feeds it; changes: board_change events
const state = { last: null, timer: null, socket: null, live: false, changes: 0 };
window.ecourtBoard = state;

// Literal keys, so that the catalogue test can check each of them.
const PHASES = {
  scheduled: () => t("phase.scheduled"),
  in_session: () => t("phase.in_session"),
  recess: () => t("phase.recess"),
  in_camera: () => t("phase.in_camera"),
  deliberation: () => t("phase.deliberation"),
  adjourned: () => t("phase.adjourned"),
};
const ROOMS = {
  lobby: () => t("room.lobby"),
  courtroom: () => t("room.courtroom"),
  consultation: () => t("room.consultation"),
  witness_waiting: () => t("room.witness_waiting"),
  witness_room: () => t("room.witness_room"),
  caucus: () => t("room.caucus"),
};
const ALERTS = {
  reference_monitor: () => t("court.alert.reference_monitor"),
  recording_stopped: () => t("court.alert.recording_stopped"),
  node_lost: () => t("court.alert.node_lost"),
  required_without_media: () => t("court.alert.required_without_media"),
  audit_failed: () => t("court.alert.audit_failed"),
};
const HEALTH = {
  live: () => t("health.live"),
  weak: () => t("health.weak"),
  frozen: () => t("health.frozen"),
  no_media: () => t("health.no_media"),
  reconnecting: () => t("health.reconnecting"),
};
const RECORDING = {
  off: () => t("court.recording.off"),
  idle: () => t("court.recording.idle"),
  recording: () => t("court.recording.recording"),
  paused: () => t("court.recording.paused"),
  stopped: () => t("court.recording.stopped"),
};
const LIVESTREAM = {
  off: () => t("court.livestream.off"),
  closed: () => t("court.livestream.closed"),
  live: () => t("court.livestream.live"),
  cut: () => t("court.livestream.cut"),
};

function word(table, value) {
  return table[value] ? table[value]() : value;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
}

function healthText(health) {
  return Object.entries(health || {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${word(HEALTH, kind)}: ${n}`)
    .join(", ");
}

function byCase(a, b) {
  return `${a.case_number}\u0000${a.hearing_id}`.localeCompare(`${b.case_number}\u0000${b.hearing_id}`);
}

function draw(board) {
  const hearings = document.getElementById("hearings");
  hearings.replaceChildren();
  for (const h of [...board.hearings].sort(byCase)) {
    const row = document.createElement("tr");
    row.dataset.hearing = h.hearing_id;
    row.dataset.alert = h.alerts.length ? "yes" : "no";
    cell(row, h.case_number);
    cell(row, word(PHASES, h.phase));
    cell(row, Object.entries(h.rooms).map(([kind, n]) => `${word(ROOMS, kind)}: ${n}`).join(", "));
    cell(row, String(h.waiting));
    cell(row, healthText(h.health));
    cell(row, word(RECORDING, h.recording));
    cell(row, word(LIVESTREAM, h.livestream));
    cell(row, h.node);
    cell(row, h.alerts.map((a) => word(ALERTS, a)).join(", "));
    hearings.append(row);
  }
  const hooks = document.getElementById("webhooks");
  hooks.replaceChildren();
  for (const w of board.webhooks) {
    const row = document.createElement("tr");
    cell(row, w.url);
    cell(row, String(w.pending));
    cell(row, String(w.abandoned));
    cell(row, w.last_error || "");
    hooks.append(row);
  }
  const updated = t("court.updated", {
    time: new Date(board.time * 1000).toLocaleTimeString(document.documentElement.lang),
    count: board.hearings.length,
  });
  const how = state.live ? t("court.live") : t("court.polling", { seconds: FALLBACK_MS / 1000 });
  document.getElementById("board-status").textContent = `${updated} · ${how}`;
}

function show(board) {
  state.last = board;
  form.hidden = true;
  boardSection.hidden = false;
  draw(board);
}

function applyChange(change) {
  const board = state.last;
  if (!board) return;
  const rows = new Map(board.hearings.map((h) => [h.hearing_id, h]));
  for (const h of change.hearings || []) rows.set(h.hearing_id, h);
  for (const gone of change.gone || []) rows.delete(gone);
  show({
    ...board,
    time: change.time ?? board.time,
    hearings: [...rows.values()],
    webhooks: change.webhooks ?? board.webhooks,
  });
}

async function refresh() {
  const response = await fetch("/court/board.json", { credentials: "same-origin" });
  if (response.status === 401) {
    boardSection.hidden = true;
    form.hidden = false;
    return false;
  }
  if (!response.ok) {
    document.getElementById("board-status").textContent = t("court.unavailable");
    return true;
  }
  show(await response.json());
  return true;
}

// The slow poll: only while the socket does not feed the board.
async function poll() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.live) return;
  try {
    if (!(await refresh())) {
      stopSocket();
      return;
    }
  } catch {
    document.getElementById("board-status").textContent = t("court.unavailable");
  }
  if (state.live) return;
  // a socket the server refused does not try again by itself (a ticket that failed to come)
  if (!state.socket || !state.socket.active) listen();
  state.timer = setTimeout(poll, FALLBACK_MS);
}

function fallBack() {
  state.live = false;
  if (state.last) draw(state.last);
  if (state.timer === null) state.timer = setTimeout(poll, FALLBACK_MS);
}

// A fresh ticket at every (re)connection: a ticket lasts a minute, the session eight hours.
function ticket(callback) {
  fetch("/court/ticket", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : {}))
    .then((body) => callback(body.ticket ? { ticket: body.ticket } : {}))
    .catch(() => callback({}));
}

function stopSocket() {
  if (state.socket) state.socket.disconnect();
  state.socket = null;
  state.live = false;
}

function listen() {
  stopSocket();
  const socket = io("/court", { auth: ticket, transports: ["websocket"], reconnectionDelayMax: 5000 });
  state.socket = socket;
  socket.on("board", (board) => {
    state.live = true;
    clearTimeout(state.timer);
    state.timer = null;
    show(board);
  });
  socket.on("board_change", (change) => {
    state.changes += 1;
    applyChange(change);
  });
  socket.on("connect_error", () => fallBack());
  socket.on("disconnect", () => fallBack());
}

async function start() {
  clearTimeout(state.timer);
  state.timer = null;
  try {
    if (!(await refresh())) return; // not logged in: the form
  } catch {
    document.getElementById("board-status").textContent = t("court.unavailable");
  }
  listen();
  fallBack(); // until the socket's first board arrives
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/court/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ key: document.getElementById("key").value }),
  });
  document.getElementById("key").value = "";
  if (response.status === 204) {
    document.getElementById("login-error").textContent = "";
    start();
  } else {
    document.getElementById("login-error").textContent = t("court.login_refused");
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/court/logout", { method: "POST" });
  stopSocket();
  clearTimeout(state.timer);
  state.timer = null;
  boardSection.hidden = true;
  form.hidden = false;
});

await useLanguage();
languageSwitcher(document.getElementById("lang"));
document.addEventListener("ecourt:language", () => state.last && draw(state.last));
start();
