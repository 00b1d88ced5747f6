// The navigation's search: "/" anywhere outside a field focuses it; Escape closes the
// results; htmx fills them as the user types (the form works without JavaScript too).
(function () {
  "use strict";

  function typingInAField(target) {
    const tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function results() {
    return document.getElementById("nav-search-results");
  }

  function close() {
    const box = results();
    if (box) box.replaceChildren();
  }

  document.addEventListener("keydown", function (event) {
    const input = document.getElementById("nav-search");
    if (!input) return;
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInAField(event.target)) {
      event.preventDefault();
      input.focus();
      input.select();
    } else if (event.key === "Escape" && event.target === input) {
      close();
      input.blur();
    }
  });

  document.addEventListener("click", function (event) {
    const form = document.querySelector("[data-nav-search]");
    if (form && !form.contains(event.target)) close();
  });
})();
