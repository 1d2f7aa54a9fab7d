// The two WebRTC legs of a participant (docs/protocol.md, "Media").
//   publish:   the browser offers sendonly audio + video, the server answers (in the ack).
//   subscribe: the server offers (subscribe_offer), the browser answers (subscribe_answer).
// Neither side trickles: every description is sent after ICE gathering completes.

import { t } from "./i18n.js";

const GATHERING_TIMEOUT_MS = 10000;
const PREFERRED = { audio: "audio/opus", video: "video/VP8" };

// Resolve when ICE gathering is complete. After the timeout, go on with what was gathered.
export function gatheringComplete(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(() => {
      console.warn("ecourt: ICE gathering did not complete; sending the candidates found so far");
      done();
    }, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// Put the codec the protocol names first; keep the others so the server can still choose.
function preferCodec(transceiver, kind) {
  if (typeof transceiver.setCodecPreferences !== "function") return;
  const capabilities = RTCRtpReceiver.getCapabilities(kind);
  if (!capabilities) return;
  const wanted = PREFERRED[kind];
  const codecs = [...capabilities.codecs].sort(
    (a, b) => Number(b.mimeType.toLowerCase() === wanted.toLowerCase()) -
      Number(a.mimeType.toLowerCase() === wanted.toLowerCase()),
  );
  try {
    transceiver.setCodecPreferences(codecs);
  } catch (err) {
    console.warn("ecourt: codec preferences refused", err);
  }
}

// Publish the local tracks, and a shared screen if given (a second video section named by
// `screen_mid`). `request(event, payload)` resolves to the ack or throws.
// An interpreter's channel ({ track, language }) is a second audio section named by
// `channel_mid` (docs/interpretation.md).
export async function publish(stream, { iceServers, request, screen = null, channel = null }) {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    for (const track of stream ? stream.getTracks() : []) {
      const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      preferCodec(transceiver, track.kind);
    }
    let shared = null;
    if (screen) {
      shared = pc.addTransceiver(screen, { direction: "sendonly" });
      preferCodec(shared, "video");
    }
    let interpreted = null;
    if (channel) {
      interpreted = pc.addTransceiver(channel.track, { direction: "sendonly" });
      preferCodec(interpreted, "audio");
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const offer = { sdp: pc.localDescription.sdp, type: "offer" };
    if (shared) offer.screen_mid = shared.mid;
    if (interpreted) Object.assign(offer, { channel_mid: interpreted.mid, channel_language: channel.language });
    const ack = await request("publish", offer);
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    return pc;
  } catch (err) {
    pc.close();
    throw err;
  }
}

// The receiving leg. Offers are applied one at a time; a newer offer replaces any offer still
// queued, since the server supersedes it anyway.
export class Subscriber {
  constructor({ iceServers, request, onTracks, onError }) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.request = request;
    this.onTracks = onTracks;
    this.onError = onError;
    this.tracks = new Map(); // mid -> TrackInfo
    this.version = -1;
    this.queued = null;
    this.running = false;
  }

  offer(message) {
    this.queued = message;
    if (!this.running) this.drain();
  }

  async drain() {
    this.running = true;
    try {
      while (this.queued) {
        const message = this.queued;
        this.queued = null;
        try {
          await this.apply(message);
        } catch (err) {
          if (err.code !== "stale_answer") this.onError(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  async apply({ sdp, version, tracks }) {
    if (this.pc.signalingState === "closed" || version <= this.version) return;
    this.version = version;
    this.tracks = new Map((tracks || []).map((info) => [info.mid, info]));
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await gatheringComplete(this.pc);
    this.onTracks(this.participants(), this.channels());
    await this.request("subscribe_answer", {
      sdp: this.pc.localDescription.sdp,
      type: "answer",
      version,
    });
  }

  // participant_id -> { info, tracks: [MediaStreamTrack] }, matched by transceiver mid.
  participants() {
    const byParticipant = new Map();
    for (const transceiver of this.pc.getTransceivers()) {
      const info = transceiver.mid === null ? undefined : this.tracks.get(transceiver.mid);
      if (!info || isChannel(info)) continue;
      // a shared screen gets a tile of its own
      const screen = info.kind === "screen";
      const key = screen ? `${info.participant_id}:screen` : info.participant_id;
      let entry = byParticipant.get(key);
      if (!entry) {
        const shown = screen ? { ...info, display_name: t("court.shared_screen", { name: info.display_name }) } : info;
        entry = { info: shown, tracks: [] };
        byParticipant.set(key, entry);
      }
      entry.tracks.push(transceiver.receiver.track);
    }
    return byParticipant;
  }

  // The interpreters' channels forwarded to us: [{ info, track }], kept out of the tiles.
  channels() {
    const found = [];
    for (const transceiver of this.pc.getTransceivers()) {
      const info = transceiver.mid === null ? undefined : this.tracks.get(transceiver.mid);
      if (info && isChannel(info)) found.push({ info, track: transceiver.receiver.track });
    }
    return found;
  }

  close() {
    this.queued = null;
    this.pc.close();
  }
}

function isChannel(info) {
  return String(info.kind).startsWith("channel:");
}
