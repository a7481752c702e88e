/* The Dash portals' header on a phone (issue 24): the "Menu" button folds the account items (and,
 * in the admin console, the sections) away, as the public site's header does. Dash renders the
 * header after this script runs, so everything is delegated from the document; the open state is a
 * class on <body>, which Dash never re-renders. Escape, or following a link in the menu, closes it.
 */
(function () {
  "use strict";
  var OPEN = "dk-menu-open";

  function toggle() { return document.querySelector("[data-dk-portal-menu]"); }

  function controlled(button) {
    return (button.getAttribute("aria-controls") || "").split(/\s+/).map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);
  }

  function setOpen(open, focusToggle) {
    var button = toggle();
    if (!button) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle(OPEN, open);
    if (focusToggle) { button.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dk-portal-menu]");
    if (button) {
      setOpen(button.getAttribute("aria-expanded") !== "true", false);  // a disclosure: the focus stays
      return;
    }
    if (!document.body.classList.contains(OPEN)) { return; }
    var link = event.target.closest("a[href]");
    var inside = toggle() && controlled(toggle()).some(function (el) { return el.contains(event.target); });
    if (link && inside) { setOpen(false, false); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains(OPEN)) { setOpen(false, true); }
  });

  /* The language switch in the header: applied as soon as another language is chosen, as on the
     public pages (site.js); its "Change language" button is hidden in the portals. */
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("[data-dk-lang-select]");
    if (!select || !select.form) { return; }
    var next = select.form.elements.next;  // the server only knows the portal (Dash builds the header apart)
    if (next) { next.value = window.location.pathname + window.location.search; }
    select.form.submit();
  });

  /* Back to a wide window: the items are shown inline again; forget the phone's open state. */
  var wide = window.matchMedia("(min-width: 768px)");
  var reset = function () { if (wide.matches) { setOpen(false, false); } };
  if (wide.addEventListener) { wide.addEventListener("change", reset); }
})();
