/* The join page with Zoom configured (SPEC §10): joins the consultation's Video SDK session with the
   signature the server made for this participant, starts the microphone and the camera, and shows
   every participant's video. Loaded only on /visit/<id>, and only when ZOOM_SDK_KEY/SECRET are set,
   after Zoom's own Video SDK script (global WebVideoSDK). Without Zoom keys this file is not used. */
(function () {
  "use strict";
  var root = document.querySelector("[data-dk-visit]");
  if (!root) { return; }
  var status = root.querySelector("[data-dk-visit-status]");
  var videos = root.querySelector("[data-dk-visit-videos]");
  var micButton = root.querySelector("[data-dk-visit-mic]");
  var cameraButton = root.querySelector("[data-dk-visit-camera]");
  var leaveButton = root.querySelector("[data-dk-visit-leave]");
  var VIDEO_360P = 2;  // VideoQuality.Video_360P
  /* The page's language (SPEC §20): the texts are English messages translated by the page into
     <script type="application/json" data-dk-i18n> (portals/js_strings.py). */
  var T = {};
  document.querySelectorAll("script[data-dk-i18n]").forEach(function (el) {
    try { Object.assign(T, JSON.parse(el.textContent)); } catch (e) { /* English, then */ }
  });
  function _(text, values) {
    return (T[text] || text).replace(/%\((\w+)\)s/g, function (m, k) { return values && k in values ? values[k] : m; });
  }
  var ZOOM_LANGUAGE = { en: "en-US", fr: "fr-FR", de: "de-DE" }[document.documentElement.lang] || "en-US";
  function say(text) { status.textContent = text; }
  function reason(e) { return (e && (e.reason || e.message || e.type)) || _("unknown error"); }
  function leavePage() { window.location.href = root.getAttribute("data-leave-url") || "/"; }

  if (!window.WebVideoSDK || !window.WebVideoSDK.default) {
    say(_("Zoom's video software could not be loaded. Check that nothing blocks source.zoom.us (an ad blocker or a firewall), then reload the page."));
    leaveButton.addEventListener("click", leavePage);
    return;
  }
  var ZoomVideo = window.WebVideoSDK.default;
  var client = ZoomVideo.createClient();
  var stream = null, selfId = null, muted = false, cameraOn = false;

  function attach(userId) {
    if (videos.querySelector('[data-user="' + userId + '"]')) { return Promise.resolve(); }
    return stream.attachVideo(userId, VIDEO_360P).then(function (element) {
      element.setAttribute("data-user", String(userId));
      videos.appendChild(element);
    });
  }
  function detach(userId) {
    stream.detachVideo(userId);
    var element = videos.querySelector('[data-user="' + userId + '"]');
    if (element) { element.remove(); }
  }

  client.on("peer-video-state-change", function (p) {
    if (!stream) { return; }
    if (p.action === "Start") { attach(p.userId); } else if (p.action === "Stop") { detach(p.userId); }
  });
  client.on("user-added", function () { say(_("The other participant has joined.")); });
  client.on("user-removed", function () { say(_("The other participant has left.")); });
  client.on("connection-change", function (p) {
    if (p.state === "Reconnecting") { say(_("Connection lost: reconnecting…")); }
    else if (p.state === "Connected") { say(_("You are in the consultation.")); }
    else if (p.state === "Closed") { say(_("The session has ended.")); }
  });

  client.init(ZOOM_LANGUAGE, "Global", { patchJsMedia: true, leaveOnPageUnload: true })
    .then(function () {
      return client.join(root.getAttribute("data-session"), root.getAttribute("data-signature"), root.getAttribute("data-user-name"));
    })
    .then(function () {
      stream = client.getMediaStream();
      selfId = client.getCurrentUserInfo().userId;
      say(_("Connected. Starting your microphone and camera…"));
      return stream.startAudio();
    })
    .then(function () {
      return stream.startVideo().then(function () {
        cameraOn = true;
        return attach(selfId);
      }, function () { say(_("Your camera could not start: you are in the consultation by audio only.")); });
    })
    .then(function () {
      client.getAllUser().forEach(function (user) { if (user.userId !== selfId && user.bVideoOn) { attach(user.userId); } });
      micButton.disabled = false;
      cameraButton.disabled = false;
      cameraButton.textContent = cameraOn ? _("Stop camera") : _("Start camera");
      if (cameraOn) { say(_("You are in the consultation.")); }
    })
    .catch(function (e) { say(_("Could not join the video room (%(reason)s). Reload the page to try again.", { reason: reason(e) })); });

  micButton.addEventListener("click", function () {
    var change = muted ? stream.unmuteAudio() : stream.muteAudio();
    Promise.resolve(change).then(function () {
      muted = !muted;
      micButton.setAttribute("aria-pressed", muted ? "true" : "false");
      micButton.textContent = muted ? _("Unmute microphone") : _("Mute microphone");
    });
  });
  cameraButton.addEventListener("click", function () {
    var change = cameraOn ? stream.stopVideo().then(function () { detach(selfId); })
      : stream.startVideo().then(function () { return attach(selfId); });
    Promise.resolve(change).then(function () {
      cameraOn = !cameraOn;
      cameraButton.setAttribute("aria-pressed", cameraOn ? "false" : "true");
      cameraButton.textContent = cameraOn ? _("Stop camera") : _("Start camera");
    });
  });
  leaveButton.addEventListener("click", function () {
    Promise.resolve(client.leave()).then(leavePage, leavePage);
  });
}());
