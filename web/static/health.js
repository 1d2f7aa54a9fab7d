// Media health (docs/protocol.md, "Media health"): the server says how each person's camera
// and microphone reach the court. The judge and the clerk get a coloured dot and a word on
// each roster line and tile; a person gets a banner about their own connection.

import { t } from "./i18n.js";

const WORST_FIRST = ["reconnecting", "frozen", "no_media", "weak", "live"];
const WORD = () => ({
  live: t("health.live"),
  weak: t("health.weak"),
  frozen: t("health.frozen"),
  no_media: t("health.no_media"),
  reconnecting: t("health.reconnecting"),
});
const OWN = () => ({
  weak: t("health.own_weak"),
  frozen: t("health.own_frozen"),
  no_media: t("health.own_no_media"),
  reconnecting: t("health.own_reconnecting"),
});

// The worse of a person's camera and microphone; null when the server says nothing.
export function worstHealth(health) {
  if (!health || typeof health !== "object") return null;
  const states = [health.audio, health.video].filter((s) => WORST_FIRST.includes(s));
  if (!states.length) return null;
  return WORST_FIRST.find((state) => states.includes(state));
}

function badge(health) {
  const state = worstHealth(health);
  const words = WORD();
  const span = document.createElement("span");
  span.className = `health health-${state}`;
  span.dataset.health = state;
  const dot = document.createElement("span");
  dot.className = "health-dot";
  dot.setAttribute("aria-hidden", "true");
  const word = document.createElement("span");
  word.className = "health-word";
  word.textContent = words[state];
  span.title = t("health.detail", {
    camera: words[health.video] || "–",
    microphone: words[health.audio] || "–",
  });
  span.append(dot, word);
  return span;
}

// Put a badge on every element of `container` that stands for a person in `entries`
// (`data-participant-id`), inside its plate if it has one; remove stale ones.
export function showHealth(container, entries) {
  if (!container) return;
  for (const old of container.querySelectorAll(".health")) old.remove();
  for (const entry of entries) {
    if (!worstHealth(entry.health)) continue;
    const selector = `[data-participant-id="${CSS.escape(entry.id)}"]`;
    for (const item of container.querySelectorAll(selector)) {
      (item.querySelector(".plate") || item).append(badge(entry.health));
    }
  }
}

// The banner about one's own connection: shown unless both kinds are live (or unknown).
export function showOwnHealth(banner, health) {
  if (!banner) return;
  const state = worstHealth(health);
  const text = state && state !== "live" ? OWN()[state] : "";
  banner.hidden = !text;
  banner.textContent = text;
  banner.dataset.health = state || "";
}
