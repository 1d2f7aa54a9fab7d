// The pages' words: one catalogue per language (web/static/i18n/<lang>.json), flat keys.
// Elements name their words in the markup:
//   data-i18n="key"                  the element's text
//   data-i18n-attr="aria-label:key"  attributes (several, separated by ";")
// Scripts use t("key", { name: "…" }); "{name}" in the catalogue's text is filled in.
// The choice is kept in the `ecourt_lang` cookie, so the server-rendered docket follows it.

export const LANGUAGES = { en: "English", vi: "Tiếng Việt" };
const COOKIE = "ecourt_lang";
const YEAR_SECONDS = 365 * 24 * 3600;

let current = "en";
let words = {};
let fallback = {};

export function language() {
  return current;
}

// ?lang= first (a link may name it), then the cookie, then the browser's languages.
export function chosenLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked in LANGUAGES) return asked;
  const cookie = document.cookie.split(";").map((c) => c.trim().split("="));
  const kept = cookie.find(([name]) => name === COOKIE)?.[1];
  if (kept in LANGUAGES) return kept;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

async function fetchCatalogue(lang) {
  const response = await fetch(`/static/i18n/${lang}.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`the ${lang} catalogue did not load (${response.status})`);
  return response.json();
}

// Load a language and apply it to the document. English stays loaded as the fallback for a
// key another catalogue lacks (the catalogue test keeps that from happening).
export async function useLanguage(lang = chosenLanguage()) {
  if (!(lang in LANGUAGES)) lang = "en";
  if (!Object.keys(fallback).length) fallback = await fetchCatalogue("en");
  words = lang === "en" ? fallback : await fetchCatalogue(lang);
  current = lang;
  document.documentElement.lang = lang;
  document.cookie = `${COOKIE}=${lang}; path=/; max-age=${YEAR_SECONDS}; SameSite=Lax`;
  translate(document);
  document.dispatchEvent(new CustomEvent("ecourt:language", { detail: { lang } }));
  return lang;
}

export function t(key, vars = {}) {
  const text = words[key] ?? fallback[key];
  if (text === undefined) {
    console.warn(`ecourt: no words for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

export function has(key) {
  return key in words || key in fallback;
}

export function translate(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(";")) {
      const [attribute, key] = pair.split(":").map((s) => s.trim());
      if (attribute && key) node.setAttribute(attribute, t(key));
    }
  }
}

// A <select> of the languages, each option named in its own language.
export function languageSwitcher(select) {
  select.replaceChildren(
    ...Object.entries(LANGUAGES).map(([code, name]) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = name;
      option.selected = code === current;
      return option;
    }),
  );
  select.addEventListener("change", () => useLanguage(select.value));
  document.addEventListener("ecourt:language", ({ detail }) => {
    select.value = detail.lang;
  });
}
