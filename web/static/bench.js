// The bench's part of the console: the session's phase and its buttons (only the moves the
// court can make), recording and livestream, the raised hands in the order they went up, the
// drawer the console becomes on a phone, and the keyboard shortcuts for the frequent orders.

import { t } from "./i18n.js";
import { PHASES, RECORDED_ROOMS, canMove } from "./phases.js";
import { el, roleName } from "./view.js";
import { confirmAction } from "./console.js";

const $ = (id) => document.getElementById(id);
const MODERATORS = new Set(["presiding_judge", "clerk"]);
const RECORDING = ["recording", "paused", "stopped"];
const DANGEROUS_PHASES = new Set(["adjourned", "in_camera"]);
// The frequent orders, on Alt+Shift+letter (docs/pages.md; aria-keyshortcuts, shown on hover):
// S open session, R recess, A admit the first person waiting, F give the floor to the first
// raised hand, K open or close the console (the drawer on a phone).
const SHORTCUT_KEYS = new Set(["S", "R", "A", "F", "K"]);

const isJudge = (ecourt) => ecourt.participant?.role === "presiding_judge";

// The phase: the badge everyone sees, and for the bench the buttons of the moves that exist.
export function showPhase(ecourt, phase) {
  if (!PHASES.includes(phase)) return false;
  ecourt.phase = phase;
  $("phase").textContent = t(`phase.${phase}`);
  $("phase").dataset.phase = phase;
  $("console-phase").textContent = t(`phase.${phase}`);
  const judge = isJudge(ecourt);
  $("end-hearing").disabled = !judge;
  for (const button of document.querySelectorAll("#phase-controls button[data-phase]")) {
    const target = button.dataset.phase;
    button.setAttribute("aria-pressed", String(target === phase));
    button.disabled = !judge || !canMove(phase, target);
  }
  return true;
}

// Recording: "● Recorded" only where the court records (never in a consultation room).
export function showRecording(ecourt, state) {
  if (typeof state !== "string") return;
  ecourt.recording = state;
  const line = $("recording-state");
  const recordedHere = !ecourt.room || RECORDED_ROOMS.includes(ecourt.room.kind);
  const shown = RECORDING.includes(state) && recordedHere;
  line.hidden = !shown;
  line.textContent = shown ? t(`recording.${state}`) : "";
  line.dataset.state = state;
  const known = RECORDING.includes(state) ? state : "off";
  $("console-recording").textContent = t(`console.recording_${known}`);
  const moderator = MODERATORS.has(ecourt.participant?.role);
  $("recording-start").disabled = !moderator || state === "off" || state === "recording";
  $("recording-pause").disabled = !moderator || state !== "recording";
}

// The public stream: every page says when the hearing is live; only the presiding judge opens,
// closes and cuts it.
export function showLivestream(ecourt, stream) {
  if (!stream || typeof stream.state !== "string") return;
  ecourt.livestream = stream;
  const line = $("livestream-state");
  const delay = Math.round(Number(stream.delay) || 0);
  const text = stream.state === "live" ? t("livestream.live", { delay })
    : stream.state === "cut" ? t("livestream.cut") : "";
  line.hidden = !text;
  line.textContent = text;
  line.dataset.state = stream.state;
  const known = ["off", "closed", "live", "cut"].includes(stream.state) ? stream.state : "off";
  $("console-livestream").textContent = t(`console.stream_${known}`, { delay });
  if (stream.state === "live") ecourt.livestreamOpened = true;
  const judge = isJudge(ecourt);
  const available = stream.state !== "off" && ecourt.hearing?.public;
  const sitting = ecourt.phase === "in_session";
  $("livestream-open").disabled = !judge || !available || !sitting || stream.state === "live";
  $("livestream-close").disabled = !judge || stream.state !== "live";
  // after a close the delay line may still hold what the court wants dropped
  $("livestream-cut").disabled = !judge || !ecourt.livestreamOpened || stream.state === "cut";
}

// The clerk has the same console without the presiding judge's orders.
export function showBenchRole(ecourt) {
  const judge = isJudge(ecourt);
  for (const part of document.querySelectorAll("[data-judge-only]")) part.hidden = !judge;
}

// Raised hands in the order this page saw them go up (the roster says only who).
export class Hands {
  constructor(list, emptyNote) {
    this.list = list;
    this.emptyNote = emptyNote;
    this.order = new Map(); // participant id -> when this page first saw the hand up
    this.counter = 0;
    this.raised = [];
  }

  update(roster) {
    const up = new Set(roster.filter((p) => p.hand).map((p) => p.id));
    for (const id of [...this.order.keys()]) if (!up.has(id)) this.order.delete(id);
    for (const id of up) if (!this.order.has(id)) this.order.set(id, (this.counter += 1));
    this.raised = roster.filter((p) => p.hand).sort((a, b) => this.order.get(a.id) - this.order.get(b.id));
  }

  render({ judge, onFloor }) {
    const focusedLabel = this.list.contains(document.activeElement)
      ? document.activeElement.getAttribute("aria-label") : null;
    this.emptyNote.hidden = this.raised.length > 0;
    this.list.replaceChildren(...this.raised.map((entry) => {
      const item = el("li", { "data-participant-id": entry.id });
      const who = el("span", { class: "who" });
      who.append(el("span", { class: "name" }, entry.display_name), el("span", { class: "role" }, roleName(entry.role)));
      item.append(who);
      if (judge && entry.room?.kind === "courtroom" && !entry.floor) {
        const label = t("console.order_who", { order: t("console.give_floor"), name: entry.display_name });
        const give = el("button", { type: "button", "aria-label": label }, t("console.give_floor"));
        give.addEventListener("click", () => onFloor(entry, give));
        item.append(give);
      }
      return item;
    }));
    if (focusedLabel) {
      [...this.list.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === focusedLabel)?.focus();
    }
  }
}

// On a phone the console is a drawer over the courtroom, opened from a button.
export function setupDrawer() {
  const open = $("console-open");
  const drawer = $("console");
  const show = (opened) => {
    drawer.dataset.open = String(opened);
    open.setAttribute("aria-expanded", String(opened));
    if (opened) $("console-heading").focus?.();
    else if (getComputedStyle(open).display !== "none") open.focus();
  };
  $("console-heading").setAttribute("tabindex", "-1");
  open.addEventListener("click", () => show(drawer.dataset.open !== "true"));
  $("console-close").addEventListener("click", () => show(false));
  drawer.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drawer.dataset.open === "true" && !$("confirm").open) show(false);
  });
  return { toggle: () => show(drawer.dataset.open !== "true") };
}

// Alt+Shift+letter for the frequent orders; each button names its keys on hover.
export function setupShortcuts(actions) {
  const buttons = {
    S: () => document.querySelector('#phase-controls button[data-phase="in_session"]'),
    R: () => document.querySelector('#phase-controls button[data-phase="recess"]'),
  };
  for (const [letter, find] of Object.entries(buttons)) find().setAttribute("aria-keyshortcuts", `Alt+Shift+${letter}`);
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey) return;
    const letter = event.code.startsWith("Key") ? event.code.slice(3) : "";
    const action = { S: () => buttons.S().click(), R: () => buttons.R().click(), ...actions }[letter];
    if (!action || !SHORTCUT_KEYS.has(letter)) return;
    event.preventDefault();
    action();
  });
}

// The keys of a shortcut, in the hover text of its button (redrawn with the language).
export function labelShortcuts() {
  for (const button of document.querySelectorAll("#phase-controls button[data-shortcut]")) {
    button.title = t("console.shortcut", { keys: `Alt+Shift+${button.dataset.shortcut}` });
  }
  $("console-open").title = t("console.shortcut", { keys: "Alt+Shift+K" });
}

// The phase, recording and livestream buttons.
export function setupSessionControls(ecourt, consoleRequest) {
  for (const [id, action] of [
    ["livestream-open", "open"],
    ["livestream-close", "close"],
    ["livestream-cut", "cut"],
  ]) {
    $(id).addEventListener("click", async () => {
      if (action === "cut" && !(await confirmAction(t("confirm.cut"), t("console.livestream_cut")))) return;
      const ack = await consoleRequest("livestream", { action });
      if (ack) showLivestream(ecourt, ack.livestream);
    });
  }
  for (const [id, action] of [["recording-start", "start"], ["recording-pause", "pause"]]) {
    $(id).addEventListener("click", async () => {
      const ack = await consoleRequest("recording", { action });
      if (ack) showRecording(ecourt, ack.recording);
    });
  }
  $("end-hearing").addEventListener("click", async () => {
    if (!(await confirmAction(t("confirm.end_hearing"), t("console.end_hearing")))) return;
    await consoleRequest("end_hearing", {});
  });
  for (const button of document.querySelectorAll("#phase-controls button[data-phase]")) {
    button.addEventListener("click", async () => {
      const phase = button.dataset.phase;
      if (button.disabled || !canMove(ecourt.phase, phase)) return;
      if (DANGEROUS_PHASES.has(phase)) {
        const asked = await confirmAction(t(`confirm.phase_${phase}`), button.textContent);
        if (!asked) return;
      }
      await consoleRequest("phase", { phase });
    });
  }
}

