// The participant page: device check, the court's rules, lobby, courtroom, and the judge's and
// clerk's console. Speaks docs/protocol.md over socket.io (namespace /hearing). The join token
// is read from the URL fragment (#token=...), which browsers never send to the server.
//
// This is the entry point; each concern has its module: page.js (shared state, requests),
// banners.js (status and banners), signalling.js (the connection and the server's events),
// media.js (the legs and their healing), controls.js (your own buttons), orders.js (the
// console's orders), attendance.js (welcome, courtroom, refusal, leaving), lobby.js (the
// messages to those waiting, read and written).

import { t, translate, useLanguage, languageSwitcher } from "./i18n.js";
import { Tiles } from "./view.js";
import { AuditTail } from "./console.js";
import { DeviceCheck, beforeJoining, checkConnection } from "./devices.js";
import { ExhibitConsole, ExhibitView } from "./exhibit.js";
import {
  LINK_REFUSALS, showConnectionCheck, showGreeting, showLobbyPosition, showScheduled,
} from "./door.js";
import {
  Hands, labelShortcuts, setupDrawer, setupSessionControls, setupShortcuts, showLivestream,
  showRecording,
} from "./bench.js";
import { $, ecourt, hearingIdFromUrl, page, readToken } from "./page.js";
import { refuseLink, relabelBanners, setState, showHearing } from "./banners.js";
import { showRoom, showSession, toggle, toggleHand, toggleScreen, updateButtons } from "./controls.js";
import { consoleRequest, renderConsole, showMediaHealth } from "./orders.js";
import { leave } from "./attendance.js";
import { backOnline, connect, goneOffline } from "./signalling.js";
import { labelComposer, setupComposer, showLobbyMessages } from "./lobby.js";
import { Interpretation } from "./interpretation.js";

// --- step 1: the device check --------------------------------------------------------------

async function runConnectionCheck() {
  const line = $("connection-result");
  $("connection-test").disabled = true;
  ecourt.connectionCheck = { state: "pending", rtt: null, code: null };
  showConnectionCheck(ecourt.connectionCheck);
  const before = await beforeJoining(hearingIdFromUrl(), page.token);
  if (before.hearing) {
    ecourt.hearing = ecourt.hearing || before.hearing; // the welcome's, once joined
    showHearing();
  }
  ecourt.connectionCheck = before.state ? before
    : await checkConnection(hearingIdFromUrl(), page.token, before.iceServers);
  showConnectionCheck(ecourt.connectionCheck);
  $("connection-test").disabled = false;
  line.dataset.result = ecourt.connectionCheck.state;
}

// --- the language ---------------------------------------------------------------------------

// Everything drawn by script is drawn again in the new language.
function relabel() {
  translate(document);
  relabelBanners();
  showHearing();
  if (ecourt.phase) showSession(ecourt.phase);
  if (ecourt.recording) showRecording(ecourt, ecourt.recording);
  if (ecourt.livestream) showLivestream(ecourt, ecourt.livestream);
  labelShortcuts();
  if (ecourt.lobbyPosition) showLobbyPosition(ecourt.lobbyPosition);
  if (ecourt.state === "lobby") showScheduled(ecourt.hearing);
  showLobbyMessages();
  labelComposer();
  showConnectionCheck(ecourt.connectionCheck);
  if (page.token) showGreeting(page.token);
  showRoom();
  updateButtons();
  page.tiles?.relabel();
  page.exhibit?.refreshWords();
  page.exhibitConsole?.render();
  page.interpretation?.relabel();
  page.audit?.render();
  renderConsole();
  showMediaHealth();
  const devices = page.devices;
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
  page.tiles = new Tiles($("tiles"));
  page.interpretation = new Interpretation({
    box: $("interpretation"),
    picker: $("listen-language"),
    level: $("floor-level"),
    onAir: $("on-air"),
    channels: $("channels"),
    tiles: $("tiles"),
  });
  page.audit = new AuditTail($("audit"), $("audit-empty"));
  setState("prejoin");
  updateButtons();
  $("mic").addEventListener("click", () => toggle("audio"));
  $("cam").addEventListener("click", () => toggle("video"));
  $("leave").addEventListener("click", leave);
  setupSessionControls(ecourt, consoleRequest);
  setupComposer();
  page.hands = new Hands($("hands"), $("hands-empty"));
  page.exhibitConsole = new ExhibitConsole({
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
  page.token = readToken();
  if (!page.token) {
    refuseLink("token_missing");
    return;
  }
  const before = await beforeJoining(hearingIdFromUrl(), page.token);
  if (before.state === "refused" && LINK_REFUSALS.has(before.code)) {
    refuseLink(before.code);
    return;
  }
  showGreeting(page.token);
  page.exhibit = new ExhibitView($("exhibit"), { hearingId: hearingIdFromUrl(), token: page.token });
  page.devices = new DeviceCheck({
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
  await page.devices.open();
  $("continue").disabled = false;
  $("continue").focus();
  runConnectionCheck();
}

main();
