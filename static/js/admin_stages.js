// The pipeline's admin page: "Use the raw N % as the default" fills that stage's default %
// in the form, which the admin saves with everything else (nothing is posted, so no unsaved
// edit is lost). The buttons are hidden until this script shows them.
(function () {
  function ready() {
    document.querySelectorAll("button[data-use-rate]").forEach(function (button) {
      const row = button.closest("tr");
      const field = row && row.querySelector("input[name$='-default_probability']");
      if (!field) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        field.value = button.dataset.useRate;
        field.dispatchEvent(new Event("input", { bubbles: true }));
        field.dispatchEvent(new Event("change", { bubbles: true }));
        field.classList.add("use-rate-filled");
        const done = button.nextElementSibling;
        if (done && done.classList.contains("use-rate-done")) {
          done.textContent = "Filled in: save to keep it.";
        }
        field.focus();
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
