// A person's way through the hearing: the welcome (lobby or courtroom), entering the
// courtroom, a refusal at the door, a hearing hosted on another node, and leaving.

import { t } from "./i18n.js";
import { confirmAction } from "./console.js";
import { LINK_REFUSALS, showLobbyPosition, showScheduled } from "./door.js";
import { showBenchRole, showLivestream, showRecording } from "./bench.js";
import { $, MODERATORS, ecourt, page, request } from "./page.js";
import {
  refuseLink, setState, showConnection, showEnded, showError, showHearing, status,
} from "./banners.js";
import { closePeers, ensureSubscriber, generation, legWatch, publishOwn, setPublishing } from "./media.js";
import { showSession, updateButtons } from "./controls.js";
import { renderConsole } from "./orders.js";

let enteredGeneration = -1;

export function onWelcome(welcome) {
  const { participant, hearing, admission, phase, recording, livestream } = welcome;
  ecourt.welcomes += 1;
  ecourt.iceServers = welcome.ice_servers;
  ecourt.participant = participant;
  page.interpretation?.setHearing(hearing, welcome.interpreting);
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
    if (moderator) page.exhibitConsole?.load();
  } else {
    setState("lobby");
    status("status.in_lobby");
    showScheduled(ecourt.hearing);
    if (welcome.lobby) ecourt.lobbyPosition = showLobbyPosition(welcome.lobby) || ecourt.lobbyPosition;
    $("lobby-heading").focus?.();
  }
}

export async function enterCourtroom() {
  const current = generation();
  if (enteredGeneration === current) return; // `admitted` and a welcome may both say so
  enteredGeneration = current;
  setState("courtroom");
  status("status.in_courtroom");
  legWatch.start();
  page.tiles.setSelf(ecourt.participant, page.localStream);
  page.tiles.updateRoster(ecourt.roster);
  renderConsole();
  ensureSubscriber();
  updateButtons();
  const stream = page.localStream;
  if (!stream || stream.getTracks().length === 0) return;
  try {
    const pc = await publishOwn();
    if (current !== generation()) {
      pc.close(); // the connection changed (or the participant left) meanwhile
      return;
    }
    setPublishing(pc);
    for (const track of stream.getTracks()) {
      if (!track.enabled) await request("mute", { kind: track.kind, muted: true });
    }
  } catch (err) {
    showError(err);
  }
}

// Refused at the door: back to the device check, with the reason, to try again.
export function refuse(err) {
  closePeers();
  for (const track of page.localStream?.getTracks() || []) track.stop();
  page.localStream = null;
  if (LINK_REFUSALS.has(err?.code)) {
    page.devices?.handOver()?.getTracks().forEach((track) => track.stop());
    refuseLink(err.code);
    return;
  }
  setState("refused");
  status(null);
  showError(err);
  $("join").disabled = !$("accept-rules").checked;
  page.devices?.open();
}

// The hearing lives on another node of the cluster: the same page, the same link, over there.
export function followNode(nodeUrl) {
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

export async function leave() {
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

export function finish(reason) {
  if (ecourt.state === "left") return;
  ecourt.leaveReason = reason;
  closePeers();
  legWatch.close();
  for (const track of page.localStream?.getTracks() || []) track.stop();
  page.devices?.handOver()?.getTracks().forEach((track) => track.stop());
  ecourt.socket?.disconnect();
  showConnection("none");
  setState("left");
  status(null);
  showEnded();
}

