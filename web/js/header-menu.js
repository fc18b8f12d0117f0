// On a phone the documentation links fold behind one « Aide et glossaires » button: unfolded, five links and
// the demo banner took half of a 640 px screen above the map and the tabs. Wider screens show the links and
// never the button (layout.css), so the state only matters on a phone.

export function setupHeaderMenu(button, nav) {
  const set = (open) => {
    button.setAttribute("aria-expanded", String(open));
    nav.toggleAttribute("data-open", open);
  };
  button.addEventListener("click", () => set(button.getAttribute("aria-expanded") !== "true"));
  // A page opened from the menu covers the screen: the menu is folded again behind it.
  nav.addEventListener("click", (e) => { if (e.target.closest("button")) set(false); });
  nav.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && nav.hasAttribute("data-open")) { set(false); button.focus(); }
  });
  set(false);
}
