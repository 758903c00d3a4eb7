// Progressive enhancement only: every page works without this file.
// 1. The day picker swaps in another day's times without a page load, keeps the live region
//    (so screen readers hear "12 free times on Tuesday ...") and moves focus to the times.
// 2. A booking form cannot be sent twice by a double click (the server books once anyway).
(function () {
  "use strict";

  function swapPicker(picker, html, focusTimes) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("[data-picker]");
    if (!fresh) { return false; }
    var status = picker.querySelector("[role=status]");
    var freshStatus = fresh.querySelector("[role=status]");
    // Keep the existing live region node: a replaced node would not be announced.
    if (status && freshStatus) {
      freshStatus.replaceWith(status);
    }
    picker.replaceChildren.apply(picker, Array.prototype.slice.call(fresh.childNodes));
    if (status && freshStatus) {
      status.textContent = freshStatus.textContent;
    }
    var target = focusTimes ? picker.querySelector("#times") : picker.querySelector(".days a");
    if (target) { target.focus(); }
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-picker] a[data-day-link]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    var picker = link.closest("[data-picker]");
    event.preventDefault();
    var url = link.href;
    var isDay = link.classList.contains("day");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (!swapPicker(picker, html, isDay)) { throw new Error("no picker"); }
        history.pushState({ picker: true }, "", url);
      })
      .catch(function () { window.location.href = url; });
  });

  if (document.querySelector("[data-picker]")) {
    history.replaceState({ picker: true }, "");
  }
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
      delete form.dataset.sent;
    });
  });
  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.picker) { window.location.reload(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.method || "").toLowerCase() !== "post") { return; }
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });
})();
