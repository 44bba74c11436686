// The admin API client: every page reads and changes scimd through this and nothing else, so
// the console can do nothing the admin API cannot.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * A client of the admin API, signed in by the session cookie scimd set at sign-in (HttpOnly:
 * this script never sees it, the browser sends it). Every request carries `X-Scimd-Console`,
 * which scimd requires of cookie-signed requests that change anything, so that no other site
 * can make the browser change scimd. `onUnauthorized` runs when scimd no longer accepts the
 * session. Paths are relative to the admin API (`/instances`), resolved against the console's
 * own address so that a proxy's path prefix is kept.
 */
export function adminApi(onUnauthorized) {
  async function call(method, path, { query, body } = {}) {
    const url = new URL(`v1${path}`, document.baseURI);
    searchOf(query).forEach((value, name) => url.searchParams.set(name, value));
    const headers = { Accept: "application/json", "X-Scimd-Console": "1" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError(0, "scimd cannot be reached; check that it is running and try again");
    }
    const text = await response.text();
    let payload = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = null;
    }
    if (!response.ok) {
      const reason = payload?.error ?? `scimd answered ${response.status}`;
      if (response.status === 401 && onUnauthorized) onUnauthorized(reason);
      throw new ApiError(response.status, reason);
    }
    return payload;
  }
  return {
    get: (path, query) => call("GET", path, { query }),
    post: (path, body) => call("POST", path, { body }),
    put: (path, body) => call("PUT", path, { body }),
    delete: (path) => call("DELETE", path),
  };
}

/** `query` as URL parameters, leaving out the empty ones (an unset filter is no filter). */
export function searchOf(query = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "" && value !== false) {
      search.set(name, String(value));
    }
  }
  return search;
}

/** `/instances/{name}` with the name escaped, the start of every instance's path. */
export function instancePath(instance, rest = "") {
  return `/instances/${encodeURIComponent(instance)}${rest}`;
}
