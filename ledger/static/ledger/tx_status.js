// A pending transaction's page follows it until the consortium commits or rejects it.
(function () {
  "use strict";
  var box = document.getElementById("tx-status");
  if (!box || box.dataset.status !== "pending") return;
  var labels = {applied: box.dataset.labelApplied, rejected: box.dataset.labelRejected};
  function poll() {
    fetch(box.dataset.poll, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (tx) {
      if (tx.status === "pending") { setTimeout(poll, 700); return; }
      box.dataset.status = tx.status;
      var status = box.querySelector('[data-field="status"]');
      status.textContent = labels[tx.status] || tx.status;
      status.className = "badge badge-" + tx.status;
      box.querySelector('[data-field="height"]').textContent = tx.height === null ? "—" : tx.height;
      box.querySelector('[data-field="reason"]').textContent = tx.reason || "—";
      var next = box.querySelector('[data-field="next"]');
      if (next && tx.status === "applied") next.hidden = false;
    }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
