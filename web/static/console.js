// The judge's and clerk's console: the roster grouped by room with the court's orders for each
// person, the live tail of the audit log, and a confirmation for dangerous actions.

import { has, language, t } from "./i18n.js";
import { anonymityFlag, el, mutedWords, roleName, roomName } from "./view.js";
import { anonymityOrders } from "./anonymity.js";

const BENCH = new Set(["presiding_judge", "judge", "clerk"]);
const ROOM_ORDER = ["courtroom", "witness_room", "consultation", "caucus", "witness_waiting", "deliberation", "lobby"];
// Where a moderator may send someone: [kind, id].
const DESTINATIONS = [
  ["courtroom", null],
  ["consultation", "c1"],
  ["consultation", "c2"],
  ["consultation", "c3"],
  ["witness_waiting", null],
  ["deliberation", null],
];
const AUDIT_KEPT = 50;
const LOCALES = { en: "en-GB", vi: "vi-VN" };

// Give the focus back to `element`; if the page re-drew it meanwhile (a roster update), to the
// control that now stands in its place: the same kind of element with the same label.
export function focusAgain(element) {
  if (!element?.focus) return;
  if (element.isConnected) {
    element.focus();
    return;
  }
  const label = element.getAttribute("aria-label");
  const same = label && [...document.querySelectorAll(`${element.tagName}[aria-label]`)]
    .find((candidate) => candidate.getAttribute("aria-label") === label);
  same?.focus();
}

// Ask before a dangerous action, in a <dialog> (keyboard: Escape cancels, focus returns).
export function confirmAction(message, yesLabel) {
  const dialog = document.getElementById("confirm");
  const yes = document.getElementById("confirm-yes");
  const no = document.getElementById("confirm-no");
  const opener = document.activeElement;
  document.getElementById("confirm-text").textContent = message;
  yes.textContent = yesLabel;
  return new Promise((resolve) => {
    const done = (answer) => {
      yes.removeEventListener("click", onYes);
      no.removeEventListener("click", onNo);
      dialog.removeEventListener("cancel", onNo);
      if (dialog.open) dialog.close();
      focusAgain(opener);
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = (event) => {
      event?.preventDefault?.();
      done(false);
    };
    yes.addEventListener("click", onYes);
    no.addEventListener("click", onNo);
    dialog.addEventListener("cancel", onNo);
    dialog.showModal();
    no.focus();
  });
}

// What a moderator may order for one roster entry: [labelKey, event, payload, dangerous?].
function ordersFor(entry, actorRole) {
  const judge = actorRole === "presiding_judge";
  const id = entry.id;
  const orders = [];
  const mutedByCourt = new Set(entry.muted_by_court || []);
  orders.push(mutedByCourt.has("audio")
    ? ["console.ask_unmute", "ask_unmute", { participant_id: id, kind: "audio" }]
    : ["console.mute", "force_mute", { participant_id: id, kind: "audio" }]);
  const room = entry.room?.kind;
  if (entry.role === "witness" || entry.role === "expert") {
    orders.push(room === "courtroom"
      ? ["console.release", "release_witness", { participant_id: id }]
      : ["console.call", "call_witness", { participant_id: id }]);
  }
  if (entry.role === "child_witness") {
    orders.push(entry.linked
      ? ["console.unlink", "release_witness", { participant_id: id }]
      : ["console.link", "call_witness", { participant_id: id }]);
  }
  if (judge && room === "courtroom") {
    orders.push(entry.floor
      ? ["console.withdraw_floor", "floor", { participant_id: id, granted: false }]
      : ["console.give_floor", "floor", { participant_id: id, granted: true }]);
  }
  if (judge && entry.role !== "clerk") {
    orders.push(entry.screen_granted
      ? ["console.stop_screen", "grant_screen", { participant_id: id, granted: false }]
      : ["console.allow_screen", "grant_screen", { participant_id: id, granted: true }]);
  }
  orders.push(...anonymityOrders(entry, judge));
  if (judge) orders.push(["console.eject", "eject", { participant_id: id }, true]);
  orders.push(["console.revoke", "revoke", { participant_id: id }, true]);
  return orders;
}

function roomKey(room) {
  return room ? `${room.kind}:${room.id || room.kind}` : "none";
}

// The roster grouped by room, the bench first in each. Moderators get the court's orders for
// each person and a choice of room.
export function renderRoster(container, entries, selfId, { actorRole, onOrder }) {
  // Re-drawing must not take the focus from a judge working the roster by keyboard.
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const groups = new Map();
  for (const entry of entries) {
    const key = roomKey(entry.room);
    if (!groups.has(key)) groups.set(key, { room: entry.room, entries: [] });
    groups.get(key).entries.push(entry);
  }
  const rank = (group) => {
    const i = ROOM_ORDER.indexOf(group.room?.kind);
    return i < 0 ? ROOM_ORDER.length : i;
  };
  const sorted = [...groups.values()].sort(
    (a, b) => rank(a) - rank(b) || roomKey(a.room).localeCompare(roomKey(b.room)),
  );
  container.replaceChildren(
    ...sorted.map((group, i) => {
      const section = el("section", { class: "room-group", "data-room": roomKey(group.room) });
      const headingId = `room-group-${i}`;
      section.setAttribute("aria-labelledby", headingId);
      section.append(
        el("h4", { id: headingId }, `${roomName(group.room) || t("room.unknown")} (${group.entries.length})`),
      );
      const list = el("ul", { class: "roster-list" });
      const people = [...group.entries].sort(
        (a, b) => Number(BENCH.has(b.role)) - Number(BENCH.has(a.role)) ||
          a.display_name.localeCompare(b.display_name),
      );
      list.append(...people.map((entry) => rosterItem(entry, selfId, actorRole, onOrder)));
      section.append(list);
      return section;
    }),
  );
  if (focused) focusAgain(focused);
}

// The person whose order menu is open, kept across the roster's re-drawing.
let openMenu = null;

function rosterItem(entry, selfId, actorRole, onOrder) {
  const item = el("li", { "data-participant-id": entry.id });
  const name = entry.id === selfId ? t("court.you", { name: entry.display_name }) : entry.display_name;
  const flags = [mutedWords(entry.muted) || t("console.mic_camera_on")];
  if (entry.hand) flags.push(t("court.hand_raised"));
  if ((entry.muted_by_court || []).length) flags.push(t("console.muted_by_court"));
  if (entry.floor) flags.push(t("console.has_floor"));
  if (entry.anonymity) flags.push(anonymityFlag(entry));
  const who = el("span", { class: "who" });
  who.append(
    healthDot(entry.health),
    el("span", { class: "name" }, name),
    el("span", { class: "role" }, roleName(entry.role)),
  );
  item.append(who, el("span", { class: "muted-flag" }, flags.join(" · ")));
  if (entry.hand) item.classList.add("hand");
  if (entry.id !== selfId) item.append(...orderMenu(entry, actorRole, onOrder));
  return item;
}

// The person's media health (docs/protocol.md, RosterEntry `health`), when the server says it.
function healthDot(health) {
  if (typeof health !== "string" || !health) return el("span", { class: "health-slot" });
  const key = `health.${health}`;
  const label = has(key) ? t(key) : health;
  return el("span", { class: "health", "data-health": health, role: "img", "aria-label": label, title: label });
}

// The court's orders for one person, behind one button on the row: the list stays short and a
// judge opens the menu of the person they mean.
function orderMenu(entry, actorRole, onOrder) {
  const menuId = `orders-${entry.id}`;
  const opened = openMenu === entry.id;
  const toggle = el("button", {
    type: "button",
    class: "orders-toggle",
    "aria-expanded": String(opened),
    "aria-controls": menuId,
    "aria-label": t("console.orders_for", { name: entry.display_name }),
  }, t("console.orders"));
  const menu = orderControls(entry, actorRole, onOrder);
  menu.id = menuId;
  menu.hidden = !opened;
  toggle.addEventListener("click", () => {
    const open = menu.hidden;
    for (const other of document.querySelectorAll(".orders-toggle[aria-expanded=true]")) {
      other.setAttribute("aria-expanded", "false");
      document.getElementById(other.getAttribute("aria-controls")).hidden = true;
    }
    menu.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    openMenu = open ? entry.id : null;
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    menu.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    openMenu = null;
    toggle.focus();
  });
  return [toggle, menu];
}

function orderControls(entry, actorRole, onOrder) {
  const actions = el("div", { class: "orders", role: "group", "aria-label": t("console.orders_for", { name: entry.display_name }) });
  for (const [labelKey, event, payload, dangerous] of ordersFor(entry, actorRole)) {
    const label = t(labelKey);
    const button = el("button", {
      type: "button",
      "data-order": event,
      "aria-label": t("console.order_who", { order: label, name: entry.display_name }),
      ...(dangerous ? { class: "danger" } : {}),
    });
    button.textContent = label;
    button.addEventListener("click", () => onOrder(event, payload, entry, button, dangerous ? label : null));
    actions.append(button);
  }
  const move = el("select", {
    class: "move",
    "aria-label": t("console.move_who", { name: entry.display_name }),
  });
  const here = roomKey(entry.room);
  move.append(el("option", { value: "" }, t("console.move_to")));
  for (const [kind, id] of DESTINATIONS) {
    const room = id ? { kind, id } : { kind };
    if (roomKey(room) === here) continue;
    move.append(el("option", { value: JSON.stringify(room) }, roomName(room)));
  }
  move.addEventListener("change", () => {
    if (!move.value) return;
    const room = JSON.parse(move.value);
    onOrder("move", { participant_id: entry.id, room }, entry, move, null);
  });
  actions.append(move);
  return actions;
}

// The audit tail: newest first, at most AUDIT_KEPT, in words: people by name and role (the
// roster's and the lobby's, which carry a pseudonym where an anonymity order says so; never
// an id), the phase a phase entry went to, and every result.
export class AuditTail {
  constructor(list, emptyNote) {
    this.list = list;
    this.emptyNote = emptyNote;
    this.entries = [];
    this.people = new Map(); // participant id -> { name, role }, kept after they leave
  }

  add(entries) {
    const seen = new Set(this.entries.map((e) => e.seq));
    for (const entry of entries) if (!seen.has(entry.seq)) this.entries.push(entry);
    this.entries.sort((a, b) => a.seq - b.seq);
    this.entries = this.entries.slice(-AUDIT_KEPT);
    this.render();
  }

  learnNames(people) {
    for (const p of people) this.people.set(p.id, { name: p.display_name, role: p.role });
    this.render();
  }

  who(id) {
    if (!id) return "";
    if (id === "system" || id === "recorder" || id === "livestream") return t("console.audit_system");
    const person = this.people.get(id);
    if (!person) return t("common.someone");
    return t("audit.who_role", { name: person.name, role: roleName(person.role) });
  }

  action(entry) {
    if (entry.phase && has(`phase.${entry.phase}`)) {
      return t("audit.phase_to", { phase: t(`phase.${entry.phase}`) });
    }
    return has(`audit.${entry.action}`) ? t(`audit.${entry.action}`) : t("result.other");
  }

  result(entry) {
    if (!entry.result || entry.result === "ok") return "";
    if (entry.action === "arrive" && entry.result === "waiting") return "";
    const key = has(`result.${entry.result}`) ? `result.${entry.result}`
      : has(`refusal.${entry.result}`) ? `refusal.${entry.result}` : "result.other";
    return ` (${t(key)})`;
  }

  render() {
    this.emptyNote.hidden = this.entries.length > 0;
    this.list.replaceChildren(
      ...[...this.entries].reverse().map((entry) => {
        const item = el("li", { "data-seq": String(entry.seq), "data-action": entry.action });
        const at = new Date(entry.at);
        const time = el("time", { datetime: entry.at }, Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString(LOCALES[language()] || undefined));
        const target = entry.target ? ` → ${this.who(entry.target)}` : "";
        item.append(time, el("span", { class: "what" }, ` ${this.who(entry.actor)}: ${this.action(entry)}${target}${this.result(entry)}`));
        return item;
      }),
    );
  }

  clear() {
    this.entries = [];
    this.render();
  }
}
