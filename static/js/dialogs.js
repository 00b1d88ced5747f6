// A link that opens a <dialog> on its page (data-opens-dialog="<id>") rather than going to
// its page, which is what it does without JavaScript; a [data-closes-dialog] button closes it.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-opens-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.opensDialog);
      if (!dialog) return;
      event.preventDefault();
      dialog.showModal();
      return;
    }
    const closer = event.target.closest("[data-closes-dialog]");
    if (closer) closer.closest("dialog").close();
  });
})();
