// The board: drag a card to another column, to Won or to Stop. Each drop posts the same
// form a card's "Move" menu posts without JavaScript, and htmx swaps in the refreshed board.
(function () {
  "use strict";

  const dialog = document.getElementById("stop-dialog");
  const stopForm = dialog && dialog.querySelector("[data-stop-form]");

  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  }

  function post(url, values) {
    return htmx.ajax("POST", url, {
      target: "#board",
      swap: "outerHTML",
      values: values,
      headers: { "X-CSRFToken": csrfToken() },
    });
  }

  function refresh() {
    htmx.ajax("GET", window.location.href, { target: "#board", swap: "outerHTML" });
  }

  function openStopDialog(card) {
    stopForm.setAttribute("action", card.dataset.stopUrl);
    stopForm.setAttribute("hx-post", card.dataset.stopUrl);
    htmx.process(stopForm);
    stopForm.elements.version.value = card.dataset.version;
    dialog.querySelector("[data-stop-title]").textContent =
      card.querySelector(".card-title").textContent;
    dialog.showModal();
  }

  function onDrop(event) {
    const card = event.item;
    const target = event.to;
    if (event.from === target) return;
    const kind = target.dataset.dropzone;
    if (kind === "stage") {
      post(card.dataset.moveUrl, { to_stage: target.dataset.stageId, version: card.dataset.version });
    } else if (kind === "won") {
      post(card.dataset.winUrl, { version: card.dataset.version });
    } else if (kind === "stop") {
      openStopDialog(card);
    }
  }

  function setUp() {
    document.querySelectorAll("[data-board] [data-dropzone]").forEach(function (zone) {
      if (zone.dataset.sortable) return;
      zone.dataset.sortable = "on";
      Sortable.create(zone, {
        group: { name: "board", pull: zone.dataset.dropzone === "stage", put: true },
        sort: false,
        draggable: ".card",
        filter: "a, summary, button, select, input, label",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        onEnd: onDrop,
      });
    });
  }

  if (stopForm) {
    // Cancelling puts the dragged card back where it was.
    dialog.querySelector("[data-stop-cancel]").addEventListener("click", function () {
      dialog.close();
      refresh();
    });
    dialog.addEventListener("cancel", refresh);
    stopForm.addEventListener("htmx:afterRequest", function () {
      dialog.close();
    });
  }
  document.addEventListener("DOMContentLoaded", setUp);
  document.body.addEventListener("htmx:afterSettle", setUp);
})();
