// The agents' queue, live: new tickets are announced above the list with a link, and a
// ticket that changed is marked in its row with its new state — no reload, text only.
(function () {
  "use strict";
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function start() {
  var table = document.getElementById("result_list");
  if (!table || document.getElementById("ticket-live") || !window.WebSocket) { return; }
  var banner = document.createElement("ul");
  banner.id = "queue-live";
  banner.className = "messagelist";
  banner.hidden = true;
  table.parentNode.insertBefore(banner, table);
  var retry = 500;

  function rowOf(number) {
    var links = table.querySelectorAll("tbody th a, tbody td a");
    for (var i = 0; i < links.length; i++) {
      if (links[i].textContent.trim() === number) { return links[i].closest("tr"); }
    }
    return null;
  }

  function announce(event) {
    var item = document.createElement("li");
    item.className = "info";
    var link = document.createElement("a");
    link.href = String(event.ticket) + "/change/";
    link.textContent = event.number;
    item.appendChild(document.createTextNode("New ticket: "));
    item.appendChild(link);
    banner.insertBefore(item, banner.firstChild);
    banner.hidden = false;
  }

  function mark(event) {
    var row = rowOf(event.number);
    if (!row) { return; }
    row.classList.add("queue-changed");
    var note = row.querySelector(".queue-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "queue-note";
      row.lastElementChild.appendChild(note);
    }
    note.textContent = " ● " + event.type.replace(".", " ") + (event.status ? " → " + event.status : "");
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/agents/");
    socket.onopen = function () { retry = 500; table.dataset.live = "on"; };
    socket.onmessage = function (message) {
      var event = JSON.parse(message.data);
      if (event.type === "ticket.created") { announce(event); }
      else if (/^(ticket|message|sla)\./.test(event.type)) { mark(event); }
    };
    socket.onclose = function () {
      table.dataset.live = "off";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();
  }
})();
