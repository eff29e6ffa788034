// Live alerts: subscribes to /ws/alerts/ with the page's session; filters are sent as a subscribe
// message. Strings go through Django's JavaScript catalogue (gettext).
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var SEVERITY = { critical: gettext("critical"), major: gettext("major"), minor: gettext("minor") };
  var body = document.getElementById("alerts-body");
  var status = document.getElementById("alerts-status");
  var form = document.getElementById("alerts-filters");
  var socket = null;
  var retry = 1000;
  var rows = {};

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = "badge " + cls;
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "—" : String(text);
    return td;
  }

  function filters() {
    var data = { type: "subscribe" };
    ["piles", "areas", "institutions", "severities"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) { data[name] = value; }
    });
    return data;
  }

  function show(alert) {
    var empty = document.getElementById("alerts-empty");
    if (empty) { empty.remove(); }
    var row = rows[alert.id];
    if (!row) {
      row = document.createElement("tr");
      rows[alert.id] = row;
      body.insertBefore(row, body.firstChild);
    }
    row.replaceChildren(
      cell(new Date(alert.detected_at).toLocaleString()),
      cell(alert.phase === "confirmed" ? gettext("confirmed") : gettext("reported")),
      cell(alert.pile ? alert.pile + (alert.connector_id ? " #" + alert.connector_id : "") : alert.area),
      cell(SEVERITY[alert.severity] || alert.severity),
      cell(alert.detail || alert.kind),
      cell(alert.height)
    );
    row.className = alert.phase === "confirmed" ? "" : "muted";
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/alerts/");
    socket.onopen = function () {
      retry = 1000;
      setStatus(gettext("Connected"), "badge-ok");
      socket.send(JSON.stringify(filters()));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "alert") { show(message.alert); }
      else if (message.type === "error") { setStatus(message.detail, "badge-bad"); }
    };
    socket.onclose = function () {
      setStatus(gettext("Disconnected, reconnecting…"), "badge-warn");
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(filters())); }
  });
  connect();
})();
