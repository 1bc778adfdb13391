/**
 * Sending an image file as the raw body of `POST /api/v1/nodes/{id}/images/images`.
 *
 * XMLHttpRequest, not fetch: only XHR reports upload progress (`xhr.upload.onprogress`),
 * and it streams a File from disk, so a multi-gigabyte ISO is never read into memory.
 * The typed client can't send a body this way, so this one request is made by hand, with
 * the same CSRF header and cookie credentials the client uses.
 */
import { CSRF_HEADER, CSRF_VALUE } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { Schemas } from "../../api/queries";

export type ImageImport = Schemas["ImageImport"];

export interface UploadRequest {
  nodeId: string;
  poolId: string;
  name: string;
  /** iso, qcow2, raw, kernel or initrd; undefined lets the server tell it from the name. */
  format?: string;
  file: File;
  onProgress: (sent: number, total: number) => void;
}

export interface Upload {
  done: Promise<ImageImport>;
  /** Stops sending; `done` rejects with an UploadCancelled. */
  cancel: () => void;
}

export class UploadCancelled extends Error {
  constructor() {
    super("The upload was cancelled.");
    this.name = "UploadCancelled";
  }
}

export function uploadImage(request: UploadRequest): Upload {
  const xhr = new XMLHttpRequest();
  const query = new URLSearchParams({ storage_pool_id: request.poolId, name: request.name });
  if (request.format) query.set("format", request.format);
  const done = new Promise<ImageImport>((resolve, reject) => {
    xhr.upload.onprogress = (event) => {
      request.onProgress(event.loaded, event.lengthComputable ? event.total : request.file.size);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        body = null; // not our JSON (a proxy's page, say): ApiError.from words it by status
      }
      if (xhr.status === 202 && body && typeof body === "object" && "task_id" in body) {
        resolve(body as ImageImport);
      } else {
        reject(ApiError.from(xhr.status, body));
      }
    };
    xhr.onerror = () =>
      reject(
        new Error(
          "The connection to the node broke before it answered. If the file is very large, " +
            "check the node's free space; otherwise try again.",
        ),
      );
    xhr.onabort = () => reject(new UploadCancelled());
  });
  xhr.open("POST", `/api/v1/nodes/${encodeURIComponent(request.nodeId)}/images/images?${query}`);
  xhr.withCredentials = true;
  xhr.setRequestHeader(CSRF_HEADER, CSRF_VALUE);
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.send(request.file);
  return { done, cancel: () => xhr.abort() };
}
