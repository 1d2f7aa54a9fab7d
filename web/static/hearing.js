// The participant page: device check, lobby, courtroom, and the judge's and clerk's console.
// Speaks docs/protocol.md over socket.io (namespace /hearing). The join token is read from the
// URL fragment (#token=...), which browsers never send to the server.

import { publish, Subscriber } from "./rtc.js";
import { Tiles, renderQueue, renderRoster } from "./view.js";

const MODERATORS = new Set(["presiding_judge", "clerk"]);
const REQUEST_TIMEOUT_MS = 15000;

const REFUSALS = {
  token_missing: "This link has no join token. Please open the full link you were sent.",
  token_malformed: "This join link is damaged. Please copy the full link again.",
  token_forged: "This join link is not valid.",
  token_expired: "This join link has expired. Please ask the court for a new one.",
  token_wrong_hearing: "This join link is for a different hearing.",
  unknown_hearing: "This hearing does not exist, or it has ended.",
  denied: "The court has not admitted you to this hearing.",
  already_connected: "You are already connected to this hearing in another window.",
  token_revoked: "The court has withdrawn this join link.",
  hearing_ended: "This hearing has ended.",
  cooling_off: "Too many messages came from this link. Please wait a few seconds and reload.",
  protocol_error: "The page sent something the court server could not accept. Please reload.",
};

const LEAVE_REASONS = {
  left: "You have left the hearing. You may close this page.",
  denied: "The court has not admitted you to this hearing.",
  ejected: "The court has removed you from the hearing.",
  hearing_ended: "The hearing has ended. Thank you for attending.",
  replaced: "You joined this hearing from another window, so this window was disconnected.",
  disconnected: "The court server closed the connection. You may close this page.",
  revoked: "The court has withdrawn your join link.",
  abuse: "Too many messages came from this page, so the court server closed the connection.",
  protocol_error: "The page sent something the court server could not accept, so the connection was closed.",
};

const $ = (id) => document.getElementById(id);

// State visible to tests and to people debugging in the console.
const ecourt = {
  state: "prejoin",
  participant: null,
  hearing: null,
  admission: null,
  pcs: { publish: null, subscribe: null },
  welcomes: 0, // one per (re)connection
  tracks: [], // TrackInfo of the last subscribe offer applied: mid -> publisher
  roster: [],
  lobby: [],
  errors: [],
  socket: null,
};
window.ecourt = ecourt;

let localStream = null;
let subscriber = null;
let tiles = null;
let peersGeneration = 0; // bumped whenever both legs are closed
let enteredGeneration = -1;

class RequestError extends Error {
  constructor(event, error) {
    super(error?.message || "The request failed.");
    this.event = event;
    this.code = error?.code || "internal";
  }
}

// --- small UI helpers -------------------------------------------------------------------

function setState(state) {
  ecourt.state = state;
  document.body.dataset.state = state;
  $("prejoin").hidden = !["prejoin", "connecting", "refused"].includes(state);
  $("lobby").hidden = state !== "lobby";
  $("courtroom").hidden = state !== "courtroom";
  $("ended").hidden = state !== "left";
}

function status(text) {
  $("status").textContent = text;
}

function notify(text, target = $("notice")) {
  target.textContent = text;
  target.hidden = !text;
}

function showError(err, target = $("notice")) {
  const code = err?.code || "error";
  const message = err?.message || String(err);
  ecourt.errors.push({ code, message, event: err?.event });
  notify(`${message} (${code})`, target);
}

async function request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
  let ack;
  try {
    ack = await ecourt.socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new RequestError(event, { code: "timeout", message: "The court server did not answer." });
  }
  if (!ack || ack.ok !== true) throw new RequestError(event, ack?.error);
  return ack;
}

// TURN/STUN servers, if the server hands any out in the welcome (not in the protocol yet).
function iceServers() {
  return Array.isArray(ecourt.iceServers) ? ecourt.iceServers : [];
}

// --- before joining: the device check ---------------------------------------------------

function readToken() {
  return new URLSearchParams(location.hash.slice(1)).get("token") || "";
}

async function startPreview() {
  const note = $("device-note");
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    });
    $("preview").srcObject = localStream;
    note.textContent = "Your camera and microphone are ready.";
  } catch (err) {
    localStream = null;
    note.textContent = "The camera or microphone could not be used " +
      `(${err.name || "error"}). You can still join to watch and listen.`;
  }
}

// --- the connection -----------------------------------------------------------------------

function connect(token) {
  setState("connecting");
  notify("");
  status("Connecting to the court…");
  $("join").disabled = true;
  // the hearing named by the page's own URL: a link to one hearing never opens another
  const hearingId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const socket = io("/hearing", {
    auth: { token, hearing_id: hearingId },
    transports: ["websocket"],
  });
  ecourt.socket = socket;

  socket.on("connect_error", (err) => {
    if (socket.active) {
      status("Cannot reach the court server. Trying again…");
      return;
    }
    const code = err?.data?.code || (REFUSALS[err?.message] ? err.message : "refused");
    if (code === "wrong_node" && followNode(err.data.node_url)) return;
    const message = REFUSALS[code] || err?.data?.message || err?.message || "Refused.";
    setState("refused");
    status("");
    showError({ code, message });
    $("join").disabled = false;
  });
  // The welcome is the ack of `join`, sent after every (re)connection. A new connection
  // starts both media legs afresh.
  socket.on("connect", async () => {
    closePeers();
    try {
      onWelcome(await request("join", {}));
    } catch (err) {
      showError(err);
    }
  });
  socket.on("admitted", () => {
    ecourt.admission = "admitted";
    enterCourtroom();
  });
  socket.on("denied", () => finish("denied"));
  socket.on("left", (data) => {
    if (data?.reason === "node_draining") {
      // The server is stopping; the hearing is not. Connect again (another node takes over).
      status("The court server is restarting. Reconnecting…");
      ecourt.moving = true;
      setTimeout(() => {
        ecourt.moving = false;
        socket.connect();
      }, 500);
      return;
    }
    finish(data?.reason || "left");
  });
  socket.on("lobby", (data) => {
    ecourt.lobby = Array.isArray(data?.waiting) ? data.waiting : [];
    renderConsole();
  });
  socket.on("roster", (data) => {
    ecourt.roster = Array.isArray(data?.participants) ? data.participants : [];
    tiles?.updateRoster(ecourt.roster);
    renderConsole();
  });
  // An offer may overtake the ack of `join`; it is answered all the same, since the server
  // sends no further offer until this one is answered.
  socket.on("hearing_state", (data) => {
    showPhase(data?.phase);
    showRecording(data?.recording);
    showLivestream(data?.livestream);
    if (data?.reason === "due_process") {
      status("The court is in recess: a participant lost their connection.");
    }
  });
  socket.on("active_speaker", (data) => {
    tiles?.showSpeaker(typeof data?.participant_id === "string" ? data.participant_id : null);
  });
  socket.on("alert", (data) => {
    const who = ecourt.roster.find((p) => p.id === data?.participant_id)?.display_name || "A participant";
    if (data?.code === "already_connected") {
      notify(`${who}'s link was used from a second device, and refused.`, $("console-error"));
    }
  });
  socket.on("muted_by_court", (data) => {
    status(`The court has muted your ${data?.kind === "video" ? "camera" : "microphone"}.`);
  });
  socket.on("unmute_requested", (data) => {
    status(`The court asks you to turn your ${data?.kind === "video" ? "camera" : "microphone"} on.`);
  });
  socket.on("subscribe_offer", (data) => {
    if (ecourt.state === "left") return;
    if (subscriber && data?.leg !== undefined && data.leg !== subscriber.leg) {
      subscriber.pc.close(); // the server built a new leg (a media restart): start afresh
      subscriber = null;
    }
    const leg = ensureSubscriber();
    leg.leg = data?.leg;
    leg.offer(data);
  });
  socket.on("disconnect", (reason) => {
    if (ecourt.state === "left" || ecourt.moving) return;
    if (reason === "io server disconnect") {
      finish("disconnected");
    } else {
      status("The connection was lost. Reconnecting…");
    }
  });
}

// The hearing lives on another node of the cluster: the same page, the same link, over there.
function followNode(nodeUrl) {
  let target;
  try {
    target = new URL(location.pathname + location.hash, nodeUrl);
  } catch {
    return false;
  }
  if (!/^https?:$/.test(target.protocol) || target.origin === location.origin) return false;
  status("This hearing is held on another court server. Moving you there…");
  location.replace(target.href);
  return true;
}

const PHASES = {
  scheduled: "The session has not opened yet",
  in_session: "In session",
  recess: "In recess",
  in_camera: "In camera (closed to the public)",
  deliberation: "The court is deliberating",
  adjourned: "Adjourned",
};
const DANGEROUS_PHASES = new Set(["adjourned", "in_camera"]);

function showPhase(phase) {
  if (!(phase in PHASES)) return;
  ecourt.phase = phase;
  $("phase").textContent = PHASES[phase];
  $("end-hearing").disabled = ecourt.participant?.role !== "presiding_judge";
  for (const button of document.querySelectorAll("#phase-controls button[data-phase]")) {
    const current = button.dataset.phase === phase;
    button.setAttribute("aria-pressed", String(current));
    button.disabled = current || ecourt.participant?.role !== "presiding_judge";
  }
}

const RECORDING = {
  recording: "● Recorded",
  paused: "Recording paused",
  stopped: "Recording stopped",
};

function showRecording(state) {
  const line = $("recording-state");
  line.hidden = !(state in RECORDING);
  line.textContent = RECORDING[state] || "";
  line.dataset.state = state || "off";
  const moderator = ["presiding_judge", "clerk"].includes(ecourt.participant?.role);
  $("recording-start").disabled = !moderator || state === "off" || state === "recording";
  $("recording-pause").disabled = !moderator || state !== "recording";
}

// The public stream: every page says when the hearing is live; only the presiding judge opens,
// closes and cuts it.
function livestreamText(stream) {
  if (stream.state === "live") return `LIVE (delay ${Math.round(stream.delay)} s)`;
  if (stream.state === "cut") return "Livestream cut by the court";
  return "";
}

function showLivestream(stream) {
  if (!stream || typeof stream.state !== "string") return;
  ecourt.livestream = stream;
  const line = $("livestream-state");
  const text = livestreamText(stream);
  line.hidden = !text;
  line.textContent = text;
  line.dataset.state = stream.state;
  if (stream.state === "live") ecourt.livestreamOpened = true;
  const judge = ecourt.participant?.role === "presiding_judge";
  const available = stream.state !== "off" && ecourt.hearing?.public;
  const sitting = ecourt.phase === "in_session";
  $("livestream-open").disabled = !judge || !available || !sitting || stream.state === "live";
  $("livestream-close").disabled = !judge || stream.state !== "live";
  // after a close the delay line may still hold what the court wants dropped
  $("livestream-cut").disabled = !judge || !ecourt.livestreamOpened || stream.state === "cut";
}

function setupPhaseControls() {
  for (const [id, action] of [
    ["livestream-open", "open"],
    ["livestream-close", "close"],
    ["livestream-cut", "cut"],
  ]) {
    $(id).addEventListener("click", async () => {
      if (action === "cut" && !confirm("Cut the livestream? Everything not yet broadcast is dropped.")) return;
      try {
        showLivestream((await request("livestream", { action })).livestream);
      } catch (err) {
        showError(err, $("console-error"));
      }
    });
  }
  for (const [id, action] of [["recording-start", "start"], ["recording-pause", "pause"]]) {
    $(id).addEventListener("click", async () => {
      try {
        showRecording((await request("recording", { action })).recording);
      } catch (err) {
        showError(err, $("console-error"));
      }
    });
  }
  $("end-hearing").addEventListener("click", async () => {
    if (!confirm("End the hearing for everyone? Nobody can join it afterwards.")) return;
    try {
      await request("end_hearing", {});
    } catch (err) {
      showError(err, $("console-error"));
    }
  });
  for (const button of document.querySelectorAll("#phase-controls button[data-phase]")) {
    button.addEventListener("click", async () => {
      const phase = button.dataset.phase;
      if (DANGEROUS_PHASES.has(phase) && !confirm(`${button.textContent}: are you sure?`)) return;
      try {
        await request("phase", { phase });
      } catch (err) {
        showError(err, $("console-error"));
      }
    });
  }
}

function onWelcome({ participant, hearing, admission, phase, recording, livestream, ice_servers: servers }) {
  ecourt.welcomes += 1;
  ecourt.iceServers = servers;
  ecourt.participant = participant;
  ecourt.hearing = hearing;
  ecourt.admission = admission;
  document.title = `${hearing.case_number} · ${hearing.title}`;
  $("hearing-title").textContent = hearing.title;
  $("hearing-case").textContent = `Case ${hearing.case_number}`;
  $("console").hidden = !MODERATORS.has(participant.role);
  showPhase(phase);
  showRecording(recording);
  showLivestream(livestream);
  if (admission === "admitted") {
    enterCourtroom();
  } else {
    setState("lobby");
    status("You are in the lobby.");
  }
}

// --- the courtroom ------------------------------------------------------------------------

function ensureSubscriber() {
  if (!subscriber) {
    subscriber = new Subscriber({
      iceServers: iceServers(),
      request,
      onTracks: (byParticipant) => {
        ecourt.tracks = [...subscriber.tracks.values()];
        tiles.setRemote(byParticipant);
      },
      onError: (err) => showError(err),
    });
    ecourt.pcs.subscribe = subscriber.pc;
    const pc = subscriber.pc;
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.iceConnectionState === "failed") restartMedia();
    });
  }
  return subscriber;
}

// The network changed under us (ICE failed): ask for fresh legs, at most every 15 s (the
// server allows 5 renegotiations a minute), and publish again on a new one.
let lastRestart = 0;
async function restartMedia() {
  if (Date.now() - lastRestart < 15000 || ecourt.state !== "courtroom") return;
  lastRestart = Date.now();
  status("Your network changed. Reconnecting the media…");
  try {
    await request("restart_media", {});
    ecourt.pcs.publish?.close();
    ecourt.pcs.publish = null;
    if (localStream && localStream.getTracks().length) {
      ecourt.pcs.publish = await publish(localStream, { iceServers: iceServers(), request, screen: sharedScreen });
    }
    status("You are in the courtroom.");
  } catch (err) {
    showError(err);
  }
}

async function enterCourtroom() {
  const generation = peersGeneration;
  if (enteredGeneration === generation) return; // `admitted` and a welcome may both say so
  enteredGeneration = generation;
  setState("courtroom");
  status("You are in the courtroom.");
  tiles.setSelf(ecourt.participant, localStream);
  tiles.updateRoster(ecourt.roster);
  renderConsole();
  ensureSubscriber();
  updateButtons();
  if (!localStream || localStream.getTracks().length === 0) return;
  try {
    const pc = await publish(localStream, { iceServers: iceServers(), request, screen: sharedScreen });
    if (generation !== peersGeneration) {
      pc.close(); // the connection changed (or the participant left) meanwhile
      return;
    }
    ecourt.pcs.publish = pc;
    for (const track of localStream.getTracks()) {
      if (!track.enabled) await request("mute", { kind: track.kind, muted: true });
    }
  } catch (err) {
    showError(err);
  }
}

let sharedScreen = null;

// Share a screen (an exhibit): the publish leg is offered again with the screen beside the
// camera. The server refuses it unless the participant is on the bench or the judge lets them.
async function toggleScreen() {
  const stopping = Boolean(sharedScreen);
  const previous = sharedScreen;
  try {
    if (stopping) {
      sharedScreen.stop();
      sharedScreen = null;
    } else {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      sharedScreen = display.getVideoTracks()[0];
      sharedScreen.addEventListener("ended", () => sharedScreen && toggleScreen());
    }
    const pc = await publish(localStream, { iceServers: iceServers(), request, screen: sharedScreen });
    ecourt.pcs.publish?.close();
    ecourt.pcs.publish = pc;
    $("screen").setAttribute("aria-pressed", String(!stopping));
    $("screen").textContent = stopping ? "Share screen" : "Stop sharing";
  } catch (err) {
    if (!stopping) previous?.stop();
    sharedScreen = stopping ? null : previous;
    showError(err);
  }
}

function localTrack(kind) {
  return localStream?.getTracks().find((track) => track.kind === kind) || null;
}

function updateButtons() {
  const mic = localTrack("audio");
  const cam = localTrack("video");
  const micOff = !mic || !mic.enabled;
  const camOff = !cam || !cam.enabled;
  $("mic").disabled = !mic;
  $("cam").disabled = !cam;
  $("mic").setAttribute("aria-pressed", String(micOff));
  $("cam").setAttribute("aria-pressed", String(camOff));
  $("mic").textContent = micOff ? "Unmute microphone" : "Mute microphone";
  $("cam").textContent = camOff ? "Turn camera on" : "Turn camera off";
}

async function toggle(kind) {
  const track = localTrack(kind);
  if (!track) return;
  const muted = track.enabled;
  track.enabled = !muted;
  updateButtons();
  try {
    await request("mute", { kind, muted });
  } catch (err) {
    showError(err);
  }
}

// --- the judge's and clerk's console ---------------------------------------------------------

function renderConsole() {
  if (!ecourt.participant || !MODERATORS.has(ecourt.participant.role)) return;
  renderQueue($("queue"), $("queue-empty"), ecourt.lobby, {
    onAdmit: (participant, buttons) => moderate("admit", participant, buttons),
    onDeny: (participant, buttons) => moderate("deny", participant, buttons),
  });
  renderRoster($("roster"), ecourt.roster, ecourt.participant.id, {
    actorRole: ecourt.participant.role,
    onOrder: order,
  });
}

async function order(event, payload, entry, control, dangerous) {
  if (dangerous && !confirm(`${event.replace("_", " ")}: ${entry.display_name}?`)) return;
  control.disabled = true;
  notify("", $("console-error"));
  try {
    await request(event, payload);
  } catch (err) {
    showError(err, $("console-error"));
  } finally {
    control.disabled = false;
  }
}

async function toggleHand() {
  const raised = $("hand").getAttribute("aria-pressed") !== "true";
  try {
    await request("raise_hand", { raised });
    $("hand").setAttribute("aria-pressed", String(raised));
    $("hand").textContent = raised ? "Lower hand" : "Raise hand";
  } catch (err) {
    showError(err);
  }
}

async function moderate(event, participant, buttons) {
  for (const button of buttons) button.disabled = true;
  notify("", $("console-error"));
  try {
    await request(event, { participant_id: participant.id });
    status(`${participant.display_name} was ${event === "admit" ? "admitted" : "denied"}.`);
  } catch (err) {
    showError(err, $("console-error"));
    for (const button of buttons) button.disabled = false;
  }
}

// --- leaving ------------------------------------------------------------------------------

function closePeers() {
  peersGeneration += 1;
  subscriber?.close();
  subscriber = null;
  ecourt.pcs.publish?.close();
  ecourt.pcs = { publish: null, subscribe: null };
  ecourt.tracks = [];
  tiles?.clear();
}

async function leave() {
  if (ecourt.socket?.connected) {
    try {
      await request("leave", {}, 3000);
    } catch {
      // Leaving goes on regardless: the server notices the disconnection.
    }
  }
  finish("left");
}

function finish(reason) {
  if (ecourt.state === "left") return;
  ecourt.leaveReason = reason;
  closePeers();
  for (const track of localStream?.getTracks() || []) track.stop();
  $("preview").srcObject = null;
  ecourt.socket?.disconnect();
  setState("left");
  status("");
  $("ended-heading").textContent = reason === "left" ? "You have left" : "The hearing is closed to you";
  $("ended-text").textContent = LEAVE_REASONS[reason] ||
    "The court server closed the connection. You may close this page.";
}

// --- start --------------------------------------------------------------------------------

function main() {
  // A new link that differs only in its fragment does not reload the page by itself.
  window.addEventListener("hashchange", () => location.reload());
  tiles = new Tiles($("tiles"));
  setState("prejoin");
  $("mic").addEventListener("click", () => toggle("audio"));
  $("cam").addEventListener("click", () => toggle("video"));
  $("leave").addEventListener("click", leave);
  setupPhaseControls();
  $("hand").addEventListener("click", toggleHand);
  $("screen").addEventListener("click", toggleScreen);
  $("lobby-leave").addEventListener("click", leave);
  const token = readToken();
  if (!token) {
    setState("refused");
    showError({ code: "token_missing", message: REFUSALS.token_missing });
    return;
  }
  $("join").addEventListener("click", () => connect(token));
  startPreview().then(() => {
    $("join").disabled = false;
    $("join").focus();
  });
}

main();
