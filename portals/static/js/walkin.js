// The walk-in waiting room (SPEC §17): polls the request's state, keeps the place in the queue and
// the estimate current, offers the refund when due, and goes into the room once a doctor accepts.
(() => {
  "use strict";
  const root = document.querySelector("[data-dk-walkin]");
  if (!root) return;
  const id = root.dataset.dkWalkin;
  const $ = (sel) => root.querySelector(sel);
  const status = root.dataset.status;
  // Only the patients a doctor can accept next — the first N in line, N doctors taking consultations —
  // poll every 250 ms, so the room opens about a quarter of a second after Accept; the rest of the
  // queue polls every second (issue 15: the Accept → room hop was the poll's interval, half on average).
  const NEXT_MS = 250, QUEUED_MS = 1000, HIDDEN_MS = 5000;
  let next = root.dataset.next === "yes";
  // The place and the minutes in the page's language's digits and grouping (SPEC §20).
  const numbers = new Intl.NumberFormat(document.documentElement.lang || "en");

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
    if (position && state.position != null) position.textContent = numbers.format(state.position);
    const estimate = $("[data-walkin-estimate]");
    if (estimate && state.estimatedMinutes != null) estimate.textContent = numbers.format(state.estimatedMinutes);
    const refund = $("[data-walkin-refund]");
    if (refund) refund.hidden = !state.refundOffered;
    next = state.position != null && state.doctorsTaking > 0 && state.position <= state.doctorsTaking;
    return true;
  }

  async function poll() {
    try {
      const response = await fetch("/api/walkin/" + id, { headers: { Accept: "application/json" },
                                                          credentials: "same-origin", cache: "no-store" });
      if (response.ok && !show(await response.json())) return;
    } catch (e) { /* offline for a moment: try again */ }
    window.setTimeout(poll, document.hidden ? HIDDEN_MS : next ? NEXT_MS : QUEUED_MS);
  }
  window.setTimeout(poll, next ? NEXT_MS : QUEUED_MS);
})();
