// On a phone the documentation links fold behind one « Aide et glossaires » button: unfolded, five links and
// the demo banner took half of a 640 px screen above the map and the tabs. Wider screens show the links and
// never the button (layout.css), so the state only matters on a phone.

export function setupHeaderMenu(button, nav) {
  const set = (open) => {
    button.setAttribute("aria-expanded", String(open));
    nav.toggleAttribute("data-open", open);
  };
  button.addEventListener("click", () => set(button.getAttribute("aria-expanded") !== "true"));
  // A page or the tour opened from the menu leaves it open: closing them gives the focus back to its link.
  nav.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && nav.hasAttribute("data-open")) { set(false); button.focus(); }
  });
  set(false);
}
