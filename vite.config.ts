import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `bitbridge serve` serves dist/web at `/`; in development Vite serves the UI and forwards the API
// and OData to a `bitbridge serve` on its default port.
const backend = "http://127.0.0.1:8080";

export default defineConfig({
  root: fileURLToPath(new URL("web", import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("dist/web", import.meta.url)),
    emptyOutDir: true,
    // One bundle for a local admin UI: no route is worth a second round trip.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { "/api": backend, "/odata": backend },
  },
});
