// Rendering: participant tiles, the lobby queue and the roster. Text only through textContent,
// words only through the catalogue (i18n.js).

import { has, t } from "./i18n.js";

export function roleName(role) {
  const key = `role.${role}`;
  return has(key) ? t(key) : String(role).replaceAll("_", " ");
}

export function roomName(room) {
  if (!room) return "";
  const key = `room.${room.kind}`;
  const name = has(key) ? t(key) : room.kind;
  if (!room.id || room.id === room.kind) return name;
  const number = /^c(\d+)$/.exec(room.id)?.[1];
  return number ? t("room.numbered", { room: name, n: number }) : t("room.named", { room: name, id: room.id });
}

export function el(tag, attributes = {}, text = "") {
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

// The words on a roster row or a tile for a witness under an anonymity order: the court sees
// the natural form (and says so); everyone else sees the pseudonym and the masked form.
export function anonymityFlag(entry) {
  if (!entry?.anonymity) return "";
  return entry.anonymity.masked_from ? t("anonymity.badge_court") : t("anonymity.badge");
}

export function mutedWords(muted) {
  const words = [];
  if (muted?.audio) words.push(t("court.mic_off"));
  if (muted?.video) words.push(t("court.camera_off"));
  return words.join(" · ");
}

const PRESIDING = "presiding_judge";

// The grid of participant tiles, keyed by participant id. The presiding judge's tile comes
// first and is kept even while the judge sends no video (a placeholder with initials), as
// long as the judge sits in the viewer's room.
export class Tiles {
  constructor(container) {
    this.container = container;
    this.selfId = null;
    this.roster = [];
    this.remote = new Map();
  }

  tile(participant, { self = false } = {}) {
    const id = participant.id;
    let tile = this.container.querySelector(`[data-participant-id="${CSS.escape(id)}"]`);
    if (!tile) {
      tile = el("figure", { class: "tile", role: "listitem", "data-participant-id": id });
      const video = el("video", { autoplay: "", playsinline: "" });
      if (self) {
        video.muted = true;
        tile.dataset.self = "true";
      }
      const caption = el("figcaption", { class: "plate" });
      caption.append(
        el("span", { class: "name" }),
        el("span", { class: "role" }),
        el("span", { class: "hand-flag" }),
        el("span", { class: "muted-flag" }),
        el("span", { class: "anonymity-flag" }),
      );
      tile.append(video, el("div", { class: "placeholder", "aria-hidden": "true" }), caption);
      tile.dataset.video = "false";
      this.container.append(tile);
    }
    tile.dataset.role = participant.role || tile.dataset.role || "";
    const name = participant.display_name || tile.dataset.name || "";
    tile.dataset.name = name;
    const role = roleName(tile.dataset.role);
    tile.querySelector(".name").textContent = self ? t("court.you", { name }) : name;
    tile.querySelector(".role").textContent = role;
    tile.querySelector(".placeholder").textContent = initials(name);
    tile.setAttribute("aria-label", `${name}, ${role}`);
    return tile;
  }

  setSelf(participant, stream) {
    this.selfId = participant.id;
    const tile = this.tile(participant, { self: true });
    this.attach(tile, stream ? stream.getTracks() : []);
    this.arrange();
  }

  // Show the forwarded tracks: participant_id -> { info, tracks }.
  setRemote(byParticipant) {
    this.remote = byParticipant;
    for (const [id, { info, tracks }] of byParticipant) {
      const participant = { id, role: info.role, display_name: info.display_name };
      this.attach(this.tile(participant), tracks);
    }
    this.prune();
  }

  // Remove tiles nobody forwards any more, keep the presiding judge's when in the same room.
  prune() {
    const judge = this.judgeInMyRoom();
    if (judge && !this.remote.has(judge.id) && judge.id !== this.selfId) {
      const tile = this.tile(judge);
      this.attach(tile, []);
    }
    for (const tile of this.container.querySelectorAll(".tile")) {
      const id = tile.dataset.participantId;
      const kept = id === this.selfId || this.remote.has(id) || id === judge?.id;
      if (!kept) tile.remove();
    }
    this.arrange();
  }

  judgeInMyRoom() {
    const me = this.roster.find((p) => p.id === this.selfId);
    const judge = this.roster.find((p) => p.role === PRESIDING);
    if (!me || !judge || !me.room || !judge.room) return null;
    const same = me.room.kind === judge.room.kind && (me.room.id || "") === (judge.room.id || "");
    return same ? judge : null;
  }

  // The presiding judge first (pinned), then the others, yourself last.
  arrange() {
    const tiles = [...this.container.querySelectorAll(".tile")];
    const rank = (tile) => {
      if (tile.dataset.role === PRESIDING && tile.dataset.self !== "true") return 0;
      if (tile.dataset.self === "true") return 2; // the judge sees the others larger
      return 1;
    };
    const sorted = [...tiles].sort((a, b) => rank(a) - rank(b));
    for (const tile of tiles) tile.classList.toggle("pinned", rank(tile) === 0);
    if (sorted.some((tile, i) => tile !== tiles[i])) this.container.append(...sorted);
  }

  attach(tile, tracks) {
    const video = tile.querySelector("video");
    const current = video.srcObject ? video.srcObject.getTracks().map((x) => x.id) : [];
    const next = tracks.map((x) => x.id);
    tile.dataset.video = String(tracks.some((x) => x.kind === "video"));
    if (current.length === next.length && current.every((id, i) => id === next[i])) return;
    video.srcObject = tracks.length ? new MediaStream(tracks) : null;
    if (tracks.length) video.play().catch(() => retryPlayOnGesture(video));
  }

  updateRoster(entries) {
    this.roster = entries;
    for (const entry of entries) {
      const tile = this.container.querySelector(
        `[data-participant-id="${CSS.escape(entry.id)}"]`,
      );
      if (!tile) continue;
      this.tile(entry, { self: entry.id === this.selfId });
      tile.querySelector(".muted-flag").textContent = mutedWords(entry.muted);
      tile.querySelector(".hand-flag").textContent = entry.hand ? t("court.hand_raised") : "";
      tile.querySelector(".anonymity-flag").textContent = anonymityFlag(entry);
      tile.dataset.anonymous = String(Boolean(entry.anonymity));
      tile.dataset.audioMuted = String(Boolean(entry.muted?.audio));
      tile.dataset.videoMuted = String(Boolean(entry.muted?.video));
    }
    this.prune();
  }

  // Words again, in the language just chosen.
  relabel() {
    for (const tile of this.container.querySelectorAll(".tile")) {
      this.tile({ id: tile.dataset.participantId }, { self: tile.dataset.self === "true" });
    }
    this.updateRoster(this.roster);
  }

  // The server names the active speaker (from the RTP audio levels); their tile is marked.
  showSpeaker(participantId) {
    this.speaker = participantId;
    for (const tile of this.container.querySelectorAll(".tile")) {
      tile.classList.toggle("speaking", tile.dataset.participantId === participantId);
    }
  }

  clear() {
    for (const video of this.container.querySelectorAll("video")) video.srcObject = null;
    this.container.replaceChildren();
    this.remote = new Map();
  }
}

function retryPlayOnGesture(video) {
  document.addEventListener("click", () => video.play().catch(() => {}), { once: true });
}

// The lobby queue: one item per waiting participant, with Admit, Deny and Write (a message
// to them while they wait).
export function renderQueue(list, emptyNote, waiting, { onAdmit, onDeny, onWrite }) {
  emptyNote.hidden = waiting.length > 0;
  list.replaceChildren(
    ...waiting.map((participant) => {
      const who = { name: participant.display_name, role: roleName(participant.role) };
      const item = el("li", { class: "waiting", "data-participant-id": participant.id });
      const label = el("span", { class: "who" });
      label.append(
        el("span", { class: "name" }, participant.display_name),
        el("span", { class: "role" }, roleName(participant.role)),
      );
      const admit = el("button", { type: "button", class: "admit", "aria-label": t("console.admit_who", who) });
      const deny = el("button", { type: "button", class: "deny", "aria-label": t("console.deny_who", who) });
      admit.textContent = t("console.admit");
      deny.textContent = t("console.deny");
      admit.addEventListener("click", () => onAdmit(participant, [admit, deny]));
      deny.addEventListener("click", () => onDeny(participant, [admit, deny]));
      // an envelope: the row stays one line beside Admit and Deny, the label says what it does
      const writeLabel = t("console.write_who", who);
      const write = el("button", { type: "button", class: "write", "aria-label": writeLabel, title: writeLabel }, "✉");
      write.addEventListener("click", () => onWrite(participant, write));
      const actions = el("span", { class: "actions" });
      actions.append(admit, deny, write);
      item.append(label, actions);
      return item;
    }),
  );
}
