// Reading the node's API from the page: same origin, the session cookie (HttpOnly: never
// seen by scripts) sent by the browser; problems (RFC 9457) become ApiError with their detail.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      detail = (await res.json()).detail || detail;
    } catch {
      /* not a problem document */
    }
    throw new ApiError(res.status, detail);
  }
  return res.status === 204 ? null : res.json();
}

/** Every item of a paged listing, following the ``next`` links. */
export async function allPages(path) {
  const items = [];
  let next = path;
  while (next) {
    const page = await api(next);
    items.push(...page.items);
    const url = page.next ? new URL(page.next, location.href) : null;
    next = url ? url.pathname + url.search : null;
  }
  return items;
}
