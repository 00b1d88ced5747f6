// The new project form's account field: htmx fills the list of matching accounts as the user
// types (projects:account_search); picking one, by mouse or with the arrow keys and Enter,
// puts its id in the hidden `account` field, or ticks "New account" for the offer to create
// one. Without this script the typed name is looked up when the form is saved.
(function () {
  "use strict";

  function picker() {
    return document.querySelector("[data-account-picker]");
  }

  function parts(box) {
    return {
      input: box.querySelector("input[type=text]"),
      hidden: box.closest("form").querySelector("input[name=account]"),
      create: box.querySelector("input[type=checkbox]"),
      results: box.querySelector("#account-results"),
    };
  }

  function options(box) {
    return Array.from(box.querySelectorAll("[role=option]"));
  }

  function close(box) {
    const { input, results } = parts(box);
    results.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(box, index) {
    const { input } = parts(box);
    const all = options(box);
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(box, option) {
    const { input, hidden, create } = parts(box);
    input.value = option.dataset.accountName;
    if (option.hasAttribute("data-account-new")) {
      hidden.value = "";
      create.checked = true;
    } else {
      hidden.value = option.dataset.accountPk;
      create.checked = false;
    }
    box.classList.toggle("is-new", create.checked);
    close(box);
    input.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const box = picker();
    if (!box) return;
    const { input, hidden, create } = parts(box);
    // With the list, "New account" shows once it is picked (or the name was refused).
    box.classList.add("js-picker");

    input.addEventListener("input", function () {
      hidden.value = ""; // a changed name is no longer the account picked
    });
    create.addEventListener("change", function () {
      box.classList.toggle("is-new", create.checked);
    });

    input.addEventListener("keydown", function (event) {
      const all = options(box);
      const current = all.findIndex(function (option) {
        return option.getAttribute("aria-selected") === "true";
      });
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        highlight(box, (current + 1) % all.length);
      } else if (event.key === "ArrowUp" && all.length) {
        event.preventDefault();
        highlight(box, current <= 0 ? all.length - 1 : current - 1);
      } else if (event.key === "Enter" && current >= 0) {
        event.preventDefault(); // pick, not submit
        choose(box, all[current]);
      } else if (event.key === "Escape" && all.length) {
        event.preventDefault();
        close(box);
      }
    });

    box.addEventListener("click", function (event) {
      const option = event.target.closest("[role=option]");
      if (option) choose(box, option);
    });

    document.addEventListener("click", function (event) {
      if (!box.contains(event.target)) close(box);
    });

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target.id !== "account-results") return;
      // An answer for what was typed before the last pick or clear is not wanted any more.
      if (hidden.value || !input.value.trim()) {
        close(box);
        return;
      }
      input.setAttribute("aria-expanded", options(box).length ? "true" : "false");
      input.removeAttribute("aria-activedescendant");
    });

    // Typed before this script ran (a slow page): ask for what was typed, as typing does.
    if (document.activeElement === input && input.value.trim() && !hidden.value) {
      htmx.trigger(input, "typed"); // not "input": htmx took what was typed as unchanged
    }
  });
})();
