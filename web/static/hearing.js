// The participant page: device check, the court's rules, lobby, courtroom, and the judge's and
// clerk's console. Speaks docs/protocol.md over socket.io (namespace /hearing). The join token
// is read from the URL fragment (#token=...), which browsers never send to the server.

import { has, t, translate, useLanguage, languageSwitcher } from "./i18n.js";
import { publish, Subscriber } from "./rtc.js";
import { Tiles, renderQueue, roomName } from "./view.js";
import { AuditTail, confirmAction, renderRoster } from "./console.js";
import { DeviceCheck, beforeJoining, checkConnection } from "./devices.js";
import { LegWatch } from "./legwatch.js";
import { ExhibitConsole, ExhibitView } from "./exhibit.js";
import { showHealth, showOwnHealth } from "./health.js";
import {
  LINK_REFUSALS, showConnectionCheck, showGreeting, showLinkRefusal, showLobbyPosition, showScheduled,
} from "./door.js";
import {
  Hands, labelShortcuts, setupDrawer, setupSessionControls, setupShortcuts, showBenchRole,
  showLivestream, showPhase, showRecording,
} from "./bench.js";

const MODERATORS = new Set(["presiding_judge", "clerk"]);
const REQUEST_TIMEOUT_MS = 15000;
const STEPS = ["prejoin", "rules", "lobby", "courtroom"];

const $ = (id) => document.getElementById(id);

// State visible to tests and to people debugging in the console.
const ecourt = {
  state: "prejoin",
  connection: "none", // "connected" | "reconnecting" | "none"
  participant: null,
  hearing: null,
  admission: null,
  phase: null,
  room: null,
  lobbyPosition: null,
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

let devices = null;
let localStream = null;
let subscriber = null;
let tiles = null;
let audit = null;
let exhibit = null;
let exhibitConsole = null;
let hands = null;
let token = "";
let peersGeneration = 0; // bumped whenever both legs are closed
// Both legs watched: one that failed, closed or went silent is rebuilt (docs/protocol.md).
const legWatch = new LegWatch((leg) => healMedia(leg));
ecourt.legWatch = legWatch;
let enteredGeneration = -1;
let lastStatus = null; // [key, vars], re-rendered when the language changes
// This page's own key for its connection: when it reconnects after a drop the server has not
// noticed yet, the key lets it replace its stale connection instead of being refused as a
// second device. A new page (another tab, another device) has another key.
const RESUME_KEY = Array.from(crypto.getRandomValues(new Uint8Array(16)),
  (b) => b.toString(16).padStart(2, "0")).join("");

class RequestError extends Error {
  constructor(event, error) {
    super(error?.message || t("error.request_failed"));
    this.event = event;
    this.code = error?.code || "internal";
  }
}

// --- small UI helpers -------------------------------------------------------------------

function setState(state) {
  ecourt.state = state;
  document.body.dataset.state = state;
  $("prejoin").hidden = !["prejoin", "refused"].includes(state);
  $("link-refused").hidden = state !== "link_refused";
  $("rules").hidden = !["rules", "connecting"].includes(state);
  $("lobby").hidden = state !== "lobby";
  $("courtroom").hidden = state !== "courtroom";
  $("ended").hidden = state !== "left";
  const step = state === "connecting" ? "rules" : state;
  for (const item of document.querySelectorAll(".steps li")) {
    const here = item.dataset.step === step;
    item.classList.toggle("done", STEPS.indexOf(item.dataset.step) < STEPS.indexOf(step));
    if (here) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  document.querySelector(".steps").hidden = ["left", "refused", "link_refused"].includes(state);
}

// The status line. A fleeting one (the answer to an order) goes after FLEETING_MS, back to
// what the line said before, so that no stale news stays on the bench.
const FLEETING_MS = 8000;
let fleetingTimer = null;
let steadyStatus = null;
function status(key, vars = {}, { fleeting = false } = {}) {
  clearTimeout(fleetingTimer);
  if (fleeting) {
    fleetingTimer = setTimeout(() => status(...(steadyStatus || [null])), FLEETING_MS);
  } else {
    steadyStatus = key ? [key, vars] : null;
  }
  lastStatus = key ? [key, vars] : null;
  $("status").textContent = key ? t(key, vars) : "";
}

function notify(text, target = $("notice")) {
  target.textContent = text;
  target.hidden = !text;
}

function showError(err, target = $("notice")) {
  const code = err?.code || "error";
  const key = `refusal.${code}`;
  const known = has(key);
  const message = known ? t(key) : err?.message || String(err);
  ecourt.errors.push({ code, message, event: err?.event });
  notify(message, target); // the words only: the code is for the log and the tests
  target.dataset.code = code;
}

let linkRefusal = null;

function refuseLink(code) {
  linkRefusal = code;
  ecourt.errors.push({ code, message: t(`refusal.${code}`) });
  setState("link_refused");
  status(null);
  showLinkRefusal(code);
  $("link-refused-heading").focus();
}

async function request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
  let ack;
  try {
    ack = await ecourt.socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new RequestError(event, { code: "timeout", message: t("refusal.timeout") });
  }
  if (!ack || ack.ok !== true) throw new RequestError(event, ack?.error);
  return ack;
}

function iceServers() {
  return Array.isArray(ecourt.iceServers) ? ecourt.iceServers : [];
}

function readToken() {
  return new URLSearchParams(location.hash.slice(1)).get("token") || "";
}

function hearingIdFromUrl() {
  return decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
}

// --- step 1: the device check --------------------------------------------------------------

async function runConnectionCheck() {
  const line = $("connection-result");
  $("connection-test").disabled = true;
  ecourt.connectionCheck = { state: "pending", rtt: null, code: null };
  showConnectionCheck(ecourt.connectionCheck);
  const before = await beforeJoining(hearingIdFromUrl(), token);
  if (before.hearing) {
    ecourt.hearing = ecourt.hearing || before.hearing; // the welcome's, once joined
    showHearing();
  }
  ecourt.connectionCheck = before.state ? before
    : await checkConnection(hearingIdFromUrl(), token, before.iceServers);
  showConnectionCheck(ecourt.connectionCheck);
  $("connection-test").disabled = false;
  line.dataset.result = ecourt.connectionCheck.state;
}

// --- the connection -----------------------------------------------------------------------

function connect() {
  setState("connecting");
  notify("");
  status("status.connecting");
  $("join").disabled = true;
  localStream = devices.handOver();
  ecourt.socket?.disconnect(); // a refused attempt's socket
  const socket = io("/hearing", {
    auth: { token, hearing_id: hearingIdFromUrl(), resume: RESUME_KEY },
    transports: ["websocket"],
  });
  ecourt.socket = socket;

  socket.on("connect_error", (err) => {
    if (socket.active) {
      status("status.unreachable");
      return;
    }
    const code = err?.data?.code || err?.message || "refused";
    if (code === "wrong_node" && followNode(err.data.node_url)) return;
    refuse({ code, message: err?.data?.message || err?.message });
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
      showConnection("reconnecting");
      status("status.node_restarting");
      ecourt.moving = true;
      setTimeout(() => {
        ecourt.moving = false;
        socket.connect();
      }, 500);
      return;
    }
    finish(data?.reason || "left");
  });
  socket.on("waiting", (data) => {
    ecourt.lobbyPosition = showLobbyPosition(data) || ecourt.lobbyPosition;
  });
  socket.on("lobby", (data) => {
    ecourt.lobby = Array.isArray(data?.waiting) ? data.waiting : [];
    audit?.learnNames(ecourt.lobby);
    renderConsole();
  });
  socket.on("roster", (data) => {
    ecourt.roster = Array.isArray(data?.participants) ? data.participants : [];
    showRoom();
    if (ecourt.state === "courtroom") updateButtons(); // your own buttons follow the court
    tiles?.updateRoster(ecourt.roster);
    audit?.learnNames(ecourt.roster);
    renderConsole();
    showMediaHealth();
  });
  socket.on("audit", (data) => {
    if (Array.isArray(data?.entries)) audit?.add(data.entries);
  });
  socket.on("hearing_state", (data) => {
    showSession(data?.phase);
    showRecording(ecourt, data?.recording);
    showLivestream(ecourt, data?.livestream);
    if (data?.reason === "due_process") status("status.due_process_recess");
  });
  socket.on("exhibit_shown", (data) => {
    ecourt.exhibit = data?.exhibit ?? null;
    exhibit?.show(ecourt.exhibit);
    exhibitConsole?.follow(ecourt.exhibit, ecourt.participant?.id ?? null);
  });
  socket.on("active_speaker", (data) => {
    tiles?.showSpeaker(typeof data?.participant_id === "string" ? data.participant_id : null);
  });
  socket.on("alert", (data) => {
    const who = ecourt.roster.find((p) => p.id === data?.participant_id)?.display_name || t("common.someone");
    if (data?.code === "already_connected") {
      notify(t("console.alert_second_device", { name: who }), $("console-error"));
    }
  });
  socket.on("muted_by_court", (data) => {
    status(data?.kind === "video" ? "status.camera_muted_by_court" : "status.mic_muted_by_court");
  });
  socket.on("unmute_requested", (data) => {
    status(data?.kind === "video" ? "status.camera_unmute_asked" : "status.mic_unmute_asked");
  });
  socket.on("media_lost", (data) => legWatch.lost(data?.leg) && healMedia(data?.leg));
  socket.on("subscribe_offer", (data) => {
    if (ecourt.state === "left") return;
    if (subscriber && data?.leg !== undefined && data.leg !== subscriber.leg) {
      legWatch.replacing("subscribe");
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
      showConnection("reconnecting");
    }
  });
}

// The browser says the network is gone: say so at once, and drop the dead connection so that
// it comes back as soon as the network does (socket.io would wait for its ping timeout).
function goneOffline() {
  if (!ecourt.socket || ecourt.state === "left" || ecourt.state === "refused") return;
  showConnection("reconnecting");
  ecourt.offline = true;
  ecourt.socket.disconnect();
}

function backOnline() {
  if (!ecourt.offline || ecourt.state === "left") return;
  ecourt.offline = false;
  ecourt.socket.connect();
}

function showConnection(state) {
  ecourt.connection = state;
  document.body.dataset.connection = state;
  const banner = $("connection");
  if (state === "reconnecting") {
    banner.textContent = t("status.reconnecting");
    banner.hidden = false;
  } else if (state === "connected" && ecourt.welcomes > 1) {
    banner.textContent = t("status.reconnected");
    banner.hidden = false;
    clearTimeout(showConnection.timer);
    showConnection.timer = setTimeout(() => {
      if (ecourt.connection === "connected") banner.hidden = true;
    }, 4000);
  } else {
    banner.hidden = true;
  }
}

// Refused at the door: back to the device check, with the reason, to try again.
function refuse(err) {
  closePeers();
  for (const track of localStream?.getTracks() || []) track.stop();
  localStream = null;
  if (LINK_REFUSALS.has(err?.code)) {
    devices?.handOver()?.getTracks().forEach((track) => track.stop());
    refuseLink(err.code);
    return;
  }
  setState("refused");
  status(null);
  showError(err);
  $("join").disabled = !$("accept-rules").checked;
  devices?.open();
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
  status("status.moving_node");
  location.replace(target.href);
  return true;
}

// The phase, and what follows from it: the livestream's buttons and the buttons of your own
// that a phase changes.
function showSession(phase) {
  if (!showPhase(ecourt, phase)) return;
  if (ecourt.livestream) showLivestream(ecourt, ecourt.livestream);
  updateButtons();
}

// Which room you are in, from your own roster entry.
function showRoom() {
  const me = ecourt.roster.find((p) => p.id === ecourt.participant?.id);
  ecourt.room = me?.room || null;
  const badge = $("room");
  badge.textContent = ecourt.room ? t("court.you_are_in", { room: roomName(ecourt.room) }) : "";
  badge.dataset.room = ecourt.room ? ecourt.room.kind : "";
  // What the room means for the person in it (a witness waiting to be called, or released).
  const noteKey = ecourt.room ? `court.note_${ecourt.room.kind}` : "";
  $("room-note").hidden = !has(noteKey);
  $("room-note").textContent = has(noteKey) ? t(noteKey) : "";
  if (ecourt.recording) showRecording(ecourt, ecourt.recording);
}

async function consoleRequest(event, payload) {
  notify("", $("console-error"));
  try {
    return await request(event, payload);
  } catch (err) {
    showError(err, $("console-error"));
    return null;
  }
}

function onWelcome(welcome) {
  const { participant, hearing, admission, phase, recording, livestream } = welcome;
  ecourt.welcomes += 1;
  ecourt.iceServers = welcome.ice_servers;
  ecourt.participant = participant;
  ecourt.hearing = hearing;
  ecourt.admission = admission;
  showConnection("connected");
  showHearing();
  const moderator = MODERATORS.has(participant.role);
  $("console").hidden = !moderator;
  $("console-open").hidden = !moderator;
  showBenchRole(ecourt);
  showSession(phase);
  showRecording(ecourt, recording);
  showLivestream(ecourt, livestream);
  if (admission === "admitted") {
    enterCourtroom();
    if (moderator) exhibitConsole?.load();
  } else {
    setState("lobby");
    status("status.in_lobby");
    showScheduled(ecourt.hearing);
    if (welcome.lobby) ecourt.lobbyPosition = showLobbyPosition(welcome.lobby) || ecourt.lobbyPosition;
    $("lobby-heading").focus?.();
  }
}

function showHearing() {
  const hearing = ecourt.hearing;
  if (!hearing) return;
  document.title = `${hearing.case_number} · ${hearing.title}`;
  $("hearing-title").textContent = hearing.title;
  $("hearing-case").textContent = t("join.case", { number: hearing.case_number });
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
    const leg = subscriber;
    legWatch.watch("subscribe", pc, () => leg.tracks.size > 0);
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
  status("status.media_restarting");
  try {
    legWatch.replacing("subscribe");
    await request("restart_media", {});
    legWatch.replacing("publish");
    ecourt.pcs.publish?.close();
    ecourt.pcs.publish = null;
    if (localStream && localStream.getTracks().length) {
      setPublishing(await publish(localStream, { iceServers: iceServers(), request, screen: sharedScreen }));
    }
    status("status.in_courtroom");
  } catch (err) {
    showError(err);
  }
}

// The server closed one of our legs as dead (docs/protocol.md, `media_lost`): ask for a new
// subscribe leg, or publish again on a new publish leg. Nothing else changes.
let republishing = false;
async function healMedia(leg) {
  if (ecourt.state !== "courtroom") return;
  if (leg === "subscribe") {
    legWatch.replacing("subscribe");
    request("restart_media", {}).catch(showError);
    return;
  }
  if (leg !== "publish" || republishing || !localStream || !localStream.getTracks().length) return;
  republishing = true;
  try {
    legWatch.replacing("publish");
    ecourt.pcs.publish?.close();
    setPublishing(await publish(localStream, { iceServers: iceServers(), request, screen: sharedScreen }));
  } catch (err) {
    showError(err);
  } finally {
    republishing = false;
  }
}

function setPublishing(pc) {
  ecourt.pcs.publish = pc;
  legWatch.watch("publish", pc);
}

async function enterCourtroom() {
  const generation = peersGeneration;
  if (enteredGeneration === generation) return; // `admitted` and a welcome may both say so
  enteredGeneration = generation;
  setState("courtroom");
  status("status.in_courtroom");
  legWatch.start();
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
    setPublishing(pc);
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
    setPublishing(pc);
  } catch (err) {
    if (!stopping) previous?.stop();
    sharedScreen = stopping ? null : previous;
    showError(err);
  }
  updateButtons();
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
  $("mic").textContent = t(micOff ? "court.unmute" : "court.mute");
  // Muted by the court: the court, not the person, turns the microphone back on.
  const me = ecourt.roster.find((p) => p.id === ecourt.participant?.id);
  if ((me?.muted_by_court || []).includes("audio")) {
    $("mic").disabled = true;
    $("mic").textContent = t("court.muted_by_court_button");
  }
  // The floor answers a raised hand: the server lowers it, the button follows the roster.
  if (me) $("hand").setAttribute("aria-pressed", String(Boolean(me.hand)));
  $("cam").textContent = t(camOff ? "court.camera_on" : "court.camera_off_button");
  const raised = $("hand").getAttribute("aria-pressed") === "true";
  $("hand").textContent = t(raised ? "court.lower_hand" : "court.raise_hand");
  $("screen").setAttribute("aria-pressed", String(Boolean(sharedScreen)));
  $("screen").textContent = t(sharedScreen ? "court.stop_sharing" : "court.share_screen");
  $("hand").hidden = $("screen").hidden = ecourt.participant?.role === "observer";
  // Adjourned: nobody asks for the floor or shows an exhibit any more.
  const adjourned = ecourt.phase === "adjourned";
  $("hand").disabled = adjourned;
  $("screen").disabled = adjourned && !sharedScreen;
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

async function toggleHand() {
  const raised = $("hand").getAttribute("aria-pressed") !== "true";
  try {
    await request("raise_hand", { raised });
    $("hand").setAttribute("aria-pressed", String(raised));
    status(raised ? "status.hand_raised" : null);
    updateButtons();
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
  hands.update(ecourt.roster);
  hands.render({
    judge: ecourt.participant.role === "presiding_judge",
    onFloor: (entry, button) => order("floor", { participant_id: entry.id, granted: true }, entry, button, null),
  });
}

// How each person's media reaches the court: on the bench's roster and tiles, and one's own.
function showMediaHealth() {
  const own = ecourt.roster.find((p) => p.id === ecourt.participant?.id);
  showOwnHealth($("own-health"), ecourt.state === "courtroom" ? own?.health : null);
  if (!ecourt.participant || !MODERATORS.has(ecourt.participant.role)) return;
  showHealth($("roster"), ecourt.roster);
  showHealth($("tiles"), ecourt.roster);
}

async function order(event, payload, entry, control, dangerous) {
  if (dangerous) {
    const asked = await confirmAction(t("confirm.order", { order: dangerous, name: entry.display_name }), dangerous);
    if (!asked) return;
  }
  control.disabled = true;
  try {
    await request(event, payload);
  } catch (err) {
    // a witness whose camera does not reach the court: called only if the judge confirms
    // they testify by audio only (docs/protocol.md, `witness_without_media`)
    if (err?.code !== "witness_without_media") showError(err, $("console-error"));
    else if (await confirmAction(t("confirm.audio_only", { name: entry.display_name }), t("console.audio_only"))) {
      await consoleRequest(event, { ...payload, audio_only: true });
    }
  }
  control.disabled = false;
}

async function moderate(event, participant, buttons) {
  for (const button of buttons) button.disabled = true;
  if (await consoleRequest(event, { participant_id: participant.id })) {
    const key = event === "admit" ? "status.admitted_who" : "status.denied_who";
    status(key, { name: participant.display_name }, { fleeting: true });
  } else {
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
  legWatch.forget("publish");
  legWatch.forget("subscribe");
  ecourt.tracks = [];
  tiles?.clear();
}

async function leave() {
  if (ecourt.state === "courtroom" && !(await confirmAction(t("confirm.leave"), t("court.leave")))) return;
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
  legWatch.close();
  for (const track of localStream?.getTracks() || []) track.stop();
  devices?.handOver()?.getTracks().forEach((track) => track.stop());
  ecourt.socket?.disconnect();
  showConnection("none");
  setState("left");
  status(null);
  showEnded();
}

function showEnded() {
  const reason = ecourt.leaveReason;
  if (!reason) return;
  const heading = { left: "ended.left_heading", hearing_ended: "ended.ended_heading" }[reason];
  $("ended-heading").textContent = t(heading || "ended.closed_heading");
  const key = `leave.${reason}`;
  $("ended-text").textContent = t(has(key) ? key : "leave.disconnected");
}

// --- the language ---------------------------------------------------------------------------

// Everything drawn by script is drawn again in the new language.
function relabel() {
  translate(document);
  if (lastStatus) status(...lastStatus);
  showHearing();
  if (ecourt.phase) showSession(ecourt.phase);
  if (ecourt.recording) showRecording(ecourt, ecourt.recording);
  if (ecourt.livestream) showLivestream(ecourt, ecourt.livestream);
  labelShortcuts();
  if (ecourt.lobbyPosition) showLobbyPosition(ecourt.lobbyPosition);
  if (ecourt.state === "lobby") showScheduled(ecourt.hearing);
  showConnectionCheck(ecourt.connectionCheck);
  if (token) showGreeting(token);
  showRoom();
  updateButtons();
  tiles?.relabel();
  exhibit?.refreshWords();
  exhibitConsole?.render();
  audit?.render();
  renderConsole();
  showMediaHealth();
  showEnded();
  showLinkRefusal(linkRefusal);
  if (ecourt.connection === "reconnecting") showConnection("reconnecting");
  if (devices) devices.note.textContent = t(devices.error ? "devices.failed" : "devices.ready", { error: devices.error });
}

// --- start --------------------------------------------------------------------------------

async function main() {
  await useLanguage().catch((err) => console.warn("ecourt: no catalogue", err));
  languageSwitcher($("lang"));
  document.addEventListener("ecourt:language", relabel);
  // A new link that differs only in its fragment does not reload the page by itself.
  window.addEventListener("hashchange", () => location.reload());
  window.addEventListener("offline", goneOffline);
  window.addEventListener("online", backOnline);
  tiles = new Tiles($("tiles"));
  audit = new AuditTail($("audit"), $("audit-empty"));
  setState("prejoin");
  updateButtons();
  $("mic").addEventListener("click", () => toggle("audio"));
  $("cam").addEventListener("click", () => toggle("video"));
  $("leave").addEventListener("click", leave);
  setupSessionControls(ecourt, consoleRequest);
  hands = new Hands($("hands"), $("hands-empty"));
  exhibitConsole = new ExhibitConsole({
    list: $("exhibit-list"),
    empty: $("exhibits-empty"),
    controls: $("exhibit-controls"),
    refresh: $("exhibits-refresh"),
    request: consoleRequest,
  });
  const drawer = setupDrawer();
  setupShortcuts({
    A: () => document.querySelector("#queue button.admit")?.click(),
    F: () => document.querySelector("#hands button")?.click(),
    K: () => drawer.toggle(),
  });
  labelShortcuts();
  $("hand").addEventListener("click", toggleHand);
  $("screen").addEventListener("click", toggleScreen);
  $("lobby-leave").addEventListener("click", leave);
  token = readToken();
  if (!token) {
    refuseLink("token_missing");
    return;
  }
  const before = await beforeJoining(hearingIdFromUrl(), token);
  if (before.state === "refused" && LINK_REFUSALS.has(before.code)) {
    refuseLink(before.code);
    return;
  }
  showGreeting(token);
  exhibit = new ExhibitView($("exhibit"), { hearingId: hearingIdFromUrl(), token });
  devices = new DeviceCheck({
    preview: $("preview"),
    camera: $("camera"),
    microphone: $("microphone"),
    meter: $("mic-level"),
    note: $("device-note"),
  });
  $("continue").addEventListener("click", () => {
    setState("rules");
    $("rules-heading").focus();
  });
  $("rules-back").addEventListener("click", () => setState("prejoin"));
  $("accept-rules").addEventListener("change", () => {
    $("join").disabled = !$("accept-rules").checked;
  });
  $("join").addEventListener("click", () => {
    if ($("accept-rules").checked) connect();
  });
  $("connection-test").addEventListener("click", runConnectionCheck);
  await devices.open();
  $("continue").disabled = false;
  $("continue").focus();
  runConnectionCheck();
}

main();
