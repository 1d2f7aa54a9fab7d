// The lobby's messages (docs/protocol.md, `lobby_message`). On the waiting page: what the bench
// or the clerk wrote, newest first, at the court's time. In the console: the composer that
// writes to one person waiting (from the Write button on their row) or to all who wait.

import { t } from "./i18n.js";
import { el, roleName } from "./view.js";
import { focusAgain } from "./console.js";
import { courtTime } from "./door.js";
import { $, ecourt, request } from "./page.js";
import { notify, showError, status } from "./banners.js";

const ALL_WAITING = "all_waiting";
const KEPT = 20;

// --- the waiting page -------------------------------------------------------------------------

export function receiveLobbyMessage(data) {
  if (typeof data?.text !== "string" || !data.text) return;
  const { text, at, from_role: from, to } = data;
  ecourt.lobbyMessages = [...ecourt.lobbyMessages, { text, at, from, to }].slice(-KEPT);
  showLobbyMessages();
}

export function showLobbyMessages() {
  $("lobby-messages-part").hidden = ecourt.lobbyMessages.length === 0;
  $("lobby-messages").replaceChildren(...[...ecourt.lobbyMessages].reverse().map(messageItem));
}

function messageItem(message) {
  const item = el("li", { class: "lobby-message" });
  const meta = el("p", { class: "meta" });
  const at = new Date(message.at);
  if (!Number.isNaN(at.getTime())) {
    meta.append(el("time", { datetime: message.at }, courtTime(at, { timeStyle: "short" })), " · ");
  }
  const key = message.to === ALL_WAITING ? "lobby.message_from_to_all" : "lobby.message_from";
  meta.append(t(key, { who: roleName(message.from) }));
  item.append(meta, el("p", { class: "text" }, message.text));
  return item;
}

// --- the console's composer -------------------------------------------------------------------

let addressee = null; // { id: participant id | "all_waiting", name, role }
let opener = null;

export function setupComposer() {
  $("lobby-write-all").addEventListener("click", () => openComposer({ id: ALL_WAITING }, $("lobby-write-all")));
  $("lobby-compose").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("lobby-compose-cancel").addEventListener("click", closeComposer);
  $("lobby-compose").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation(); // the drawer stays open
    closeComposer();
  });
}

// Write to one person waiting: `participant` is their lobby entry; `button` gets the focus back.
export function writeTo(participant, button) {
  openComposer({ id: participant.id, name: participant.display_name, role: participant.role }, button);
}

function openComposer(who, button) {
  addressee = who;
  opener = button;
  $("lobby-compose").hidden = false;
  labelComposer();
  $("lobby-compose-text").focus();
}

// The composer's words and the Write-to-all button, after a lobby change or a new language.
export function labelComposer() {
  $("lobby-write-all").hidden = ecourt.lobby.length === 0;
  if (!addressee) return;
  $("lobby-compose-to").textContent = addressee.id === ALL_WAITING ? t("console.compose_to_all")
    : t("console.compose_to_one", { name: addressee.name, role: roleName(addressee.role) });
}

function closeComposer() {
  addressee = null;
  $("lobby-compose").hidden = true;
  $("lobby-compose-text").value = "";
  focusAgain(opener);
  opener = null;
}

async function send() {
  const text = $("lobby-compose-text").value.trim();
  if (!text || !addressee) return;
  const to = addressee;
  const button = $("lobby-compose-send");
  button.disabled = true;
  notify("", $("console-error"));
  try {
    const ack = await request("lobby_message", { to: to.id, text });
    if (to.id === ALL_WAITING) status("status.message_sent_all", { count: ack.delivered }, { fleeting: true });
    else status("status.message_sent_one", { name: to.name }, { fleeting: true });
    closeComposer();
  } catch (err) {
    showError(err, $("console-error"));
  } finally {
    button.disabled = false;
  }
}
