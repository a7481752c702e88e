/* Booking card and booking page: day switching without a reload (skeletons, live region), the
   guest's bookingContext in sessionStorage (15 min), and a patient's one-click hold. Without this
   script the same markup works through plain links and forms. */
(function () {
  "use strict";
  var CONTEXT_KEY = "bookingContext";
  var CONTEXT_TTL_MS = 15 * 60 * 1000;
  var SHOWN = 4;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  /* The page's language (SPEC §20): the texts are English messages of the gettext catalogs,
     translated by the page into <script type="application/json" data-dk-i18n> (portals/js_strings.py). */
  var T = {};
  document.querySelectorAll("script[data-dk-i18n]").forEach(function (el) {
    try { Object.assign(T, JSON.parse(el.textContent)); } catch (e) { /* English, then */ }
  });
  function _(text, values) {
    return (T[text] || text).replace(/%\((\w+)\)s/g, function (m, k) { return values && k in values ? values[k] : m; });
  }
  var fmt = window.doktuFormat || { clock: function (d) { return d.toISOString().slice(11, 16); },
                                    day: function (d) { return d.toDateString(); } };

  function rememberContext(doctorId, start) {
    var d = new Date(start);
    try {
      sessionStorage.setItem(CONTEXT_KEY, JSON.stringify({
        doctorId: doctorId, date: start.slice(0, 10), time: fmt.clock(d), start: start,
        expiresAt: Date.now() + CONTEXT_TTL_MS }));
    } catch (e) { /* storage refused (private mode): the server session still has it */ }
  }
  function readContext(doctorId) {
    try {
      var ctx = JSON.parse(sessionStorage.getItem(CONTEXT_KEY) || "null");
      if (!ctx || ctx.doctorId !== doctorId || ctx.expiresAt < Date.now()) { sessionStorage.removeItem(CONTEXT_KEY); return null; }
      return ctx;
    } catch (e) { return null; }
  }

  var card = document.querySelector("[data-dk-booking]");
  var status = document.querySelector("[data-dk-booking-status]");
  var errorBox = document.querySelector("[data-dk-booking-error]");
  function announce(text) { if (status) { status.textContent = text; } }
  function showError(text) {
    if (!errorBox) { return; }
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function pillForm(doctorId, doctorName, entry) {
    var start = new Date(entry.start);
    var form = document.createElement("form");
    form.method = "post";
    form.className = "dk-pill-form";
    form.action = "/book/" + doctorId;
    form.setAttribute("data-dk-slot", "");
    form.innerHTML = '<input type="hidden" name="csrf_token"><input type="hidden" name="start">' +
      '<button type="submit" class="dk-pill"><time data-dk-time="clock"></time></button>';
    form.elements.csrf_token.value = csrf;
    form.elements.start.value = entry.start;
    var time = form.querySelector("time");
    time.setAttribute("datetime", entry.start);
    time.textContent = fmt.clock(start);
    form.querySelector("button").setAttribute("aria-label", _("Book %(day)s at %(time)s with %(doctor)s", { day: fmt.longDay ? fmt.longDay(start) : fmt.day(start), time: fmt.clock(start), doctor: doctorName }));
    return form;
  }

  function renderSlots(box, doctorId, doctorName, title, slots) {
    var html = document.createDocumentFragment();
    var h = document.createElement("h3");
    h.className = "dk-slots__title";
    h.textContent = title;
    html.appendChild(h);
    if (!slots.length) {
      var p = document.createElement("p");
      p.className = "dk-muted";
      p.textContent = _("No free time on this day. Choose another day above.");
      html.appendChild(p);
    } else {
      var list = function (items, label, extra) {
        var ul = document.createElement("ul");
        ul.className = "dk-pills" + (extra || "");
        ul.setAttribute("aria-label", label);
        items.forEach(function (e) { var li = document.createElement("li"); li.appendChild(pillForm(doctorId, doctorName, e)); ul.appendChild(li); });
        return ul;
      };
      html.appendChild(list(slots.slice(0, SHOWN), _("Free times")));
      if (slots.length > SHOWN) {
        var more = document.createElement("details");
        more.className = "dk-more";
        var summary = document.createElement("summary");
        summary.textContent = _("See all %(count)s times", { count: slots.length });
        more.appendChild(summary);
        more.appendChild(list(slots.slice(SHOWN), _("More free times"), " dk-pills--scroll"));
        html.appendChild(more);
      }
    }
    box.replaceChildren(html);
  }

  function skeleton(box) {
    box.setAttribute("aria-busy", "true");
    var ul = document.createElement("ul");
    ul.className = "dk-pills";
    ul.setAttribute("aria-hidden", "true");
    for (var i = 0; i < SHOWN; i++) { var li = document.createElement("li"); li.className = "dk-skeleton"; ul.appendChild(li); }
    var keepTitle = box.querySelector(".dk-slots__title");
    box.replaceChildren.apply(box, keepTitle ? [keepTitle, ul] : [ul]);
  }

  function loadDay(link) {
    var box = card.querySelector("[data-dk-slots]");
    var iso = link.getAttribute("data-dk-day");
    var parts = iso.split("-").map(Number);
    var from = new Date(parts[0], parts[1] - 1, parts[2]);
    var to = new Date(parts[0], parts[1] - 1, parts[2] + 1);
    var now = new Date();
    if (from < now) { from = now; }
    card.querySelectorAll("[data-dk-day]").forEach(function (a) { a.removeAttribute("aria-current"); });
    link.setAttribute("aria-current", "date");
    var title = (window.doktuFormat && window.doktuFormat.tag !== "en-GB" ? new Intl.DateTimeFormat(window.doktuFormat.tag, { weekday: "long", day: "numeric", month: "long" }).format(new Date(parts[0], parts[1] - 1, parts[2])) : new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long" }).format(new Date(parts[0], parts[1] - 1, parts[2])).replace(",", ""));
    skeleton(box);
    showError("");
    var url = "/api/doctors/" + card.dataset.doctor + "/unified-availability?from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString());
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (body) {
        var free = body.slots.filter(function (s) { return s.isAvailable; });
        renderSlots(box, card.dataset.doctor, card.dataset.doctorName, title, free);
        box.setAttribute("aria-busy", "false");
        announce(!free.length ? _("%(day)s: no free time", { day: title }) : free.length === 1
          ? _("%(day)s: 1 free time", { day: title }) : _("%(day)s: %(count)s free times", { day: title, count: free.length }));
      })
      .catch(function () {
        box.setAttribute("aria-busy", "false");
        window.location.href = link.href;  /* the server-rendered page is always there */
      });
  }

  function holdForPatient(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    announce(_("Holding this time for you…"));
    return fetch("/api/appointments/create-pending", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ doctorId: card.dataset.doctor, start: form.elements.start.value })
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      if (res.status === 201) { window.location.href = res.body.checkoutUrl; return; }
      var code = res.body && res.body.error && res.body.error.code;
      if (code === "ERR_PROFILE_INCOMPLETE") {
        var back = card.dataset.bookUrl + "?start=" + encodeURIComponent(form.elements.start.value);
        window.location.href = "/onboarding?next=" + encodeURIComponent(back);
        return;
      }
      button.disabled = false;
      if (code === "ERR_SLOT_CONFLICT" || code === "ERR_TIME_WINDOW") {
        var current = card.querySelector('[data-dk-day][aria-current="date"]');
        if (current) { loadDay(current); }  /* clears old messages first, so the new one comes after */
        showError(_("Sorry, that time was just taken. Here are the free times now."));
        return;
      }
      form.submit();  /* anything unexpected: let the server page explain */
    }).catch(function () { button.disabled = false; form.submit(); });
  }

  if (card) {
    card.addEventListener("click", function (ev) {
      var link = ev.target.closest("[data-dk-day]");
      if (!link) { return; }
      ev.preventDefault();
      loadDay(link);
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("[data-dk-slot]");
    if (!form) { return; }
    var doctorId = form.action.split("/book/")[1];
    rememberContext(doctorId, form.elements.start.value);
    if (card && card.dataset.auth === "patient") {
      ev.preventDefault();
      holdForPatient(form);
    }
  });

  /* /book/<id> without a time in the URL or the session: restore the guest's choice. */
  var guestBook = document.querySelector("[data-dk-guest-book]");
  if (!guestBook && !document.querySelector("[data-dk-autosubmit]")) {
    var match = window.location.pathname.match(/^\/book\/([0-9a-f-]{36})$/);
    var ctx = match && !new URLSearchParams(window.location.search).get("start") && readContext(match[1]);
    if (ctx && !document.querySelector(".dk-alert--error")) {
      window.location.replace(window.location.pathname + "?start=" + encodeURIComponent(ctx.start));
    }
  }

  /* A patient coming back to /book/<id> after sign-up or login: continue without asking again. */
  var auto = document.querySelector("[data-dk-autosubmit]");
  if (auto && !document.querySelector(".dk-alert--error")) {
    var note = auto.querySelector("[data-dk-autosubmit-status]");
    if (note) { note.textContent = _("Holding your time…"); }
    try { sessionStorage.removeItem(CONTEXT_KEY); } catch (e) { /* ignore */ }
    auto.submit();
  }

  /* Checkout: the hold's countdown, announced once a minute at most. */
  var hold = document.querySelector("[data-dk-hold-until]");
  if (hold) {
    var until = Date.now() + Number(hold.dataset.dkSecondsLeft) * 1000;
    var out = hold.querySelector("[data-dk-countdown]");
    var tick = function () {
      var left = Math.max(0, Math.round((until - Date.now()) / 1000));
      out.textContent = left > 60 ? _("%(count)s min", { count: Math.ceil(left / 60) }) : _("%(count)s s", { count: left });
      if (left === 0) { out.textContent = _("0 s — the time is no longer held"); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }
})();
