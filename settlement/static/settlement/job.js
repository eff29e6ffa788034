// Polls a job's progress row and moves the bar; shows the download link when the file is ready.
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var bar = document.getElementById("job-bar");
  var text = document.getElementById("job-text");
  var link = document.getElementById("job-download");
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      bar.value = j.percent;
      text.textContent = j.done + " / " + j.total + " · " + (box.dataset[j.state] || j.state) + (j.detail ? " · " + j.detail : "");
      if (j.download) link.hidden = false;
      if (j.state !== "done" && j.state !== "failed") setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
