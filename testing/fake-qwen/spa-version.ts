// The SPA build id travels in the `version` header. Upstream silently degrades requests
// from stale builds, so the fake compares it numerically, part by part ("0.2.9" < "0.2.60").

export function isVersionAtLeast(candidate: string | undefined, minimum: string): boolean {
  if (candidate === undefined) return false;
  const candidateParts = parseDotted(candidate);
  const minimumParts = parseDotted(minimum);
  if (candidateParts === null || minimumParts === null) return false;
  const length = Math.max(candidateParts.length, minimumParts.length);
  for (let index = 0; index < length; index += 1) {
    const left = candidateParts[index] ?? 0;
    const right = minimumParts[index] ?? 0;
    if (left !== right) return left > right;
  }
  return true;
}

function parseDotted(version: string): number[] | null {
  const trimmed = version.trim();
  if (!/^\d+(\.\d+)*$/.test(trimmed)) return null;
  return trimmed.split(".").map((part) => Number.parseInt(part, 10));
}
