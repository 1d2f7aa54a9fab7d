// What the page says about itself: the step it shows, the status line, notices and errors,
// the connection banner, a link the court will not take, the hearing's name, and the end.

import { has, t } from "./i18n.js";
import { showLinkRefusal } from "./door.js";
import { $, ecourt } from "./page.js";

const STEPS = ["prejoin", "rules", "lobby", "courtroom"];

export function setState(state) {
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
let lastStatus = null; // [key, vars], re-rendered when the language changes
export function status(key, vars = {}, { fleeting = false } = {}) {
  clearTimeout(fleetingTimer);
  if (fleeting) {
    fleetingTimer = setTimeout(() => status(...(steadyStatus || [null])), FLEETING_MS);
  } else {
    steadyStatus = key ? [key, vars] : null;
  }
  lastStatus = key ? [key, vars] : null;
  $("status").textContent = key ? t(key, vars) : "";
}

export function notify(text, target = $("notice")) {
  target.textContent = text;
  target.hidden = !text;
}

export function showError(err, target = $("notice")) {
  const code = err?.code || "error";
  const key = `refusal.${code}`;
  const known = has(key);
  const message = known ? t(key) : err?.message || String(err);
  ecourt.errors.push({ code, message, event: err?.event });
  notify(message, target); // the words only: the code is for the log and the tests
  target.dataset.code = code;
}

let linkRefusal = null;

export function refuseLink(code) {
  linkRefusal = code;
  ecourt.errors.push({ code, message: t(`refusal.${code}`) });
  setState("link_refused");
  status(null);
  showLinkRefusal(code);
  $("link-refused-heading").focus();
}

export function showConnection(state) {
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

export function showHearing() {
  const hearing = ecourt.hearing;
  if (!hearing) return;
  document.title = `${hearing.case_number} · ${hearing.title}`;
  $("hearing-title").textContent = hearing.title;
  $("hearing-case").textContent = t("join.case", { number: hearing.case_number });
}

export function showEnded() {
  const reason = ecourt.leaveReason;
  if (!reason) return;
  const heading = { left: "ended.left_heading", hearing_ended: "ended.ended_heading" }[reason];
  $("ended-heading").textContent = t(heading || "ended.closed_heading");
  const key = `leave.${reason}`;
  $("ended-text").textContent = t(has(key) ? key : "leave.disconnected");
}

// The status line, the refused link and the connection banner, again in the new language.
export function relabelBanners() {
  if (lastStatus) status(...lastStatus);
  showEnded();
  showLinkRefusal(linkRefusal);
  if (ecourt.connection === "reconnecting") showConnection("reconnecting");
}
