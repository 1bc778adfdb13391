import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package, so `cloudenv serve` serves it at `/` with no
// second web server; it is never committed (see .gitignore).
export default defineConfig({
  plugins: [react()],
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
