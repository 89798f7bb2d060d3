// Text as a DOM node, for libraries that take a string as HTML (Leaflet's
// tooltips and icons): names and labels are anyone's text, never markup.
export function textNode(text: string): HTMLElement {
  const span = document.createElement('span');
  span.textContent = text;
  return span;
}
