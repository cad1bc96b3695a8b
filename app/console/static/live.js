// The live flash view: one EventSource (the console cookie authenticates it), two small SVG charts.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var bars = document.querySelectorAll("#grabs-chart rect.bar");
  var line = document.getElementById("stock-line");
  var history = [];
  var soldOut = null;

  function text(id, value) { document.getElementById(id).textContent = value; }

  function drawBars(perSecond) {
    var peak = Math.max.apply(null, perSecond.concat([1]));
    for (var i = 0; i < bars.length; i++) {
      var h = Math.round(((perSecond[i] || 0) / peak) * 190);
      bars[i].setAttribute("y", String(200 - h));
      bars[i].setAttribute("height", String(h));
    }
  }

  function drawStock(left, stock) {
    history.push(left);
    if (history.length > 120) { history.shift(); }
    var step = 600 / 119;
    var points = history.map(function (value, i) {
      return (i * step).toFixed(1) + "," + (199 - (value / Math.max(stock, 1)) * 190).toFixed(1);
    });
    line.setAttribute("points", points.join(" "));
  }

  var source = new EventSource(root.dataset.events);
  source.addEventListener("live", function (event) {
    var view = JSON.parse(event.data);
    var left = view.left === null ? view.stock - view.issued : view.left;
    text("left", String(left));
    text("stock", String(view.stock));
    text("rate", view.grabs_per_second.toFixed(1));
    text("issued", String(view.issued));
    text("persisted", String(view.persisted));
    text("participants", String(view.participants));
    var state = document.getElementById("state");
    state.textContent = (view.state && state.dataset[view.state]) || view.state || view.status;
    text("at", new Date(view.at).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }));
    if (left === 0 && soldOut === null) {
      soldOut = new Date(view.at).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
      text("soldout", soldOut);
    }
    drawBars(view.grabs_last_seconds);
    drawStock(left, view.stock);
    root.dataset.events_seen = String(Number(root.dataset.events_seen || 0) + 1);
  });
}());
