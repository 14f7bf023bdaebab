// The console's checkout (/console/checkout): watches the order shown until its status is
// final, so that "paid" appears by itself. No library; the labels come from the server.
"use strict";

(function () {
  const order = document.getElementById("order");
  if (!order || order.dataset.final === "1") {
    return;
  }
  const status = document.getElementById("order-status");
  const EVERY_MS = 1500;

  async function poll() {
    try {
      const answer = await fetch(order.dataset.statusUrl, { credentials: "same-origin" });
      if (answer.ok) {
        const found = await answer.json();
        status.textContent = found.label;
        status.dataset.status = found.status;
        status.className = found.paid ? "on" : "off";
        if (found.final) {
          order.dataset.final = "1";
          const qr = document.getElementById("collect-qr");
          if (qr) {
            qr.remove(); // a paid or closed order's code is not to be scanned again
          }
          return;
        }
      }
    } catch (error) {
      // the server is away for a moment: try again
    }
    setTimeout(poll, EVERY_MS);
  }

  setTimeout(poll, EVERY_MS);
})();
