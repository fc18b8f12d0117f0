// The two colours of the map's perimeters, written once: the current selection (perimeter B when comparing)
// and the kept reference (perimeter A). map.js paints with them, compare.js draws its legend swatches.

export const PERIMETER_COLOURS = Object.freeze({
  selection: "#1f4e9c", // blue: what the user is composing
  reference: "#b34700", // dark orange, dashed on the map: the kept perimeter (contrast 5.3:1 on white)
});
