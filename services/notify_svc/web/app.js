// The notification page: list, detail ("Lihat Semua"), read state and live updates over the feed
// API of this origin. Every text from the API goes through textContent, never innerHTML.
// The token lives in this tab's sessionStorage only; the stream is read with fetch so that the
// token travels in the Authorization header, never in a URL (EventSource cannot send headers).

const TEXT = {
  id: {
    heading: "Notifikasi", language: "Bahasa", signin: "Masuk", token_label: "Token akses",
    token_help: "Tempel token yang dicetak oleh lunas token issue.", signin_button: "Masuk",
    read_all: "Tandai semua dibaca", sign_out: "Keluar", empty: "Belum ada notifikasi.",
    more: "Muat lebih banyak", back: "Kembali", open: "Lihat Semua", unread: "Belum dibaca",
    read: "Dibaca", live_on: "Pembaruan langsung aktif", live_off: "Menyambung ulang…",
    bell: (n) => (n ? `Notifikasi, ${n} belum dibaca` : "Notifikasi, tidak ada yang belum dibaca"),
    bad_token: "Token tidak valid atau sudah kedaluwarsa.", expired: "Sesi berakhir; masuk lagi.",
    unavailable: "Notifikasi sedang tidak tersedia, coba lagi sebentar.",
    not_found: "Notifikasi tidak ditemukan.", loading: "Memuat…",
    facts: {
      order_id: "Order", reason: "Alasan admin", requested_reason: "Alasan pengajuan",
      voided_awb: "Resi hangus", awb: "Resi", previous_awb: "Resi lama", courier: "Kurir",
      invoice_no: "Invoice", payment_no: "Pembayaran", customer_name: "Pelanggan",
    },
  },
  en: {
    heading: "Notifications", language: "Language", signin: "Sign in", token_label: "Access token",
    token_help: "Paste a token printed by lunas token issue.", signin_button: "Sign in",
    read_all: "Mark all as read", sign_out: "Sign out", empty: "No notifications yet.",
    more: "Load more", back: "Back", open: "See all", unread: "Unread", read: "Read",
    live_on: "Live updates on", live_off: "Reconnecting…",
    bell: (n) => (n ? `Notifications, ${n} unread` : "Notifications, none unread"),
    bad_token: "The token is invalid or has expired.", expired: "Session ended; sign in again.",
    unavailable: "Notifications are unavailable for a moment, try again shortly.",
    not_found: "Notification not found.", loading: "Loading…",
    facts: {
      order_id: "Order", reason: "Admin's reason", requested_reason: "Your reason",
      voided_awb: "Void airway bill", awb: "Airway bill", previous_awb: "Previous airway bill",
      courier: "Courier", invoice_no: "Invoice", payment_no: "Payment", customer_name: "Customer",
    },
  },
};
const TOKEN_KEY = "lunas.feed.token";
const LOCALE_KEY = "lunas.feed.locale";
const PAGE_SIZE = 20;

const $ = (id) => document.getElementById(id);
const state = {
  token: null, locale: localStorage.getItem(LOCALE_KEY) === "en" ? "en" : "id",
  items: new Map(), cursor: null, unread: 0, stream: null, generation: 0,
};
const t = (key) => TEXT[state.locale][key];

class HttpError extends Error {
  constructor(status) { super(`HTTP ${status}`); this.status = status; }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) { signOut(t("expired")); throw new HttpError(401); }
  if (!resp.ok) throw new HttpError(resp.status);
  return resp.status === 204 ? null : resp.json();
}

function say(message) { $("status").textContent = message || ""; }

function failed(err) {
  if (!(err instanceof HttpError)) throw err;
  if (err.status === 503) say(t("unavailable"));
  else if (err.status === 404) say(t("not_found"));
}

function applyLocale() {
  document.documentElement.lang = state.locale;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.title = t("heading");
  $("lang-id").setAttribute("aria-pressed", String(state.locale === "id"));
  $("lang-en").setAttribute("aria-pressed", String(state.locale === "en"));
  showCount(state.unread);
  setLive($("live").dataset.state === "on");
}

function showCount(n) {
  state.unread = n;
  $("bell-count").textContent = n > 99 ? "99+" : String(n);
  $("bell-count").toggleAttribute("data-zero", n === 0);
  $("bell").setAttribute("aria-label", t("bell")(n));
}

function setLive(on) {
  $("live").dataset.state = on ? "on" : "off";
  $("live").textContent = on ? t("live_on") : t("live_off");
}

const when = (iso) => new Intl.DateTimeFormat(state.locale === "id" ? "id-ID" : "en-GB", {
  dateStyle: "medium", timeStyle: "short",
}).format(new Date(iso));

function itemElement(n) {
  const li = document.createElement("li");
  li.className = n.read ? "item" : "item unread";
  li.dataset.id = n.notification_id;
  const title = document.createElement("h3");
  title.id = `title-${li.dataset.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  title.textContent = n.title;
  const preview = document.createElement("p");
  preview.textContent = n.preview ?? n.body;
  const meta = document.createElement("p");
  meta.className = "meta";
  const time = document.createElement("time");
  time.dateTime = n.created_at;
  time.textContent = when(n.created_at);
  const readState = document.createElement("span");
  readState.className = "read-state";
  readState.textContent = n.read ? t("read") : t("unread");
  const open = document.createElement("button");
  open.type = "button";
  open.className = "open";
  open.textContent = t("open");
  open.setAttribute("aria-describedby", title.id);
  meta.append(time, readState, open);
  li.append(title, preview, meta);
  li.addEventListener("click", () => { location.hash = `#n=${encodeURIComponent(n.notification_id)}`; });
  return li;
}

function render() {
  const ul = $("items");
  ul.replaceChildren(...[...state.items.values()].map(itemElement));
  $("empty").hidden = state.items.size > 0;
  $("more").hidden = state.cursor === null;
}

async function loadPage(first) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!first && state.cursor) query.set("cursor", state.cursor);
  const page = await api(`/v1/notifications?${query}`);
  if (first) state.items.clear();
  for (const n of page.items) state.items.set(n.notification_id, n);
  state.cursor = page.next_cursor;
  render();
}

// A pushed notification is a detail; the list shows the API's summaries, so read them again.
async function loadNewest() {
  const page = await api(`/v1/notifications?limit=${PAGE_SIZE}`);
  const newest = new Map(page.items.map((n) => [n.notification_id, n]));
  state.items = new Map([...newest, ...[...state.items].filter(([id]) => !newest.has(id))]);
  render();
  await refreshCount();
}

async function refreshCount() { showCount((await api("/v1/notifications/unread-count")).unread); }

async function refresh() {
  await Promise.all([loadPage(true), refreshCount()]);
  say("");
}

async function showDetail(id) {
  $("list-view").hidden = true;
  $("detail-view").hidden = false;
  $("detail-title").textContent = t("loading");
  $("detail-body").textContent = "";
  $("detail-facts").replaceChildren();
  const n = await api(`/v1/notifications/${encodeURIComponent(id)}`);
  $("detail-title").textContent = n.title;
  $("detail-time").dateTime = n.created_at;
  $("detail-time").textContent = when(n.created_at);
  $("detail-body").textContent = n.body;
  $("detail-facts").replaceChildren(...facts(n.data));
  $("detail-title").focus();
  if (!n.read) {
    await api(`/v1/notifications/${encodeURIComponent(id)}/read`, { method: "POST" });
    const row = state.items.get(id);
    if (row) state.items.set(id, { ...row, read: true });
    render();
    await refreshCount();
  }
}

function facts(data) {
  const out = [];
  for (const [key, label] of Object.entries(t("facts"))) {
    const value = data?.[key];
    if (value === undefined || value === null || value === "" || typeof value === "object") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    out.push(dt, dd);
  }
  return out;
}

function showList() {
  $("detail-view").hidden = true;
  $("list-view").hidden = false;
}

async function route() {
  if (!state.token) return;
  const match = /^#n=(.+)$/.exec(location.hash);
  try {
    if (match) await showDetail(decodeURIComponent(match[1]));
    else {
      const from = $("detail-view").hidden ? null : $("detail-title").textContent;
      showList();
      if (from !== null) $("items").querySelector(".open")?.focus();
    }
  } catch (err) {
    if (match) {
      history.replaceState(null, "", location.pathname);
      showList();
    }
    failed(err);
  }
}

function handleEvent(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (line === ": connected") setLive(true);
    if (line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    fields[name] = name in fields ? `${fields[name]}\n${value}` : value;
  }
  if (fields.event === "notification" && fields.data) {
    const n = JSON.parse(fields.data);
    if (!state.items.has(n.notification_id)) loadNewest().catch(failed);
  } else if (fields.event === "token-expired") {
    signOut(t("expired"));
  }
}

// Pub/Sub is at-most-once: after every reconnect the first page and the count are read again.
async function live(generation) {
  let connectedBefore = false;
  while (state.token && generation === state.generation) {
    const controller = new AbortController();
    state.stream = controller;
    try {
      const resp = await fetch("/v1/notifications/stream", {
        headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
        cache: "no-store", signal: controller.signal,
      });
      if (resp.status === 401) { signOut(t("expired")); return; }
      if (resp.ok) {
        if (connectedBefore) refresh().catch(failed);
        connectedBefore = true;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            handleEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

function restartLive() {
  state.stream?.abort();
  state.generation += 1;
  live(state.generation);
}

async function signIn(token) {
  state.token = token;
  try {
    const prefs = await api("/v1/preferences");
    state.locale = prefs.locale;
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      $("signin-error").textContent = t("bad_token");
      return;
    }
    throw err;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(LOCALE_KEY, state.locale);
  $("signin").hidden = true;
  $("bell").hidden = false;
  applyLocale();
  showList();
  await refresh().catch(failed);
  restartLive();
  await route();
}

function signOut(message) {
  state.token = null;
  state.generation += 1;
  state.stream?.abort();
  sessionStorage.removeItem(TOKEN_KEY);
  state.items.clear();
  render();
  $("list-view").hidden = true;
  $("detail-view").hidden = true;
  $("bell").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  say("");
}

async function chooseLocale(locale) {
  if (locale === state.locale) return;
  state.locale = locale;
  localStorage.setItem(LOCALE_KEY, locale);
  applyLocale();
  if (!state.token) return;
  try {
    await api("/v1/preferences", { method: "PUT", body: { locale } });
    await refresh();
    restartLive();
    await route();
  } catch (err) { failed(err); }
}

function start() {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get("token");
  if (fromLink !== null) {
    // Out of the address bar (history, bookmarks, screenshots) before anything else happens.
    history.replaceState(null, "", location.pathname + location.hash);
  }
  applyLocale();
  $("lang-id").addEventListener("click", () => chooseLocale("id"));
  $("lang-en").addEventListener("click", () => chooseLocale("en"));
  $("bell").addEventListener("click", () => {
    if (location.hash) location.hash = "";
    else window.scrollTo(0, 0);
    $("items").querySelector(".open")?.focus();
  });
  $("back").addEventListener("click", () => { location.hash = ""; });
  $("more").addEventListener("click", () => loadPage(false).catch(failed));
  $("read-all").addEventListener("click", async () => {
    try {
      await api("/v1/notifications/read-all", { method: "POST" });
      await refresh();
    } catch (err) { failed(err); }
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token-input").value.trim()).catch(failed);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail-view").hidden) location.hash = "";
  });
  window.addEventListener("hashchange", route);
  const token = fromLink ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token).catch(failed);
  else signOut("");
}

start();
