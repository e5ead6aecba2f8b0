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

export async function call(method, path, { query, body } = {}) {
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
  if (!response.ok || (data && data.success === false)) throw new ApiError(response.status, data);
  return data;
}
