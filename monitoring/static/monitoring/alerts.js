// Live alerts: subscribes to /ws/alerts/ with the page's session, the filters in the query string.
// When the connection drops it reconnects by itself (backoff 1 s doubling to 30 s, with jitter) and
// passes the seq of the last alert it saw (?after=<seq>): the node replays what was missed, in order,
// then live alerts follow (docs/api.md, "Alerts websocket"). Strings go through Django's JavaScript
// catalogue (gettext).
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var SEVERITY = { critical: gettext("critical"), major: gettext("major"), minor: gettext("minor") };
  var FILTERS = ["piles", "areas", "institutions", "severities"];
  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var body = document.getElementById("alerts-body");
  var status = document.getElementById("alerts-status");
  var notice = document.getElementById("alerts-notice");
  var form = document.getElementById("alerts-filters");
  var socket = null;
  var retry = RETRY_FIRST_MS;
  var rows = {};
  // The seq of the newest alert this page has been given everything up to; null until the node said.
  var lastSeq = null;

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = "badge " + cls;
  }

  function setNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "—" : String(text);
    return td;
  }

  function filters() {
    var data = {};
    FILTERS.forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) { data[name] = value; }
    });
    return data;
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var query = new URLSearchParams(filters());
    if (lastSeq !== null) { query.set("after", String(lastSeq)); }
    var text = query.toString();
    return scheme + window.location.host + "/ws/alerts/" + (text ? "?" + text : "");
  }

  function advance(seq) {
    if (typeof seq === "number" && (lastSeq === null || seq > lastSeq)) { lastSeq = seq; }
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
    row.dataset.seq = alert.seq == null ? "" : String(alert.seq);
  }

  function receive(message) {
    switch (message.type) {
      case "subscribed":
        if (lastSeq === null) { advance(message.seq); }  // a first visit starts from now
        break;
      case "alert":
        if (typeof message.alert.seq === "number" && lastSeq !== null && message.alert.seq <= lastSeq) { return; }
        show(message.alert);
        advance(message.alert.seq);
        break;
      case "replayed":
        advance(message.seq);
        break;
      case "reset":
        lastSeq = message.seq;  // the node's history restarted: go on from where it is
        break;
      case "gap":
        setNotice(gettext("Some alerts were missed while this page was disconnected: the node keeps only the most recent ones."));
        break;
      case "error":
        setStatus(message.detail, "badge-bad");
        break;
    }
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onopen = function () {
      retry = RETRY_FIRST_MS;
      setStatus(gettext("Connected"), "badge-ok");
    };
    socket.onmessage = function (event) { receive(JSON.parse(event.data)); };
    socket.onclose = function () {
      setStatus(gettext("Disconnected, reconnecting…"), "badge-warn");
      window.setTimeout(connect, retry / 2 + Math.random() * retry / 2);
      retry = Math.min(retry * 2, RETRY_MAX_MS);
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket && socket.readyState === WebSocket.OPEN) {
      var message = filters();
      message.type = "subscribe";
      socket.send(JSON.stringify(message));
    }
  });
  connect();
})();
