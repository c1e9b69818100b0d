// The dashboard's charts: bars drawn as SVG from the figures the page carries (in a JSON
// script element, read as data); labels are set with textContent. Without JavaScript the
// same figures stay readable as tables.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var SVG = "http://www.w3.org/2000/svg";

  function element(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function horizontal(rows) {  // a label, a bar and its figure on each line
    var line = 22, labelWidth = 140, width = 420;
    var top = Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([1]));
    var svg = element("svg", { viewBox: "0 0 " + width + " " + Math.max(rows.length, 1) * line, role: "img" });
    rows.forEach(function (row, i) {
      var y = i * line;
      var label = element("text", { x: 0, y: y + 15 });
      label.textContent = row.label;
      var bar = element("rect", { x: labelWidth, y: y + 4, height: line - 8,
        width: Math.max(1, (width - labelWidth - 40) * row.value / top) });
      var figure = element("text", { x: labelWidth + 6 + (width - labelWidth - 40) * row.value / top, y: y + 15 });
      figure.textContent = String(row.value);
      svg.appendChild(label); svg.appendChild(bar); svg.appendChild(figure);
    });
    return svg;
  }

  function columns(rows) {  // one column per day
    var height = 120, width = 600, slot = width / Math.max(rows.length, 1);
    var top = Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([1]));
    var svg = element("svg", { viewBox: "0 0 " + width + " " + (height + 30), role: "img" });
    rows.forEach(function (row, i) {
      var h = (height - 14) * row.value / top;
      svg.appendChild(element("rect", { x: i * slot + 4, y: height - h, width: slot - 8, height: Math.max(h, 1) }));
      var figure = element("text", { x: i * slot + slot / 2, y: height - h - 3, "text-anchor": "middle" });
      figure.textContent = String(row.value);
      var label = element("text", { x: i * slot + slot / 2, y: height + 16, "text-anchor": "middle" });
      label.textContent = row.label;
      svg.appendChild(figure); svg.appendChild(label);
    });
    return svg;
  }

  document.querySelectorAll(".aduan-chart[data-series]").forEach(function (figure) {
    var rows = data[figure.dataset.series] || [];
    if (!rows.length) { return; }
    figure.appendChild(figure.dataset.series === "per_day" ? columns(rows) : horizontal(rows));
    figure.classList.add("charted");
  });
})();
