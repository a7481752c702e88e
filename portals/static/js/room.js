/* The consultation room, VIDEO_PROVIDER=webrtc (SPEC §16): one page, /visit/<id>. Before the window
   it is a waiting room (countdown, the other side's presence, the device test); when the window
   opens it shows the room by itself. The call is peer to peer; signalling goes through our own
   /api/visits/<id>/… by short polling (0.5 s while connecting, 2 s once connected).

   Who offers: always the doctor. The patient's arrival ("hello") makes the doctor (re)offer, so two
   offers never cross. A session id (sid) per peer connection drops stale answers and candidates.
   Recovery: on "disconnected"/"failed" or a network change the doctor restarts ICE; the patient asks
   for it with "hello" when its connection fails. A newer tab of the same person takes over (the
   server answers 409 ERR_ROOM_TAKEN_OVER to this tab's next poll). Its words are gettext
   messages, translated by the page (portals/js_strings.py). */
const root = document.querySelector("[data-dk-room]");
const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

const POLL_CONNECTING_MS = 500;
// While the handshake is under way — the other person is on the page, or a message was just sent or
// received — offer, answer and candidates cross every 150 ms: each hop was half a connecting
// interval on average, and there are three of them between Join and the first frame (issue 15).
const POLL_HANDSHAKE_MS = 150;
const HANDSHAKE_MS = 5000;
const POLL_CONNECTED_MS = 2000;
const PRESENCE_MS = 3000;
const LOST_AFTER_MS = 15000;

if (root) { start(); }

function start() {
  const id = root.dataset.appointment;
  const role = root.dataset.role;
  const peerName = root.dataset.peerName;
  const $ = (sel) => root.querySelector(sel);
  const el = {
    waiting: $("[data-room-waiting]"), countdown: $("[data-room-countdown]"), peer: $("[data-room-peer]"),
    readiness: $("[data-room-readiness]"), call: $("[data-room-call]"), status: $("[data-room-status]"),
    remote: $("[data-room-remote]"), self: $("[data-room-self]"), quality: $("[data-room-quality]"),
    join: $("[data-room-join]"), joinWhy: $("[data-room-join-why]"), sound: $("[data-room-sound]"),
    mute: $("[data-room-mute]"), camera: $("[data-room-camera]"), hangup: $("[data-room-hangup]"),
    closed: $("[data-room-closed]"), devices: $("[data-room-devices]"),
  };
  /* The page's language (SPEC §20): the texts are English messages of the gettext catalogs, translated
     by the page into <script type="application/json" data-dk-i18n> (portals/js_strings.py). */
  const T = {};
  document.querySelectorAll("script[data-dk-i18n]").forEach((el) => {
    try { Object.assign(T, JSON.parse(el.textContent)); } catch (e) { /* English, then */ }
  });
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (m, k) => (values && k in values ? values[k] : m));
  const _ = (text, values) => fill(T[text] || text, values);
  const DOCTOR = root.dataset.role === "doctor";
  const TEXTS = {
    "opens-in": _("The room opens in %(time)s."),
    "open-now": _("The room is open."),
    "peer-away": DOCTOR ? _("Your patient has not arrived yet.") : _("Your doctor has been told you are here."),
    "peer-waiting": DOCTOR ? _("%(name)s is in the waiting room.") : _("Your doctor has been told you are here."),
    "peer-in-room": _("%(name)s has joined."),
    "peer-left": _("%(name)s has left the call. They can come back while the room is open."),
    "starting": _("Starting your camera and microphone…"),
    "connecting": _("Connecting to %(name)s…"),
    "waiting-peer": _("You are in the room. Waiting for %(name)s to join…"),
    "connected": _("You are in the consultation with %(name)s."),
    "reconnecting": _("Reconnecting…"),
    "lost": _("The connection was lost."),
    "audio-only": _("Your camera is not available: you are in the call by audio only."),
    "no-devices": _("Your microphone could not start. Allow it for this site, then join again."),
    "left": _("You left the call."),
    "taken-over": _("You joined this consultation from another tab. This tab has stepped aside."),
    "closed": _("The consultation time is over. Thank you."),
    "mute": _("Mute"),
    "unmute": _("Unmute"),
    "camera-off": _("Stop camera"),
    "camera-on": _("Start camera"),
    "quality-good": _("Connection: good"),
    "quality-fair": _("Connection: fair"),
    "quality-poor": _("Connection: poor"),
    "ready": _("Your devices are ready."),
    "audio_only": _("Your microphone works; without a camera you will join by audio only."),
    "failed": _("Your last device test did not pass. Run it again before joining."),
    "not_tested": _("Test your camera and microphone before joining (about 6 seconds)."),
    "join-failed": _("Joining failed: %(reason)s"),
    "rejoin": _("Rejoin"),
    "sound-blocked": _("Your browser paused the sound. Press “Turn sound on”.")
  };
  const say = (key, values) => fill(TEXTS[key] || key, { name: peerName, reason: "", time: "", ...values });

  const tab = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
  const joinedKey = `doktu-visit-joined-${id}`;
  let offset = Date.parse(root.dataset.now) - Date.now();  // server clock − this clock
  let opensAt = Date.parse(root.dataset.opensAt), closesAt = Date.parse(root.dataset.closesAt);
  let phase = root.dataset.phase, canJoin = root.dataset.canJoin === "yes";
  let local = null, pc = null, sid = null, cursor = 0, iceServers = [], pending = [];
  let inCall = false, connected = false, everConnected = false, reconnecting = false, lostTimer = null;
  let pollTimer = null, statsTimer = null, muted = false, cameraOff = false, audioOnly = false, peerHere = false;
  const now = () => Date.now() + offset;

  async function api(path, method = "GET", body = undefined, extra = {}) {
    const res = await fetch(`/api/visits/${id}${path}`, {
      method, credentials: "same-origin", ...extra,
      headers: { Accept: "application/json", "X-CSRFToken": csrf, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) { const e = new Error((data.error && data.error.message) || res.statusText); e.code = data.error && data.error.code; e.status = res.status; throw e; }
    return data;
  }
  let handshakeUntil = 0;
  const send = (kind, payload) => { handshakeUntil = Date.now() + HANDSHAKE_MS; return api("/signals", "POST", { tab, kind, payload }); };

  /* ---- the waiting room ---- */
  function clock(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(r).padStart(2, "0")}`;
  }
  function applyState(st) {
    offset = Date.parse(st.now) - Date.now();
    opensAt = Date.parse(st.opensAt); closesAt = Date.parse(st.closesAt);
    canJoin = st.joinRefusal === null;
    el.joinWhy.textContent = st.joinRefusal || "";
    if (!inCall) { el.join.disabled = !canJoin; }
    if (st.joinRefusal) { el.join.setAttribute("aria-describedby", "join-why"); } else { el.join.removeAttribute("aria-describedby"); }
    el.readiness.textContent = say(st.readiness);
    root.dataset.readiness = st.readiness;
    const peerKey = st.peerState === "in_room" ? "peer-in-room" : st.peerState === "waiting" ? "peer-waiting" : "peer-away";
    const text = say(peerKey);
    if (el.peer.textContent !== text) { el.peer.textContent = text; }
    // In the open room, before joining: say whether the other person is already in.
    if (!inCall && phase === "open" && el.status.dataset.state !== "local") {
      const ready = say(st.peerState === "in_room" ? "peer-in-room" : "open-now");
      if (el.status.textContent !== ready) { el.status.textContent = ready; }
    }
    if (st.phase === "over") { window.location.reload(); }
  }
  function tick() {
    const t = now();
    if (phase === "waiting" && t >= opensAt) { setPhase("open"); }
    if (phase !== "closed" && t > closesAt) { setPhase("closed"); }
    if (phase === "waiting") { el.countdown.textContent = say("opens-in", { time: clock(opensAt - t) }); }
  }
  function setPhase(next) {
    phase = next;
    root.dataset.phase = next;
    el.waiting.hidden = next !== "waiting";
    el.call.hidden = next !== "open";
    el.closed.hidden = next !== "closed";
    if (next === "open") {
      el.status.textContent = say("open-now");
      presence();  // the server says whether joining is accepted now
      if (localStorage.getItem(joinedKey)) { join(); }  // closed the tab during the call: come back in
    }
    if (next === "closed") {
      if (inCall) { leave("ended"); }
      el.devices.hidden = true;
      localStorage.removeItem(joinedKey);
    }
  }
  async function presence() {
    if (inCall) { return; }
    try { applyState(await api("/waiting", "POST")); } catch (e) { /* the next beat tries again */ }
  }

  /* ---- the call ---- */
  async function media() {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (e) {
      audioOnly = true;
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
  }
  async function join() {
    if (inCall) { return; }
    el.status.dataset.state = "local";
    el.join.disabled = true;
    el.status.textContent = say("starting");
    try {
      if (!local) {
        local = await media();
        el.self.srcObject = local;
        el.self.hidden = audioOnly;
      }
      const joined = await api("/join", "POST", { tab });
      cursor = joined.cursor; iceServers = joined.iceServers; closesAt = Date.parse(joined.closesAt);
      inCall = true; connected = false;
      localStorage.setItem(joinedKey, "1");
      showControls(true);
      el.status.textContent = say(audioOnly ? "audio-only" : "waiting-peer");
      await send("hello", { audioOnly });
      if (role === "doctor") { await offer(false, true); }
      poll();
      statsTimer = setInterval(quality, 2000);
    } catch (e) {
      el.join.disabled = false;
      if (!local) { el.status.textContent = say("no-devices"); return; }
      el.status.textContent = say("join-failed", { reason: e.message });
    }
  }
  function showControls(on) {
    el.join.hidden = on;
    el.mute.hidden = el.camera.hidden = el.hangup.hidden = !on;
    el.camera.disabled = audioOnly;
  }
  function newPeer(newSid) {
    if (pc) { pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null; pc.close(); }
    sid = newSid; pending = [];
    pc = new RTCPeerConnection({ iceServers });
    local.getTracks().forEach((t) => pc.addTrack(t, local));
    if (audioOnly && role === "doctor") { pc.addTransceiver("video", { direction: "recvonly" }); }
    pc.onicecandidate = (e) => { if (e.candidate) { send("candidate", { sid, candidate: e.candidate.toJSON() }).catch(() => {}); } };
    pc.ontrack = (e) => {
      const stream = (e.streams && e.streams[0]) || new MediaStream([e.track]);
      if (el.remote.srcObject !== stream) { el.remote.srcObject = stream; }
      el.remote.play().catch(() => { el.sound.hidden = false; el.status.textContent = say("sound-blocked"); });
    };
    pc.onconnectionstatechange = () => onState(pc.connectionState);
    return pc;
  }
  async function offer(restart, fresh) {
    if (fresh || !pc) { newPeer(Math.random().toString(36).slice(2)); }
    const description = await pc.createOffer({ iceRestart: !!restart });
    await pc.setLocalDescription(description);
    await send("offer", { sid, type: description.type, sdp: description.sdp });
  }
  async function flushCandidates() {
    const queued = pending; pending = [];
    for (const c of queued) { try { await pc.addIceCandidate(c); } catch (e) { /* a stale candidate */ } }
  }
  async function handle(m) {
    const p = m.payload || {};
    if (m.kind === "hello") {
      if (role === "doctor") { await offer(false, true); }
    } else if (m.kind === "offer" && role === "patient") {
      if (!pc || p.sid !== sid) { newPeer(p.sid); }
      await pc.setRemoteDescription({ type: "offer", sdp: p.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await send("answer", { sid, type: answer.type, sdp: answer.sdp });
      await flushCandidates();
    } else if (m.kind === "answer" && role === "doctor" && pc && p.sid === sid) {
      if (pc.signalingState === "have-local-offer") { await pc.setRemoteDescription({ type: "answer", sdp: p.sdp }); }
      await flushCandidates();
    } else if (m.kind === "candidate" && pc && p.sid === sid) {
      if (pc.remoteDescription) { try { await pc.addIceCandidate(p.candidate); } catch (e) { /* stale */ } }
      else { pending.push(p.candidate); }
    } else if (m.kind === "bye") {
      if (pc) { pc.close(); pc = null; sid = null; }
      el.remote.srcObject = null; connected = false;
      el.status.textContent = say("peer-left");
    }
  }
  async function poll() {
    clearTimeout(pollTimer);
    if (!inCall) { return; }
    try {
      const inbox = await api(`/signals?tab=${encodeURIComponent(tab)}&cursor=${cursor}`);
      cursor = inbox.cursor;
      peerHere = inbox.peerHere;
      if (inbox.messages.length) { handshakeUntil = Date.now() + HANDSHAKE_MS; }
      for (const m of inbox.messages) { await handle(m); }
    } catch (e) {
      if (e.code === "ERR_ROOM_TAKEN_OVER") { takenOver(); return; }
    }
    const handshake = peerHere || Date.now() < handshakeUntil;
    if (inCall) { pollTimer = setTimeout(poll, connected ? POLL_CONNECTED_MS : handshake ? POLL_HANDSHAKE_MS : POLL_CONNECTING_MS); }
  }
  function onState(state) {
    if (state === "connected") {
      clearTimeout(lostTimer); lostTimer = null;
      if (reconnecting) { api("/reconnected", "POST", { tab }).catch(() => {}); }
      connected = true; everConnected = true; reconnecting = false;
      el.status.textContent = say("connected");
      el.join.hidden = true;
    } else if (state === "disconnected" || state === "failed") {
      connected = false;
      if (!everConnected) { return; }
      reconnecting = true;
      el.status.textContent = say("reconnecting");
      restart();
      // The grace runs from the first drop: "failed" follows "disconnected" some 25 s later and
      // must not push "lost" further away.
      if (lostTimer) { return; }
      lostTimer = setTimeout(() => {
        lostTimer = null;
        if (connected || !inCall) { return; }
        el.status.textContent = say("lost");
        stopCall(false);
        el.join.hidden = false; el.join.disabled = false;
        el.join.textContent = TEXTS.rejoin;
        el.join.focus();
      }, LOST_AFTER_MS);
    }
  }
  function restart() {
    if (!inCall || !pc) { return; }
    if (role === "doctor") { offer(true, false).catch(() => {}); } else { send("hello", { restart: true }).catch(() => {}); }
  }
  function stopCall(stopMedia) {
    inCall = false; connected = false;
    clearTimeout(pollTimer); clearInterval(statsTimer);
    if (pc) { pc.close(); pc = null; }
    el.remote.srcObject = null;
    showControls(false);
    if (stopMedia && local) { local.getTracks().forEach((t) => t.stop()); local = null; el.self.srcObject = null; }
  }
  async function leave(reason) {
    const wasIn = inCall;
    stopCall(true);
    localStorage.removeItem(joinedKey);
    if (wasIn) { await api("/leave", "POST", { tab, reason }).catch(() => {}); }
    el.status.textContent = say(reason === "ended" ? "closed" : "left");
    el.join.disabled = false;
    if (reason !== "ended") { el.join.focus(); }
  }
  function takenOver() {
    stopCall(true);
    el.status.textContent = say("taken-over");
    el.join.disabled = false;
  }
  async function quality() {
    if (!pc) { return; }
    const s = await stats();
    if (!s.connected) { el.quality.textContent = ""; return; }
    const loss = s.packetsReceived ? s.packetsLost / (s.packetsLost + s.packetsReceived) : 0;
    const rtt = s.rttMs == null ? 0 : s.rttMs;
    const grade = rtt < 300 && loss < 0.02 ? "good" : rtt < 600 && loss < 0.08 ? "fair" : "poor";
    el.quality.textContent = say(`quality-${grade}`);
    el.quality.dataset.grade = grade;
  }
  async function stats() {
    const out = { connected, framesDecoded: 0, packetsLost: 0, packetsReceived: 0, rttMs: null, relay: false, audioOnly };
    if (!pc) { return out; }
    const report = await pc.getStats();
    const byId = {};
    report.forEach((r) => { byId[r.id] = r; });
    report.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") { out.framesDecoded += r.framesDecoded || 0; }
      if (r.type === "inbound-rtp") { out.packetsLost += r.packetsLost || 0; out.packetsReceived += r.packetsReceived || 0; }
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
        if (r.currentRoundTripTime != null) { out.rttMs = r.currentRoundTripTime * 1000; }
        const localCandidate = byId[r.localCandidateId];
        if (localCandidate && localCandidate.candidateType === "relay") { out.relay = true; }
      }
    });
    return out;
  }

  /* ---- controls ---- */
  function toggleMute() {
    if (!local || el.mute.hidden) { return; }
    muted = !muted;
    local.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    el.mute.setAttribute("aria-pressed", String(muted));
    el.mute.textContent = say(muted ? "unmute" : "mute");
  }
  function toggleCamera() {
    if (!local || el.camera.hidden || audioOnly) { return; }
    cameraOff = !cameraOff;
    local.getVideoTracks().forEach((t) => { t.enabled = !cameraOff; });
    el.camera.setAttribute("aria-pressed", String(cameraOff));
    el.camera.textContent = say(cameraOff ? "camera-on" : "camera-off");
  }
  el.join.addEventListener("click", join);
  el.mute.addEventListener("click", toggleMute);
  el.camera.addEventListener("click", toggleCamera);
  el.hangup.addEventListener("click", () => leave("hangup"));
  el.sound.addEventListener("click", () => { el.remote.play().then(() => { el.sound.hidden = true; }); });
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) { return; }
    const key = e.key.toLowerCase();
    if (key === "m") { toggleMute(); } else if (key === "v") { toggleCamera(); } else if (key === "x" && inCall) { leave("hangup"); } else { return; }
    e.preventDefault();
  });
  window.addEventListener("online", restart);  // a network change: new paths, restart ICE
  window.addEventListener("pagehide", () => {
    if (!inCall) { return; }
    // keepalive lets the request finish after the page is gone; joining again from a new tab rejoins.
    fetch(`/api/visits/${id}/leave`, { method: "POST", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ tab, reason: "closed" }) });
  });
  document.addEventListener("doktu:device-test", () => { presence(); });

  // For the tests and for support: the connection and its figures (no media, no personal data).
  window.doktuVisit = { stats, pc: () => pc, state: () => ({ phase, inCall, connected, audioOnly, peerHere, tab }) };

  tick();
  setInterval(tick, 1000);
  presence();
  setInterval(presence, PRESENCE_MS);
  if (phase === "open" && localStorage.getItem(joinedKey)) { join(); }
}
