// The B2B API (/api/v1) and the page's session (/admin/session). The browser holds no token:
// the HttpOnly session cookie goes along (same origin only), and the X-OpenBooking-Admin header
// is the CSRF defence the server checks before it accepts the cookie (docs/admin.md).
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    const meta = (body && body.meta) || {};
    super(meta.message || "HTTP " + status);
    this.status = status;
    this.body = body;
    this.errors = Array.isArray(meta.errors) ? meta.errors : [];
  }
}

// `background`: the page's own polling, which the server does not count as use of the session
// (it ends after some idle minutes: docs/admin.md).
export async function call(method, path, { query, body, background } = {}) {
  let url = path.startsWith("/admin/") ? path : BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (Array.isArray(value)) value.forEach((item) => params.append(name + "[]", String(item)));
      else if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += "?" + text;
  }
  const headers = { Accept: "application/vnd.api.v2+json", "X-OpenBooking-Admin": "1" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (background) headers["X-OpenBooking-Background"] = "1";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    referrerPolicy: "no-referrer",
    cache: "no-store",
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.status === 401 && !path.startsWith("/admin/")) {
    // The session has ended (idle, 12 hours, logged out elsewhere): the page shows the log-in form.
    window.dispatchEvent(new CustomEvent("openbooking:session-ended"));
  }
  if (!response.ok || (data && data.success === false)) throw new ApiError(response.status, data);
  return data;
}
