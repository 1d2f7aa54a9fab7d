// The participant page's shared state and its one way of asking the server (docs/protocol.md:
// every request has an ack). `ecourt` is visible to tests and to people debugging in the
// console (window.ecourt); `page` holds what the page's modules share and nobody else reads.

import { t } from "./i18n.js";

export const MODERATORS = new Set(["presiding_judge", "clerk"]);
const REQUEST_TIMEOUT_MS = 15000;

export const $ = (id) => document.getElementById(id);

// State visible to tests and to people debugging in the console.
export const ecourt = {
  state: "prejoin",
  connection: "none", // "connected" | "reconnecting" | "none"
  participant: null,
  hearing: null,
  admission: null,
  phase: null,
  room: null,
  lobbyPosition: null,
  lobbyMessages: [], // what the bench or the clerk wrote to this person while they wait
  connectionCheck: { state: "pending", rtt: null, code: null },
  pcs: { publish: null, subscribe: null },
  welcomes: 0, // one per (re)connection
  tracks: [], // TrackInfo of the last subscribe offer applied: mid -> publisher
  roster: [],
  lobby: [],
  errors: [],
  socket: null,
};
window.ecourt = ecourt;

// What the page's modules share: the devices and the camera and microphone they handed over,
// the tiles, the bench's audit tail and hands, the join token, a shared screen.
export const page = {
  devices: null,
  localStream: null,
  tiles: null,
  audit: null,
  hands: null,
  token: "",
  sharedScreen: null,
  exhibit: null, // the exhibit presented to this room (ExhibitView)
  exhibitConsole: null, // the bench's exhibits: admit, refuse, present, turn pages
  interpretation: null, // the listener's language channels, or the interpreter's console
};

// This page's own key for its connection: when it reconnects after a drop the server has not
// noticed yet, the key lets it replace its stale connection instead of being refused as a
// second device. A new page (another tab, another device) has another key.
export const RESUME_KEY = Array.from(crypto.getRandomValues(new Uint8Array(16)),
  (b) => b.toString(16).padStart(2, "0")).join("");

class RequestError extends Error {
  constructor(event, error) {
    super(error?.message || t("error.request_failed"));
    this.event = event;
    this.code = error?.code || "internal";
  }
}

export async function request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
  let ack;
  try {
    ack = await ecourt.socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new RequestError(event, { code: "timeout", message: t("refusal.timeout") });
  }
  if (!ack || ack.ok !== true) throw new RequestError(event, ack?.error);
  return ack;
}

export function iceServers() {
  return Array.isArray(ecourt.iceServers) ? ecourt.iceServers : [];
}

export function readToken() {
  return new URLSearchParams(location.hash.slice(1)).get("token") || "";
}

export function hearingIdFromUrl() {
  return decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
}
