// Interpretation on the participant page (docs/interpretation.md): the language you follow
// the hearing in (the server then forwards you the channels of that language), the level of
// the floor under a channel, the channels themselves (one <audio> each, outside the tiles),
// and an interpreter's own state: on air or ready, and their channel to publish.

import { t, language as pageLanguage } from "./i18n.js";
import { ecourt, page, request } from "./page.js";
import { el } from "./view.js";
import { toggle } from "./controls.js";

const DEFAULT_FLOOR_LEVEL = 0.2; // the floor under a channel: 20 %, or muted (docs/interpretation.md)

function languageName(tag) {
  try {
    const names = new Intl.DisplayNames([pageLanguage()], { type: "language" });
    const name = names.of(tag);
    return name && name !== tag ? `${name} (${tag})` : tag;
  } catch {
    return tag;
  }
}

export class Interpretation {
  constructor({ box, picker, level, onAir, channels, tiles }) {
    this.box = box;
    this.picker = picker;
    this.level = level;
    this.onAir = onAir;
    this.channelsBox = channels;
    this.tiles = tiles;
    this.channels = new Map(); // mid -> { info, track, audio }
    this.floorLevel = DEFAULT_FLOOR_LEVEL;
    level.value = String(Math.round(this.floorLevel * 100));
    picker.addEventListener("change", () => this.choose(picker.value));
    level.addEventListener("input", () => {
      this.floorLevel = Number(level.value) / 100;
      this.applyFloorLevel();
    });
    ecourt.channels = [];
  }

  // The welcome: the hearing's languages, and an interpreter's pair.
  setHearing(hearing, interpreting) {
    this.hearing = hearing;
    this.interpreting = interpreting || null;
    const languages = [hearing?.language || "vi", ...(hearing?.languages || [])];
    this.box.hidden = languages.length < 2;
    this.picker.replaceChildren(...languages.map((tag) => el("option", { value: tag }, languageName(tag))));
    this.picker.value = this.mine() || languages[0];
  }

  mine() {
    return ecourt.roster.find((p) => p.id === ecourt.participant?.id)?.language || null;
  }

  async choose(language) {
    this.picker.disabled = true;
    try {
      await request("language", { language });
    } catch (err) {
      this.picker.value = this.mine() || this.picker.value;
      ecourt.errors.push(err.code);
    } finally {
      this.picker.disabled = false;
    }
  }

  // An interpreter publishes their microphone a second time, as the channel of the pair's
  // language that is not the court language.
  channelToPublish(stream) {
    if (!this.interpreting) return null;
    const mic = stream?.getAudioTracks()[0];
    if (!mic) return null;
    const [first, second] = this.interpreting.split("↔");
    const court = this.hearing?.language || "vi";
    return { track: mic.clone(), language: first === court ? second : first };
  }

  // The forwarded channels: [{ info, track }] from the subscribe offer.
  setChannels(list) {
    const live = new Set(list.map(({ info }) => info.mid));
    for (const [mid, entry] of this.channels) {
      if (!live.has(mid)) {
        entry.audio.srcObject = null;
        entry.audio.remove();
        this.channels.delete(mid);
      }
    }
    for (const { info, track } of list) {
      let entry = this.channels.get(info.mid);
      if (!entry) {
        const audio = el("audio", { autoplay: "", "data-mid": info.mid });
        this.channelsBox.append(audio);
        entry = { info, track: null, audio };
        this.channels.set(info.mid, entry);
      }
      entry.info = info;
      if (entry.track !== track) {
        entry.track = track;
        entry.audio.srcObject = new MediaStream([track]);
        entry.audio.play().catch(() => {});
      }
      entry.audio.dataset.participantId = info.participant_id;
      entry.audio.dataset.kind = info.kind;
    }
    ecourt.channels = [...this.channels.values()].map(({ info }) => ({
      mid: info.mid, participant_id: info.participant_id, kind: info.kind,
    }));
    this.applyFloorLevel();
  }

  // Under a channel the floor plays at the chosen level; without one, at full volume.
  applyFloorLevel() {
    const level = this.channels.size ? this.floorLevel : 1;
    for (const video of this.tiles.querySelectorAll(".tile:not([data-self='true']) video")) {
      video.volume = level;
    }
    this.level.disabled = this.channels.size === 0;
    ecourt.floorLevel = level;
  }

  // The roster: your language as the server keeps it, and an interpreter's own state.
  updateRoster() {
    const language = this.mine();
    if (language && !this.picker.disabled) this.picker.value = language;
    const me = ecourt.roster.find((p) => p.id === ecourt.participant?.id);
    const mine = me?.interpreting;
    this.onAir.hidden = !mine;
    if (mine) {
      const words = { pair: mine.pair, mode: t(`interp.mode.${mine.mode}`) };
      this.onAir.textContent = t(mine.on_air ? "interp.on_air" : "interp.off_air", words);
      this.onAir.dataset.onAir = String(mine.on_air);
    }
    this.keepFloorQuiet(Boolean(mine?.on_air && mine.mode !== "consecutive"));
    this.applyFloorLevel();
  }

  // On air in a channel, an interpreter's floor microphone is switched off (the court hears
  // the floor, not both languages at once); back to the floor, it is switched on again if it
  // was this that switched it off.
  keepFloorQuiet(interpreting) {
    const mic = page.localStream?.getAudioTracks()[0];
    if (interpreting && mic?.enabled && !this.quietedFloor) {
      this.quietedFloor = true;
      toggle("audio");
    } else if (!interpreting && this.quietedFloor) {
      this.quietedFloor = false;
      if (mic && !mic.enabled) toggle("audio");
    }
  }

  relabel() {
    for (const option of this.picker.options) option.textContent = languageName(option.value);
    this.updateRoster();
  }
}
