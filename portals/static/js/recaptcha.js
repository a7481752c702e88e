// reCAPTCHA v3: fetch a token just before the form is sent. Loaded only when keys are set.
(function () {
  var script = document.currentScript;
  var siteKey = script.dataset.siteKey, action = script.dataset.action;
  var field = document.getElementById("recaptcha_token");
  if (!field || !siteKey) return;
  var form = field.form;
  form.addEventListener("submit", function (event) {
    if (field.value || !window.grecaptcha) return;
    event.preventDefault();
    window.grecaptcha.ready(function () {
      window.grecaptcha.execute(siteKey, { action: action }).then(function (token) {
        field.value = token;
        form.submit();
      }, function () { form.submit(); });  // the server falls back to its own challenge
    });
  });
})();
