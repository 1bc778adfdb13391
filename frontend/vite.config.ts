import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/**
 * `@novnc/novnc/logging` → noVNC's own logging module (its package exports only rfb.js).
 * The screen console turns noVNC's logging off: it reports a refused or ended connection
 * with console.error, and the UI already shows the server's reason in the page.
 */
function novncLogging(): Plugin {
  return {
    name: "novnc-logging",
    enforce: "pre", // before Vite's resolver, which refuses subpaths a package does not export
    async resolveId(id, importer) {
      if (id !== "@novnc/novnc/logging") return null;
      const rfb = await this.resolve("@novnc/novnc", importer, { skipSelf: true });
      // In development the id carries a version query (`rfb.js?v=…`); it is kept, so both
      // imports name one module.
      return rfb ? rfb.id.replace(/rfb\.js(?=\?|$)/, "util/logging.js") : null;
    },
  };
}

// The build lands inside the Python package, so `cloudenv serve` serves it at `/` with no
// second web server; it is never committed (see .gitignore).
export default defineConfig({
  plugins: [react(), novncLogging()],
  // noVNC is served as its own ES modules, not pre-bundled: a pre-bundled copy would carry a
  // second logging module, which the switch above would not reach.
  optimizeDeps: { exclude: ["@novnc/novnc"] },
  base: "/",
  build: {
    outDir: "../src/cloudenv/ui/static",
    emptyOutDir: true,
    // Inline nothing: the CSP allows scripts and images only from 'self' and data: images.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
  },
  server: {
    // `npm run dev` against a node on this machine: the API and consoles are proxied.
    proxy: {
      "/api": { target: "https://127.0.0.1:5007", secure: false, ws: true },
    },
  },
});
