/* Doktu site script: progressive enhancement only; every page works without it. */
(function () {
  "use strict";
  var header = document.querySelector("[data-dk-header]");
  var toggle = document.querySelector("[data-dk-menu-toggle]");
  var menu = document.getElementById("dk-menu");

  /* The visitor's time zone: remembered for the server, and used to re-label times now. */
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (zone && document.cookie.indexOf("doktu_tz=" + zone) === -1) {
    document.cookie = "doktu_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }
  /* A signed-in user's zone chosen in Settings wins over the device's (the server does the same). */
  var saved = (document.cookie.match(/(?:^|;\s*)doktu_tz_saved=([^;]+)/) || [])[1];
  if (saved) {
    try { saved = decodeURIComponent(saved); new Intl.DateTimeFormat("en-GB", { timeZone: saved }); zone = saved; }
    catch (e) { saved = ""; }
  }
  var lang = document.documentElement.lang || "en";
  var tag = { en: "en-GB", fr: "fr-FR", de: "de-DE" }[lang] || "en-GB";
  var inZone = function (options) { if (saved) { options.timeZone = saved; } return options; };
  var clock = new Intl.DateTimeFormat(tag, inZone({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }));
  var day = new Intl.DateTimeFormat(tag, inZone({ weekday: "short" }));
  var longDay = new Intl.DateTimeFormat(tag, inZone({ weekday: "long", day: "numeric", month: "long" }));
  window.doktuFormat = {
    clock: function (d) { return clock.format(d); },
    day: function (d) { return day.format(d); },
    longDay: function (d) { return lang === "en" ? longDay.format(d).replace(",", "") : longDay.format(d); },
    tag: tag,
    zone: zone
  };
  function relabel(root) {
    (root || document).querySelectorAll("time[data-dk-time]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      el.textContent = el.dataset.dkTime === "day" ? window.doktuFormat.day(d) + " " + clock.format(d) : clock.format(d);
    });
    if (zone) { (root || document).querySelectorAll("[data-dk-zone]").forEach(function (el) { el.textContent = zone; }); }
  }
  window.doktuRelabel = relabel;
  relabel(document);

  /* Header: solid with a shadow after 64 px; hides on the way down, returns on the way up. */
  if (header) {
    var last = window.scrollY;
    var onScroll = function () {
      var y = window.scrollY;
      header.classList.toggle("is-scrolled", y > 64);
      var menuOpen = toggle && toggle.getAttribute("aria-expanded") === "true";
      var focusInside = header.contains(document.activeElement) && document.activeElement !== document.body;
      header.classList.toggle("is-hidden", y > 64 && y > last && !menuOpen && !focusInside);
      last = y;
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    header.addEventListener("focusin", function () { header.classList.remove("is-hidden"); });
    onScroll();
  }

  /* Mobile menu: a full-screen overlay; focus stays inside while open; Escape closes it. */
  if (toggle && menu) {
    var focusables = function () {
      return [toggle].concat(Array.prototype.slice.call(menu.querySelectorAll("a[href], button, summary, select")))
        .filter(function (el) { return el.getClientRects().length > 0; });
    };
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      document.body.classList.toggle("dk-menu-open", open);
      if (open) { var first = menu.querySelector("a[href], button"); if (first) { first.focus(); } }
    };
    toggle.addEventListener("click", function () { setOpen(toggle.getAttribute("aria-expanded") !== "true"); });
    document.addEventListener("keydown", function (ev) {
      if (toggle.getAttribute("aria-expanded") !== "true") { return; }
      if (ev.key === "Escape") { setOpen(false); toggle.focus(); return; }
      if (ev.key !== "Tab") { return; }
      var items = focusables();
      var i = items.indexOf(document.activeElement);
      if (ev.shiftKey && i <= 0) { ev.preventDefault(); items[items.length - 1].focus(); }
      else if (!ev.shiftKey && i === items.length - 1) { ev.preventDefault(); items[0].focus(); }
    });
    window.matchMedia("(min-width: 768px)").addEventListener("change", function (mq) { if (mq.matches) { setOpen(false); } });
  }

  /* Language switch: applied as soon as another language is chosen (the button does it without script). */
  document.querySelectorAll("[data-dk-lang-select]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
  });

  /* Account menu (a <details>): Escape or a click elsewhere closes it. */
  document.querySelectorAll("[data-dk-account]").forEach(function (details) {
    document.addEventListener("click", function (ev) { if (!details.contains(ev.target)) { details.open = false; } });
    details.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && details.open) { details.open = false; details.querySelector("summary").focus(); }
    });
  });
  /* Doctor search (issue 24): a changed filter updates the results in place — no click on Search
     (which stays, for people without scripts and for the name). The page does not reload, so the
     focus stays on the filter; the result count (a status region) announces the new total. */
  var search = document.querySelector("form.dk-search");
  if (search && window.fetch && window.DOMParser) {
    var pending = null;
    var refresh = function () {
      var url = search.action.split("?")[0] + "?" + new URLSearchParams(new FormData(search)).toString()
        .replace(/(^|&)[^=&]+=(?=&|$)/g, "").replace(/^&/, "");
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var main = search.parentNode;
      main.setAttribute("aria-busy", "true");
      fetch(url, { signal: pending.signal, headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("form.dk-search");
          if (!fresh) { return; }
          var count = main.querySelector(".dk-results"), freshCount = fresh.parentNode.querySelector(".dk-results");
          var actions = search.querySelector(".dk-search__actions"), freshActions = fresh.querySelector(".dk-search__actions");
          if (actions && freshActions && !actions.contains(document.activeElement)) { actions.innerHTML = freshActions.innerHTML; }
          var node = search.nextSibling;
          while (node) { var next = node.nextSibling; if (node !== count) { main.removeChild(node); } node = next; }
          var freshNode = fresh.nextSibling;
          while (freshNode) {
            if (freshCount && freshNode === freshCount) { if (count) { main.appendChild(count); count.textContent = freshCount.textContent; } else { main.appendChild(document.importNode(freshNode, true)); } }
            else { main.appendChild(document.importNode(freshNode, true)); }
            freshNode = freshNode.nextSibling;
          }
          relabel(main);
          history.replaceState(null, "", url);
        })
        .catch(function () { /* aborted or offline: Search still works */ })
        .then(function () { main.removeAttribute("aria-busy"); });
    };
    search.addEventListener("change", function (ev) {
      if (ev.target.matches("select, input[type=date]")) { refresh(); }
    });
  }
  /* The patient's tabs scroll sideways on a phone: the current one is in view (issue 24). */
  var currentTab = document.querySelector('.dk-tabs [aria-current="page"]');
  if (currentTab) {
    var strip = currentTab.closest("ul");
    if (strip && strip.scrollWidth > strip.clientWidth) {
      strip.scrollLeft = Math.max(0, currentTab.offsetLeft - strip.offsetLeft - (strip.clientWidth - currentTab.offsetWidth) / 2);
    }
  }
})();
