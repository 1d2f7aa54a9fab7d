// The page's watch over its own two legs (docs/protocol.md, "Healing media"), as the Python
// client keeps it (signaling/client_watch.py): a leg whose connection failed or closed, or
// that stopped hearing from the server, is rebuilt through `rebuild(leg, reason)`, with a
// pause that doubles between attempts on the same leg. What a healthy leg hears: the server's
// RTCP about once a second on the publish leg and on a subscribe leg that carries a track;
// ICE consent checks about every 5 s on any leg.

export const WATCH_RULES = {
  mediaSilenceMs: 4000, // a leg that carried media and then hears none for this long is dead
  quietSilenceMs: 12000, // a leg with nothing to carry that hears nothing at all for this long
  firstRetryMs: 2000,
  longestRetryMs: 16000,
  everyMs: 1000,
};

// What the leg has heard so far, from its statistics: every byte and every STUN message.
async function heardSoFar(pc) {
  let media = 0;
  let any = 0;
  const stats = await pc.getStats();
  stats.forEach((entry) => {
    if (entry.type === "transport") media += entry.bytesReceived || 0;
    if (entry.type === "candidate-pair") {
      any += (entry.requestsReceived || 0) + (entry.responsesReceived || 0);
      any += entry.consentRequestsReceived || 0;
    }
    if (entry.type === "inbound-rtp") media += entry.packetsReceived || 0;
  });
  return { media, any: any + media };
}

export class LegWatch {
  constructor(rebuild, rules = WATCH_RULES) {
    this.rules = rules;
    this.rebuild = rebuild;
    this.legs = new Map(); // leg -> {pc, since, carries, heard, heardAt, mediaAt}
    this.delay = { publish: rules.firstRetryMs, subscribe: rules.firstRetryMs };
    this.notBefore = { publish: 0, subscribe: 0 };
    this.awaiting = new Map(); // leg -> since when the page replaces it itself
    this.rebuilds = []; // [leg, reason] of every rebuild asked for (tests read it)
    this.timer = null;
    this.looking = false;
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this.look(), this.rules.everyMs);
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
    this.legs.clear();
  }

  // A new connection for `leg`; `carries()` says whether it should carry media now.
  watch(leg, pc, carries = () => true) {
    const now = performance.now();
    this.awaiting.delete(leg);
    this.legs.set(leg, { pc, since: now, carries, heard: null, heardAt: null, mediaAt: null, carriesFrom: null });
  }

  forget(leg) {
    this.legs.delete(leg);
    this.awaiting.delete(leg);
  }

  // The page replaces this leg itself (a restart, a new publication): its old connection,
  // about to close, is no longer judged; if no new one comes within the quiet silence, the
  // leg is rebuilt.
  replacing(leg) {
    this.legs.delete(leg);
    if (leg in this.notBefore && !this.awaiting.has(leg)) this.awaiting.set(leg, performance.now());
  }

  // The server closed this leg (`media_lost`): true if it should be rebuilt now.
  lost(leg) {
    const now = performance.now();
    if (!(leg in this.notBefore) || now < this.notBefore[leg]) return false;
    this.putOff(leg, now);
    return true;
  }

  putOff(leg, now) {
    this.notBefore[leg] = now + this.delay[leg];
    this.delay[leg] = Math.min(2 * this.delay[leg], this.rules.longestRetryMs);
    const watched = this.legs.get(leg);
    if (watched) watched.since = now;
  }

  verdict(watched, now) {
    const state = watched.pc.connectionState;
    if (state === "failed" || state === "closed") return state;
    const { mediaAt, carriesFrom, since } = watched;
    if (carriesFrom !== null && mediaAt !== null && mediaAt >= since) {
      return now - Math.max(mediaAt, carriesFrom) > this.rules.mediaSilenceMs ? "silent" : null;
    }
    const last = watched.heardAt === null ? since : Math.max(watched.heardAt, since);
    return now - last > this.rules.quietSilenceMs ? "silent" : null;
  }

  async look() {
    if (this.looking) return;
    this.looking = true;
    try {
      for (const [leg, since] of [...this.awaiting]) {
        const now = performance.now();
        if (now - since <= this.rules.quietSilenceMs || now < this.notBefore[leg]) continue;
        this.awaiting.set(leg, now);
        this.putOff(leg, now);
        this.rebuilds.push([leg, "not_replaced"]);
        await this.rebuild(leg, "not_replaced");
      }
      for (const [leg, watched] of [...this.legs]) {
        const now = performance.now();
        try {
          const heard = await heardSoFar(watched.pc);
          if (watched.heard === null || heard.any > watched.heard.any) watched.heardAt = now;
          if (watched.heard !== null && heard.media > watched.heard.media) watched.mediaAt = now;
          watched.heard = heard;
        } catch {
          // a closed connection has no statistics: its state says it all
        }
        if (!watched.carries()) watched.carriesFrom = null;
        else if (watched.carriesFrom === null) watched.carriesFrom = now;
        if (watched.mediaAt !== null && watched.mediaAt >= watched.since) {
          this.delay[leg] = this.rules.firstRetryMs; // it carried media: start over
        }
        const reason = this.verdict(watched, now);
        if (reason === null || now < this.notBefore[leg] || this.legs.get(leg) !== watched) continue;
        this.putOff(leg, now);
        this.rebuilds.push([leg, reason]);
        await this.rebuild(leg, reason);
      }
    } finally {
      this.looking = false;
    }
  }
}
