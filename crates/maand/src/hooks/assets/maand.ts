// maand hook helper for Bun (written by maand next to every hook script; do not edit).
// Talks to the runtime API of the maand process that started the hook
// (MAAND_API_URL + MAAND_API_TOKEN). Every HTTP helper returns Promise<Response>.

const env = (name: string): string | undefined => process.env[name];

function baseUrl(): string {
  const url = env("MAAND_API_URL");
  if (url) return url.replace(/\/+$/, "");
  const host = env("JOB_COMMAND_API_HOST") || "127.0.0.1";
  const port = env("JOB_COMMAND_API_PORT") || "8080";
  return `http://${host}:${port}`;
}

function headers(withBody: boolean): Record<string, string> {
  const h: Record<string, string> = {
    "X-ALLOCATION-ID": env("ALLOCATION_ID") ?? "",
    EVENT: env("EVENT") ?? "",
    COMMAND: env("COMMAND") ?? "",
  };
  const token = env("MAAND_API_TOKEN");
  if (token) h["Authorization"] = `Bearer ${token}`;
  if (withBody) h["Content-Type"] = "application/json";
  return h;
}

async function request(
  method: string,
  path: string,
  body?: unknown,
  params?: Record<string, string>,
  timeoutSeconds = 60,
): Promise<Response> {
  let url = baseUrl() + path;
  if (params && Object.keys(params).length > 0) {
    url += "?" + new URLSearchParams(params).toString();
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  try {
    return await fetch(url, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

function own(prefix: string): string {
  const job = env("JOB");
  if (!job) throw new Error("JOB is not set: not running under maand");
  return `${prefix}/${job}`;
}

// Context.
export const allocationId = (): string | undefined => env("ALLOCATION_ID");
export const allocationIp = (): string | undefined => env("ALLOCATION_IP");
export const allocationIndex = (): string | undefined => env("ALLOCATION_INDEX");
export const jobName = (): string | undefined => env("JOB");
export const commandEvent = (): string | undefined => env("EVENT");
export const commandName = (): string | undefined => env("COMMAND");
export const isAllocationDisabled = (): boolean => env("DISABLED") === "1";

// KV. GET requests send query parameters instead of a body.
export function getStoreValue(namespace: string, key: string): Promise<Response> {
  return request("GET", "/kv", undefined, { namespace, key });
}

export function putJobVariable(key: string, value: string): Promise<Response> {
  return request("PUT", "/kv", { namespace: own("vars/job"), key, value });
}

export function deleteJobVariable(key: string): Promise<Response> {
  return request("DELETE", "/kv", { namespace: own("vars/job"), key });
}

export function putJobSecret(key: string, value: string): Promise<Response> {
  return request("PUT", "/kv/secret", { namespace: own("secrets/job"), key, value });
}

export function deleteJobSecret(key: string): Promise<Response> {
  return request("DELETE", "/kv/secret", { namespace: own("secrets/job"), key });
}

export function listJobKeys(namespace?: string): Promise<Response> {
  return request("GET", "/kv/keys", undefined, namespace ? { namespace } : undefined);
}

export function putRolloutOrder(order: string | string[]): Promise<Response> {
  const value = Array.isArray(order)
    ? order.map((s) => String(s).trim()).filter((s) => s.length > 0).join(",")
    : order;
  return request("PUT", "/kv", { namespace: own("maand/job"), key: "rollout_order", value });
}

export function getRolloutOrder(): Promise<Response> {
  return getStoreValue(own("maand/job"), "rollout_order");
}

// Demands and semaphores.
export function listCommandDemands(): Promise<Response> {
  return request("GET", "/demands");
}

export function acquireSemaphore(
  name: string,
  capacity = 1,
  timeoutSeconds = 600,
): Promise<Response> {
  const wait = timeoutSeconds > 0 ? timeoutSeconds : 600;
  return request(
    "POST",
    "/semaphore/acquire",
    { name, capacity, timeout_seconds: timeoutSeconds },
    undefined,
    wait + 30,
  );
}

export function releaseSemaphore(name: string): Promise<Response> {
  return request("POST", "/semaphore/release", { name });
}

export function semaphoreStatus(name: string): Promise<Response> {
  return request("GET", "/semaphore/status", undefined, { name });
}

// Aliases kept for older scripts.
export const getAllocationId = allocationId;
export const getAllocationIp = allocationIp;
export const getAllocationIndex = allocationIndex;
export const getEvent = commandEvent;
export const getCommand = commandName;
export const getJob = jobName;
export const kvGet = getStoreValue;
export const kvPut = putJobVariable;
export const kvPutSecret = putJobSecret;
export const getDemands = listCommandDemands;
