// The side panel on small screens. Phone (< 640 px): a bottom sheet over the full-screen map, in three heights
// (collapsed, peek, full) chosen with the button or by dragging the handle. Tablet (< 1024 px): a side panel
// that folds away. Desktop: always open. `onResize` lets the map follow its new size. `bar` is the tab bar: the
// sheet never rises over it, so the tabs stay in reach with the sheet fully raised.

const PHONE = window.matchMedia("(max-width: 639.98px)");
const TABLET = window.matchMedia("(min-width: 640px) and (max-width: 1023.98px)");
const STATES = ["collapsed", "peek", "full"];
const LABELS = { collapsed: "Afficher le panneau", peek: "Agrandir le panneau", full: "Réduire le panneau" };
const DRAG_THRESHOLD = 40; // px of travel before a drag changes the height

// Where the bar ends (--sheet-top, which layout.css caps the sheet's heights with) follows the header wrapping,
// the demo banner appearing and the summary line growing. The observer also reports each element once when
// observed, and a new window width resizes the bar itself: no separate first call or resize listener.
function keepBelow(aside, bar) {
  const place = () => aside.style.setProperty("--sheet-top", `${Math.ceil(bar.getBoundingClientRect().bottom)}px`);
  const watch = new ResizeObserver(place);
  [bar, ...document.querySelectorAll("body > header, body > [role=status]")].forEach((e) => watch.observe(e));
}

export function setupSheet(aside, button, handle, bar, onResize) {
  keepBelow(aside, bar);
  const content = document.getElementById(button.getAttribute("aria-controls"));

  function set(state) {
    aside.dataset.sheet = state;
    const tablet = TABLET.matches;
    const open = state !== "collapsed";
    button.textContent = tablet ? (open ? "Masquer le panneau" : "Afficher le panneau") : LABELS[state];
    button.setAttribute("aria-expanded", String(open));
    content.inert = !open && (tablet || PHONE.matches); // folded content leaves the tab order
    onResize();
  }

  button.addEventListener("click", () => {
    const state = aside.dataset.sheet;
    if (TABLET.matches) set(state === "collapsed" ? "peek" : "collapsed");
    else set(STATES[(STATES.indexOf(state) + 1) % STATES.length]);
  });

  // Dragging the handle: up opens one step, down closes one step (pointer events: finger, pen and mouse).
  let start = null;
  handle.addEventListener("pointerdown", (e) => {
    if (!PHONE.matches || e.target === button) return;
    start = e.clientY;
    handle.setPointerCapture(e.pointerId);
  });
  handle.addEventListener("pointerup", (e) => {
    if (start === null) return;
    const delta = start - e.clientY;
    start = null;
    const i = STATES.indexOf(aside.dataset.sheet);
    if (delta > DRAG_THRESHOLD) set(STATES[Math.min(i + 1, STATES.length - 1)]);
    else if (delta < -DRAG_THRESHOLD) set(STATES[Math.max(i - 1, 0)]);
  });
  handle.addEventListener("pointercancel", () => { start = null; });

  const reset = () => set(PHONE.matches || TABLET.matches ? (aside.dataset.sheet || "peek") : "peek");
  PHONE.addEventListener("change", reset);
  TABLET.addEventListener("change", reset);
  reset();
  return {
    /** Make sure the panel shows its content (a search result, a message): open it to at least `peek`. */
    open() { if (aside.dataset.sheet === "collapsed") set("peek"); },
  };
}
