// The navigation's search: "/" anywhere outside a field focuses it; htmx fills the results as
// the user types (the form works without JavaScript too). In the box, the down arrow goes to
// the first result, the arrows go through them (up from the first is back to the box), Enter
// opens the one in focus (it is a link), Escape closes the results and returns to the box.
(function () {
  "use strict";

  function typingInAField(target) {
    const tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function input() {
    return document.getElementById("nav-search");
  }

  function results() {
    return document.getElementById("nav-search-results");
  }

  function links() {
    const box = results();
    return box ? Array.from(box.querySelectorAll("a[href]")) : [];
  }

  function close() {
    const box = results();
    if (box) box.replaceChildren();
  }

  // Up and down through the results, from the box or from a result.
  function step(from, by) {
    const all = links();
    if (!all.length) return false;
    const at = all.indexOf(from);
    const next = at + by;
    if (next < 0) input().focus();
    else all[Math.min(next, all.length - 1)].focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    const field = input();
    if (!field) return;
    const inResults = results() && results().contains(event.target);
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInAField(event.target)) {
      event.preventDefault();
      field.focus();
      field.select();
    } else if (event.target === field || inResults) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (step(event.target, event.key === "ArrowDown" ? 1 : -1)) event.preventDefault();
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
        field.focus();
      }
    }
  });

  document.addEventListener("click", function (event) {
    const form = document.querySelector("[data-nav-search]");
    if (form && !form.contains(event.target)) close();
  });
})();
