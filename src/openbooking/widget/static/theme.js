// The form's palettes as colours, with text that keeps WCAG AA contrast (4.5:1) on them.
const PALETTES = {
  red: "#f44336", pink: "#e91e63", purple: "#9c27b0", "deep-purple": "#673ab7",
  indigo: "#3f51b5", blue: "#2196f3", "light-blue": "#03a9f4", cyan: "#00bcd4",
  teal: "#009688", green: "#4caf50", "light-green": "#8bc34a", lime: "#cddc39",
  yellow: "#ffeb3b", amber: "#ffc107", orange: "#ff9800", "deep-orange": "#ff5722",
  brown: "#795548", grey: "#9e9e9e", "blue-grey": "#607d8b",
};
const INK = "#1a1a1a";
const PAPER = "#ffffff";

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function hex([r, g, b]) {
  return "#" + [r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("");
}

export function luminance(colour) {
  const [r, g, b] = rgb(colour).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

// Text on a coloured fill: whichever of ink and paper contrasts more.
export function textOn(fill) {
  return contrast(fill, PAPER) >= contrast(fill, INK) ? PAPER : INK;
}

// A fill that carries text: mid-tones that reach 4.5:1 with neither ink nor paper are
// darkened until paper does.
export function fillFor(colour) {
  return contrast(colour, textOn(colour)) >= 4.5 ? colour : readable(colour, PAPER);
}

// A colour used as text or outline on `ground`: mixed towards ink until it reaches `ratio`.
export function readable(colour, ground, ratio = 4.5) {
  let current = rgb(colour);
  const target = rgb(luminance(ground) > 0.5 ? INK : PAPER);
  for (let step = 0; step < 20 && contrast(hex(current), ground) < ratio; step++) {
    current = current.map((c, i) => c + (target[i] - c) * 0.15);
  }
  return hex(current);
}

function tint(colour, amount) {
  return hex(rgb(colour).map((c) => c + (255 - c) * amount));
}

function palette(name, fallback) {
  const key = String(name || "").toLowerCase().replace(/_/g, "-");
  return PALETTES[key] || (/^#[0-9a-f]{6}$/i.test(name || "") ? name : fallback);
}

export function applyTheme(style) {
  const primary = fillFor(palette(style.primaryPalette, PALETTES.green));
  const accent = palette(style.accentPalette, PALETTES.grey);
  const warn = palette(style.warnPalette, PALETTES.red);
  const background = tint(palette(style.backgroundPalette, PALETTES.grey), 0.93);
  const soft = tint(primary, 0.88);
  const vars = {
    "--bg": background,
    "--surface": PAPER,
    "--ink": INK,
    "--primary": primary,
    "--on-primary": textOn(primary),
    // Readable on the soft tint is readable on white too: the tint is the darker ground.
    "--primary-text": readable(primary, soft),
    "--primary-soft": soft,
    "--accent": readable(accent, PAPER, 3),
    "--warn": readable(warn, PAPER),
    "--muted": readable("#6b6b6b", PAPER),
  };
  for (const [name, value] of Object.entries(vars)) {
    document.documentElement.style.setProperty(name, value);
  }
  return vars;
}
