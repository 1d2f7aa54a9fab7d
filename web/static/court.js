// The court's supervision board: logs in with the court administrator's key (an HttpOnly
// cookie comes back), then reads /court/board.json every 2 s and redraws the tables. Counts
// and states only: the server sends no names. Its words come from the catalogue (i18n.js).

import { languageSwitcher, t, useLanguage } from "/static/i18n.js";

const REFRESH_MS = 2000;
const form = document.getElementById("login");
const boardSection = document.getElementById("board");
const state = { last: null, timer: null };
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

function draw(board) {
  const hearings = document.getElementById("hearings");
  hearings.replaceChildren();
  for (const h of board.hearings) {
    const row = document.createElement("tr");
    row.dataset.hearing = h.hearing_id;
    row.dataset.alert = h.alerts.length ? "yes" : "no";
    cell(row, h.case_number);
    cell(row, word(PHASES, h.phase));
    cell(row, Object.entries(h.rooms).map(([kind, n]) => `${word(ROOMS, kind)}: ${n}`).join(", "));
    cell(row, String(h.waiting));
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
  document.getElementById("board-status").textContent = t("court.updated", {
    time: new Date(board.time * 1000).toLocaleTimeString(),
    count: board.hearings.length,
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
  state.last = await response.json();
  form.hidden = true;
  boardSection.hidden = false;
  draw(state.last);
  return true;
}

async function loop() {
  clearTimeout(state.timer);
  try {
    if (!(await refresh())) return;
  } catch {
    document.getElementById("board-status").textContent = t("court.unavailable");
  }
  state.timer = setTimeout(loop, REFRESH_MS);
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
    loop();
  } else {
    document.getElementById("login-error").textContent = t("court.login_refused");
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/court/logout", { method: "POST" });
  clearTimeout(state.timer);
  boardSection.hidden = true;
  form.hidden = false;
});

await useLanguage();
languageSwitcher(document.getElementById("lang"));
document.addEventListener("ecourt:language", () => state.last && draw(state.last));
loop();
