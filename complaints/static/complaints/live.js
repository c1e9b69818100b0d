// The open ticket page, live: the agents' socket (/ws/agents/) says what changed; the page
// reads it from the ticket's live view and shows it with textContent only (never markup).
// Who else is viewing or typing in the ticket is shown above the conversation.
(function () {
  "use strict";
  var root = document.getElementById("ticket-live");
  if (!root || !window.WebSocket) { return; }
  var ticket = parseInt(root.dataset.ticket, 10);
  var liveUrl = root.dataset.live;
  var lastId = parseInt(root.dataset.lastMessage || "0", 10);
  var list = document.getElementById("live-messages");
  var others = document.getElementById("live-presence");
  var state = document.getElementById("live-state");
  var statusOut = document.getElementById("live-status");
  var present = {};
  var socket = null;
  var retry = 500;
  var fetching = false;
  var again = false;

  function showPresence() {
    var names = Object.keys(present).sort().map(function (name) {
      return present[name] === "typing" ? name + " (typing…)" : name;
    });
    others.textContent = names.length ? "Also here: " + names.join(", ") : "";
    others.hidden = names.length === 0;
  }

  function add(message) {
    var item = document.createElement("li");
    item.className = "live-message " + message.direction + (message.internal ? " internal" : "");
    item.dataset.id = String(message.id);
    var head = document.createElement("strong");
    head.textContent = message.at + " · " + message.channel + " · " + message.author +
      (message.internal ? " · internal note" : "") + (message.delivery ? " · " + message.delivery : "");
    var body = document.createElement("div");
    body.className = "live-body";
    body.textContent = message.body;
    item.appendChild(head);
    item.appendChild(body);
    list.appendChild(item);
    list.hidden = false;
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(liveUrl + "?after=" + lastId, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.messages.forEach(function (message) {
          if (message.id > lastId) { add(message); lastId = message.id; }
        });
        statusOut.textContent = data.ticket.status + " · v" + data.ticket.version +
          (data.ticket.escalation_level ? " · escalation " + data.ticket.escalation_level : "");
      })
      .finally(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/agents/");
    socket.onopen = function () {
      retry = 500;
      state.textContent = "Live";
      socket.send(JSON.stringify({ type: "subscribe", ticket: ticket }));
      refresh();  // whatever happened while the socket was away (REST resync)
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "agent.presence" && frame.ticket === ticket) {
        if (frame.state === "left") { delete present[frame.agent.name]; }
        else { present[frame.agent.name] = frame.state; }
        showPresence();
      } else if (frame.ticket === ticket && /^(message|ticket|sla)\./.test(frame.type)) {
        refresh();
      }
    };
    socket.onclose = function () {
      state.textContent = "Reconnecting…";
      present = {};
      showPresence();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  var typingSent = 0;
  document.addEventListener("input", function (event) {
    if (!socket || socket.readyState !== 1 || !event.target.closest("#ticket-actions, form")) { return; }
    var now = Date.now();
    if (now - typingSent > 3000) {
      typingSent = now;
      socket.send(JSON.stringify({ type: "presence", ticket: ticket, state: "typing" }));
    }
  });
  connect();
})();
