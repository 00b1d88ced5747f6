// Review page: a waterfall chart per period from its table (the table is the accessible
// equivalent), and meeting mode: one section at a time, stepped with the keyboard.
(function () {
  "use strict";

  var charts = [];

  // Larger labels on a projector.
  function fontSize(presenting) {
    charts.forEach(function (chart) {
      var font = { size: presenting ? 20 : 12 };
      chart.options.scales.x.ticks.font = font;
      chart.options.scales.y.ticks.font = font;
      chart.update();
    });
  }

  function drawWaterfalls() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("table.waterfall-table").forEach(function (table, index) {
      var canvas = document.querySelectorAll("canvas.waterfall-chart")[index];
      if (!canvas) return;
      var cells = Array.prototype.slice.call(table.querySelectorAll("td[data-amount]"));
      var labels = [], bars = [], colours = [], running = 0;
      cells.forEach(function (cell, position) {
        var amount = Number(cell.dataset.amount);
        var label = cell.dataset.label || cell.parentElement.querySelector("th").textContent.trim();
        if (position === 0 || position === cells.length - 1) {
          bars.push([0, amount]);
          colours.push("#5470c6");
          running = amount;
        } else {
          if (!amount) return;
          bars.push([running, running + amount]);
          colours.push(amount > 0 ? "#3ba272" : "#ee6666");
          running += amount;
        }
        labels.push(label);
      });
      charts.push(new Chart(canvas, {
        type: "bar",
        data: { labels: labels, datasets: [{ data: bars, backgroundColor: colours }] },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { ticks: {} }, y: { beginAtZero: true, ticks: {} } },
        },
      }));
    });
  }

  function meetingMode() {
    var toggle = document.getElementById("present-toggle");
    var review = document.getElementById("review-sections");
    if (!toggle || !review) return;
    var sections = Array.prototype.slice.call(review.querySelectorAll("[data-section]"));
    var current = 0;

    function show(index) {
      current = Math.max(0, Math.min(sections.length - 1, index));
      sections.forEach(function (section, position) {
        section.hidden = review.classList.contains("presenting") && position !== current;
      });
      var heading = sections[current].querySelector("h2");
      if (heading && review.classList.contains("presenting")) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }

    function set(on) {
      review.classList.toggle("presenting", on);
      document.body.classList.toggle("presenting", on);
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      fontSize(on);
      show(on ? current : 0);
    }

    toggle.addEventListener("click", function () {
      set(!review.classList.contains("presenting"));
    });
    document.addEventListener("keydown", function (event) {
      if (!review.classList.contains("presenting")) return;
      if (event.target.closest("input, textarea, select")) return;
      if (event.key === "ArrowRight" || event.key === "PageDown") {
        show(current + 1);
        event.preventDefault();
      } else if (event.key === "ArrowLeft" || event.key === "PageUp") {
        show(current - 1);
        event.preventDefault();
      } else if (event.key === "Escape") {
        set(false);
      }
    });
    set(toggle.dataset.present === "1");
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.id === "action-form" && event.detail.successful &&
        !document.querySelector("#actions .form-error")) {
      form.reset();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawWaterfalls();
    meetingMode();
  });
})();
