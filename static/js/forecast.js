// The forecast chart: the weighted forecast of each period under the three sources, with
// what was won and the target. The table below the chart has the same figures.
(function () {
  const data = JSON.parse(document.getElementById("forecast-data").textContent);
  const canvas = document.getElementById("forecast-chart");
  if (!canvas || !window.Chart || data.labels.length === 0) {
    return;
  }
  new window.Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: "Weighted: stage default", data: data.default, backgroundColor: "#b0bec5" },
        { type: "bar", label: "Weighted: effective", data: data.effective, backgroundColor: "#1976d2" },
        { type: "bar", label: "Weighted: historical", data: data.historical, backgroundColor: "#ffa000" },
        { type: "line", label: "Won", data: data.won, borderColor: "#2e7d32", backgroundColor: "#2e7d32", pointRadius: 4 },
        { type: "line", label: "Target", data: data.target, borderColor: "#c62828", backgroundColor: "#c62828", pointStyle: "rectRot", pointRadius: 7, spanGaps: true },
      ],
    },
    options: {
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, grace: "10%" } },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
