// The console's demo wallet (/console/wallet): refreshes the payment code before it expires,
// reads a collection code from an uploaded image or a camera frame, and pays it once per
// confirmation (a request id chosen here). No library; the texts come from the server.
"use strict";

(function () {
  const root = document.getElementById("wallet");
  if (!root) {
    return;
  }
  const lang = root.dataset.lang === "en" ? "en" : "zh";
  const $ = (id) => document.getElementById(id);
  const figure = $("paycode");
  let timer = 0;
  let scanned = null;

  function show(id, on) {
    $(id).hidden = !on;
  }

  function say(id, message) {
    const where = $(id);
    where.textContent = message || "";
    where.hidden = !message;
  }

  function grouped(digits) {
    return digits.replace(/(\d{4})(?=\d)/g, "$1 ");
  }

  // Plan the next refresh of the payment code: after the delay the server named, always
  // before the code expires, and at least a second from now. Delays, not instants: this
  // browser's clock may differ from the server's. data-scheduled and data-deadline (this
  // browser's ms) say when the refresh will run and when the code expires.
  function schedule(refreshIn, expiresIn) {
    clearTimeout(timer);
    const wait = Math.max(1000, Math.min(refreshIn, expiresIn - 1000));
    figure.dataset.scheduled = String(Date.now() + wait);
    figure.dataset.deadline = String(Date.now() + expiresIn);
    timer = setTimeout(refreshCode, wait);
  }

  async function refreshCode() {
    let refreshIn = 5000; // the server is away for a moment: try again soon
    let expiresIn = 60000;
    try {
      const answer = await fetch(figure.dataset.url, { credentials: "same-origin" });
      const code = await answer.json();
      if (!answer.ok) {
        say("scan-error", code.error.message);
        refreshIn = 10000;
      } else {
        $("paycode-qr").src = code.image;
        $("paycode-digits").textContent = grouped(code.digits);
        $("paycode-expiry").textContent = code.expiry_text;
        refreshIn = code.refresh_in_ms;
        expiresIn = code.expires_in_ms;
        figure.dataset.count = String(Number(figure.dataset.count || "0") + 1);
      }
    } catch (error) {
      // keep the retry delay above
    }
    schedule(refreshIn, expiresIn);
  }

  function requestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "w-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function scan(body) {
    say("scan-error", "");
    say("pay-result", "");
    show("confirm", false);
    scanned = null;
    const answer = await fetch("/console/wallet/scan?lang=" + lang, {
      method: "POST",
      body: body,
      credentials: "same-origin",
    });
    const found = await answer.json();
    if (!answer.ok) {
      say("scan-error", found.error.message);
      return;
    }
    scanned = found;
    scanned.request_id = requestId(); // one payment per confirmation, retries included
    $("confirm-payee").textContent = found.payee;
    const fixed = found.amount !== null;
    $("confirm-amount").textContent = fixed ? found.amount_text : "";
    show("confirm-fixed", fixed);
    show("confirm-typed", !fixed);
    show("confirm", true);
    $("pay-button").disabled = false;
  }

  async function pay() {
    if (!scanned) {
      return;
    }
    $("pay-button").disabled = true;
    const form = new URLSearchParams({
      request_id: scanned.request_id,
      code: scanned.code,
      source: scanned.source,
    });
    if (scanned.amount === null) {
      form.set("amount", $("confirm-input").value);
    }
    try {
      const answer = await fetch("/console/wallet/pay?lang=" + lang, {
        method: "POST",
        body: form,
        credentials: "same-origin",
      });
      const done = await answer.json();
      if (!answer.ok) {
        say("scan-error", done.error.message);
        $("pay-button").disabled = false;
        return;
      }
      show("confirm", false);
      say("pay-result", done.message);
      $("pay-result").dataset.order = done.order_id;
      $("balance").textContent = done.balance_text;
      history(done.history);
      scanned = null;
    } catch (error) {
      $("pay-button").disabled = false; // a retry sends the same request id
    }
  }

  function history(rows) {
    const body = document.querySelector("#history tbody");
    body.replaceChildren(
      ...rows.map((row) => {
        const line = document.createElement("tr");
        row.forEach((value) => {
          const cell = document.createElement("td");
          cell.textContent = value;
          line.append(cell);
        });
        return line;
      }),
    );
  }

  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scan(new FormData(event.target));
  });
  $("pay-button").addEventListener("click", pay);
  $("paycode-refresh").addEventListener("click", refreshCode);

  // The camera is offered only when the browser has one.
  let stream = null;
  async function startCamera() {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const video = $("camera-video");
    video.srcObject = stream;
    await video.play();
    show("camera-video", true);
    show("camera-shot", true);
  }

  function shoot() {
    const video = $("camera-video");
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      const form = new FormData();
      form.append("image", blob, "frame.png");
      form.append("source", "camera");
      scan(form);
    }, "image/png");
  }

  if (navigator.mediaDevices && navigator.mediaDevices.enumerateDevices) {
    navigator.mediaDevices.enumerateDevices().then((devices) => {
      if (devices.some((d) => d.kind === "videoinput")) {
        show("camera", true);
        $("camera-start").addEventListener("click", () => {
          startCamera().catch((error) => say("scan-error", String(error.message || error)));
        });
        $("camera-shot").addEventListener("click", shoot);
      }
    });
  }
  window.addEventListener("pagehide", () => {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
    }
  });

  schedule(Number(figure.dataset.refreshIn), Number(figure.dataset.expiresIn));
})();
