/** Saving what the API answered as a file (CSV exports): the browser's download of a blob,
 * with no request of its own, so the session's headers and CSRF rule stay the client's. */

export function saveBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has started the download; revoking at once cancels it in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
