// Live password rules and strength meter. The server enforces the same rules and also refuses
// guessable passwords; this only helps while typing. Works without it (progressive enhancement).
(function () {
  var input = document.querySelector("[data-password-meter]");
  if (!input) return;
  var min = parseInt(input.dataset.minLength || "12", 10);
  var meter = document.getElementById("password-strength");
  var label = document.getElementById("password-strength-label");
  var rules = {
    length: function (p) { return p.length >= min; },
    upper: function (p) { return /\p{Lu}/u.test(p); },
    lower: function (p) { return /\p{Ll}/u.test(p); },
    digit: function (p) { return /\p{Nd}/u.test(p); },
    symbol: function (p) { return /[\p{P}\p{S}]/u.test(p); }
  };
  // The words come from the page (translated with the templates); English if absent.
  var help = document.getElementById("password-help");
  var from = function (name, fallback) { return (help && help.dataset[name]) || fallback; };
  var strong = from("strong", "Strong");
  var words = [from("tooWeak", "Too weak"), from("weak", "Weak"), from("fair", "Fair"), from("good", "Good"), strong, strong];
  var done = " " + from("done", "(done)"), missing = " " + from("missing", "(missing)");
  function update() {
    var p = input.value, met = 0;
    Object.keys(rules).forEach(function (name) {
      var ok = rules[name](p);
      var item = document.querySelector('[data-rule="' + name + '"]');
      if (item) {
        item.classList.toggle("dk-rule--met", ok);
        item.querySelector(".visually-hidden").textContent = ok ? done : missing;
      }
      if (ok) met += 1;
    });
    meter.value = met;
    label.textContent = p ? words[met] : "";
  }
  input.addEventListener("input", update);
  update();
})();
