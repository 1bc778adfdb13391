/**
 * Types for the parts of noVNC (`@novnc/novnc`, plain JavaScript without typings) that the
 * screen console uses. `@novnc/novnc/logging` is not a subpath noVNC exports; the
 * `novncLogging` plugin in vite.config.ts resolves it to noVNC's own logging module.
 */
declare module "@novnc/novnc" {
  export interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }

  export default class RFB extends EventTarget {
    /** `channel`: a URL, or a WebSocket the caller opened (and can watch itself). */
    constructor(target: HTMLElement, channel: string | WebSocket, options?: RfbOptions);
    scaleViewport: boolean;
    resizeSession: boolean;
    clipViewport: boolean;
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    disconnect(): void;
    sendCtrlAltDel(): void;
    focus(options?: FocusOptions): void;
  }
}

declare module "@novnc/novnc/logging" {
  export function initLogging(level: "debug" | "info" | "warn" | "error" | "none"): void;
}
