// The analytics charts; each has its figures in the table beside it.
(function () {
  const element = document.getElementById("analytics-data");
  if (!element || !window.Chart) {
    return;
  }
  const data = JSON.parse(element.textContent);
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    if (canvas) {
      new window.Chart(canvas, { ...config, options: { maintainAspectRatio: false, plugins: { legend: { position: "bottom" } }, ...config.options } });
    }
  };
  draw("funnel-chart", {
    type: "bar",
    data: {
      labels: data.funnel.labels,
      datasets: [
        { label: "Reached", data: data.funnel.reached, backgroundColor: "#1976d2" },
        { label: "Stopped here", data: data.funnel.stops, backgroundColor: "#c62828" },
      ],
    },
    options: { scales: { y: { beginAtZero: true, grace: "10%" } } },
  });
  draw("reliability-chart", {
    data: {
      labels: data.reliability.labels,
      datasets: [
        { type: "bar", label: "Share won (%)", data: data.reliability.won, backgroundColor: "#1976d2" },
        { type: "line", label: "Perfectly calibrated", data: data.reliability.ideal, borderColor: "#9e9e9e", borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, max: 100 } } },
  });
  draw("accuracy-chart", {
    data: {
      labels: data.accuracy.labels,
      datasets: [
        { type: "bar", label: "Forecast: effective", data: data.accuracy.effective, backgroundColor: "#1976d2" },
        { type: "bar", label: "Forecast: stage default", data: data.accuracy.default, backgroundColor: "#b0bec5" },
        { type: "line", label: "Won", data: data.accuracy.won, borderColor: "#2e7d32", backgroundColor: "#2e7d32", pointRadius: 4 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, grace: "10%" } } },
  });
})();
