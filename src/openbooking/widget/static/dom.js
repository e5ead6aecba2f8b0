// A tiny element builder: text is always text (no innerHTML), so nothing is injected.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// An RFC 5545 event for "add to calendar", built here from the booking's data.
export function icsFile({ uid, title, location, start, seconds, description }) {
  const stamp = (date) => date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const escape = (text) => String(text).replace(/[\\;,]/g, (c) => "\\" + c).replace(/\n/g, "\\n");
  const end = new Date(start.getTime() + seconds * 1000);
  return [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//OpenBooking//Widget//EN", "BEGIN:VEVENT",
    "UID:" + uid, "DTSTAMP:" + stamp(new Date()), "DTSTART:" + stamp(start),
    "DTEND:" + stamp(end), "SUMMARY:" + escape(title), "LOCATION:" + escape(location),
    "DESCRIPTION:" + escape(description), "END:VEVENT", "END:VCALENDAR", "",
  ].join("\r\n");
}

// "2026-12-03T11:00:00+0100" (the API's stamp) as a Date.
export function parseStamp(text) {
  return new Date(String(text).replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
}

// replaceChildren, leaving out null/false (which it would write as text).
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}
