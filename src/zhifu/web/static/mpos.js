// zhifu's virtual mPOS page: draws the terminal's 128x64 screen and sends its keys.
// PIN digits never leave the page in clear: while the terminal asks for a PIN, each digit is
// enciphered (RSA-OAEP, SHA-256, Web Crypto) under the public key of the terminal's PIN pad,
// a key made inside the secure module for this PIN entry only, as "n:digit" (n counts the
// digits of the entry, so a replayed one is refused). The page shows a * for each.
"use strict";

(function () {
  const SCALE = 3;
  const canvas = document.getElementById("screen");
  const context = canvas.getContext("2d");
  const pinEntry = document.getElementById("pin-entry");
  const receipt = document.getElementById("receipt");
  let state = null;
  let sealKey = null; // {id, key: CryptoKey}
  let sealed = 0; // digits sent under the current key
  let queue = Promise.resolve();

  function draw(next) {
    canvas.width = next.width * SCALE;
    canvas.height = next.height * SCALE;
    const bits = Uint8Array.from(atob(next.pixels), (c) => c.charCodeAt(0));
    context.fillStyle = "#c8d8b0";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = "#1b2410";
    for (let n = 0; n < next.width * next.height; n += 1) {
      if (bits[n >> 3] & (0x80 >> (n & 7))) {
        context.fillRect((n % next.width) * SCALE, Math.floor(n / next.width) * SCALE, SCALE, SCALE);
      }
    }
    canvas.dataset.phase = next.phase;
    canvas.dataset.version = String(next.version);
    receipt.textContent = next.receipt ? next.receipt.join("\n") : "";
  }

  async function adopt(next) {
    if (state && next.version < state.version) {
      return;
    }
    state = next;
    draw(next);
    if (!next.seal) {
      sealKey = null;
      sealed = 0;
      pinEntry.textContent = "";
    } else if (!sealKey || sealKey.id !== next.seal.key_id) {
      const der = Uint8Array.from(atob(next.seal.public_key), (c) => c.charCodeAt(0));
      sealKey = {
        id: next.seal.key_id,
        key: crypto.subtle.importKey(
          "spki", der, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]),
      };
      sealed = 0;
      pinEntry.textContent = "";
      await sealKey.key;
      canvas.dataset.seal = next.seal.key_id; // the PIN pad's key is in: digits may go
    }
    if (!next.seal) {
      delete canvas.dataset.seal;
    }
  }

  async function post(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await answer.json();
    if (!answer.ok) {
      throw new Error(data.error ? data.error.message : String(answer.status));
    }
    await adopt(data);
  }

  async function sealDigit(digit) {
    sealed += 1;
    const plain = new TextEncoder().encode(sealed + ":" + digit);
    const cipher = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, await sealKey.key, plain);
    let text = "";
    new Uint8Array(cipher).forEach((b) => { text += String.fromCharCode(b); });
    pinEntry.textContent += "*";
    await post("/console/terminal/key", { sealed: btoa(text) });
  }

  function press(key) {
    queue = queue.then(async () => {
      if (/^[0-9]$/.test(key) && state && state.phase === "pin") {
        if (!sealKey) {
          return; // the PIN pad's key has not arrived yet: the digit is dropped, not sent
        }
        await sealDigit(key);
        return;
      }
      if (key === "correct" && state && state.phase === "pin") {
        pinEntry.textContent = pinEntry.textContent.slice(0, -1);
      }
      await post("/console/terminal/key", { key: key });
    }).catch((error) => console.warn("zhifu terminal:", error.message));
  }

  async function watch() {
    for (;;) {
      try {
        const since = state ? "?since=" + state.version : "";
        const answer = await fetch("/console/terminal/state" + since, { credentials: "same-origin" });
        if (!answer.ok) {
          await new Promise((done) => setTimeout(done, 2000));
          continue;
        }
        await adopt(await answer.json());
      } catch (error) {
        await new Promise((done) => setTimeout(done, 2000));
      }
    }
  }

  if (!window.crypto || !window.crypto.subtle) {
    document.getElementById("no-crypto").hidden = false;
  }
  document.getElementById("keypad").addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (key) {
      press(key.dataset.key);
    }
  });
  document.querySelectorAll("[data-how]").forEach((button) => {
    button.addEventListener("click", () => {
      const card = Number(document.getElementById("card").value);
      queue = queue.then(() => post("/console/terminal/card", { card: card, how: button.dataset.how }))
        .catch((error) => console.warn("zhifu terminal:", error.message));
    });
  });
  document.addEventListener("keydown", (event) => {
    const names = { Enter: "confirm", Backspace: "correct", Escape: "cancel", ArrowUp: "up", ArrowDown: "down" };
    const key = /^[0-9]$/.test(event.key) ? event.key : names[event.key];
    if (key && event.target.tagName !== "SELECT") {
      event.preventDefault();
      press(key);
    }
  });
  watch();
})();
