// The one hash the component keys secrets and visitor ids by.

/** Hex SHA-256: write keys are stored and looked up only as this hash; visitor ids and rate-limit keys are made with it. */
export async function sha256Hex(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
