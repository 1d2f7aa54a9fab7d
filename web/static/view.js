// Rendering: participant tiles, the lobby queue and the roster. Text only through textContent.

export const ROLE_NAMES = {
  presiding_judge: "Presiding judge",
  judge: "Judge",
  clerk: "Clerk",
  prosecutor: "Prosecutor",
  defence_counsel: "Defence counsel",
  accused: "Accused",
  plaintiff: "Plaintiff",
  respondent: "Respondent",
  party_lawyer: "Party's lawyer",
  witness: "Witness",
  child_witness: "Child witness",
  support_person: "Support person",
  interpreter: "Interpreter",
  expert: "Expert",
  observer: "Observer",
  public: "Public",
};

export function roleName(role) {
  return ROLE_NAMES[role] || String(role).replaceAll("_", " ");
}

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function initials(name) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0].toUpperCase())
    .join("");
}

function mutedWords(muted) {
  const words = [];
  if (muted?.audio) words.push("Microphone off");
  if (muted?.video) words.push("Camera off");
  return words.join(" · ");
}

// The grid of participant tiles, keyed by participant id.
export class Tiles {
  constructor(container) {
    this.container = container;
    this.selfId = null;
  }

  tile(participant, { self = false } = {}) {
    const id = participant.id;
    let tile = this.container.querySelector(`[data-participant-id="${CSS.escape(id)}"]`);
    if (!tile) {
      tile = el("figure", { class: "tile", "data-participant-id": id });
      const video = el("video", { autoplay: "", playsinline: "" });
      if (self) {
        video.muted = true;
        tile.dataset.self = "true";
      }
      const caption = el("figcaption", { class: "plate" });
      caption.append(
        el("span", { class: "name" }),
        el("span", { class: "role" }),
        el("span", { class: "muted-flag" }),
      );
      tile.append(video, el("div", { class: "placeholder", "aria-hidden": "true" }), caption);
      if (self) this.container.prepend(tile);
      else this.container.append(tile);
    }
    const name = participant.display_name || "";
    const role = roleName(participant.role);
    tile.querySelector(".name").textContent = self ? `${name} (you)` : name;
    tile.querySelector(".role").textContent = role;
    tile.querySelector(".placeholder").textContent = initials(name);
    tile.setAttribute("aria-label", `${name}, ${role}`);
    return tile;
  }

  setSelf(participant, stream) {
    this.selfId = participant.id;
    const tile = this.tile(participant, { self: true });
    this.attach(tile, stream ? stream.getTracks() : []);
  }

  // Show the forwarded tracks: participant_id -> { info, tracks }.
  setRemote(byParticipant) {
    for (const [id, { info, tracks }] of byParticipant) {
      const participant = { id, role: info.role, display_name: info.display_name };
      this.attach(this.tile(participant), tracks);
    }
    for (const tile of this.container.querySelectorAll(".tile")) {
      const id = tile.dataset.participantId;
      if (id !== this.selfId && !byParticipant.has(id)) tile.remove();
    }
  }

  attach(tile, tracks) {
    const video = tile.querySelector("video");
    const current = video.srcObject ? video.srcObject.getTracks().map((t) => t.id) : [];
    const next = tracks.map((t) => t.id);
    tile.dataset.video = String(tracks.some((t) => t.kind === "video"));
    if (current.length === next.length && current.every((id, i) => id === next[i])) return;
    video.srcObject = tracks.length ? new MediaStream(tracks) : null;
    if (tracks.length) video.play().catch(() => retryPlayOnGesture(video));
  }

  updateRoster(entries) {
    for (const entry of entries) {
      const tile = this.container.querySelector(
        `[data-participant-id="${CSS.escape(entry.id)}"]`,
      );
      if (!tile) continue;
      this.tile(entry, { self: entry.id === this.selfId });
      tile.querySelector(".muted-flag").textContent = mutedWords(entry.muted);
      tile.dataset.audioMuted = String(Boolean(entry.muted?.audio));
      tile.dataset.videoMuted = String(Boolean(entry.muted?.video));
    }
  }

  // The server names the active speaker (from the RTP audio levels); their tile is marked.
  showSpeaker(participantId) {
    for (const tile of this.container.querySelectorAll(".tile")) {
      tile.classList.toggle("speaking", tile.dataset.participantId === participantId);
    }
  }

  clear() {
    for (const video of this.container.querySelectorAll("video")) video.srcObject = null;
    this.container.replaceChildren();
  }
}

function retryPlayOnGesture(video) {
  document.addEventListener("click", () => video.play().catch(() => {}), { once: true });
}

// The lobby queue: one item per waiting participant, with Admit and Deny.
export function renderQueue(list, emptyNote, waiting, { onAdmit, onDeny }) {
  emptyNote.hidden = waiting.length > 0;
  list.replaceChildren(
    ...waiting.map((participant) => {
      const who = `${participant.display_name} (${roleName(participant.role)})`;
      const item = el("li", { class: "waiting", "data-participant-id": participant.id });
      const label = el("span", { class: "who" });
      label.append(
        el("span", { class: "name" }, participant.display_name),
        el("span", { class: "role" }, roleName(participant.role)),
      );
      const admit = el("button", { type: "button", class: "admit", "aria-label": `Admit ${who}` });
      const deny = el("button", { type: "button", class: "deny", "aria-label": `Deny ${who}` });
      admit.textContent = "Admit";
      deny.textContent = "Deny";
      admit.addEventListener("click", () => onAdmit(participant, [admit, deny]));
      deny.addEventListener("click", () => onDeny(participant, [admit, deny]));
      const actions = el("span", { class: "actions" });
      actions.append(admit, deny);
      item.append(label, actions);
      return item;
    }),
  );
}

// The roster, grouped simply: the bench and the clerk first, then everyone else.
const BENCH = new Set(["presiding_judge", "judge", "clerk"]);

const ROOMS = {
  courtroom: "Courtroom",
  witness_waiting: "Witness waiting room",
  witness_room: "Witness room",
  consultation: "Consultation room",
  caucus: "Caucus",
  deliberation: "Deliberation room",
  lobby: "Lobby",
};

function roomWords(room) {
  if (!room) return "";
  const name = ROOMS[room.kind] || room.kind;
  return room.id && room.id !== room.kind ? `${name} “${room.id}”` : name;
}

// What a moderator may order for one roster entry: [label, event, payload, confirm?].
function ordersFor(entry, actorRole) {
  const judge = actorRole === "presiding_judge";
  const id = entry.id;
  const orders = [];
  const mutedByCourt = new Set(entry.muted_by_court || []);
  orders.push(mutedByCourt.has("audio")
    ? ["Ask to unmute", "ask_unmute", { participant_id: id, kind: "audio" }]
    : ["Mute", "force_mute", { participant_id: id, kind: "audio" }]);
  const room = entry.room?.kind;
  if (entry.role === "witness" || entry.role === "expert") {
    orders.push(room === "courtroom"
      ? ["Release", "release_witness", { participant_id: id }]
      : ["Call", "call_witness", { participant_id: id }]);
  }
  if (entry.role === "child_witness") {
    orders.push(entry.linked
      ? ["End the link", "release_witness", { participant_id: id }]
      : ["Link to courtroom", "call_witness", { participant_id: id }]);
  }
  if (judge && room === "courtroom") {
    orders.push(entry.floor
      ? ["Take the floor", "floor", { participant_id: id, granted: false }]
      : ["Give the floor", "floor", { participant_id: id, granted: true }]);
  }
  if (judge && entry.role !== "clerk") {
    orders.push(entry.screen_granted
      ? ["Stop their screen", "grant_screen", { participant_id: id, granted: false }]
      : ["Let share screen", "grant_screen", { participant_id: id, granted: true }]);
  }
  if (judge) orders.push(["Eject", "eject", { participant_id: id }, true]);
  orders.push(["Revoke link", "revoke", { participant_id: id }, true]);
  return orders;
}

// The roster, grouped simply: the bench and the clerk first, then everyone else. Moderators
// get the court's orders for each person, and a choice of room.
export function renderRoster(list, entries, selfId, { actorRole, onOrder } = {}) {
  const sorted = [...entries].sort(
    (a, b) => Number(BENCH.has(b.role)) - Number(BENCH.has(a.role)) ||
      a.display_name.localeCompare(b.display_name),
  );
  list.replaceChildren(
    ...sorted.map((entry) => {
      const item = el("li", { "data-participant-id": entry.id });
      const name = entry.id === selfId ? `${entry.display_name} (you)` : entry.display_name;
      const flags = [mutedWords(entry.muted) || "Microphone and camera on"];
      if (entry.hand) flags.push("Hand raised");
      if ((entry.muted_by_court || []).length) flags.push("Muted by the court");
      if (entry.floor) flags.push("Has the floor");
      item.append(
        el("span", { class: "name" }, name),
        el("span", { class: "role" }, roleName(entry.role)),
        el("span", { class: "room" }, roomWords(entry.room)),
        el("span", { class: "muted-flag" }, flags.join(" · ")),
      );
      if (onOrder && entry.id !== selfId) item.append(orderButtons(entry, actorRole, onOrder));
      return item;
    }),
  );
}

function orderButtons(entry, actorRole, onOrder) {
  const actions = el("span", { class: "orders" });
  for (const [label, event, payload, dangerous] of ordersFor(entry, actorRole)) {
    const button = el("button", {
      type: "button",
      "aria-label": `${label}: ${entry.display_name}`,
      ...(dangerous ? { class: "danger" } : {}),
    });
    button.textContent = label;
    button.addEventListener("click", () => onOrder(event, payload, entry, button, dangerous));
    actions.append(button);
  }
  const move = el("select", { "aria-label": `Move ${entry.display_name} to` });
  for (const [kind, label] of Object.entries(ROOMS)) {
    if (kind === "lobby" || kind === "caucus" || kind === "witness_room") continue;
    const option = el("option", { value: kind }, label);
    if (entry.room?.kind === kind) option.selected = true;
    move.append(option);
  }
  move.addEventListener("change", () => {
    const kind = move.value;
    const room = kind === "consultation" ? { kind, id: "c1" } : { kind };
    onOrder("move", { participant_id: entry.id, room }, entry, move, false);
  });
  actions.append(move);
  return actions;
}
