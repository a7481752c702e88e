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
  function say(text) { status.textContent = text; }
  function reason(e) { return (e && (e.reason || e.message || e.type)) || "unknown error"; }
  function leavePage() { window.location.href = root.getAttribute("data-leave-url") || "/"; }

  if (!window.WebVideoSDK || !window.WebVideoSDK.default) {
    say("Zoom's video software could not be loaded. Check that nothing blocks source.zoom.us (an ad blocker or a firewall), then reload the page.");
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
  client.on("user-added", function () { say("The other participant has joined."); });
  client.on("user-removed", function () { say("The other participant has left."); });
  client.on("connection-change", function (p) {
    if (p.state === "Reconnecting") { say("Connection lost: reconnecting…"); }
    else if (p.state === "Connected") { say("You are in the consultation."); }
    else if (p.state === "Closed") { say("The session has ended."); }
  });

  client.init("en-US", "Global", { patchJsMedia: true, leaveOnPageUnload: true })
    .then(function () {
      return client.join(root.getAttribute("data-session"), root.getAttribute("data-signature"), root.getAttribute("data-user-name"));
    })
    .then(function () {
      stream = client.getMediaStream();
      selfId = client.getCurrentUserInfo().userId;
      say("Connected. Starting your microphone and camera…");
      return stream.startAudio();
    })
    .then(function () {
      return stream.startVideo().then(function () {
        cameraOn = true;
        return attach(selfId);
      }, function () { say("Your camera could not start: you are in the consultation by audio only."); });
    })
    .then(function () {
      client.getAllUser().forEach(function (user) { if (user.userId !== selfId && user.bVideoOn) { attach(user.userId); } });
      micButton.disabled = false;
      cameraButton.disabled = false;
      cameraButton.textContent = cameraOn ? "Stop camera" : "Start camera";
      if (cameraOn) { say("You are in the consultation."); }
    })
    .catch(function (e) { say("Could not join the video room (" + reason(e) + "). Reload the page to try again."); });

  micButton.addEventListener("click", function () {
    var change = muted ? stream.unmuteAudio() : stream.muteAudio();
    Promise.resolve(change).then(function () {
      muted = !muted;
      micButton.setAttribute("aria-pressed", muted ? "true" : "false");
      micButton.textContent = muted ? "Unmute microphone" : "Mute microphone";
    });
  });
  cameraButton.addEventListener("click", function () {
    var change = cameraOn ? stream.stopVideo().then(function () { detach(selfId); })
      : stream.startVideo().then(function () { return attach(selfId); });
    Promise.resolve(change).then(function () {
      cameraOn = !cameraOn;
      cameraButton.setAttribute("aria-pressed", cameraOn ? "false" : "true");
      cameraButton.textContent = cameraOn ? "Stop camera" : "Start camera";
    });
  });
  leaveButton.addEventListener("click", function () {
    Promise.resolve(client.leave()).then(leavePage, leavePage);
  });
}());
