/* Device self-test wizard (SPEC §10): a modal dialog that checks the camera, the microphone, the
   connection speed, the echo and the video network, one step after the other, each with a live
   result, a plain-language fix hint and a retry; then saves the result (POST /api/video-test/result),
   whose thresholds the server checks again from the numbers. Opened by any [data-dk-device-test]
   link (its data-appointment names the consultation, if any); without this script that link goes
   to /devices. The thresholds are core/video/policy.py's. */
(function () {
  "use strict";
  var script = document.currentScript;
  var STUN_URL = (script && script.getAttribute("data-stun-url")) || "";
  // With our own relay (VIDEO_PROVIDER=webrtc or a TURN server) an unreachable STUN server is a
  // warning, not a failure (SPEC §16).
  var STUN_OPTIONAL = !!script && script.getAttribute("data-stun-optional") === "yes";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var MIN_WIDTH = 640, MIN_HEIGHT = 480, MIN_DBFS = -45, MIN_MBPS = 1.2, MAX_ECHO = 0.3;
  var STUN_TIMEOUT_MS = 5000;
  var LISTEN_MS = 2000;  // how long the microphone step listens
  /* The page's language (SPEC §20): every text below is an English message of the gettext catalogs,
     translated by the page into <script type="application/json" data-dk-i18n> (portals/js_strings.py);
     numbers are written with Intl for the page's language. */
  var T = {};
  document.querySelectorAll("script[data-dk-i18n]").forEach(function (el) {
    try { Object.assign(T, JSON.parse(el.textContent)); } catch (e) { /* English, then */ }
  });
  function _(text, values) {
    return (T[text] || text).replace(/%\((\w+)\)s/g, function (m, k) { return values && k in values ? values[k] : m; });
  }
  var LANG = document.documentElement.lang || "en";
  var numbers = new Intl.NumberFormat(LANG, { maximumFractionDigits: 3 });
  function num(x) { return numbers.format(x); }
  /* `title` heads the step; `name` is the same check inside a sentence ("the camera check"). */
  var STEPS = [
    { id: "camera", title: _("Camera"), name: _("camera") },
    { id: "microphone", title: _("Microphone"), name: _("microphone") },
    { id: "bandwidth", title: _("Connection speed"), name: _("connection speed") },
    { id: "echo", title: _("Echo"), name: _("echo") },
    { id: "stun", title: _("Video network"), name: _("video network") }
  ];
  var media = { camera: null, mic: null, ctx: null };
  var results = {};
  var run = 0;  // bumps on every start and on close: late answers of an older run are dropped
  var busy = false;
  var modal = null, opener = null, appointmentId = null, inerted = [];

  function $(sel, root) { return (root || modal).querySelector(sel); }
  function errorName(e) { return String((e && e.name) || "Error").slice(0, 80); }
  function round(x, digits) { var f = Math.pow(10, digits); return Math.round(x * f) / f; }
  function dbfs(x) { return num(Math.round(x)).replace("-", "\u2212") + " dBFS"; }  // a real minus sign
  function stopStream(stream) { if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); } }
  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function result(ok, text, hint, details) { return { ok: ok, text: text, hint: hint || "", details: details || {} }; }
  function audio() {
    /* Created (or resumed) inside a click: browsers only let a page play sound after a gesture. */
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!media.ctx || media.ctx.state === "closed") { media.ctx = new Ctx(); }
    if (media.ctx.state === "suspended") { media.ctx.resume(); }
    return media.ctx;
  }

  /* ---- camera: preview, and the size the track really delivers (its settings) ---- */
  function testCamera() {
    stopStream(media.camera);
    media.camera = null;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.resolve(result(false, _("This browser cannot use a camera."), _("Use a recent Chrome, Edge, Firefox or Safari."), { error: "NoMediaDevices" }));
    }
    return navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(function (stream) {
        media.camera = stream;
        var preview = $("[data-dt-preview]");
        preview.srcObject = stream;
        preview.hidden = false;
        var play = preview.play();
        if (play && play.catch) { play.catch(function () { /* the preview is a courtesy */ }); }
        var settings = stream.getVideoTracks()[0].getSettings();
        var sized = settings.width && settings.height ? Promise.resolve(settings) : new Promise(function (resolve) {
          preview.addEventListener("loadedmetadata", function () { resolve({ width: preview.videoWidth, height: preview.videoHeight }); }, { once: true });
          setTimeout(function () { resolve({ width: preview.videoWidth, height: preview.videoHeight }); }, 2000);
        });
        return sized.then(function (s) {
          var w = s.width || 0, h = s.height || 0;
          var details = { width: w, height: h };
          if (settings.frameRate) { details.frameRate = round(settings.frameRate, 1); }
          if (Math.max(w, h) >= MIN_WIDTH && Math.min(w, h) >= MIN_HEIGHT) {
            return result(true, _("Your camera works: %(size)s.", { size: size(w, h) }), "", details);
          }
          return result(false, _("Your camera gives %(size)s; at least %(needed)s is needed.", { size: size(w, h), needed: size(MIN_WIDTH, MIN_HEIGHT) }),
            _("Close other apps that use the camera, or choose a better camera in your browser's settings, then retry."), details);
        });
      })
      .catch(function (e) {
        var name = errorName(e);
        if (name === "NotAllowedError" || name === "SecurityError") {
          return result(false, _("Camera access is blocked."), _("Allow the camera for this site (the camera icon in the address bar), then retry. You can still join by audio only."), { error: name });
        }
        if (name === "NotReadableError" || name === "AbortError") {
          return result(false, _("Your camera is busy."), _("Close other apps that use the camera (another call, for example), then retry."), { error: name });
        }
        return result(false, _("No camera was found."), _("Connect a camera and retry. Without one you can still join by audio only."), { error: name });
      });
  }

  /* ---- microphone: the loudest 50 ms RMS level over two seconds, with a live meter ---- */
  function levelDbfs(samples) {
    var sum = 0;
    for (var i = 0; i < samples.length; i++) { sum += samples[i] * samples[i]; }
    return Math.max(-200, Math.min(0, 10 * Math.log10(sum / samples.length + 1e-20)));
  }
  function testMicrophone() {
    stopStream(media.mic);
    media.mic = null;
    var ctx = audio();
    if (!ctx || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.resolve(result(false, _("This browser cannot use a microphone."), _("Use a recent Chrome, Edge, Firefox or Safari."), { error: "NoMediaDevices" }));
    }
    // The call's own constraints: the echo step then measures what the other side would hear.
    return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false })
      .then(function (stream) {
        media.mic = stream;
        var source = ctx.createMediaStreamSource(stream);
        var analyser = ctx.createAnalyser();
        analyser.fftSize = 2048;
        source.connect(analyser);
        var buffer = new Float32Array(analyser.fftSize);
        var meter = $("[data-dt-level]"), meterText = $("[data-dt-level-text]");
        var loudest = -200, started = performance.now();
        setText("microphone", _("Listening… say a few words."));
        return new Promise(function (resolve) {
          var timer = setInterval(function () {
            analyser.getFloatTimeDomainData(buffer);
            var db = levelDbfs(buffer);
            loudest = Math.max(loudest, db);
            meter.value = Math.max(meter.min, db);
            meterText.textContent = db > MIN_DBFS ? _("We hear you") : _("Too quiet");
            if (performance.now() - started >= LISTEN_MS) {
              clearInterval(timer);
              source.disconnect();
              meter.value = Math.max(meter.min, loudest);  // the meter keeps what counted: the loudest
              meterText.textContent = loudest > MIN_DBFS ? _("We hear you") : _("Too quiet");
              resolve(loudest);
            }
          }, 50);
        });
      })
      .then(function (loudest) {
        var details = { rmsDbfs: round(loudest, 1) };
        if (loudest > MIN_DBFS) {
          return result(true, _("Your microphone works: we hear you clearly."), "", details);
        }
        return result(false, _("We could hardly hear you."),
          _("Check that the microphone is not muted (on the headset or in the system settings), speak while it listens, then retry."), details);
      })
      .catch(function (e) {
        var name = errorName(e);
        if (name === "NotAllowedError" || name === "SecurityError") {
          return result(false, _("Microphone access is blocked."), _("Allow the microphone for this site (the icon in the address bar), then retry."), { error: name });
        }
        if (name === "NotReadableError" || name === "AbortError") {
          return result(false, _("Your microphone is busy."), _("Close other apps that use the microphone, then retry."), { error: name });
        }
        return result(false, _("No microphone was found."), _("Connect a headset or a microphone, then retry. A consultation needs one."), { error: name });
      });
  }

  /* ---- bandwidth: timed transfers against our server, grown ×4 while one takes under 0.4 s ---- */
  function randomBody(size) {
    var body = new Uint8Array(size);
    for (var i = 0; i < size; i += 65536) { crypto.getRandomValues(body.subarray(i, Math.min(size, i + 65536))); }
    return body;
  }
  function checked(response) {
    if (response.status === 429) { throw Object.assign(new Error("rate limited"), { name: "RateLimited" }); }
    if (!response.ok) { throw Object.assign(new Error("HTTP " + response.status), { name: "Http" + response.status }); }
    return response;
  }
  function transfer(kind, size) {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, 15000);
    var started = performance.now();
    var request = kind === "down"
      ? fetch("/api/video-test/download?bytes=" + size, { cache: "no-store", credentials: "same-origin", signal: abort.signal })
        .then(checked).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return b.byteLength; })
      : fetch("/api/video-test/upload", { method: "POST", credentials: "same-origin", signal: abort.signal, body: randomBody(size),
        headers: { "Content-Type": "application/octet-stream", "X-CSRFToken": csrf, Accept: "application/json" } })
        .then(checked).then(function (r) { return r.json(); }).then(function (j) { return j.receivedBytes; });
    return request.then(function (bytes) {
      clearTimeout(timer);
      var seconds = Math.max((performance.now() - started) / 1000, 0.001);
      return { bytes: bytes, mbps: bytes * 8 / seconds / 1e6, seconds: seconds };
    }, function (e) { clearTimeout(timer); throw e; });
  }
  function measure(kind, size, max, deadline) {
    return transfer(kind, size).then(function (m) {
      if (m.seconds < 0.4 && size < max && performance.now() < deadline) { return measure(kind, Math.min(max, size * 4), max, deadline); }
      return m;
    });
  }
  function testBandwidth() {
    var deadline = performance.now() + 8000;
    var down = null;
    setText("bandwidth", _("Measuring the download speed…"));
    return measure("down", 64 * 1024, 4 * 1024 * 1024, deadline)
      .then(function (d) {
        down = d;
        setText("bandwidth", _("Measuring the upload speed…"));
        return measure("up", 64 * 1024, 1024 * 1024, deadline + 4000);
      })
      .then(function (up) {
        var details = { downMbps: round(Math.min(down.mbps, 100000), 2), upMbps: round(Math.min(up.mbps, 100000), 2),
                        downBytes: down.bytes, upBytes: up.bytes };
        var speeds = { down: mbps(down.mbps), up: mbps(up.mbps), needed: mbps(MIN_MBPS) };
        if (down.mbps >= MIN_MBPS && up.mbps >= MIN_MBPS) {
          return result(true, _("Your connection is fast enough: download %(down)s, upload %(up)s.", speeds), "", details);
        }
        return result(false, _("Download %(down)s, upload %(up)s. At least %(needed)s each way is needed.", speeds),
          _("Move closer to your Wi-Fi router or use a cable, pause downloads and other videos, then retry."), details);
      })
      .catch(function (e) {
        var name = errorName(e);
        if (name === "RateLimited") { return result(false, _("Too many speed tests in a minute."), _("Wait a minute, then retry."), { error: name }); }
        return result(false, _("The speed test could not reach Doktu."), _("Check your internet connection, then retry."), { error: name });
      });
  }
  function mbps(x) { return num(x >= 100 ? Math.round(x) : round(x, 1)) + " Mbps"; }
  var plain = new Intl.NumberFormat(LANG, { useGrouping: false });  // 1280 × 720, as screens are named
  function size(w, h) { return plain.format(w) + " × " + plain.format(h); }

  /* ---- echo ----
     The score: the wizard plays a known reference, a 0.5 s linear chirp from 400 to 2400 Hz, through
     the speakers while it records the microphone (after the browser's echo cancellation, as in the
     call), and takes the peak of the normalised cross-correlation of the two,
         score = max over lags τ of |Σ r(t)·m(t+τ)| / √(Σ r(t)² · Σ m(t+τ)²),
     in [0, 1]: 0 when the microphone hears none of the reference, 1 when it hears an exact copy.
     Below 0.3 passes. Both signals are first averaged over 4 samples (a low-pass well above
     2400 Hz) to make the search 16 times cheaper. */
  var CHIRP = { seconds: 0.5, from: 400, to: 2400, amplitude: 0.5, decimate: 4 };
  function chirp(rate) {
    var n = Math.round(rate * CHIRP.seconds), ref = new Float32Array(n), fade = 0.01 * rate;
    for (var i = 0; i < n; i++) {
      var t = i / rate;
      var phase = 2 * Math.PI * (CHIRP.from * t + (CHIRP.to - CHIRP.from) * t * t / (2 * CHIRP.seconds));
      ref[i] = CHIRP.amplitude * Math.sin(phase) * Math.min(1, i / fade, (n - i) / fade);
    }
    return ref;
  }
  function decimate(samples, by) {
    var out = new Float32Array(Math.floor(samples.length / by));
    for (var i = 0; i < out.length; i++) {
      var s = 0;
      for (var k = 0; k < by; k++) { s += samples[i * by + k]; }
      out[i] = s / by;
    }
    return out;
  }
  function echoScore(reference, recorded, by) {
    var r = decimate(reference, by || CHIRP.decimate), m = decimate(recorded, by || CHIRP.decimate);
    var energy = 0, best = 0, i;
    for (i = 0; i < r.length; i++) { energy += r[i] * r[i]; }
    for (var lag = 0; lag + r.length <= m.length; lag++) {
      var dot = 0, window = 0;
      for (i = 0; i < r.length; i++) { var v = m[lag + i]; dot += r[i] * v; window += v * v; }
      if (window > 0 && energy > 0) { best = Math.max(best, Math.abs(dot) / Math.sqrt(energy * window)); }
    }
    return Math.min(1, best);
  }
  function testEcho() {
    var ctx = media.ctx;
    if (!media.mic || !ctx) {
      return Promise.resolve(result(false, _("Skipped: the echo check needs a working microphone."), _("Fix the microphone first, then retry."), { error: "NoMicrophone" }));
    }
    var rate = ctx.sampleRate, reference = chirp(rate);
    var source = ctx.createMediaStreamSource(media.mic);
    // ScriptProcessorNode is deprecated but everywhere; an AudioWorklet would need a module file of its own.
    var recorder = ctx.createScriptProcessor(4096, 1, 1), silent = ctx.createGain(), chunks = [];
    silent.gain.value = 0;
    recorder.onaudioprocess = function (e) { chunks.push(new Float32Array(e.inputBuffer.getChannelData(0))); };
    source.connect(recorder);
    recorder.connect(silent);
    silent.connect(ctx.destination);
    var buffer = ctx.createBuffer(1, reference.length, rate);
    buffer.getChannelData(0).set(reference);
    var player = ctx.createBufferSource();
    player.buffer = buffer;
    player.connect(ctx.destination);
    player.start(ctx.currentTime + 0.2);
    setText("echo", _("Playing a short sound…"));
    return wait((0.2 + CHIRP.seconds + 0.7) * 1000).then(function () {
      source.disconnect();
      recorder.disconnect();
      silent.disconnect();
      var total = 0;
      chunks.forEach(function (c) { total += c.length; });
      var recorded = new Float32Array(total), at = 0;
      chunks.forEach(function (c) { recorded.set(c, at); at += c.length; });
      if (recorded.length < reference.length) {
        return result(false, _("The echo check could not record."), _("Retry; if it fails again, reload the page."), { error: "NoRecording" });
      }
      var score = echoScore(reference, recorded);
      var details = { score: round(score, 3) };
      if (score < MAX_ECHO) {
        return result(true, _("No echo: the other person will not hear themselves."), "", details);
      }
      return result(false, _("Your microphone picks up your speakers, so the other person would hear an echo."),
        _("Use headphones, or turn the speaker volume down, then retry."), details);
    });
  }

  /* ---- STUN: a real binding request to our STUN server, from an ICE gathering ----
     A server-reflexive (srflx) candidate is the server's answer. Chromium drops a srflx candidate
     equal to a host candidate (a device with a public address, no NAT), so a gathering that
     completes with host candidates and no candidate error also means the server answered; an
     unreachable server keeps the gathering going until our timeout. */
  function testStun() {
    if (!STUN_URL) {
      return Promise.resolve(result(false, _("This Doktu cannot check your video network."), _("Please tell the Doktu team."), { reachable: false, error: "NoStunUrl" }));
    }
    if (!window.RTCPeerConnection) {
      return Promise.resolve(result(false, _("This browser cannot make video calls (no WebRTC)."), _("Use a recent Chrome, Edge, Firefox or Safari."), { reachable: false, error: "NoWebRTC" }));
    }
    return new Promise(function (resolve) {
      var started = performance.now(), done = false, hosts = 0, errors = [];
      var pc = new RTCPeerConnection({ iceServers: [{ urls: STUN_URL }] });
      var timer = setTimeout(function () { finish(null, "Timeout"); }, STUN_TIMEOUT_MS);
      function finish(type, error) {
        if (done) { return; }
        done = true;
        clearTimeout(timer);
        pc.close();
        var rtt = Math.round(performance.now() - started);
        if (type) { resolve(result(true, _("Your network can connect video calls."), "", { reachable: true, rttMs: rtt, candidateType: type })); return; }
        resolve(result(false, _("Your network may block video calls."),
          _("A firewall or VPN may block video calls. Switch the VPN off or try another network (your phone's hotspot, for example), then retry."),
          { reachable: false, error: error }));
      }
      function typeOf(c) { return c.type || ((/ typ (\w+)/.exec(c.candidate) || [])[1]); }
      pc.onicecandidate = function (e) {
        if (!e.candidate || !e.candidate.candidate) { return; }
        var type = typeOf(e.candidate);
        if (type === "srflx") { finish("srflx"); } else if (type === "host") { hosts++; }
      };
      pc.onicecandidateerror = function (e) { errors.push(e.errorCode); };
      pc.onicegatheringstatechange = function () {
        if (pc.iceGatheringState !== "complete") { return; }
        if (hosts && !errors.length) { finish("host"); } else { finish(null, errors.length ? "IceError" + errors[0] : "NoCandidates"); }
      };
      pc.createDataChannel("doktu-stun-check");
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
        .catch(function (e) { finish(null, errorName(e)); });
    });
  }

  var RUNNERS = { camera: testCamera, microphone: testMicrophone, bandwidth: testBandwidth, echo: testEcho, stun: testStun };

  /* ---- the dialog ---- */
  function esc(text) {
    return String(text).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }
  function build() {
    var root = document.createElement("div");
    root.className = "dk-modal";
    root.hidden = true;
    root.setAttribute("data-dk-device-test-dialog", "");
    var steps = STEPS.map(function (s) {
      return '<li class="dk-dt__step" data-step="' + s.id + '" data-state="idle">' +
        '<h3 class="dk-dt__title" id="dk-dt-' + s.id + '" tabindex="-1">' + esc(s.title) + '</h3>' +
        '<p class="dk-dt__result" role="status" data-result>' + esc(_("Not checked yet.")) + '</p>' +
        '<p class="dk-dt__hint" data-hint hidden></p>' +
        '<details class="dk-dt__figures" data-figures hidden><summary>' + esc(_("Details")) + '<span class="visually-hidden">' +
        esc(_(" of the %(check)s check", { check: s.name })) + '</span></summary><p data-figures-text></p></details>' +
        '<button type="button" class="dk-btn dk-btn--ghost dk-btn--small" data-retry hidden>' + esc(_("Retry the %(check)s check", { check: s.name })) + '</button></li>';
    }).join("");
    root.innerHTML =
      '<div class="dk-modal__dialog" role="dialog" aria-modal="true" aria-labelledby="dk-dt-heading" aria-describedby="dk-dt-intro">' +
        '<div class="dk-modal__head"><h2 id="dk-dt-heading" tabindex="-1">' + esc(_("Device test")) + '</h2>' +
        '<button type="button" class="dk-modal__close" data-dt-close aria-label="' + esc(_("Close the device test")) + '">×</button></div>' +
        '<p id="dk-dt-intro">' + esc(_("We check your camera, microphone, connection speed, echo and video network (about 6 seconds). Allow the camera and the microphone when your browser asks, and say a few words while the microphone is checked.")) + '</p>' +
        '<p class="dk-dt__summary" role="status" data-summary></p>' +
        '<div class="dk-dt__media"><video class="dk-dt__preview" data-dt-preview muted playsinline hidden aria-label="' + esc(_("Your camera preview")) + '"></video>' +
        '<div class="dk-dt__level"><label for="dk-dt-level">' + esc(_("Microphone level")) + '</label> ' +
        '<meter id="dk-dt-level" data-dt-level min="-80" max="0" low="-45" high="-6" optimum="-20" value="-80"></meter> ' +
        '<span data-dt-level-text aria-hidden="true">—</span></div></div>' +
        '<ol class="dk-dt__steps">' + steps + '</ol>' +
        '<div class="dk-modal__actions"><button type="button" class="dk-btn" data-dt-start>' + esc(_("Start the test")) + '</button>' +
        '<button type="button" class="dk-btn dk-btn--ghost" data-dt-close>' + esc(_("Close")) + '</button></div>' +
      '</div>';
    document.body.appendChild(root);
    root.addEventListener("click", function (e) {
      var target = e.target.closest("button");
      if (!target) { if (e.target === root) { close(); } return; }
      if (target.hasAttribute("data-dt-close")) { close(); }
      else if (target.hasAttribute("data-dt-start")) { startAll(); }
      else if (target.hasAttribute("data-retry")) { retry(target.closest("[data-step]").getAttribute("data-step")); }
    });
    root.addEventListener("keydown", onKey);
    return root;
  }

  function focusables() {
    return Array.prototype.filter.call(modal.querySelectorAll("button, [href], input, select, textarea, summary, [tabindex]:not([tabindex='-1'])"),
      function (el) { return !el.disabled && !el.hidden && el.offsetParent !== null; });
  }
  function onKey(e) {
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key !== "Tab") { return; }
    var items = focusables();
    if (!items.length) { return; }
    var first = items[0], last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !modal.contains(document.activeElement))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  }

  function open(trigger) {
    modal = modal || build();
    opener = trigger || document.activeElement;
    appointmentId = (trigger && trigger.getAttribute("data-appointment")) || null;
    inerted = Array.prototype.filter.call(document.body.children, function (el) { return el !== modal && !el.inert && el.tagName !== "SCRIPT"; });
    inerted.forEach(function (el) { el.inert = true; });
    modal.hidden = false;
    document.body.classList.add("dk-modal-open");
    $("[data-dt-start]").focus();
  }

  function close() {
    if (!modal || modal.hidden) { return; }
    run++;
    busy = false;
    $("[data-dt-start]").removeAttribute("aria-disabled");
    stopStream(media.camera);
    stopStream(media.mic);
    media.camera = media.mic = null;
    $("[data-dt-preview]").srcObject = null;
    if (media.ctx && media.ctx.state !== "closed") { media.ctx.close(); }
    media.ctx = null;
    modal.hidden = true;
    document.body.classList.remove("dk-modal-open");
    inerted.forEach(function (el) { el.inert = false; });
    inerted = [];
    if (opener && opener.focus) { opener.focus(); }
  }

  function stepBox(id) { return $('[data-step="' + id + '"]'); }
  function setText(id, text) { $("[data-result]", stepBox(id)).textContent = text; }
  /* The measured numbers, for the curious and for support: behind a "Details" disclosure, never in
     the verdict itself (SPEC §16: no dBFS, no STUN in the patient's words). */
  function figures(id, d) {
    if (!d) { return ""; }
    if (d.error) { return _("Browser error: %(error)s.", { error: d.error }); }
    if (id === "camera") {
      var needed = size(MIN_WIDTH, MIN_HEIGHT);
      return d.frameRate ? _("%(size)s at %(rate)s frames/s (at least %(needed)s).", { size: size(d.width, d.height), rate: num(d.frameRate), needed: needed })
        : _("%(size)s (at least %(needed)s).", { size: size(d.width, d.height), needed: needed });
    }
    if (id === "microphone" && d.rmsDbfs != null) { return _("Loudest level %(level)s (more than %(needed)s needed).", { level: dbfs(d.rmsDbfs), needed: dbfs(MIN_DBFS) }); }
    if (id === "bandwidth" && d.downMbps != null) { return _("%(down)s down, %(up)s up (at least %(needed)s each way).", { down: num(d.downMbps) + " Mbps", up: num(d.upMbps) + " Mbps", needed: mbps(MIN_MBPS) }); }
    if (id === "echo" && d.score != null) { return _("Echo score %(score)s (below %(needed)s needed).", { score: num(round(d.score, 2)), needed: num(MAX_ECHO) }); }
    if (id === "stun") {
      return d.reachable ? _("STUN server answered in %(ms)s ms (%(type)s).", { ms: num(d.rttMs), type: d.candidateType })
        : _("No STUN answer within %(seconds)s s.", { seconds: num(STUN_TIMEOUT_MS / 1000) });
    }
    return "";
  }
  function show(id, state, text, hint, details) {
    var box = stepBox(id), retryButton = $("[data-retry]", box), hintBox = $("[data-hint]", box);
    var figuresBox = $("[data-figures]", box), numbers = figures(id, details);
    $("[data-figures-text]", box).textContent = numbers;
    figuresBox.hidden = !numbers || state === "running" || state === "idle";
    box.setAttribute("data-state", state);
    var shown = state === "passed" ? _("Passed: %(result)s", { result: text }) : state === "failed" ? _("Did not pass: %(result)s", { result: text })
      : state === "warning" ? _("Note: %(result)s", { result: text }) : text;
    $("[data-result]", box).textContent = shown;
    hintBox.textContent = hint ? _("How to fix it: %(hint)s", { hint: hint }) : "";
    hintBox.hidden = !hint;
    if (state !== "failed" && document.activeElement === retryButton) { $(".dk-dt__title", box).focus(); }
    retryButton.hidden = state !== "failed";
  }

  function runStep(id, token) {
    show(id, "running", _("Checking…"), "");
    var attempt;
    try { attempt = RUNNERS[id](); } catch (e) { attempt = Promise.reject(e); }
    return attempt.catch(function (e) {
      return result(false, _("This check could not run (%(error)s).", { error: errorName(e) }), _("Retry; if it fails again, reload the page."), { error: errorName(e) });
    }).then(function (r) {
      if (token !== run) { return; }
      results[id] = r;
      if (!r.ok && id === "stun" && STUN_OPTIONAL && r.details.error === "NoStunUrl") {
        r.warning = true;
        show(id, "warning", _("Not checked here: your call connects directly, or through our relay."), "", r.details);
        return;
      }
      if (!r.ok && id === "stun" && STUN_OPTIONAL) {
        // Joining still works: the call goes through our relay when direct paths are blocked.
        r.warning = true;
        show(id, "warning", _("Your network may block direct video; we will relay it."), "", r.details);
        return;
      }
      show(id, r.ok ? "passed" : "failed", r.text, r.hint, r.details);
    });
  }

  function sequence(ids, token) {
    return ids.reduce(function (done, id) { return done.then(function () { if (token === run) { return runStep(id, token); } }); }, Promise.resolve());
  }

  function begin() {
    if (busy) { return null; }
    busy = true;
    audio();  // inside the click
    $("[data-dt-start]").setAttribute("aria-disabled", "true");
    $("[data-summary]").textContent = _("Testing…");
    return ++run;
  }

  function startAll() {
    var token = begin();
    if (token === null) { return; }
    results = {};
    STEPS.forEach(function (s) { show(s.id, "idle", _("Waiting…"), ""); });
    sequence(STEPS.map(function (s) { return s.id; }), token).then(function () { finish(token); });
  }

  function retry(id) {
    var token = begin();
    if (token === null) { return; }
    var ids = [id];
    // The echo check listens through the microphone: after a microphone retry, check the echo again.
    if (id === "microphone") { ids.push("echo"); }
    sequence(ids, token).then(function () { finish(token); });
  }

  function outcome() {
    var failed = STEPS.filter(function (s) { var r = results[s.id]; return !(r && (r.ok || r.warning)); }).map(function (s) { return s.id; });
    if (!failed.length) { return { outcome: "passed", failed: failed }; }
    return { outcome: failed.length === 1 && failed[0] === "camera" ? "audio_only" : "failed", failed: failed };
  }

  function details() {
    var d = {};
    STEPS.forEach(function (s) {
      var r = results[s.id];
      if (r) { d[s.id] = r.details; }
    });
    d.userAgent = navigator.userAgent.slice(0, 300);
    return d;
  }

  function finish(token) {
    if (token !== run) { return; }
    var verdict = outcome();
    var titles = verdict.failed.map(function (id) { return STEPS.filter(function (s) { return s.id === id; })[0].name; });
    var summary = $("[data-summary]");
    fetch("/api/video-test/result", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ appointmentId: appointmentId, passed: verdict.outcome !== "failed", details: details() })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; }, function () { return { ok: false, body: {} }; });
    }).then(function (answer) {
      if (token !== run) { return; }
      busy = false;
      var start = $("[data-dt-start]");
      start.removeAttribute("aria-disabled");
      start.textContent = _("Run the whole test again");
      modal.setAttribute("data-outcome", answer.ok ? answer.body.outcome : "unsaved");
      if (!answer.ok) {
        var error = (answer.body && answer.body.error) || {};
        summary.textContent = error.message ? _("Your result could not be saved: %(reason)s", { reason: error.message })
          : _("Your result could not be saved: please retry.");
        return;
      }
      var saved = answer.body.outcome;
      if (saved === "passed") {
        summary.textContent = _("All checks passed. You are ready: joining accepts this test for 24 hours.");
      } else if (saved === "audio_only") {
        summary.textContent = _("Audio only: your microphone and connection work, but not the camera. You can join by audio, or fix the camera and retry.");
      } else {
        summary.textContent = titles.length === 1
          ? _("Not ready yet: the %(checks)s check did not pass. Follow the hints and retry — joining needs a passed test.", { checks: titles[0] })
          : _("Not ready yet: the %(checks)s checks did not pass. Follow the hints and retry — joining needs a passed test.", { checks: titles.join(", ") });
      }
      document.dispatchEvent(new CustomEvent("doktu:device-test", { detail: answer.body }));
      if (saved !== "failed") { refreshJoins(); }
    }, function () {
      if (token !== run) { return; }
      busy = false;
      $("[data-dt-start]").removeAttribute("aria-disabled");
      summary.textContent = _("Your result could not be saved: check your connection and retry.");
    });
  }

  /* ---- the dashboard's Join buttons (GET /api/appointments/<id>/join decides) ---- */
  function checkJoin(box) {
    var id = box.getAttribute("data-dk-join");
    return fetch("/api/appointments/" + id + "/join", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (answer) {
        var why = box.querySelector("[data-dk-join-why]"), button = box.querySelector("button[disabled]");
        if (answer.ok) {
          if (button) {
            var link = document.createElement("a");
            link.className = "dk-btn";
            link.href = answer.body.joinUrl;
            link.innerHTML = button.innerHTML;  // "Join video" and the consultation it joins
            link.setAttribute("aria-describedby", why.id);
            button.replaceWith(link);
          }
          why.textContent = _("The video room is open: your device test passed.");
          box.setAttribute("data-dk-join-code", "");
        } else if (answer.body && answer.body.error) {
          why.textContent = answer.body.error.message;
          box.setAttribute("data-dk-join-code", answer.body.error.code);
        }
      })
      .catch(function () { /* the button stays as the server rendered it */ });
  }
  function refreshJoins() {
    document.querySelectorAll('[data-dk-join][data-dk-join-code="ERR_VIDEO_TEST_REQUIRED"]').forEach(checkJoin);
  }
  function watchOpenings() {
    // A room that opens within the hour: ask again when it opens, so the button needs no reload.
    document.querySelectorAll('[data-dk-join][data-dk-join-code="ERR_TIME_WINDOW"][data-dk-join-opens]').forEach(function (box) {
      var delay = Date.parse(box.getAttribute("data-dk-join-opens")) - Date.now();
      if (delay > 0 && delay < 3600 * 1000) { setTimeout(function () { checkJoin(box); }, delay + 1000); }
    });
  }

  document.addEventListener("click", function (e) {
    var trigger = e.target.closest && e.target.closest("[data-dk-device-test]");
    if (!trigger) { return; }
    e.preventDefault();
    open(trigger);
  });
  watchOpenings();
  window.doktuDeviceTest = { open: open, echoScore: echoScore, chirp: chirp, thresholds: {
    minWidth: MIN_WIDTH, minHeight: MIN_HEIGHT, minDbfs: MIN_DBFS, minMbps: MIN_MBPS, maxEcho: MAX_ECHO, stunTimeoutMs: STUN_TIMEOUT_MS } };
}());
