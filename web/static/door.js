// The door of the hearing: what a person sees before the courtroom. Who the link is for (to
// greet), a link the court will not take, the connection check's result, and in the lobby the
// place in the queue and when the hearing is scheduled. Display only: hearing.js decides.

import { has, language, t } from "./i18n.js";
import { roleName } from "./view.js";

const $ = (id) => document.getElementById(id);

// A link the court will not take (forged, expired, revoked, for another hearing, denied, a
// hearing that ended) is refused on the first page, before any camera opens: the reason in
// plain words and how to reach the court (ECOURT_COURT_CONTACT, in the page's <meta>).
export const LINK_REFUSALS = new Set([
  "token_missing", "token_malformed", "token_forged", "token_expired", "token_revoked",
  "token_wrong_hearing", "unknown_hearing", "hearing_ended", "denied",
]);

export function showLinkRefusal(code) {
  if (!code) return;
  $("link-refused").dataset.code = code;
  $("link-refused-reason").textContent = t(`refusal.${code}`);
  const contact = document.querySelector('meta[name="court-contact"]')?.content.trim();
  $("link-refused-contact").textContent = contact
    ? t("link.contact", { contact }) : t("link.contact_unknown");
}

// Who the link is for, read from the token's payload only to greet: the server decides.
function tokenHolder(token) {
  try {
    const part = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims.n === "string" && typeof claims.r === "string" ? claims : null;
  } catch {
    return null;
  }
}

export function showGreeting(token) {
  const holder = tokenHolder(token);
  $("greeting").hidden = !holder;
  if (holder) $("greeting").textContent = t("devices.greeting", { name: holder.n, role: roleName(holder.r) });
}

export function showConnectionCheck({ state, rtt, code }) {
  const line = $("connection-result");
  line.dataset.result = state;
  if (state === "pending") line.textContent = t("devices.checking");
  else if (state === "reachable") {
    line.textContent = t(rtt > 300 ? "devices.reachable_slow" : "devices.reachable", { rtt });
  } else if (state === "refused") {
    const key = `refusal.${code}`;
    line.textContent = t("devices.refused", { reason: has(key) ? t(key) : t("result.other") });
  } else line.textContent = t("devices.unreachable");
}

// A moment at the court's time (ECOURT_TIME_ZONE, in the page's <meta>), in the page's language.
export function courtTime(at, style = { dateStyle: "long", timeStyle: "short" }) {
  const timeZone = document.querySelector('meta[name="court-time-zone"]')?.content || undefined;
  try {
    return new Intl.DateTimeFormat(language() === "vi" ? "vi-VN" : "en-GB", { ...style, timeZone }).format(at);
  } catch {
    return at.toLocaleString(); // an unknown zone: the browser's own
  }
}

// When the hearing is scheduled, at the court's time.
export function showScheduled(hearing) {
  const line = $("lobby-scheduled");
  const at = new Date(hearing?.scheduled_at || "");
  line.hidden = Number.isNaN(at.getTime());
  if (line.hidden) return;
  line.textContent = t("lobby.scheduled", { when: courtTime(at) });
}

// Your place in the lobby's queue; null for a value that is not one.
export function showLobbyPosition(data) {
  const position = Number(data?.position);
  const waiting = Number(data?.waiting);
  if (!Number.isInteger(position) || position < 1) return null;
  $("lobby-position").textContent = t("lobby.position", { position, waiting });
  return { position, waiting };
}
