// The presiding judge's anonymity order (docs/anonymity.md): a dialog with the pseudonym, the
// screening, the voice and who receives the masked form, and a live preview of what the masked
// side sees, drawn from the witness's tile the way the server masks (the whole frame: shrunk and
// blown up again, or a flat field). The server decides and masks; the preview only shows.

import { t } from "./i18n.js";
import { $, request } from "./page.js";
import { notify, showError, status } from "./banners.js";

const AUDIENCES = ["accused", "parties", "lawyers", "observers", "public_stream"];
const CELLS = { pixelate: 12, blur: 8 };
let previewing = 0;

// The order's entry in a moderator's menu (the presiding judge only).
export function anonymityOrders(entry, judge) {
  if (!judge || ["presiding_judge", "judge", "clerk", "observer"].includes(entry.role)) return [];
  return [["console.anonymity", "anonymity", { participant_id: entry.id }]];
}

export function openAnonymityDialog(entry) {
  const dialog = $("anonymity");
  const form = $("anonymity-form");
  const order = entry.anonymity || {};
  $("anonymity-heading").textContent = t("anonymity.heading", { name: entry.display_name });
  form.elements.pseudonym.value = order.pseudonym || "";
  form.elements.screening.value = order.screening || "pixelate";
  form.elements.voice.value = order.voice || "modulated";
  const named = new Set(order.masked_from || ["accused", "parties", "lawyers", "observers", "public_stream"]);
  for (const audience of AUDIENCES) form.elements[`to_${audience}`].checked = named.has(audience);
  $("anonymity-discharge").hidden = !entry.anonymity;
  notify("", $("anonymity-error"));
  const draw = startPreview(entry.id, form);
  const close = () => {
    previewing += 1; // stops the preview loop
    form.removeEventListener("submit", onSubmit);
    $("anonymity-cancel").removeEventListener("click", onCancel);
    $("anonymity-discharge").removeEventListener("click", onDischarge);
    if (dialog.open) dialog.close();
  };
  const onSubmit = async (event) => {
    event.preventDefault();
    const payload = {
      participant_id: entry.id,
      pseudonym: form.elements.pseudonym.value.trim(),
      screening: form.elements.screening.value,
      voice: form.elements.voice.value,
      masked_from: AUDIENCES.filter((a) => form.elements[`to_${a}`].checked),
    };
    try {
      await request("anonymity_order", payload);
      status("anonymity.made", { pseudonym: payload.pseudonym }, { fleeting: true });
      close();
    } catch (err) {
      showError(err, $("anonymity-error"));
    }
  };
  const onCancel = () => close();
  const onDischarge = async () => {
    try {
      await request("discharge_anonymity", { participant_id: entry.id });
      status("anonymity.discharged", { name: entry.display_name }, { fleeting: true });
      close();
    } catch (err) {
      showError(err, $("anonymity-error"));
    }
  };
  form.addEventListener("submit", onSubmit);
  $("anonymity-cancel").addEventListener("click", onCancel);
  $("anonymity-discharge").addEventListener("click", onDischarge);
  form.elements.screening.addEventListener("change", draw);
  dialog.showModal();
  form.elements.pseudonym.focus();
}

// Draws the witness's tile, masked, about ten times a second while the dialog is open.
function startPreview(participantId, form) {
  const run = ++previewing;
  const canvas = $("anonymity-preview");
  const context = canvas.getContext("2d");
  const small = document.createElement("canvas");
  const tile = document.querySelector(`#tiles [data-participant-id="${CSS.escape(participantId)}"] video`);
  const draw = () => {
    const screening = form.elements.screening.value;
    canvas.dataset.screening = screening;
    const { width, height } = canvas;
    const live = tile && tile.videoWidth > 0;
    if (screening === "silhouette" || screening === "hidden" || !live) {
      context.fillStyle = screening === "hidden" ? "#000" : "#6e6e6e";
      if (screening === "none" && !live) context.fillStyle = "#333";
      context.fillRect(0, 0, width, height);
      return;
    }
    if (screening === "none") {
      context.drawImage(tile, 0, 0, width, height);
      return;
    }
    small.width = CELLS[screening];
    small.height = Math.max(2, Math.round((CELLS[screening] * height) / width));
    small.getContext("2d").drawImage(tile, 0, 0, small.width, small.height);
    context.imageSmoothingEnabled = screening === "blur";
    context.drawImage(small, 0, 0, width, height);
  };
  const loop = () => {
    if (run !== previewing) return;
    draw();
    setTimeout(loop, 100);
  };
  loop();
  return draw;
}
