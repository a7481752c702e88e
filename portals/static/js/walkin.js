// The walk-in waiting room (SPEC §17): polls the request's state, keeps the place in the queue and
// the estimate current, offers the refund when due, and goes into the room once a doctor accepts.
(() => {
  "use strict";
  const root = document.querySelector("[data-dk-walkin]");
  if (!root) return;
  const id = root.dataset.dkWalkin;
  const $ = (sel) => root.querySelector(sel);
  const status = root.dataset.status;

  function show(state) {
    if (state.status === "accepted" && state.appointmentId) {
      window.location.assign("/visit/" + state.appointmentId);
      return false;
    }
    if (state.status !== status) {
      window.location.reload(); // paid, left or refunded elsewhere: the page's other shape
      return false;
    }
    const position = $("[data-walkin-position]");
    if (position && state.position != null) position.textContent = String(state.position);
    const estimate = $("[data-walkin-estimate]");
    if (estimate && state.estimatedMinutes != null) estimate.textContent = String(state.estimatedMinutes);
    const refund = $("[data-walkin-refund]");
    if (refund) refund.hidden = !state.refundOffered;
    return true;
  }

  async function poll() {
    try {
      const response = await fetch("/api/walkin/" + id, { headers: { Accept: "application/json" },
                                                          credentials: "same-origin", cache: "no-store" });
      if (response.ok && !show(await response.json())) return;
    } catch (e) { /* offline for a moment: try again */ }
    window.setTimeout(poll, document.hidden ? 5000 : 1000);
  }
  window.setTimeout(poll, 1000);
})();
