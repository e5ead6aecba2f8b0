// The public API (/api/v1, Altegio dialect) with the booking form's public key.
const root = document.documentElement;
const BASE = root.dataset.api;
const KEY = root.dataset.key;
const TOKEN = "openbooking-user-" + root.dataset.form;

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.meta && body.meta.message) || "HTTP " + status);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
    const errors = (body && body.meta && body.meta.errors) || [];
    this.code = errors.length ? errors[0].code : (body && body.errors && body.errors.code) || 0;
  }
}

export class Offline extends Error {}

export const userToken = {
  get: () => sessionStorage.getItem(TOKEN),
  set: (token) => sessionStorage.setItem(TOKEN, token),
  clear: () => sessionStorage.removeItem(TOKEN),
};

export async function call(method, path, { query, body, user = false, headers: extra = {} } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += "?" + text;
  }
  let authorization = "Bearer " + KEY;
  const token = userToken.get();
  if (user && token) authorization += ", User " + token;
  const headers = { ...extra, Accept: "application/vnd.api.v2+json", Authorization: authorization };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new Offline("offline");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || (data && data.success === false)) {
    throw new ApiError(response.status, data, Number(response.headers.get("Retry-After")) || 0);
  }
  return data && "data" in data && "success" in data ? data.data : data;
}
