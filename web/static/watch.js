// The public viewer: plays /live/{hearing}/index.m3u8 with hls.js (or natively where the browser
// plays HLS itself). Before the stream starts, and after it ends, the playlist is polled; a
// stream opened again is picked up without reloading the page. Its words come from the
// catalogue (i18n.js); the language is chosen in the header and kept in a cookie.

import { languageSwitcher, t, useLanguage } from "/static/i18n.js";

const POLL_MS = 3000;
const ENDED_POLL_MS = 10000;
const hearingId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const url = `/live/${encodeURIComponent(hearingId)}/index.m3u8`;
const video = document.getElementById("stream");
const line = document.getElementById("watch-status");
const watch = { state: "waiting", errors: [], hls: null, starts: 0 };
window.ecourtWatch = watch;

// Literal keys, so that the catalogue test can check each of them.
const TEXT = {
  waiting: () => t("watch.state.waiting"),
  live: () => t("watch.state.live"),
  ended: () => t("watch.state.ended"),
  stopped: () => t("watch.state.stopped"),
  unsupported: () => t("watch.state.unsupported"),
};

// The playlist of a stream the court cut ends with this comment (recording/livestream/delay.py).
const STOPPED_BY_COURT = "# ecourt: stopped by the court";

async function showEnd(text) {
  const last = text ?? (await playlist());
  show(last?.includes(STOPPED_BY_COURT) ? "stopped" : "ended");
}

function show(state) {
  watch.state = state;
  line.textContent = TEXT[state] ? TEXT[state]() : "";
  line.dataset.state = state;
}

async function playlist() {
  try {
    const response = await fetch(url, { cache: "no-store" });
    return response.ok ? await response.text() : null;
  } catch {
    return null; // the network: try again on the next poll
  }
}

function stop() {
  if (watch.hls) {
    watch.hls.destroy();
    watch.hls = null;
  }
}

function start() {
  watch.starts += 1;
  show("live");
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ manifestLoadingMaxRetry: 2, liveDurationInfinity: true });
    watch.hls = hls;
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      watch.errors.push(`${data.type}: ${data.details}`);
      if (data.fatal) {
        stop();
        show("waiting");
        setTimeout(waitForStream, POLL_MS);
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
  } else {
    show("unsupported");
    return;
  }
  video.play().catch(() => {});
}

async function waitForStream() {
  const text = await playlist();
  if (text === null) {
    setTimeout(waitForStream, POLL_MS);
  } else if (text.includes("#EXT-X-ENDLIST")) {
    showEnd(text);
    setTimeout(waitForReopening, ENDED_POLL_MS);
  } else {
    start();
  }
}

async function waitForReopening() {
  const text = await playlist();
  if (text !== null && !text.includes("#EXT-X-ENDLIST")) {
    stop();
    start();
  } else {
    setTimeout(waitForReopening, ENDED_POLL_MS);
  }
}

video.addEventListener("ended", () => {
  showEnd();
  stop();
  setTimeout(waitForReopening, ENDED_POLL_MS);
});

// A new language re-words the status line (the markup's words follow by themselves).
document.addEventListener("ecourt:language", () => show(watch.state));

// The words first (two small files from this server), then the stream.
async function main() {
  try {
    await useLanguage();
  } catch (err) {
    watch.errors.push(`language: ${err.message}`);
  }
  languageSwitcher(document.getElementById("lang"));
  show("waiting");
  waitForStream();
}

main();
