// Live password rules and strength meter (issue 24). The five rules are ticked locally as one
// types; whether the password is guessable is asked of the server (POST /api/auth/password-strength,
// debounced), which judges with the very estimator (zxcvbn) that refuses it at submit — so the
// meter never calls "strong" what the server then refuses. Without the answer (offline, rate
// limited) the meter says the check happens on submit. Works without JS (progressive enhancement).
(function () {
  var input = document.querySelector("[data-password-meter]");
  var help = document.getElementById("password-help");
  if (!input || !help) return;
  /* The page's language (SPEC §20): English gettext messages, translated by the page into
     <script type="application/json" data-dk-i18n> (portals/js_strings.py). */
  var T = {};
  document.querySelectorAll("script[data-dk-i18n]").forEach(function (el) {
    try { Object.assign(T, JSON.parse(el.textContent)); } catch (e) { /* English, then */ }
  });
  function _(text) { return T[text] || text; }
  var VERDICTS = {
    empty: "", too_weak: _("Too weak"), weak: _("Weak"), fair: _("Fair"), too_common: _("Too common: easy to guess"),
    good: _("Good"), strong: _("Strong"), checking: _("Checking…"), unchecked: _("We check common passwords when you submit")
  };
  var min = parseInt(input.dataset.minLength || "12", 10);
  var meter = document.getElementById("password-strength");
  var label = document.getElementById("password-strength-label");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var RULES = ["length", "upper", "lower", "digit", "symbol"];
  var local = {
    length: function (p) { return p.length >= min; },
    upper: function (p) { return /\p{Lu}/u.test(p); },
    lower: function (p) { return /\p{Ll}/u.test(p); },
    digit: function (p) { return /\p{Nd}/u.test(p); },
    symbol: function (p) { return /[\p{P}\p{S}]/u.test(p); }
  };
  var timer = null, asked = 0;

  function word(verdict) { return VERDICTS[verdict] || ""; }

  function tick(name, ok) {
    var item = help.querySelector('[data-rule="' + name + '"]');
    if (!item) return;
    item.classList.toggle("dk-rule--met", ok);
    item.querySelector(".visually-hidden").textContent = ok ? _(" (done)") : _(" (missing)");
  }

  function show(verdict, value) {
    meter.value = value;
    label.textContent = word(verdict);
    label.classList.toggle("dk-strength--refused", verdict === "too_common");
  }

  // What is known without the server: the rules; "guessable" stays unknown (unticked).
  function localReading(p) {
    var rules = {}, met = 0;
    RULES.forEach(function (name) { rules[name] = local[name](p); if (rules[name]) met += 1; });
    var verdict = !p ? "empty" : met === RULES.length ? "checking" : ({ 2: "weak", 3: "weak", 4: "fair" }[met] || "too_weak");
    return { rules: rules, met: met, verdict: verdict };
  }

  function hints() {
    var form = input.form, found = [];
    if (!form) return found;
    ["full_name", "email"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value) found.push(field.value.slice(0, 254));
    });
    return found;
  }

  function ask(p) {
    var mine = ++asked;
    fetch(help.dataset.checkUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ password: p, hints: hints() })
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (answer) {
      if (mine !== asked || input.value !== p) return;  // typed on since: a newer answer is coming
      RULES.forEach(function (name) { tick(name, !!answer.rules[name]); });
      tick("common", !answer.guessable);
      show(answer.verdict, answer.meter);
      help.dataset.verdict = answer.verdict;
    }).catch(function () {
      if (mine !== asked || input.value !== p) return;
      var reading = localReading(p);
      show(reading.met === RULES.length ? "unchecked" : reading.verdict, Math.min(reading.met, 5));
      help.dataset.verdict = "unchecked";
    });
  }

  function update() {
    var p = input.value, reading = localReading(p);
    RULES.forEach(function (name) { tick(name, reading.rules[name]); });
    tick("common", false);
    show(reading.verdict, Math.min(reading.met, 5));
    help.dataset.verdict = reading.verdict;
    clearTimeout(timer);
    asked += 1;  // any answer still on its way is for an older value
    if (p) timer = setTimeout(function () { ask(p); }, 300);
  }

  // "Show password": a button under the field, only when scripts run, on forms without a second
  // "repeat it" field (sign-up): data-password-reveal on the input.
  if (input.hasAttribute("data-password-reveal")) {
    var reveal = document.createElement("button");
    reveal.type = "button";
    reveal.className = "dk-reveal";
    reveal.textContent = _("Show password");
    reveal.setAttribute("aria-controls", input.id);
    reveal.addEventListener("click", function () {
      var hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      reveal.textContent = hidden ? _("Hide password") : _("Show password");
    });
    input.insertAdjacentElement("afterend", reveal);
    if (input.form) input.form.addEventListener("submit", function () { input.type = "password"; });
  }

  input.addEventListener("input", update);
  if (input.value) update();  // the browser refilled it (back button); a server re-render has strength drawn already
})();
