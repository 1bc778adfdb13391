/** How pages write the API's timestamps, sizes and durations (one way everywhere). */

/** An RFC 3339 timestamp in the browser's locale; "—" when unknown. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return "—";
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : time.toLocaleString();
}

/** Unix seconds in the browser's locale. */
export function formatUnixTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

/** A duration in seconds as "3 d 4 h", "4 h 5 min" or "5 min". */
export function formatDuration(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min`;
}

/** Megabytes as MiB or GiB, whichever reads better. */
export function formatMegabytes(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(mb % 1024 === 0 ? 0 : 1)} GiB` : `${mb} MiB`;
}

/** A latitude/longitude pair as "52.5200° N, 13.4050° E". */
export function formatLocation(location: { latitude: number; longitude: number }): string {
  const lat = `${Math.abs(location.latitude).toFixed(4)}° ${location.latitude < 0 ? "S" : "N"}`;
  const lon = `${Math.abs(location.longitude).toFixed(4)}° ${location.longitude < 0 ? "W" : "E"}`;
  return `${lat}, ${lon}`;
}
