"""Interpretation in Chromium: a listener follows the hearing in English and receives the
English channel; they switch to French in the page's picker and decode the French channel
within a second, the English one gone; the floor plays lowered under a channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright, expect

from signaling.client import HearingClient
from tests.browser_support import (
    BROWSER_TEST,
    chromium,
    eventually,
    first_page,
    join_hearing,
    wait_for_state,
)
from tests.conftest import RunningServer
from tests.livestream_support import ToneAudio
from tests.page_checks import save_screenshots
from web.keys import SIGNALING

pytestmark = BROWSER_TEST

# The page listens to its own channels with Web Audio: an analyser on every channel section's
# track (the track a section carries changes when the server reuses the section), and the
# loudest frequency in each.
TONES_JS = """
() => {
  const e = window.ecourt;
  const ctx = new AudioContext();
  const analysers = new Map();
  window.channelTones = async () => {
    await ctx.resume();
    for (const c of e.channels || []) {
      if (analysers.has(c.mid) || !e.pcs.subscribe) continue;
      const section = e.pcs.subscribe.getTransceivers().find((t) => t.mid === c.mid);
      if (!section) continue;
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 4096;
      analyser.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(new MediaStream([section.receiver.track])).connect(analyser);
      analysers.set(c.mid, analyser);
    }
    const live = new Set((e.channels || []).map((c) => c.mid));
    const found = [];
    for (const [mid, analyser] of analysers) {
      if (!live.has(mid)) continue;
      const data = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(data);
      let best = 1;
      for (let i = 2; i < data.length; i++) if (data[i] > data[best]) best = i;
      found.push({ mid, hz: (best * ctx.sampleRate) / analyser.fftSize, db: data[best] });
    }
    return found;
  };
}
"""

# Choose a language in the picker, then poll every 20 ms until a channel carries the tone;
# the milliseconds it took, measured by the page itself (null after 5 s).
SWITCH_JS = """
async ([language, hz]) => {
  const picker = document.getElementById("listen-language");
  const start = performance.now();
  picker.value = language;
  picker.dispatchEvent(new Event("change"));
  while (performance.now() - start < 5000) {
    const tones = await window.channelTones();
    if (tones.some((t) => Math.abs(t.hz - hz) < 25 && t.db > -70)) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}
"""


async def interpreter(
    server: RunningServer,
    clients: list[HearingClient],
    judge: HearingClient,
    hearing_id: str,
    name: str,
    pair: str,
    language: str,
    hz: float,
) -> str:
    issued = await server.issue_token(hearing_id, "interpreter", name, interpreting=pair)
    client = HearingClient(server.base_url, issued["token"])
    clients.append(client)
    await client.connect()
    await judge.wait_for_waiting(client.participant["id"])
    await judge.admit(client.participant["id"])
    await client.wait_admitted()
    await client.publish(channel=(ToneAudio(hz), language))
    pid = str(client.participant["id"])
    await judge.order_interpretation(pid, mode="simultaneous", on_air=True)
    return pid


async def test_a_listener_who_switches_language_decodes_the_new_channel_within_a_second(
    tmp_path: Path, server: RunningServer, clients: list[HearingClient]
) -> None:
    hearing = await server.create_hearing(
        case_number="07/2026/HS-ST", title="State v. Smith", public=True, languages=["en", "fr"]
    )
    hid = hearing["id"]
    issued = await server.issue_token(hid, "presiding_judge", "Judge Pham")
    judge = HearingClient(server.base_url, issued["token"])
    clients.append(judge)
    await judge.connect()
    await judge.request("phase", {"phase": "in_session"})
    await judge.publish(ToneAudio(440.0))
    anna = await interpreter(server, clients, judge, hid, "Anna", "vi↔en", "en", 660.0)
    cuc = await interpreter(server, clients, judge, hid, "Cuc", "vi↔fr", "fr", 990.0)
    listener = await server.issue_token(hid, "accused", "John Smith", language="en")
    async with (
        async_playwright() as playwright,
        chromium(playwright, tmp_path / "listener-profile") as browser,
    ):
        page = await first_page(browser)
        await join_hearing(page, listener["join_url"])
        await wait_for_state(page, "lobby", "listener")
        await judge.wait_for_waiting(listener["participant_id"])
        await judge.admit(listener["participant_id"])
        await wait_for_state(page, "courtroom", "listener")
        picker = page.locator("#listen-language")
        await expect(picker).to_be_visible()
        await expect(picker).to_have_value("en")

        await page.evaluate(TONES_JS)

        async def hears(hz: float) -> tuple[bool, object]:
            tones: list[dict[str, Any]] = await page.evaluate("window.channelTones()")
            return any(abs(t["hz"] - hz) < 25 and t["db"] > -70 for t in tones), tones

        await eventually(lambda: hears(660.0), "the English channel's tone", 30)
        channels = await page.evaluate("window.ecourt.channels")
        assert [(c["participant_id"], c["kind"]) for c in channels] == [(anna, "channel:en")]
        # the floor plays lowered under the channel (20 % by default)
        assert await page.evaluate("window.ecourt.floorLevel") == 0.2
        await expect(page.locator("#floor-level")).to_be_enabled()
        await page.screenshot(path=str(tmp_path / "listener-en.png"))

        took = await page.evaluate(SWITCH_JS, ["fr", 990.0])
        print(f"language switch until the French channel's tone is heard: {took} ms")
        assert took is not None, "the French channel's tone never came"
        assert took < 1000, f"the French channel's tone came only after {took:.0f} ms"

        async def english_gone() -> tuple[bool, object]:
            channels = await page.evaluate("window.ecourt.channels")
            return [c["participant_id"] for c in channels] == [cuc], channels

        await eventually(english_gone, "only the French channel", 5)
        await save_screenshots(page, "interpretation-listener")

        # an interpreter's page publishes the microphone as their channel and shows when
        # they are on air
        binh = await server.issue_token(hid, "interpreter", "Binh", interpreting="vi↔fr")
        async with chromium(playwright, tmp_path / "interpreter-profile") as second:
            booth = await first_page(second)
            await join_hearing(booth, binh["join_url"])
            await wait_for_state(booth, "lobby", "interpreter")
            await judge.wait_for_waiting(binh["participant_id"])
            await judge.admit(binh["participant_id"])
            await wait_for_state(booth, "courtroom", "interpreter")
            on_air = booth.locator("#on-air")
            await expect(on_air).to_have_text("Ready, not on air: vi↔fr, simultaneous")
            session = server.app[SIGNALING].session(hid)
            assert session is not None

            async def publishes_channel() -> tuple[bool, object]:
                member = session.members.get(binh["participant_id"])
                labels = sorted(t.label for t in member.tracks) if member else []
                return "channel:fr" in labels, labels

            await eventually(publishes_channel, "the interpreter's page publishing its channel")
            await judge.hand_over_interpretation(cuc, binh["participant_id"])
            await expect(on_air).to_have_text("On air: vi↔fr, simultaneous")

            async def floor_mic_off() -> tuple[bool, object]:
                member = session.members.get(binh["participant_id"])
                muted = dict(member.muted) if member else {}
                return muted.get("audio") is True, muted

            await eventually(floor_mic_off, "the interpreter's floor microphone off on air", 10)

            async def binh_heard() -> tuple[bool, object]:
                channels = await page.evaluate("window.ecourt.channels")
                pids = [c["participant_id"] for c in channels]
                members = session.members
                booth_member = members.get(binh["participant_id"])
                viewer = members.get(listener["participant_id"])
                return pids == [binh["participant_id"]], {
                    "page": channels,
                    "court": session.court.interpreters.snapshot(),
                    "booth": [(t.id, t.label, t.stats.received) for t in booth_member.tracks]
                    if booth_member
                    else None,
                    "forwarded": sorted(viewer.subscribe.track_ids)
                    if viewer and viewer.subscribe
                    else None,
                }

            await eventually(binh_heard, "the listener receiving the page interpreter's channel")
            await save_screenshots(booth, "interpretation-interpreter")
