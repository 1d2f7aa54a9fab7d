// The exhibit presented to the room (docs/exhibits.md). The server says what is on screen
// (`exhibit_shown`: number, page, zoom, pointer, or null); the page itself comes from the page
// endpoint, one at a time, with the join token. pdf.js draws a PDF page (cut out by the server
// as a one-page PDF); an image is drawn as it is. Nothing is kept once the exhibit is taken down.
import { t } from "./i18n.js";

const WIDTH = 960; // CSS pixels of a page at zoom 1; the sheet scrolls when zoomed in

let pdfjs = null;

async function loadPdfJs() {
  if (pdfjs === null) {
    pdfjs = await import("/static/vendor/pdf.min.mjs");
    pdfjs.GlobalWorkerOptions.workerSrc = "/static/vendor/pdf.worker.min.mjs";
  }
  return pdfjs;
}

export class ExhibitView {
  constructor(root, { hearingId, token }) {
    this.root = root;
    this.hearingId = hearingId;
    this.token = token;
    this.caption = root.querySelector("#exhibit-caption");
    this.canvas = root.querySelector("#exhibit-page");
    this.pointer = root.querySelector("#exhibit-pointer");
    this.note = root.querySelector("#exhibit-note");
    this.shown = null;
    this.drawn = ""; // exhibit, page and zoom on the canvas now
    this.drawing = 0;
  }

  async show(shown) {
    this.shown = shown && typeof shown === "object" ? shown : null;
    if (!this.shown) {
      this.root.hidden = true;
      this.drawn = "";
      this.root.dataset.page = "";
      this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    const { exhibit_id: id, number, page, pages, zoom, pointer, kind } = this.shown;
    this.root.hidden = false;
    this.caption.textContent = t("exhibit.caption", { number, page, pages });
    this.showPointer(pointer);
    const wanted = `${id}/${page}/${zoom}`;
    if (wanted === this.drawn) return;
    const turn = ++this.drawing;
    try {
      await this.draw(id, kind, page, zoom, () => turn === this.drawing);
      if (turn !== this.drawing) return;
      this.drawn = wanted;
      this.note.hidden = true;
      this.root.dataset.page = String(page);
    } catch (err) {
      if (turn !== this.drawing) return;
      console.warn("ecourt: the exhibit's page could not be shown", err);
      this.note.textContent = t("exhibit.unavailable");
      this.note.hidden = false;
    }
  }

  refreshWords() {
    if (this.shown) {
      const { number, page, pages } = this.shown;
      this.caption.textContent = t("exhibit.caption", { number, page, pages });
    }
  }

  showPointer(pointer) {
    const at = Array.isArray(pointer) && pointer.length === 2 ? pointer : null;
    this.pointer.hidden = at === null;
    if (at) {
      this.pointer.style.left = `${(Number(at[0]) * 100).toFixed(2)}%`;
      this.pointer.style.top = `${(Number(at[1]) * 100).toFixed(2)}%`;
    }
  }

  async fetchPage(id, kind, page) {
    const form = kind === "pdf" ? "?as=pdf" : "";
    const url = `/api/hearings/${encodeURIComponent(this.hearingId)}/exhibits/` +
      `${encodeURIComponent(id)}/pages/${page}${form}`;
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${this.token}` },
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) throw new Error(`the page answered ${response.status}`);
    return response;
  }

  async draw(id, kind, page, zoom, current) {
    const response = await this.fetchPage(id, kind, page);
    const ratio = window.devicePixelRatio || 1;
    const context = this.canvas.getContext("2d");
    if (kind === "pdf") {
      const data = new Uint8Array(await response.arrayBuffer());
      const lib = await loadPdfJs();
      const task = lib.getDocument({ data, isEvalSupported: false, enableXfa: false });
      const doc = await task.promise;
      try {
        const sheet = await doc.getPage(1);
        const base = sheet.getViewport({ scale: 1 });
        const viewport = sheet.getViewport({ scale: (WIDTH * zoom * ratio) / base.width });
        if (!current()) return;
        this.size(viewport.width, viewport.height, ratio);
        await sheet.render({ canvasContext: context, viewport }).promise;
      } finally {
        await doc.destroy();
      }
      return;
    }
    const bitmap = await createImageBitmap(await response.blob());
    try {
      if (!current()) return;
      const scale = (WIDTH * zoom * ratio) / bitmap.width;
      this.size(bitmap.width * scale, bitmap.height * scale, ratio);
      context.drawImage(bitmap, 0, 0, this.canvas.width, this.canvas.height);
    } finally {
      bitmap.close();
    }
  }

  size(width, height, ratio) {
    this.canvas.width = Math.round(width);
    this.canvas.height = Math.round(height);
    this.canvas.style.width = `${Math.round(width / ratio)}px`;
    this.canvas.style.height = `${Math.round(height / ratio)}px`;
  }
}

const PRESENTABLE = new Set(["pdf", "png", "jpeg"]);

// The bench's part of the console: the hearing's exhibits (`exhibits`), each admitted or
// refused once, an admitted document or image presented; while one's own exhibit is on
// screen, the page before or after it, or take it down.
export class ExhibitConsole {
  constructor({ list, empty, controls, refresh, request }) {
    this.list = list;
    this.empty = empty;
    this.controls = controls;
    this.request = request; // (event, payload) => the ack, or null when refused
    this.exhibits = [];
    this.shown = null;
    this.me = null;
    refresh.addEventListener("click", () => this.load());
    controls.querySelector("[data-turn='-1']").addEventListener("click", () => this.turn(-1));
    controls.querySelector("[data-turn='1']").addEventListener("click", () => this.turn(1));
    controls.querySelector("[data-stop]").addEventListener("click", () => this.request("stop_exhibit", {}));
  }

  async load() {
    const ack = await this.request("exhibits", {});
    if (ack && Array.isArray(ack.exhibits)) this.exhibits = ack.exhibits;
    this.render();
  }

  follow(shown, me) {
    this.shown = shown;
    this.me = me;
    this.renderControls();
  }

  async turn(step) {
    if (!this.shown) return;
    const page = Math.min(this.shown.pages, Math.max(1, this.shown.page + step));
    if (page !== this.shown.page) await this.request("exhibit_page", { page, zoom: this.shown.zoom, pointer: null });
  }

  async decide(exhibit, decision) {
    const ack = await this.request("exhibit_decision", { exhibit_id: exhibit.id, decision });
    if (ack) await this.load();
  }

  render() {
    this.empty.hidden = this.exhibits.length > 0;
    this.list.replaceChildren(...this.exhibits.map((exhibit) => this.item(exhibit)));
    this.renderControls();
  }

  item(exhibit) {
    const item = document.createElement("li");
    item.className = "waiting";
    item.dataset.exhibitId = exhibit.id;
    const label = document.createElement("span");
    label.className = "who";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = t("console.exhibit_item", { number: exhibit.number, title: exhibit.title });
    const state = document.createElement("span");
    state.className = "role";
    state.textContent = t(`console.exhibit_state.${exhibit.state}`);
    label.append(name, state);
    const actions = document.createElement("span");
    actions.className = "actions";
    const button = (key, onClick) => {
      const made = document.createElement("button");
      made.type = "button";
      made.textContent = t(key, { number: exhibit.number });
      made.addEventListener("click", onClick);
      actions.append(made);
    };
    if (exhibit.state === "submitted") {
      button("console.exhibit_admit", () => this.decide(exhibit, "admit"));
      button("console.exhibit_refuse", () => this.decide(exhibit, "refuse"));
    } else if (exhibit.state === "admitted" && PRESENTABLE.has(exhibit.kind)) {
      button("console.exhibit_present", () => this.request("present_exhibit", { exhibit_id: exhibit.id }));
    }
    item.append(label, actions);
    return item;
  }

  renderControls() {
    const mine = this.shown !== null && this.shown.presenter_id === this.me;
    this.controls.hidden = !mine;
    if (mine) {
      this.controls.querySelector("[data-turn='-1']").disabled = this.shown.page <= 1;
      this.controls.querySelector("[data-turn='1']").disabled = this.shown.page >= this.shown.pages;
    }
  }
}
