// The courtroom's media: the two legs (docs/protocol.md, "Media"), the page's watch over them,
// and their healing. A leg that failed, closed or went silent is rebuilt; after a network
// change both are; the server's `media_lost` is acted on once.

import { publish, Subscriber } from "./rtc.js";
import { LegWatch } from "./legwatch.js";
import { ecourt, iceServers, page, request } from "./page.js";
import { showError, status } from "./banners.js";

let subscriber = null;
let peersGeneration = 0; // bumped whenever both legs are closed
// Both legs watched: one that failed, closed or went silent is rebuilt (docs/protocol.md).
export const legWatch = new LegWatch((leg) => healMedia(leg));
ecourt.legWatch = legWatch;

// Which pair of legs this is: a new connection (or leaving) closes both and starts another.
export function generation() {
  return peersGeneration;
}

// Publish your camera and microphone (and a shared screen) on a new publish leg.
export function publishOwn() {
  const channel = page.interpretation?.channelToPublish(page.localStream) || null;
  return publish(page.localStream, {
    iceServers: iceServers(), request, screen: page.sharedScreen, channel,
  });
}

export function ensureSubscriber() {
  if (!subscriber) {
    subscriber = new Subscriber({
      iceServers: iceServers(),
      request,
      onTracks: (byParticipant, channels) => {
        ecourt.tracks = [...subscriber.tracks.values()];
        page.tiles.setRemote(byParticipant);
        page.interpretation?.setChannels(channels);
      },
      onError: (err) => showError(err),
    });
    ecourt.pcs.subscribe = subscriber.pc;
    const pc = subscriber.pc;
    const leg = subscriber;
    legWatch.watch("subscribe", pc, () => leg.tracks.size > 0);
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.iceConnectionState === "failed") restartMedia();
    });
  }
  return subscriber;
}

// The server's offer for the subscribe leg; a new leg number means it built a new leg.
export function applySubscribeOffer(data) {
  if (ecourt.state === "left") return;
  if (subscriber && data?.leg !== undefined && data.leg !== subscriber.leg) {
    legWatch.replacing("subscribe");
    subscriber.pc.close(); // the server built a new leg (a media restart): start afresh
    subscriber = null;
  }
  const leg = ensureSubscriber();
  leg.leg = data?.leg;
  leg.offer(data);
}

// The network changed under us (ICE failed): ask for fresh legs, at most every 15 s (the
// server allows 5 renegotiations a minute), and publish again on a new one.
let lastRestart = 0;
async function restartMedia() {
  if (Date.now() - lastRestart < 15000 || ecourt.state !== "courtroom") return;
  lastRestart = Date.now();
  status("status.media_restarting");
  try {
    legWatch.replacing("subscribe");
    await request("restart_media", {});
    legWatch.replacing("publish");
    ecourt.pcs.publish?.close();
    ecourt.pcs.publish = null;
    if (page.localStream && page.localStream.getTracks().length) {
      setPublishing(await publishOwn());
    }
    status("status.in_courtroom");
  } catch (err) {
    showError(err);
  }
}

// The server closed one of our legs as dead (docs/protocol.md, `media_lost`): ask for a new
// subscribe leg, or publish again on a new publish leg. Nothing else changes.
let republishing = false;
export async function healMedia(leg) {
  if (ecourt.state !== "courtroom") return;
  if (leg === "subscribe") {
    legWatch.replacing("subscribe");
    request("restart_media", {}).catch(showError);
    return;
  }
  const stream = page.localStream;
  if (leg !== "publish" || republishing || !stream || !stream.getTracks().length) return;
  republishing = true;
  try {
    legWatch.replacing("publish");
    ecourt.pcs.publish?.close();
    setPublishing(await publishOwn());
  } catch (err) {
    showError(err);
  } finally {
    republishing = false;
  }
}

export function setPublishing(pc) {
  ecourt.pcs.publish = pc;
  legWatch.watch("publish", pc);
}

export function closePeers() {
  peersGeneration += 1;
  subscriber?.close();
  subscriber = null;
  ecourt.pcs.publish?.close();
  ecourt.pcs = { publish: null, subscribe: null };
  legWatch.forget("publish");
  legWatch.forget("subscribe");
  ecourt.tracks = [];
  page.tiles?.clear();
  page.interpretation?.setChannels([]);
}
