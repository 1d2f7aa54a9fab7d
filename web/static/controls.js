// Your own controls in the courtroom (microphone, camera, raised hand, shared screen), and the
// badges that say where you are: the room, the phase. The buttons follow the court's state:
// muted by the court, the floor given (the hand lowered), adjourned.

import { has, t } from "./i18n.js";
import { roomName } from "./view.js";
import { showLivestream, showPhase, showRecording } from "./bench.js";
import { $, ecourt, page, request } from "./page.js";
import { showError, status } from "./banners.js";
import { publishOwn, setPublishing } from "./media.js";

// The phase, and what follows from it: the livestream's buttons and the buttons of your own
// that a phase changes.
export function showSession(phase) {
  if (!showPhase(ecourt, phase)) return;
  if (ecourt.livestream) showLivestream(ecourt, ecourt.livestream);
  updateButtons();
}

// Which room you are in, from your own roster entry.
export function showRoom() {
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

// Share a screen (an exhibit): the publish leg is offered again with the screen beside the
// camera. The server refuses it unless the participant is on the bench or the judge lets them.
export async function toggleScreen() {
  const stopping = Boolean(page.sharedScreen);
  const previous = page.sharedScreen;
  try {
    if (stopping) {
      page.sharedScreen.stop();
      page.sharedScreen = null;
    } else {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      page.sharedScreen = display.getVideoTracks()[0];
      page.sharedScreen.addEventListener("ended", () => page.sharedScreen && toggleScreen());
    }
    const pc = await publishOwn();
    ecourt.pcs.publish?.close();
    setPublishing(pc);
  } catch (err) {
    if (!stopping) previous?.stop();
    page.sharedScreen = stopping ? null : previous;
    showError(err);
  }
  updateButtons();
}

function localTrack(kind) {
  return page.localStream?.getTracks().find((track) => track.kind === kind) || null;
}

export function updateButtons() {
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
  $("screen").setAttribute("aria-pressed", String(Boolean(page.sharedScreen)));
  $("screen").textContent = t(page.sharedScreen ? "court.stop_sharing" : "court.share_screen");
  $("hand").hidden = $("screen").hidden = ecourt.participant?.role === "observer";
  // Adjourned: nobody asks for the floor or shows an exhibit any more.
  const adjourned = ecourt.phase === "adjourned";
  $("hand").disabled = adjourned;
  $("screen").disabled = adjourned && !page.sharedScreen;
}

export async function toggle(kind) {
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

export async function toggleHand() {
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
