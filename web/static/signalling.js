// The connection to the server (docs/protocol.md, namespace /hearing): connecting with the
// token, every event the server sends, and what the page does when the network goes and
// comes back.

import { t } from "./i18n.js";
import { showLobbyPosition } from "./door.js";
import { showLivestream, showRecording } from "./bench.js";
import { $, RESUME_KEY, ecourt, hearingIdFromUrl, page, request } from "./page.js";
import { notify, setState, showConnection, showError, status } from "./banners.js";
import { applySubscribeOffer, closePeers, healMedia, legWatch } from "./media.js";
import { showRoom, showSession, updateButtons } from "./controls.js";
import { renderConsole, showMediaHealth } from "./orders.js";
import { enterCourtroom, finish, followNode, onWelcome, refuse } from "./attendance.js";
import { receiveLobbyMessage } from "./lobby.js";

export function connect() {
  setState("connecting");
  notify("");
  status("status.connecting");
  $("join").disabled = true;
  page.localStream = page.devices.handOver();
  ecourt.socket?.disconnect(); // a refused attempt's socket
  const socket = io("/hearing", {
    auth: { token: page.token, hearing_id: hearingIdFromUrl(), resume: RESUME_KEY },
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
  socket.on("lobby_message", receiveLobbyMessage);
  socket.on("lobby", (data) => {
    ecourt.lobby = Array.isArray(data?.waiting) ? data.waiting : [];
    page.audit?.learnNames(ecourt.lobby);
    renderConsole();
  });
  socket.on("roster", (data) => {
    ecourt.roster = Array.isArray(data?.participants) ? data.participants : [];
    showRoom();
    if (ecourt.state === "courtroom") updateButtons(); // your own buttons follow the court
    page.tiles?.updateRoster(ecourt.roster);
    page.interpretation?.updateRoster();
    page.audit?.learnNames(ecourt.roster);
    renderConsole();
    showMediaHealth();
  });
  socket.on("audit", (data) => {
    if (Array.isArray(data?.entries)) page.audit?.add(data.entries);
  });
  socket.on("hearing_state", (data) => {
    showSession(data?.phase);
    showRecording(ecourt, data?.recording);
    showLivestream(ecourt, data?.livestream);
    if (data?.reason === "due_process") status("status.due_process_recess");
  });
  socket.on("exhibit_shown", (data) => {
    ecourt.exhibit = data?.exhibit ?? null;
    page.exhibit?.show(ecourt.exhibit);
    page.exhibitConsole?.follow(ecourt.exhibit, ecourt.participant?.id ?? null);
  });
  socket.on("active_speaker", (data) => {
    page.tiles?.showSpeaker(typeof data?.participant_id === "string" ? data.participant_id : null);
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
  socket.on("subscribe_offer", applySubscribeOffer);
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
export function goneOffline() {
  if (!ecourt.socket || ecourt.state === "left" || ecourt.state === "refused") return;
  showConnection("reconnecting");
  ecourt.offline = true;
  ecourt.socket.disconnect();
}

export function backOnline() {
  if (!ecourt.offline || ecourt.state === "left") return;
  ecourt.offline = false;
  ecourt.socket.connect();
}
