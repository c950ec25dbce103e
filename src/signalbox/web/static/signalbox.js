// signalbox pages: the viewer's local time on hover, and the board's live updates.
// Everything works without this script: times show in the environment's zone, and a
// reload shows the board as it is.
"use strict";

function localTitles(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const at = new Date(el.dateTime);
    if (!isNaN(at)) {
      el.title = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) + " your time";
    }
  }
}

// "17:17 CET": the clock of the board's time zone, as the server writes times (not the
// viewer's 12-hour "4:17 PM" next to cards in CET)
function zoneTime(tz) {
  try {
    return new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz, timeZoneName: "short",
    }).format(new Date());
  } catch (error) {
    return new Date().toISOString().slice(11, 16) + " UTC";
  }
}

function followBoard() {
  const status = document.getElementById("live-status");
  const board = document.getElementById("board");
  if (!status || !board || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    try {
      const answer = await fetch(status.dataset.refresh, { headers: { Accept: "text/html" } });
      if (!answer.ok) { status.textContent = "Live updates paused (" + answer.status + "); reload the page."; return; }
      board.innerHTML = await answer.text();
      localTitles(board);
      status.textContent = "Updated " + zoneTime(status.dataset.tz || "UTC") + " (live).";
      board.dataset.updated = String(Date.now());
    } catch (error) {
      status.textContent = "Live updates paused; reload the page.";
    }
  }
  function soon() { if (!pending) pending = setTimeout(refresh, 150); }
  const stream = new EventSource(status.dataset.stream);
  stream.addEventListener("change", soon);
  stream.addEventListener("open", () => { status.dataset.live = "yes"; });
  setInterval(soon, 60000);  // time alone changes states: a lease lapses, a window begins
}

document.addEventListener("DOMContentLoaded", () => {
  localTitles(document);
  followBoard();
});
