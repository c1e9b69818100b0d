// Aduan web chat widget: one socket per conversation, sequence numbers for lossless
// reconnects (REFERENCE 6.5), client message ids for safe resends (6.6). Text is only
// ever put on the page with textContent.
"use strict";

(function () {
  const PROTOCOL = "pengaduan.chat.v1";
  const STORE = "aduan.chat";
  const root = document.querySelector(".chat");
  const log = document.getElementById("log");
  const stateLine = document.getElementById("state");
  const numberLine = document.getElementById("number");
  const typingLine = document.getElementById("typing");
  const intro = document.getElementById("intro");
  const composer = document.getElementById("composer");
  const textBox = document.getElementById("text");

  let saved = load();
  let socket = null;
  let ready = false;
  let retries = 0;
  let stableTimer = null;
  let heartbeat = null;
  let typingTimer = null;
  let frameId = 0;
  let resendTimer = null;
  let readTimer = null;
  let readUpTo = 0;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(STORE)) || {};
    } catch (error) {
      return {};
    }
  }
  function save() {
    localStorage.setItem(STORE, JSON.stringify(saved));
  }
  function say(text) {
    stateLine.textContent = text;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const error = new Error("HTTP " + response.status);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  async function start(name) {
    const started = await post(root.dataset.start, { name: name });
    saved = {
      conv: started.conversation,
      token: started.token,
      secret: started.resume_secret,
      lastSeq: 0,
      outbox: [],
    };
    save();
  }

  async function renewToken() {
    const url = root.dataset.api + encodeURIComponent(saved.conv) + "/token/";
    const renewed = await post(url, { resume_secret: saved.secret });
    saved.token = renewed.token;
    save();
  }

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const path = "/ws/chat/" + encodeURIComponent(saved.conv) + "/";
    return scheme + "//" + location.host + path + "?t=" + encodeURIComponent(saved.token);
  }

  function connect() {
    ready = false;
    say("Menghubungkan…");
    socket = new WebSocket(socketUrl(), PROTOCOL);
    socket.onopen = function () {
      send("hello", { last_seq: saved.lastSeq || 0, client: { app: "widget", version: "1", lang: "id" } });
    };
    socket.onmessage = function (message) {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      receive(frame);
    };
    socket.onclose = function (closed) {
      ready = false;
      clearInterval(heartbeat);
      clearTimeout(stableTimer);
      closedWith(closed.code);
    };
  }

  async function closedWith(code) {
    if (code === 1000) {
      say("Percakapan selesai.");
      return;
    }
    if (code === 4003 || code === 4400) {
      say("Percakapan ini tidak dapat dibuka.");
      return;
    }
    if (code === 4004) {
      localStorage.removeItem(STORE);
      say("Percakapan tidak ditemukan; muat ulang halaman untuk memulai yang baru.");
      return;
    }
    if (code === 4001) {
      try {
        await renewToken();
      } catch (error) {
        if (error.status === 403 || error.status === 404) {
          localStorage.removeItem(STORE);
          say("Percakapan tidak dapat dilanjutkan; muat ulang halaman.");
          return;
        }
      }
    }
    const base = code === 4429 ? 30000 : Math.min(30000, 500 * Math.pow(2, retries));
    const delay = base * (0.7 + Math.random() * 0.6);
    retries += 1;
    say("Koneksi terputus; menyambung lagi…");
    setTimeout(connect, delay);
  }

  function send(type, data) {
    frameId += 1;
    const frame = { v: 1, type: type, id: "c-" + frameId, data: data };
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function receive(frame) {
    switch (frame.type) {
      case "welcome":
        ready = true;
        say("Tersambung.");
        stableTimer = setTimeout(function () { retries = 0; }, 60000);
        heartbeat = setInterval(function () { send("ping", {}); }, (frame.data.heartbeat_sec || 25) * 1000);
        if (frame.data.ticket) showNumber(frame.data.ticket.number);
        flushOutbox();
        break;
      case "event":
        if (frame.seq <= (saved.lastSeq || 0)) return; // seen already
        if (frame.seq > (saved.lastSeq || 0) + 1) {
          socket.close(4000); // a gap: reconnect and replay from what we have
          return;
        }
        render(frame);
        saved.lastSeq = frame.seq;
        settle(frame.data.client_msg_id);
        save();
        markRead(frame.seq);
        break;
      case "ack":
        settle(frame.data.client_msg_id);
        save();
        break;
      case "typing":
        typingLine.hidden = frame.data.state !== "start";
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typingLine.hidden = true; }, frame.data.ttl_ms || 6000);
        break;
      case "resync_required":
        resync();
        break;
      case "error":
        say(frame.data.message || "Terjadi kesalahan.");
        if (frame.data.code === "rate_limited") {
          // Unacknowledged messages go again once the server allows; resends are safe.
          clearTimeout(resendTimer);
          resendTimer = setTimeout(flushOutbox, frame.data.retry_after_ms || 1000);
        }
        break;
      default:
        break;
    }
  }

  async function resync() {
    const url = root.dataset.api + encodeURIComponent(saved.conv) + "/events/?t=" +
      encodeURIComponent(saved.token) + "&after_seq=" + (saved.lastSeq || 0);
    const response = await fetch(url);
    if (!response.ok) return;
    const body = await response.json();
    body.events.forEach(receive);
  }

  // Read receipts at most twice a second, for the highest event seen.
  function markRead(seq) {
    readUpTo = Math.max(readUpTo, seq);
    if (readTimer) return;
    readTimer = setTimeout(function () {
      readTimer = null;
      send("read", { up_to_seq: readUpTo });
    }, 500);
  }

  function showNumber(number) {
    numberLine.textContent = "Nomor pengaduan: " + number;
    numberLine.hidden = false;
  }

  function render(frame) {
    const data = frame.data;
    const pending = data.client_msg_id && log.querySelector('[data-client="' + CSS.escape(data.client_msg_id) + '"]');
    const item = pending || document.createElement("li");
    item.className = data.sender.role;
    item.dataset.seq = String(frame.seq);
    item.textContent = "";
    if (data.sender.role === "agent") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = data.sender.name || "Petugas";
      item.appendChild(who);
    }
    item.appendChild(document.createTextNode(data.text));
    if (!pending) log.appendChild(item);
    if (data.ticket) showNumber(data.ticket.number);
    log.lastElementChild.scrollIntoView({ block: "end" });
  }

  function settle(clientId) {
    if (!clientId) return;
    saved.outbox = (saved.outbox || []).filter(function (item) { return item.id !== clientId; });
    const shown = log.querySelector('[data-client="' + CSS.escape(clientId) + '"]');
    if (shown) shown.classList.remove("sending");
  }

  function flushOutbox() {
    (saved.outbox || []).forEach(function (item) {
      send("message.send", { client_msg_id: item.id, text: item.text });
    });
  }

  function queue(text) {
    const id = crypto.randomUUID();
    saved.outbox = (saved.outbox || []).concat([{ id: id, text: text }]);
    save();
    const item = document.createElement("li");
    item.className = "citizen sending";
    item.dataset.client = id;
    item.textContent = text;
    log.appendChild(item);
    if (ready) send("message.send", { client_msg_id: id, text: text });
  }

  function open() {
    intro.hidden = true;
    log.hidden = false;
    composer.hidden = false;
    (saved.outbox || []).forEach(function (item) {
      const shown = document.createElement("li");
      shown.className = "citizen sending";
      shown.dataset.client = item.id;
      shown.textContent = item.text;
      log.appendChild(shown);
    });
    saved.lastSeq = 0; // a fresh page replays the whole conversation
    connect();
  }

  intro.addEventListener("submit", async function (submitted) {
    submitted.preventDefault();
    try {
      await start(document.getElementById("name").value);
      open();
    } catch (error) {
      say("Percakapan belum dapat dimulai; coba lagi sebentar lagi.");
    }
  });
  composer.addEventListener("submit", function (submitted) {
    submitted.preventDefault();
    const text = textBox.value.trim();
    if (!text) return;
    queue(text);
    textBox.value = "";
  });
  textBox.addEventListener("keydown", function (pressed) {
    if (pressed.key === "Enter" && !pressed.shiftKey) {
      pressed.preventDefault();
      composer.requestSubmit();
    } else if (ready) {
      send("typing", { state: "start" });
    }
  });
  window.addEventListener("online", function () {
    if (socket && socket.readyState !== WebSocket.OPEN) connect();
  });

  if (saved.conv) open();
})();
