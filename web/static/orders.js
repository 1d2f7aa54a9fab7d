// The judge's and clerk's orders from the console: the lobby's admit, deny and write, the orders of
// each person's menu (with a confirmation where they are dangerous), the floor to a raised
// hand, and each person's media health on the roster and the tiles.

import { t } from "./i18n.js";
import { renderQueue } from "./view.js";
import { confirmAction, renderRoster } from "./console.js";
import { showHealth, showOwnHealth } from "./health.js";
import { $, MODERATORS, ecourt, page, request } from "./page.js";
import { notify, showError, status } from "./banners.js";
import { labelComposer, writeTo } from "./lobby.js";
import { openAnonymityDialog } from "./anonymity.js";

export async function consoleRequest(event, payload) {
  notify("", $("console-error"));
  try {
    return await request(event, payload);
  } catch (err) {
    showError(err, $("console-error"));
    return null;
  }
}

export function renderConsole() {
  if (!ecourt.participant || !MODERATORS.has(ecourt.participant.role)) return;
  renderQueue($("queue"), $("queue-empty"), ecourt.lobby, {
    onAdmit: (participant, buttons) => moderate("admit", participant, buttons),
    onDeny: (participant, buttons) => moderate("deny", participant, buttons),
    onWrite: writeTo,
  });
  labelComposer();
  renderRoster($("roster"), ecourt.roster, ecourt.participant.id, {
    actorRole: ecourt.participant.role,
    onOrder: order,
  });
  page.hands.update(ecourt.roster);
  page.hands.render({
    judge: ecourt.participant.role === "presiding_judge",
    onFloor: (entry, button) => order("floor", { participant_id: entry.id, granted: true }, entry, button, null),
  });
}

// How each person's media reaches the court: on the bench's roster and tiles, and one's own.
export function showMediaHealth() {
  const own = ecourt.roster.find((p) => p.id === ecourt.participant?.id);
  showOwnHealth($("own-health"), ecourt.state === "courtroom" ? own?.health : null);
  if (!ecourt.participant || !MODERATORS.has(ecourt.participant.role)) return;
  showHealth($("roster"), ecourt.roster);
  showHealth($("tiles"), ecourt.roster);
}

async function order(event, payload, entry, control, dangerous) {
  if (event === "anonymity") {
    openAnonymityDialog(entry);
    return;
  }
  if (dangerous) {
    const asked = await confirmAction(t("confirm.order", { order: dangerous, name: entry.display_name }), dangerous);
    if (!asked) return;
  }
  control.disabled = true;
  try {
    await request(event, payload);
  } catch (err) {
    // a witness whose camera does not reach the court: called only if the judge confirms
    // they testify by audio only (docs/protocol.md, `witness_without_media`)
    if (err?.code !== "witness_without_media") showError(err, $("console-error"));
    else if (await confirmAction(t("confirm.audio_only", { name: entry.display_name }), t("console.audio_only"))) {
      await consoleRequest(event, { ...payload, audio_only: true });
    }
  }
  control.disabled = false;
}

async function moderate(event, participant, buttons) {
  for (const button of buttons) button.disabled = true;
  if (await consoleRequest(event, { participant_id: participant.id })) {
    const key = event === "admit" ? "status.admitted_who" : "status.denied_who";
    status(key, { name: participant.display_name }, { fleeting: true });
  } else {
    for (const button of buttons) button.disabled = false;
  }
}
