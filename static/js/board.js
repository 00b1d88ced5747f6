// The board: drag a card (by any part of it, its title too) to another column, to Won or to
// Stop; or open its "Move…" dialog with the keyboard. Each move posts the same form the
// pages /pipeline/projects/<pk>/move/ and /win/ post without JavaScript, and htmx swaps in
// the refreshed board. A move that needs fields, and every win, opens the one shared dialog
// with the server's form. A failed request says so and puts the card back.
(function () {
  "use strict";

  const stopDialog = document.getElementById("stop-dialog");
  const stopForm = stopDialog && stopDialog.querySelector("[data-stop-form]");
  const actionDialog = document.getElementById("action-dialog");
  const actionBody = document.getElementById("action-dialog-body");
  const notice = document.getElementById("board-notice");

  // The card being dragged: where it came from, to put it back when the move is not made.
  let dragged = null;
  // The card to give the focus to once the board is swapped in (after a keyboard move).
  let focusCard = null;
  let focusCompact = false;
  let boardSwapped = false;

  const FAILED = {
    move: "The move was not saved",
    win: "The win was not saved",
    stop: "The stop was not saved",
    compact: "The setting was not saved",
    other: "The board could not be updated",
  };

  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  }

  function board() {
    return document.getElementById("board");
  }

  function cardById(id) {
    const root = board();
    return root && root.querySelector('.card[data-project-id="' + id + '"]');
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  function clearNotice() {
    notice.hidden = true;
    notice.textContent = "";
  }

  function putBack() {
    if (!dragged) return;
    const list = dragged.from;
    list.insertBefore(dragged.card, list.children[dragged.index] || null);
    dragged = null;
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
    return htmx.ajax("GET", window.location.href, { target: "#board", swap: "outerHTML" });
  }

  // The move or win form of a project, from the server, in the shared dialog.
  function openAction(url, projectId) {
    focusCard = projectId;
    htmx.ajax("GET", url, { target: "#action-dialog-body", swap: "innerHTML" });
  }

  function closeAction() {
    if (actionDialog.open) actionDialog.close();
  }

  function openStopDialog(card) {
    stopForm.setAttribute("action", card.dataset.stopUrl);
    stopForm.setAttribute("hx-post", card.dataset.stopUrl);
    htmx.process(stopForm);
    stopForm.elements.version.value = card.dataset.version;
    stopDialog.querySelector("[data-stop-title]").textContent =
      card.querySelector(".card-title").textContent;
    focusCard = card.dataset.projectId;
    stopDialog.showModal();
  }

  // The drop target under the pointer where the card was let go: a column's list, Won or
  // Stop; none when it was let go anywhere else (then nothing moves).
  function zoneAt(event) {
    if (!event) return null;
    const point = event.changedTouches ? event.changedTouches[0] : event;
    if (!point || point.clientX === undefined) return null;
    const under = document.elementFromPoint(point.clientX, point.clientY);
    if (!under) return null;
    const outcome = under.closest("[data-board] .outcome");
    if (outcome) return outcome;
    const column = under.closest("[data-board] .column");
    return column && column.querySelector("[data-dropzone=stage]");
  }

  // The board's message, held at the bottom of the screen, goes when dismissed or at the
  // next drag.
  function dismissMessages() {
    const held = document.querySelector("#board .board-messages");
    if (held) held.remove();
  }

  function onStart(event) {
    clearNotice();
    dismissMessages();
    document.querySelector("[data-board]").classList.add("dragging");
    dragged = { card: event.item, from: event.from, index: event.oldIndex };
  }

  function onEnd(event) {
    // SortableJS swallows the click that follows a drag, so a drag never follows the title
    // link; when the card was let go elsewhere, no click follows, and it would swallow the
    // next real one (the dialog's "Save and move"). Give it a harmless one.
    window.setTimeout(function () {
      document.body.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    }, 0);
    // Where it was let go, while Won and Stop are still shown (on a phone, only during a drag).
    const zone = zoneAt(event.originalEvent);
    const grid = document.querySelector("[data-board]");
    if (grid) grid.classList.remove("dragging");
    const card = event.item;
    if (!zone || zone === dragged.from) {
      putBack();
      return;
    }
    const kind = zone.dataset.dropzone;
    if (kind === "stage") {
      if (card.parentNode !== zone) zone.appendChild(card);
      post(card.dataset.moveUrl, { to_stage: zone.dataset.stageId, version: card.dataset.version });
    } else if (kind === "won") {
      putBack();
      openAction(card.dataset.winUrl, card.dataset.projectId);
    } else if (kind === "stop") {
      putBack();
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
        // The whole card is the grip, its title link too: a click without movement still
        // follows the link; after a drag SortableJS swallows the click.
        filter: "button, input, select, textarea, label",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        // On a touch screen a swipe scrolls the board; a press held a moment drags.
        delay: 180,
        delayOnTouchOnly: true,
        onStart: onStart,
        onEnd: onEnd,
      });
    });
  }

  function kindOf(detail) {
    const config = detail.requestConfig || {};
    const path = (detail.pathInfo && detail.pathInfo.requestPath) || config.path || "";
    if (config.verb !== "post") return "other";
    if (/\/compact\/$/.test(path)) return "compact";
    if (/\/move\/$/.test(path)) return "move";
    if (/\/win\/$/.test(path)) return "win";
    if (/\/stop\/$/.test(path)) return "stop";
    return "other";
  }

  function failed(event, why) {
    const kind = kindOf(event.detail);
    const refreshing = kind === "other" && event.detail.target && event.detail.target.id === "board";
    putBack();
    closeAction();
    if (stopDialog.open) stopDialog.close();
    let text = FAILED[kind] + ": " + why;
    if (kind === "move" || kind === "win" || kind === "stop") text += " The card is back where it was.";
    else text += " Try again in a moment.";
    showNotice(text);
    // The board as the server has it, unless that is what just failed.
    if (!refreshing) refresh();
  }

  document.body.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr ? event.detail.xhr.status : "";
    failed(event, "the server answered with an error (" + status + ").");
  });
  document.body.addEventListener("htmx:sendError", function (event) {
    failed(event, "the server did not answer.");
  });
  document.body.addEventListener("htmx:timeout", function (event) {
    failed(event, "the server did not answer in time.");
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-action-form], [data-stop-form]")) {
      clearNotice();
      focusCard = elt.dataset.projectId || focusCard;
    }
    if (elt && elt.matches && elt.matches("[data-compact-form]")) focusCompact = true;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target === actionBody) {
      // The server asks (a move that needs fields, a win to confirm): the card stays where
      // it was until the move is made.
      putBack();
      if (!actionDialog.open) actionDialog.showModal();
      // The first field with an error, else the first asked for, else the first field.
      const first = ["[aria-invalid=true]", ".asked input, .asked textarea", "input:not([type=hidden]), textarea"]
        .map(function (selector) { return actionBody.querySelector(selector); })
        .find(Boolean);
      if (first) first.focus();
      return;
    }
    if (target && target.id === "board") {
      dragged = null;
      if (actionDialog.open) {
        boardSwapped = true;
        actionDialog.close();
      }
      if (stopDialog.open) stopDialog.close();
    }
  });

  // The board scrolled sideways (only) so that the card's column is whole in view.
  function showColumnOf(card) {
    const grid = card.closest("[data-board]");
    const column = card.closest(".column");
    if (!grid || !column) return;
    const view = grid.getBoundingClientRect();
    const box = column.getBoundingClientRect();
    if (box.left < view.left) grid.scrollLeft -= view.left - box.left;
    else if (box.right > view.right) grid.scrollLeft += box.right - view.right;
  }

  // After the board is swapped in and settled: focus where the user was.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    setUp();
    if (!event.detail.target || event.detail.target.id !== "board") return;
    if (focusCompact) {
      focusCompact = false;
      const toggle = document.getElementById("compact-toggle");
      if (toggle) toggle.focus();
      return;
    }
    if (focusCard) {
      const card = cardById(focusCard);
      focusCard = null;
      const messages = board().querySelector(".messages");
      if (card) {
        // Its column whole in view first: on a phone a card peeking in from the next
        // column counts as in view, and the board then snapped back to the column before.
        showColumnOf(card);
        card.focus();
      } else if (messages) messages.focus();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-dismiss-messages]")) {
      dismissMessages();
      const toggle = document.getElementById("compact-toggle");
      if (toggle) toggle.focus();
      return;
    }
    const link = event.target.closest("[data-move-link], [data-win-link], [data-stop-link], [data-dialog-cancel]");
    if (!link || !board()) return;
    if (link.matches("[data-move-link]")) {
      event.preventDefault();
      clearNotice();
      openAction(link.href, link.closest(".card").dataset.projectId);
    } else if (link.matches("[data-win-link]")) {
      event.preventDefault();
      openAction(link.href, focusCard);
    } else if (link.matches("[data-stop-link]") && actionDialog.contains(link)) {
      const card = cardById(link.dataset.projectId);
      if (!card) return;
      event.preventDefault();
      closeAction();
      openStopDialog(card);
    } else if (link.matches("[data-dialog-cancel]") && actionDialog.contains(link)) {
      event.preventDefault();
      closeAction();
    }
  });

  // Closing the dialog without a move (Cancel, Escape): the focus goes back to the card's
  // "Move…". (Closed because the board was swapped in: afterSettle focuses the moved card.)
  actionDialog.addEventListener("close", function () {
    if (boardSwapped) {
      boardSwapped = false;
      return;
    }
    putBack();
    const card = focusCard && cardById(focusCard);
    focusCard = null;
    if (card) (card.querySelector("[data-move-link]") || card).focus();
  });

  if (stopForm) {
    stopDialog.querySelector("[data-stop-cancel]").addEventListener("click", function () {
      stopDialog.close();
    });
    stopDialog.addEventListener("close", putBack);
    stopForm.addEventListener("htmx:afterRequest", function () {
      stopDialog.close();
    });
  }
  document.addEventListener("DOMContentLoaded", setUp);
})();
