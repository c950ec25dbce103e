// The booking form: says what a window would run into as soon as the date and times are
// filled in, before Book is pressed, in the form's aria-live region. Without this script
// the same warnings come back after Book, with a "Book anyway" button.
"use strict";

function followBooking() {
  const form = document.getElementById("booking-form");
  const region = document.getElementById("booking-check");
  if (!form || !region || !window.fetch) return;
  const fields = ["date", "from", "to"].map((name) => form.elements.namedItem(name));
  const stale = document.getElementById("conflicts");
  let timer = null;
  let asked = 0;
  async function check() {
    timer = null;
    const query = new URLSearchParams();
    for (const field of fields) query.set(field.name, field.value);
    const mine = ++asked;
    try {
      const answer = await fetch(form.dataset.check + "?" + query, {
        headers: { Accept: "text/html" }, credentials: "same-origin",
      });
      if (mine !== asked) return;  // a newer check is on its way
      if (!answer.ok) { region.textContent = "Could not check the window (" + answer.status + "); Book still checks it."; return; }
      region.innerHTML = await answer.text();
      if (typeof localTitles === "function") localTitles(region);
    } catch (error) {
      if (mine === asked) region.textContent = "Could not check the window; Book still checks it.";
    }
  }
  function soon() {
    if (stale) stale.hidden = true;  // its "Book anyway" was for the window as it was
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, 250);
  }
  for (const field of fields) {
    field.addEventListener("change", soon);
    field.addEventListener("input", soon);
  }
  if (!stale && fields.every((field) => field.value)) check();  // a prefilled window
}

document.addEventListener("DOMContentLoaded", followBooking);
