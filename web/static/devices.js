// Before joining: choose the camera and microphone, preview them, watch the microphone's level,
// and test the connection to the court's media server (ICE reachable, round-trip time).

import { t } from "./i18n.js";
import { gatheringComplete } from "./rtc.js";

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
const METER_MS = 100;
const PINGS = 5;
const PING_TIMEOUT_MS = 2000;
const OPEN_TIMEOUT_MS = 10000;

export class DeviceCheck {
  constructor({ preview, camera, microphone, meter, note }) {
    Object.assign(this, { preview, camera, microphone, meter, note });
    this.stream = null;
    this.level = 0; // the microphone's level now, 0..1
    this.peak = 0; // the highest level seen
    this.audio = null;
    this.timer = null;
    this.error = null;
    camera.addEventListener("change", () => this.open());
    microphone.addEventListener("change", () => this.open());
  }

  // Open the chosen devices (the defaults at first) and fill the two lists.
  async open() {
    const audioId = this.microphone.value;
    const videoId = this.camera.value;
    for (const track of this.stream?.getTracks() || []) track.stop();
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: audioId ? { deviceId: { exact: audioId } } : true,
        video: videoId ? { ...VIDEO, deviceId: { exact: videoId } } : VIDEO,
      });
      this.error = null;
      this.note.textContent = t("devices.ready");
    } catch (err) {
      this.stream = null;
      this.error = err.name || "error";
      this.note.textContent = t("devices.failed", { error: this.error });
    }
    this.preview.srcObject = this.stream;
    await this.listDevices();
    this.watchLevel();
    return this.stream;
  }

  async listDevices() {
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      devices = [];
    }
    const inUse = (kind) => this.stream?.getTracks().find((x) => x.kind === kind)?.getSettings().deviceId;
    fill(this.camera, devices.filter((d) => d.kind === "videoinput"), inUse("video"), "devices.camera_n");
    fill(this.microphone, devices.filter((d) => d.kind === "audioinput"), inUse("audio"), "devices.microphone_n");
  }

  // The level meter: RMS of the microphone's signal, every 100 ms.
  watchLevel() {
    this.stopLevel();
    const track = this.stream?.getAudioTracks()[0];
    if (!track || typeof AudioContext !== "function") return;
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.audio = audio;
    // a page may not start audio before a gesture: resume on the first one
    const resume = () => audio.state === "suspended" && audio.resume().catch(() => {});
    resume();
    document.addEventListener("pointerdown", resume, { once: true });
    document.addEventListener("keydown", resume, { once: true });
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // -60 dBFS (silence) .. 0 dBFS (full scale), as a fraction
      const db = 20 * Math.log10(Math.sqrt(sum / samples.length) || 1e-9);
      this.level = Math.max(0, Math.min(1, (db + 60) / 60));
      this.peak = Math.max(this.peak, this.level);
      this.meter.value = this.level;
    }, METER_MS);
  }

  stopLevel() {
    clearInterval(this.timer);
    this.timer = null;
    this.audio?.close().catch(() => {});
    this.audio = null;
    this.level = 0;
    this.meter.value = 0;
  }

  // Joining takes the stream over; the check only stops its meter and preview.
  handOver() {
    this.stopLevel();
    this.preview.srcObject = null;
    const stream = this.stream;
    this.stream = null;
    return stream;
  }
}

function fill(select, devices, current, numberedKey) {
  const chosen = select.value || current || "";
  select.replaceChildren(
    ...devices.map((device, i) => {
      const option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || t(numberedKey, { n: i + 1 });
      option.selected = device.deviceId === chosen;
      return option;
    }),
  );
  select.disabled = devices.length === 0;
}

function checkUrl(hearingId) {
  return `/api/hearings/${encodeURIComponent(hearingId)}/connection-check`;
}

// What the page learns with its link before joining (GET on the connection check): the hearing
// the link opens, and the STUN and TURN servers to test through. Resolves to
// { hearing, iceServers } or, refused or unreachable, to a check result ({ state, code }).
export async function beforeJoining(hearingId, token) {
  try {
    const response = await fetch(checkUrl(hearingId), {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
    });
    if (!response.ok) return refused(response);
    const body = await response.json();
    return {
      hearing: body.hearing || null,
      iceServers: Array.isArray(body.ice_servers) ? body.ice_servers : [],
    };
  } catch (err) {
    return { state: "unreachable", rtt: null, code: err?.message || "error" };
  }
}

// The connection check: a data channel to the server (POST /api/hearings/{id}/connection-check,
// with the join token), offered through `iceServers`, then PINGS echoes. Resolves to
// { state, rtt } where state is "reachable", "unreachable" or "refused" (with the server's code).
export async function checkConnection(hearingId, token, iceServers) {
  const url = checkUrl(hearingId);
  const headers = { Authorization: `Bearer ${token}` };
  const pc = new RTCPeerConnection({ iceServers });
  try {
    const channel = pc.createDataChannel("probe");
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: "offer" }),
      cache: "no-store",
    });
    if (!response.ok) return refused(response);
    const answer = await response.json();
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await opened(channel);
    const rtts = [];
    for (let n = 0; n < PINGS; n += 1) rtts.push(await ping(channel, n));
    rtts.sort((a, b) => a - b);
    return { state: "reachable", rtt: Math.round(rtts[Math.floor(rtts.length / 2)]), code: null };
  } catch (err) {
    return { state: "unreachable", rtt: null, code: err?.message || "error" };
  } finally {
    pc.close();
  }
}

async function refused(response) {
  const body = await response.json().catch(() => ({}));
  return { state: "refused", code: body?.error?.code || String(response.status), rtt: null };
}

function opened(channel) {
  if (channel.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("ice_timeout")), OPEN_TIMEOUT_MS);
    channel.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function ping(channel, n) {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const tag = `ping ${n} ${sent}`;
    const timer = setTimeout(() => {
      channel.removeEventListener("message", onMessage);
      reject(new Error("echo_timeout"));
    }, PING_TIMEOUT_MS);
    const onMessage = (event) => {
      if (event.data !== tag) return;
      clearTimeout(timer);
      channel.removeEventListener("message", onMessage);
      resolve(performance.now() - sent);
    };
    channel.addEventListener("message", onMessage);
    channel.send(tag);
  });
}
